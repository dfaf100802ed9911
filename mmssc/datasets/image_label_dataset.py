"""A folder of images with image-level labels: the dataset every ``cam_classifier`` dataset builds on.

Each item carries ``img_path``, ``img_id``, ``gt_label`` (float32 multi-hot over the classes), and, when the
folders are configured, ``seg_map_path`` (ground-truth or pseudo masks), ``superpixel_path`` and
``saliency_path`` (saliency maps, I²CRC). Labels come from
an image-label file (CSV/JSON, see :mod:`.image_labels`) or are derived from the masks. Everything that can be
checked without decoding images is checked when the dataset is built, and each problem is one error naming the
file and the image: a missing image, mask, superpixel or saliency map, a label naming an unknown class, an image with no
label. Corrupt images and superpixel maps of the wrong size are caught when the item is loaded.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS

from ..fileio import raise_missing_files

from .image_labels import (image_id_of, load_class_names, multi_hot, read_label_file,
                           read_mask_labels)

SUPERPIXEL_MODES = (None, 'required', 'generate')


@DATASETS.register_module()
class ImageLabelDataset(BaseDataset):
    """Images + image-level labels (+ optional masks and superpixels) for the CAM stages.

    Args:
        classes: class names, or a text file with one name per line (relative to ``data_root``). Defaults to
            ``METAINFO['classes']``.
        label_file: CSV or JSON image-label file (relative to ``data_root``). Without it, labels are derived
            from the masks in ``data_prefix['seg_map_path']``.
        ann_file: optional text file listing the image ids to use, one per line. Without it, the ids of the
            label file, or else every image in the image folder.
        data_prefix: ``img_path`` (images), optional ``seg_map_path`` (masks: labels and evaluation),
            optional ``superpixel_path`` (superpixel PNGs), optional ``saliency_path`` (grayscale saliency
            PNGs 0..255, one per image, named ``<id>`` + ``saliency_suffix``; every one must exist).
        superpixels: ``None`` (not used), ``'required'`` (every map must exist) or ``'generate'`` (missing
            maps are made on the fly by :func:`mmssc.superpixels.make_superpixels` and cached in the folder).
        label_source: one of :attr:`LABEL_SOURCES`. Here ``'auto'`` and ``'masks'`` both mean the label file
            when one is given, else the masks; subclasses add their own sources (VOC's XML annotations).
    """
    METAINFO = dict(classes=None, palette=None)
    LABEL_SOURCES = ('auto', 'masks')

    def __init__(self,
                 classes: Union[str, Sequence[str], None] = None,
                 label_file: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 superpixel_suffix: str = '.png',
                 saliency_suffix: str = '.png',
                 superpixels: Optional[str] = None,
                 data_prefix: dict = dict(img_path=''),
                 metainfo: Optional[dict] = None,
                 label_source: str = 'auto',
                 **kwargs):
        if label_source not in self.LABEL_SOURCES:
            raise ValueError(f'{type(self).__name__}: label_source={label_source!r}: expected one of '
                             f'{", ".join(self.LABEL_SOURCES)}')
        self.label_source = label_source
        if superpixels not in SUPERPIXEL_MODES:
            raise ValueError(f'superpixels={superpixels!r}: expected one of {SUPERPIXEL_MODES}')
        if superpixels and not data_prefix.get('superpixel_path'):
            raise ValueError(f"superpixels={superpixels!r} needs data_prefix['superpixel_path'] (the folder "
                             'of superpixel PNGs)')
        self.label_file = label_file
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.superpixel_suffix = superpixel_suffix
        self.saliency_suffix = saliency_suffix
        self.superpixels = superpixels
        metainfo = dict(metainfo or {})
        names = classes if classes is not None else metainfo.get('classes', self.METAINFO.get('classes'))
        if names is None:
            raise ValueError('no class list: set `classes` (a list or a one-name-per-line file)')
        metainfo['classes'] = load_class_names(names, kwargs.get('data_root') or '')
        # mmengine joins every prefix to data_root and rejects None: keep only the folders that are set.
        data_prefix = {key: value for key, value in data_prefix.items() if value}
        super().__init__(data_prefix=data_prefix, metainfo=metainfo, **kwargs)

    # ---------------------------------------------------------------- helpers
    def _join_root(self, path: Optional[str]) -> Optional[str]:
        if path and self.data_root and not osp.isabs(path):
            return osp.join(self.data_root, path)
        return path

    def _list_ids(self, labels_by_file: Optional[dict]) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list (ann_file) not found: {self.ann_file}')
            with open(self.ann_file, encoding='utf-8') as f:
                ids = [image_id_of(ln.split()[0]) for ln in f if ln.strip()]
            if not ids:
                raise ValueError(f'image list (ann_file) {self.ann_file} is empty')
            return ids
        if labels_by_file is not None:
            return sorted(labels_by_file)
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'image folder not found: {img_dir}')
        ids = sorted(image_id_of(n) for n in os.listdir(img_dir) if n.endswith(self.img_suffix))
        if not ids:
            raise ValueError(f'image folder {img_dir} holds no *{self.img_suffix} images')
        return ids

    def _labels_from_masks(self, ids: List[str]) -> dict:
        mask_dir = self.data_prefix.get('seg_map_path')
        if not mask_dir:
            raise ValueError("no image labels: set `label_file`, or data_prefix['seg_map_path'] to derive "
                             'them from masks')
        num_classes = len(self.metainfo['classes'])
        progress = ProgressBar(len(ids)) if len(ids) >= 200 else None
        labels = {}
        for image_id in ids:
            labels[image_id] = read_mask_labels(osp.join(mask_dir, image_id + self.seg_map_suffix), num_classes)
            if progress:
                progress.update()
        return labels

    def load_labels(self, ids: List[str]) -> dict:
        """``{image id: class indices}``; subclasses with other label sources override this."""
        labels_by_file = getattr(self, '_labels_by_file', None)
        if labels_by_file is None:
            return self._labels_from_masks(ids)
        return labels_by_file

    def describe_labels(self) -> str:
        """Where the labels come from, for messages."""
        if self.label_file:
            return self._join_root(self.label_file)
        return f"masks in {self.data_prefix.get('seg_map_path')}"

    # ------------------------------------------------------------- BaseDataset
    def load_data_list(self) -> List[dict]:
        classes = self.metainfo['classes']
        label_file = self._join_root(self.label_file)
        self._labels_by_file = read_label_file(label_file, classes) if label_file else None
        ids = self._list_ids(self._labels_by_file)

        img_dir = self.data_prefix['img_path']
        img_paths = [osp.join(img_dir, i + self.img_suffix) for i in ids]
        raise_missing_files(img_paths, 'images')
        mask_dir = self.data_prefix.get('seg_map_path')
        mask_paths = [osp.join(mask_dir, i + self.seg_map_suffix) for i in ids] if mask_dir else None
        if mask_paths:
            raise_missing_files(mask_paths, 'masks')
        sp_dir = self.data_prefix.get('superpixel_path')
        sp_paths = [osp.join(sp_dir, i + self.superpixel_suffix) for i in ids] if sp_dir else None
        if self.superpixels == 'required':
            raise_missing_files(sp_paths, 'superpixel maps',
                                "\nmake them with tools/make_superpixels.py, or set superpixels='generate'")
        sal_dir = self.data_prefix.get('saliency_path')
        sal_paths = [osp.join(sal_dir, i + self.saliency_suffix) for i in ids] if sal_dir else None
        if sal_paths:
            raise_missing_files(sal_paths, 'saliency maps', '\nI²CRC needs one saliency map per image from a '
                                'salient-object detector (docs/stages.md, "I²CRC")')

        labels = self.load_labels(ids)
        source = self.describe_labels()
        data_list = []
        for k, image_id in enumerate(ids):
            if image_id not in labels:
                raise ValueError(f'image {image_id!r} has no entry in the image-label file {source}')
            if not labels[image_id]:
                raise ValueError(f'image {image_id!r} has an empty label set ({source}); image-level '
                                 'supervision needs at least one class: remove it from the list')
            info = dict(img_id=image_id, img_path=img_paths[k], label_indices=list(labels[image_id]),
                        gt_label=multi_hot(labels[image_id], len(classes)),
                        reduce_zero_label=False, seg_fields=[])
            if mask_paths:
                info['seg_map_path'] = mask_paths[k]
            if sp_paths:
                info['superpixel_path'] = sp_paths[k]
                info['generate_superpixels'] = self.superpixels == 'generate'
            if sal_paths:
                info['saliency_path'] = sal_paths[k]
            data_list.append(info)
        print_log(f'{type(self).__name__}: {len(data_list)} images, {len(classes)} classes, labels from '
                  f'{source}', logger='current')
        return data_list
