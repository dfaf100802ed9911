"""COCO 2014 with image-level labels (80 classes; docs/method.md, 'Pipeline overview' notes the official code has no
COCO loader).

Labels come from the instance annotations (``instances_file``, the official JSON; category ids are mapped to
0..79 in id order) or, like every :class:`ImageLabelDataset`, from mask PNGs (0 = background, 1..80) or a label
file. Without an image list, the images are those of the instance file that have at least one annotation
(about 1% of train2014 has none; they cannot be used with image-level supervision).
"""
import json
import os.path as osp
from typing import List, Optional

from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .image_label_dataset import ImageLabelDataset
from .coco_masks import group_instances
from .image_labels import image_id_of

COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush')


def read_coco_instances(path: str, class_names=COCO_CLASSES) -> dict:
    """``{image id (file stem): sorted class indices}`` from a COCO instances JSON; images with none omitted.

    Categories are matched to ``class_names`` by name, so a file whose categories differ is an error.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'COCO instances file not found: {path}')
    with open(path, encoding='utf-8') as f:
        content = json.load(f)
    try:
        images, per_image = group_instances(content, class_names)
    except ValueError as exc:
        raise ValueError(f'{path}: {exc}') from None
    return {image_id_of(images[i]['file_name']): sorted({value - 1 for value, _, _ in annotations})
            for i, annotations in per_image.items() if annotations}


@DATASETS.register_module()
class COCOClsDataset(ImageLabelDataset):
    """COCO 2014 image-level classification (80 classes)."""
    METAINFO = dict(classes=COCO_CLASSES, palette=None)

    def __init__(self, instances_file: Optional[str] = None,
                 data_prefix: dict = dict(img_path='train2014'), **kwargs):
        self.instances_file = instances_file
        super().__init__(data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        if self.instances_file:
            if self.label_file:
                raise ValueError('set either instances_file or label_file, not both')
            path = self._join_root(self.instances_file)
            self._instance_labels = read_coco_instances(path, self.metainfo['classes'])
            print_log(f'COCOClsDataset: {len(self._instance_labels)} annotated images in {path}',
                      logger='current')
        return super().load_data_list()

    def _list_ids(self, labels_by_file):
        if self.instances_file and not self.ann_file:
            return sorted(self._instance_labels)
        return super()._list_ids(labels_by_file)

    def describe_labels(self) -> str:
        if self.instances_file:
            return self._join_root(self.instances_file)
        return super().describe_labels()

    def load_labels(self, ids):
        if self.instances_file:
            return self._instance_labels
        return super().load_labels(ids)
