"""I²CRC's classifier training transforms (docs/method.md, 'I²CRC'): square resize and colour jitter.

The official training input is the image resized to 256×256 regardless of its aspect ratio (PIL bilinear, the
torchvision ``Resize`` default), then ``ColorJitter(0.3, 0.3, 0.3, 0.1)``, ImageNet normalisation (here the
model's data preprocessor), no flip and no crop. The saliency map is resized to the same square with nearest
neighbour. With mmssc's transforms::

    LoadImageRGB → LoadSaliency → SquareResize(256) → ColorJitterRGB(0.3, 0.3, 0.3, 0.1) → PackClsInputs
"""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image

__all__ = ['SquareResize', 'ColorJitterRGB']


@TRANSFORMS.register_module()
class SquareResize(BaseTransform):
    """Resize to ``size``×``size`` (aspect ratio not kept): PIL bilinear image, nearest for every ``seg_fields``
    map (saliency, superpixels, masks)."""

    def __init__(self, size: int = 256):
        if int(size) < 1:
            raise ValueError(f'SquareResize: size must be positive, got {size}')
        self.size = int(size)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        size_wh: Tuple[int, int] = (self.size, self.size)
        results['img'] = np.asarray(Image.fromarray(results['img']).resize(size_wh, Image.BILINEAR))
        for key in results.get('seg_fields', []):
            seg = results[key]
            # PIL mode 'I' holds int32: enough for saliency, superpixel ids and class maps
            resized = Image.fromarray(seg.astype(np.int32), mode='I').resize(size_wh, Image.NEAREST)
            results[key] = np.asarray(resized).astype(seg.dtype)
        results['img_shape'] = (self.size, self.size)
        results['scale_factor'] = (self.size / width, self.size / height)
        return results


@TRANSFORMS.register_module()
class ColorJitterRGB(BaseTransform):
    """torchvision's ``ColorJitter`` (the official transform, same parameter ranges and random order) on the uint8
    RGB image; the maps are untouched. Draws from torch's generator, which mmengine seeds per worker."""

    def __init__(self, brightness: float = 0.3, contrast: float = 0.3, saturation: float = 0.3, hue: float = 0.1):
        from torchvision.transforms import ColorJitter
        self.jitter = ColorJitter(brightness, contrast, saturation, hue)

    def transform(self, results: dict) -> dict:
        image = results['img']
        if image.dtype != np.uint8:
            raise ValueError(f'ColorJitterRGB expects the uint8 image before any padding/normalisation, got '
                             f'{image.dtype}: put it before RandomCropWithPad')
        results['img'] = np.asarray(self.jitter(Image.fromarray(image)))
        return results
