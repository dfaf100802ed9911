"""PASCAL VOC 2012 (+ SBD "aug") with image-level labels (docs/method.md, 'Pipeline overview').

Where the labels come from is ``label_source``:

* ``'xml'``: the VOC XML annotations ``Annotations/<id>.xml``, every class named in the file (objects of any
  size, difficult and truncated ones included). These are the official classification labels: the official
  code's ``cls_labels.npy`` is made from them.
* ``'masks'``: the classes present in the image's mask (``SegmentationClassAug``: 0 = background, 1..20,
  255 = ignore). An object that is too small for the mask, or that the mask marks only as 255, is missing, so these
  labels differ from the official ones on a few percent of images.
* ``'auto'`` (default): ``'xml'`` when the annotation folder exists under ``data_root``, else ``'masks'``.

An image-label file (``label_file``) replaces either. The class vector covers the 20 foreground classes, in
VOC's order.
"""
import os.path as osp
from typing import List

from mmseg.registry import DATASETS

from ..fileio import raise_missing_files
from ..stage_files import voc_palette
from .image_label_dataset import ImageLabelDataset
from .image_labels import read_xml_labels

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
               'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')


@DATASETS.register_module()
class VOCClsDataset(ImageLabelDataset):
    """VOC 2012 image-level classification (20 classes); ``ann_file`` is the split list (e.g. train_aug.txt).

    Args:
        label_source: ``'auto'``, ``'xml'`` or ``'masks'`` (module docstring).
        xml_dir: the folder of XML annotations, relative to ``data_root`` (``Annotations``).
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=voc_palette(21)[1:])
    LABEL_SOURCES = ('auto', 'xml', 'masks')

    def __init__(self, data_prefix: dict = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                 xml_dir: str = 'Annotations', **kwargs):
        self.xml_dir = xml_dir
        super().__init__(data_prefix=data_prefix, **kwargs)

    def _xml_folder(self) -> str:
        return self._join_root(self.xml_dir)

    def uses_xml(self) -> bool:
        """Whether the labels are read from the XML annotations (no label file, and 'xml', or 'auto' with the
        annotation folder present)."""
        if self.label_file:
            return False
        return self.label_source == 'xml' or (self.label_source == 'auto' and osp.isdir(self._xml_folder()))

    def describe_labels(self) -> str:
        if self.uses_xml():
            return f'XML annotations in {self._xml_folder()}'
        return super().describe_labels()

    def load_labels(self, ids: List[str]) -> dict:
        if not self.uses_xml():
            return super().load_labels(ids)
        paths = [osp.join(self._xml_folder(), image_id + '.xml') for image_id in ids]
        raise_missing_files(paths, 'XML annotations', "\nlabel_source='masks' derives the labels from the "
                            'masks instead')
        classes = self.metainfo['classes']
        return {image_id: read_xml_labels(path, classes) for image_id, path in zip(ids, paths)}
