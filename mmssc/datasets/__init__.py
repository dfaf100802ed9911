"""Datasets and transforms (registered into mmseg's DATASETS / TRANSFORMS)."""
from .apply_confidence_mask import ApplyConfidenceMask, read_confidence_mask
from .confidence_field import LoadConfidenceMask, PackBECOInputs
from .class_list_seg import ClassListSegDataset
from .coco import COCO_CLASSES, COCOClsDataset, read_coco_instances
from .coco_seg import COCO_SEG_CLASSES, COCOSegDataset
from .demo_scenes import demo_statistics, load_demo_manifest, make_demo_dataset, scene_layers
from .i2crc_transforms import ColorJitterRGB, SquareResize
from .image_label_dataset import ImageLabelDataset
from .ir_label_dataset import IRLabelDataset
from .irn_transforms import LoadIRLabel, RandomRescale, RescaleSegMaps, TopLeftCropWithPad
from .image_labels import load_class_names, read_label_file
from .transforms import (LoadImageRGB, LoadSuperpixels, PackClsInputs, RandomCropWithPad,
                         RandomLongSideResize, RelabelSuperpixels)
from .random_resized_crop import SegRandomResizedCrop
from .saliency import LoadSaliency, read_saliency
from .voc import VOC_CLASSES, VOCClsDataset


__all__ = ['ImageLabelDataset', 'VOCClsDataset', 'COCOClsDataset', 'VOC_CLASSES', 'COCO_CLASSES',
           'read_coco_instances', 'load_class_names', 'read_label_file', 'LoadImageRGB', 'LoadSuperpixels',
           'RandomLongSideResize', 'RandomCropWithPad', 'RelabelSuperpixels', 'PackClsInputs', 'ApplyConfidenceMask',
           'read_confidence_mask', 'ClassListSegDataset', 'COCO_SEG_CLASSES', 'COCOSegDataset', 'SegRandomResizedCrop',
           'LoadConfidenceMask', 'PackBECOInputs',
           'IRLabelDataset', 'LoadIRLabel', 'RandomRescale', 'RescaleSegMaps', 'TopLeftCropWithPad',
           'make_demo_dataset', 'load_demo_manifest', 'demo_statistics', 'scene_layers',
           'LoadSaliency', 'read_saliency', 'SquareResize', 'ColorJitterRGB']
