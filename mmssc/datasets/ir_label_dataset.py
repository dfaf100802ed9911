"""Images with their IR labels, for IRN training (docs/method.md, 'IRN'), or images alone, for IRN inference.

Items carry ``img_id``, ``img_path`` and, when ``data_prefix['seg_map_path']`` names the IR-label folder (the
``ir_labels`` stage's ``ir_labels/``: 0 = confident background, c+1 = confident class c, 255 = uncertain),
``seg_map_path``. The ids come from ``ann_file`` (one id or file name per line, first token) or, without it, from the
IR-label folder (else the image folder). Missing images or IR labels are reported together when the dataset is built,
as one error naming the files.

Why not :class:`ImageLabelDataset`: IRN needs no image-level labels. That class requires them (from a label file,
or derived by reading every mask at start-up, which for IR labels would also drop classes the CAM thresholds
lost), so a small dataset that only pairs images with IR labels is simpler and faster. Without the label folder
the same class lists the images a tool runs over (the mean-shift pass, the pseudo-mask tool).
"""
import os
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from ..fileio import raise_missing_files
from .image_labels import image_id_of


@DATASETS.register_module()
class IRLabelDataset(BaseDataset):
    """Args:
        img_suffix: image file suffix ('.jpg').
        seg_map_suffix: IR-label file suffix ('.png').
        data_prefix: ``img_path`` (images) and optional ``seg_map_path`` (IR labels); relative to ``data_root``
            unless absolute.
        ann_file: optional id list, relative to ``data_root`` unless absolute.
    """
    METAINFO = dict(classes=(), palette=None)  # IRN needs no class names (IR labels carry class indices)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(img_path=''), **kwargs):
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        # mmengine joins every prefix to data_root and rejects None: keep only the folders that are set
        data_prefix = {key: value for key, value in data_prefix.items() if value or key == 'img_path'}
        super().__init__(data_prefix=data_prefix, **kwargs)

    def _list_ids(self) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list (ann_file) not found: {self.ann_file}')
            with open(self.ann_file, encoding='utf-8') as f:
                ids = [image_id_of(line.split()[0]) for line in f if line.strip()]
            if not ids:
                raise ValueError(f'image list (ann_file) {self.ann_file} is empty')
            return ids
        label_dir = self.data_prefix.get('seg_map_path')
        folder, suffix = (label_dir, self.seg_map_suffix) if label_dir else (self.data_prefix['img_path'],
                                                                           self.img_suffix)
        if not osp.isdir(folder):
            raise FileNotFoundError(f'folder not found: {folder}')
        ids = sorted(image_id_of(n) for n in os.listdir(folder) if n.endswith(suffix) and not n.startswith('.'))
        if not ids:
            raise ValueError(f'{folder} holds no *{suffix} files')
        return ids

    def load_data_list(self) -> List[dict]:
        ids = self._list_ids()
        img_paths = [osp.join(self.data_prefix['img_path'], i + self.img_suffix) for i in ids]
        raise_missing_files(img_paths, 'images')
        label_dir = self.data_prefix.get('seg_map_path')
        label_paths = [osp.join(label_dir, i + self.seg_map_suffix) for i in ids] if label_dir else None
        if label_paths:
            raise_missing_files(label_paths, 'IR labels', '\nmake them with the IR-label stage (ir_labels/)')
        data_list = []
        for k, image_id in enumerate(ids):
            info = dict(img_id=image_id, img_path=img_paths[k], seg_fields=[], reduce_zero_label=False)
            if label_paths:
                info['seg_map_path'] = label_paths[k]
            data_list.append(info)
        print_log(f'{type(self).__name__}: {len(data_list)} images'
                  + (f', IR labels from {label_dir}' if label_dir else ''), logger='current')
        return data_list
