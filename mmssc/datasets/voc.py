"""PASCAL VOC 2012 (+ SBD "aug") with image-level labels (method.md §1, §2.1).

Labels are derived from the split's masks (``SegmentationClassAug``: 0 = background, 1..20, 255 = ignore) unless
an image-label file is given. The class vector covers the 20 foreground classes, in VOC's order.
"""
from mmseg.registry import DATASETS

from .image_label_dataset import ImageLabelDataset

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
               'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')


def voc_palette(n: int = 256) -> list:
    """VOC's colour map: bit k of the index goes to bit (7 - k//3) of channel k % 3."""
    palette = []
    for index in range(n):
        rgb, c = [0, 0, 0], index
        for shift in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - shift)
            c >>= 3
        palette.append(rgb)
    return palette


@DATASETS.register_module()
class VOCClsDataset(ImageLabelDataset):
    """VOC 2012 image-level classification (20 classes); ``ann_file`` is the split list (e.g. train_aug.txt)."""
    METAINFO = dict(classes=VOC_CLASSES, palette=voc_palette(21)[1:])

    def __init__(self, data_prefix: dict = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                 **kwargs):
        super().__init__(data_prefix=data_prefix, **kwargs)
