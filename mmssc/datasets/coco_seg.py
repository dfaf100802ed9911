"""COCO 2014 semantic segmentation with 81 classes (background + the 80 COCO "thing" classes).

The masks are those of ``tools/convert_coco.py`` (ground truth, from the instance annotations) or the ``pseudo_masks``
stage's masks: ``0`` = background, ``k`` = ``COCO_CLASSES[k - 1]`` (categories in COCO id order), ``255`` = ignore.
mmseg's own COCO dataset is COCO-Stuff (171/182 classes, other indices) and does not fit.
"""
from mmseg.registry import DATASETS

from .class_list_seg import ClassListSegDataset
from .coco import COCO_CLASSES
from ..stage_files import voc_palette

COCO_SEG_CLASSES = ('background', ) + COCO_CLASSES


@DATASETS.register_module()
class COCOSegDataset(ClassListSegDataset):
    """COCO 2014 (81 classes); images ``train2014/*.jpg`` / ``val2014/*.jpg``, masks ``<stem>.png``.

    See :class:`ClassListSegDataset` for which images are used (``ann_file``, else the masks present).
    """
    METAINFO = dict(classes=COCO_SEG_CLASSES, palette=voc_palette(len(COCO_SEG_CLASSES)))
