"""Segmentation dataset for any class list: images + class-index masks (pseudo masks or ground truth).

Masks follow the convention every mmssc stage writes and reads (the VOC one): a single-channel PNG per image, ``0`` =
background, ``k`` = the k-th class of the list (1-based), ``255`` = ignore (uncertain pseudo-label pixels, crowd
regions). The dataset's class list therefore starts with ``background``: given the ``cam_classifier`` list (which has
no background entry), ``background`` is prepended.

Which images are used:

* ``ann_file`` (a text file of image ids, one per line): exactly those;
* otherwise, when a mask folder is set: the masks present in it. A folder of pseudo masks thus defines the
  training set by itself (images without a pseudo mask, e.g. ones with no image-level label, are left out);
* otherwise (inference without masks): every image in the image folder.

Missing images or masks are reported when the dataset is built, in one error naming a few of them.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..fileio import raise_missing_files
from .image_labels import load_class_names
from ..stage_files import voc_palette


@DATASETS.register_module()
class ClassListSegDataset(BaseSegDataset):
    """Images and 0 = background / 1..K / 255 masks for a class list given in the config.

    Args:
        classes: class names (a sequence, or a text file with one name per line, relative to ``data_root``);
            ``background`` is prepended
            when it is not already the first entry. Defaults to ``METAINFO['classes']``.
        background: the name of class 0.
        ann_file, data_root, data_prefix (``img_path``, ``seg_map_path``), img_suffix, seg_map_suffix and the
            other arguments: as mmseg's ``BaseSegDataset``. Relative folders are joined to ``data_root``;
            absolute ones (a pseudo-mask folder in a work dir) are used as given.
    """
    METAINFO = dict(classes=None, palette=None)

    def __init__(self,
                 classes: Union[str, Sequence[str], None] = None,
                 background: str = 'background',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        metainfo = dict(metainfo or {})
        names = classes if classes is not None else metainfo.get('classes', self.METAINFO.get('classes'))
        if names is None:
            raise ValueError(f'{type(self).__name__}: no class list; set `classes` (a list or a '
                             'one-name-per-line file)')
        names = load_class_names(names, kwargs.get('data_root') or '')
        if names[0] != background:
            names = (background, ) + names
        metainfo['classes'] = names
        if len(metainfo.get('palette') or ()) != len(names):
            metainfo['palette'] = voc_palette(len(names))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix.get('img_path') or ''
        mask_dir = self.data_prefix.get('seg_map_path') or None
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list (ann_file) not found: {self.ann_file}')
            with open(self.ann_file, encoding='utf-8') as f:
                ids = [line.strip() for line in f if line.strip()]
        elif mask_dir is not None:
            if not osp.isdir(mask_dir):
                raise FileNotFoundError(f'mask folder not found: {mask_dir}')
            ids = sorted(name[:-len(self.seg_map_suffix)] for name in os.listdir(mask_dir)
                         if name.endswith(self.seg_map_suffix) and not name.startswith('.'))
        else:
            if not osp.isdir(img_dir):
                raise FileNotFoundError(f'image folder not found: {img_dir}')
            ids = sorted(name[:-len(self.img_suffix)] for name in os.listdir(img_dir)
                         if name.endswith(self.img_suffix) and not name.startswith('.'))
        if not ids:
            raise ValueError(f'{type(self).__name__}: no images found (ann_file={self.ann_file!r}, '
                             f'img_path={img_dir!r}, seg_map_path={mask_dir!r})')
        data_list = []
        for image_id in ids:
            info = dict(img_path=osp.join(img_dir, image_id + self.img_suffix), label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label, seg_fields=[])
            if mask_dir is not None:
                info['seg_map_path'] = osp.join(mask_dir, image_id + self.seg_map_suffix)
            data_list.append(info)
        raise_missing_files([d['img_path'] for d in data_list], 'images')
        if mask_dir is not None:
            raise_missing_files([d['seg_map_path'] for d in data_list], 'masks')
        return data_list

