"""``ApplyConfidenceMask``: mark the uncertain pixels of a pseudo mask as ignored (255), from a separate mask file.

SSC's confidence masks (docs/method.md, 'Confidence masks') mark the most confident half of each predicted class region
of a pseudo mask as
trusted; the official code saves that as a separate binary mask per image. With stock mmseg training
(docs/stack_fixes.md, the "hard" option) the uncertain pixels are simply ignored:

    label'(p) = label(p)  if confidence(p) > 0
    label'(p) = 255       otherwise

mmseg then leaves them out everywhere: ``CrossEntropyLoss`` skips ``ignore_index`` pixels (and with
``avg_non_ignore=True`` averages over the confident ones only), ``RandomCrop(cat_max_ratio)`` and the padding use 255
as "no label". (BECO instead supervises the uncertain half with the peer network's predictions, docs/method.md,
'segmentation'; this transform is the stock-mmseg stand-in.)

Two equivalent ways to train on confident pixels only:

1. the pseudo-mask folder already has 255 at uncertain pixels (mmssc's ``pseudo_masks`` stage writes
   ``pseudo_masks_confident`` this way, :mod:`mmssc.confidence_mask`): point ``seg_map_path`` at it, nothing else
   needed;
2. a pseudo-mask folder plus a folder of confidence masks: point ``seg_map_path`` at the pseudo masks and put
   ``dict(type='ApplyConfidenceMask', conf_dir=...)`` right after ``LoadAnnotations`` in the training pipeline
   (before any resize, crop or flip: the confidence mask is read at the image's original size).

Confidence files are ``<conf_dir>/<mask stem><conf_suffix>``; any value > 0 means confident, so both 0/1 masks and
SSC's 3-channel 0/255 PNGs work.
"""
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..fileio import open_image


def read_confidence_mask(path: str) -> np.ndarray:
    """Read a confidence mask as a bool H×W array (True = confident, i.e. value > 0 in any channel)."""
    img = open_image(path, 'confidence mask')
    arr = np.asarray(img.convert('L') if img.mode == '1' else img)
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    if arr.ndim != 2:
        raise ValueError(f'confidence mask {path} has unsupported shape {arr.shape}')
    return arr > 0


@TRANSFORMS.register_module()
class ApplyConfidenceMask(BaseTransform):
    """Set ``gt_seg_map`` to ``ignore_index`` wherever the image's confidence mask is 0.

    Args:
        conf_dir: folder of confidence masks (absolute, or relative to the working directory).
        conf_suffix: file suffix of the confidence masks.
        ignore_index: the label value mmseg ignores (255).

    Required keys: ``gt_seg_map``, ``seg_map_path``. Modified keys: ``gt_seg_map``.
    """

    def __init__(self, conf_dir: str, conf_suffix: str = '.png', ignore_index: int = 255):
        self.conf_dir = conf_dir
        self.conf_suffix = conf_suffix
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        stem = osp.splitext(osp.basename(results['seg_map_path']))[0]
        path = osp.join(self.conf_dir, stem + self.conf_suffix)
        confident = read_confidence_mask(path)
        labels = results['gt_seg_map']
        if confident.shape != labels.shape:
            raise ValueError(f'confidence mask {path} is {confident.shape[1]}×{confident.shape[0]} but the label '
                             f'map {results["seg_map_path"]} is {labels.shape[1]}×{labels.shape[0]}; put '
                             'ApplyConfidenceMask right after LoadAnnotations, before any resize or crop')
        labels = labels.copy()
        labels[~confident] = self.ignore_index
        results['gt_seg_map'] = labels
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(conf_dir={self.conf_dir!r}, conf_suffix={self.conf_suffix!r})'
