"""``SegRandomResizedCrop``: the training crop of SSC's segmentation stage (docs/method.md, 'segmentation',
step 1).

BECO's ``RandomResizedCropMask(512, scale=[0.5, 0.75, ...])`` follows torchvision's ``RandomResizedCrop``: for an
H×W image, up to ``max_attempts`` times draw

    area fraction s ~ U(scale[0], scale[1])          (only the first two "scales" are used: U(0.5, 0.75))
    log aspect ratio ~ U(log ratio[0], log ratio[1]) (ratio = w / h in [3/4, 4/3])
    w = round(sqrt(s·H·W·ratio)),  h = round(sqrt(s·H·W / ratio))

and accept the first box that fits, at a uniformly random position. If none fits, fall back to the largest
centred box whose aspect ratio lies in the range. The box is then resized to ``size`` (aspect ratio not kept):
bilinear for the image, nearest for every label map in ``seg_fields``. mmseg 1.2.2 has no such transform.
"""
import math
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SegRandomResizedCrop(BaseTransform):
    """Random area/aspect crop resized to a fixed size, applied jointly to the image and its label maps.

    Args:
        size: output (height, width), or one int for a square.
        scale: range of the crop's area as a fraction of the image area.
        ratio: range of the crop's aspect ratio w / h (sampled log-uniformly).
        max_attempts: draws before the centred fallback.

    Required keys: ``img`` (and the maps named in ``seg_fields``). Modified keys: ``img``, ``img_shape``, the
    maps in ``seg_fields``.
    """

    def __init__(self, size: Union[int, Sequence[int]] = 512, scale: Sequence[float] = (0.5, 0.75),
                 ratio: Sequence[float] = (3 / 4, 4 / 3), max_attempts: int = 10):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'scale must satisfy 0 < scale[0] <= scale[1] <= 1, got {scale}')
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'ratio must satisfy 0 < ratio[0] <= ratio[1], got {ratio}')
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.max_attempts = max_attempts

    def get_crop_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """Draw a crop box ``(top, left, box_height, box_width)`` for an image of ``height``×``width``."""
        area = height * width
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(self.max_attempts):
            target_area = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(log_lo, log_hi))
            box_w = int(round(math.sqrt(target_area * aspect)))
            box_h = int(round(math.sqrt(target_area / aspect)))
            if 0 < box_w <= width and 0 < box_h <= height:
                top = int(np.random.randint(0, height - box_h + 1))
                left = int(np.random.randint(0, width - box_w + 1))
                return top, left, box_h, box_w
        # Fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred.
        image_ratio = width / height
        if image_ratio < self.ratio[0]:
            box_w, box_h = width, int(round(width / self.ratio[0]))
        elif image_ratio > self.ratio[1]:
            box_h, box_w = height, int(round(height * self.ratio[1]))
        else:
            box_h, box_w = height, width
        return (height - box_h) // 2, (width - box_w) // 2, box_h, box_w

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, box_h, box_w = self.get_crop_box(*img.shape[:2])
        out_h, out_w = self.size
        crop = img[top:top + box_h, left:left + box_w]
        results['img'] = mmcv.imresize(crop, (out_w, out_h), interpolation='bilinear')
        results['img_shape'] = results['img'].shape[:2]
        for key in results.get('seg_fields', []):
            label = results[key][top:top + box_h, left:left + box_w]
            results[key] = mmcv.imresize(label, (out_w, out_h), interpolation='nearest')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio}, '
                f'max_attempts={self.max_attempts})')
