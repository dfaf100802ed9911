"""BECO's training inputs: the offline pseudo label *and* its confidence mask Mk as a separate field
(docs/method.md, 'BECO co-training'; docs/stages.md, 'segmentation').

Plain training folds the confidence into the label (uncertain = 255, :class:`ApplyConfidenceMask`); BECO needs
both, because the uncertain pixels are supervised by the peer network. The training pipeline is

    LoadImageFromFile → LoadAnnotations (the label: ``pseudo_masks/<id>.png``) → LoadConfidenceMask (Mk) →
    crop / flip (every map in ``seg_fields`` moves with the image) → PackBECOInputs

and ``PackBECOInputs`` packs Mk as ``data_sample.gt_confidence`` (1×H×W int64, 0/1) beside ``gt_sem_seg``.

``LoadConfidenceMask`` reads ``<conf_dir>/<label stem><conf_suffix>`` in one of two formats:

* ``conf_format='ignore_label'`` (default): the pipeline's ``pseudo_masks_confident/<id>.png``, the same pseudo
  mask with 255 at the uncertain pixels: Mk = 1[value ≠ 255]; every other pixel must equal the label.
* ``conf_format='binary'``: a 0/1 mask folder (0/255 and 3-channel PNGs such as the official ``mask_irn`` too):
  Mk = 1[value > 0]; any other value is an error.

A relative ``conf_dir`` is taken next to the label folder (``<label folder>/../<conf_dir>``): with the label at
``W/pseudo_masks/<id>.png`` the default ``pseudo_masks_confident`` is ``W/pseudo_masks_confident``, the
``pseudo_masks`` stage's sibling output (mmssc.stage_files).
"""
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform, to_tensor
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ..fileio import open_image, read_label_png

CONF_FORMATS = ('ignore_label', 'binary')
CONFIDENCE_KEY = 'gt_confidence'


def read_binary_confidence(path: str) -> np.ndarray:
    """A 0/1 (or 0/255, 1- or 3-channel) confidence mask as uint8 0/1 H×W; other values are an error."""
    img = open_image(path, 'confidence mask')
    arr = np.asarray(img.convert('L') if img.mode == '1' else img)
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    values = set(np.unique(arr).tolist())
    if not (values <= {0, 1} or values <= {0, 255}):
        raise ValueError(f'confidence mask {path} has values {sorted(values)[:8]}; expected 0/1 or 0/255 '
                         "(conf_format='binary'), or use conf_format='ignore_label' for a pseudo mask with 255 at "
                         'uncertain pixels')
    return (arr > 0).astype(np.uint8)


@TRANSFORMS.register_module()
class LoadConfidenceMask(BaseTransform):
    """Add the confidence mask Mk of the loaded label as ``gt_confidence`` (uint8 0/1, in ``seg_fields``).

    Args:
        conf_dir: folder of the confidence files; relative: next to the label folder (module docstring).
        conf_suffix: file suffix of the confidence files.
        conf_format: ``'ignore_label'`` or ``'binary'`` (module docstring).
        ignore_index: the uncertain value of ``'ignore_label'`` files.

    Required keys: ``gt_seg_map``, ``seg_map_path``. Added keys: ``gt_confidence``; modified: ``seg_fields``.
    """

    def __init__(self, conf_dir: str = 'pseudo_masks_confident', conf_suffix: str = '.png',
                 conf_format: str = 'ignore_label', ignore_index: int = 255):
        if conf_format not in CONF_FORMATS:
            raise ValueError(f'LoadConfidenceMask.conf_format: {conf_format!r}; expected one of {CONF_FORMATS}')
        self.conf_dir = conf_dir
        self.conf_suffix = conf_suffix
        self.conf_format = conf_format
        self.ignore_index = ignore_index

    def conf_path(self, seg_map_path: str) -> str:
        stem = osp.splitext(osp.basename(seg_map_path))[0]
        folder = self.conf_dir if osp.isabs(self.conf_dir) else osp.join(
            osp.dirname(osp.dirname(osp.abspath(seg_map_path))), self.conf_dir)
        return osp.join(folder, stem + self.conf_suffix)

    def transform(self, results: dict) -> dict:
        label_path = results['seg_map_path']
        label = results['gt_seg_map']
        path = self.conf_path(label_path)
        if self.conf_format == 'binary':
            confidence = read_binary_confidence(path)
        else:
            values = read_label_png(path, 'confidence file (pseudo mask with 255 at uncertain pixels)')
            confidence = (values != self.ignore_index).astype(np.uint8)
        if confidence.shape != label.shape:
            raise ValueError(f'confidence file {path} is {confidence.shape[1]}×{confidence.shape[0]} but the label '
                             f'map {label_path} is {label.shape[1]}×{label.shape[0]}; put LoadConfidenceMask right '
                             'after LoadAnnotations, before any resize or crop')
        if self.conf_format == 'ignore_label' and not results.get('reduce_zero_label') \
                and results.get('label_map') is None:
            wrong = int(np.count_nonzero(confidence.astype(bool) & (values != label)))
            if wrong:
                raise ValueError(f'confidence file {path} differs from the label map {label_path} at {wrong} confident '
                                 "pixels; conf_format='ignore_label' expects the same pseudo mask with 255 at the "
                                 "uncertain pixels (pseudo_masks_confident of these pseudo_masks), or use "
                                 "conf_format='binary' for a 0/1 mask folder")
        results[CONFIDENCE_KEY] = confidence
        results.setdefault('seg_fields', [])
        if CONFIDENCE_KEY not in results['seg_fields']:
            results['seg_fields'].append(CONFIDENCE_KEY)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(conf_dir={self.conf_dir!r}, conf_suffix={self.conf_suffix!r}, '
                f'conf_format={self.conf_format!r})')


@TRANSFORMS.register_module()
class PackBECOInputs(PackSegInputs):
    """``PackSegInputs`` plus ``data_sample.gt_confidence`` (1×H×W int64 0/1) from ``LoadConfidenceMask``."""

    def transform(self, results: dict) -> dict:
        if CONFIDENCE_KEY not in results:
            raise KeyError(f'PackBECOInputs: no {CONFIDENCE_KEY}; put dict(type=\'LoadConfidenceMask\', ...) after '
                           'LoadAnnotations in the training pipeline')
        packed = super().transform(results)
        confidence = to_tensor(results[CONFIDENCE_KEY][None].astype(np.int64))
        packed['data_samples'].set_data({CONFIDENCE_KEY: PixelData(data=confidence)})
        return packed
