"""Data transforms of IRN training and its mean-shift pass (docs/method.md, 'IRN').

The official training order is: read RGB + IR label → random rescale s ~ U(0.5, 1.5) (PIL bicubic image, nearest
label, size (round(H·s), round(W·s))) → normalise → horizontal flip → random 512 crop (image padded with 0 after
normalisation, label with 255) → label downsampled ×0.25 with PIL nearest (128×128). With mmssc's transforms::

    LoadImageRGB → LoadIRLabel → RandomRescale → RandomFlip → RandomCropWithPad → RescaleSegMaps(0.25) → PackSegInputs

Normalisation moves to the model's data preprocessor; it commutes with the flip, and ``RandomCropWithPad`` pads
the image with the normalisation mean, which normalises to exactly 0. mmseg's ``RandomFlip`` and
``RandomCropWithPad`` treat every key of ``seg_fields`` like the label. PIL's nearest ×0.25 keeps pixel
(4i + 2, 4j + 2) of the crop (it samples at the centre of each 4×4 block).

The mean-shift pass reads ``train.txt`` with a top-left 512 crop, padded like the training crop
(``TopLeftCropWithPad``).
"""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image

from ..fileio import read_label_png
from .transforms import RandomCropWithPad, _add_seg_field

__all__ = ['LoadIRLabel', 'RandomRescale', 'RescaleSegMaps', 'TopLeftCropWithPad']


def _resize_seg(seg: np.ndarray, size_wh: Tuple[int, int]) -> np.ndarray:
    """PIL nearest resize of a label map of any integer type (through int32 mode 'I')."""
    resized = Image.fromarray(seg.astype(np.int32), mode='I').resize(size_wh, Image.NEAREST)
    return np.asarray(resized).astype(seg.dtype)


@TRANSFORMS.register_module()
class LoadIRLabel(BaseTransform):
    """Read ``seg_map_path`` (an IR label PNG) into ``gt_seg_map`` (uint8; 255 = uncertain), checked against the image.

    Required keys: ``img``, ``seg_map_path``. Added keys: ``gt_seg_map`` (also appended to ``seg_fields``).
    """

    def transform(self, results: dict) -> dict:
        path = results.get('seg_map_path')
        if path is None:
            raise KeyError(f"LoadIRLabel: image {results.get('img_path')} has no seg_map_path; set "
                           "data_prefix['seg_map_path'] to the IR-label folder")
        label = read_label_png(path, 'IR label')
        if label.shape != tuple(results['img'].shape[:2]):
            raise ValueError(f'IR label {path} is {label.shape[1]}×{label.shape[0]} but its image '
                             f"{results.get('img_path')} is {results['img'].shape[1]}×{results['img'].shape[0]}")
        results['gt_seg_map'] = label
        _add_seg_field(results, 'gt_seg_map')
        return results


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale by s ~ U(low, high) to (round(H·s), round(W·s)): PIL bicubic image, nearest ``seg_fields``.

    IRN's ``random_scale`` with ``scale_range=(0.5, 1.5)``; a size that does not change is left untouched (PIL
    would return a copy anyway). ``round`` is NumPy's, as in IRN's ``pil_rescale``.
    """

    def __init__(self, scale_range: Sequence[float] = (0.5, 1.5)):
        low, high = (float(v) for v in scale_range)
        if not 0 < low <= high:
            raise ValueError(f'RandomRescale: need 0 < low <= high, got {scale_range}')
        self.scale_range = (low, high)

    def transform(self, results: dict) -> dict:
        low, high = self.scale_range
        scale = low + np.random.random() * (high - low)
        h, w = results['img'].shape[:2]
        new_h, new_w = int(np.round(h * scale)), int(np.round(w * scale))
        if (new_h, new_w) != (h, w):
            results['img'] = np.asarray(Image.fromarray(results['img']).resize((new_w, new_h), Image.BICUBIC))
            for key in results.get('seg_fields', []):
                results[key] = _resize_seg(results[key], (new_w, new_h))
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale_range={self.scale_range})'


@TRANSFORMS.register_module()
class RescaleSegMaps(BaseTransform):
    """Rescale every map of ``seg_fields`` by ``scale`` with PIL nearest (the image is left alone).

    IRN's label ↓4: ``scale=0.25`` turns the 512 crop's label into the 128×128 grid of the stride-4 edge map.
    The size is (round(H·scale), round(W·scale)).
    """

    def __init__(self, scale: float = 0.25):
        if scale <= 0:
            raise ValueError(f'RescaleSegMaps: scale must be positive, got {scale}')
        self.scale = float(scale)

    def transform(self, results: dict) -> dict:
        for key in results.get('seg_fields', []):
            seg = results[key]
            size_wh = (int(np.round(seg.shape[1] * self.scale)), int(np.round(seg.shape[0] * self.scale)))
            results[key] = _resize_seg(seg, size_wh)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class TopLeftCropWithPad(RandomCropWithPad):
    """The top-left ``crop_size`` window; what the image lacks is padded (IRN's ``top_left_crop``).

    Same padding as :class:`RandomCropWithPad` (image: ``img_pad_value``, the normalisation mean → 0 after
    normalisation, as IRN pads the normalised image with 0; ``seg_fields``: ``seg_pad_value``), fixed offsets.
    """

    def axis_box(self, size: int):
        return 0, 0, min(size, self.crop_size)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'
