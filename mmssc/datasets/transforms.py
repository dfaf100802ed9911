"""``cam_classifier`` data transforms: image and superpixel map travel together (docs/method.md, 'cam_classifier').

The official order is: read RGB → decode superpixels (+1, so 0 is free for padding) → random long-side resize
(PIL bicubic / nearest) → normalise → flip → random crop with padding → relabel superpixel ids. Here the
normalisation moves to the model's data preprocessor (mmengine convention); to keep the official padding, which is
0 *after* normalisation, the crop pads the image with the mean colour in float32, which normalises to exactly 0.
The flip is mmseg's ``RandomFlip``: it flips every key in ``results['seg_fields']``, superpixels included.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample
from PIL import Image

from ..fileio import read_image
from ..stage_files import read_superpixels

IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)


def _add_seg_field(results: dict, key: str) -> None:
    fields = results.setdefault('seg_fields', [])
    if key not in fields:
        fields.append(key)


@TRANSFORMS.register_module()
class LoadImageRGB(BaseTransform):
    """Read ``img_path`` as RGB uint8 (the official loader's colour order); a bad file names itself."""

    def transform(self, results: dict) -> dict:
        img = read_image(results['img_path'])
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results


@TRANSFORMS.register_module()
class LoadSuperpixels(BaseTransform):
    """Read ``superpixel_path`` into ``gt_superpixels`` (int64, stored id + 1; 0 is reserved for padding).

    Args:
        generate_missing: make a missing map with :func:`mmssc.superpixels.load_or_make_superpixels` (and
            cache it at ``superpixel_path``) instead of failing. A dataset built with ``superpixels='generate'``
            asks for this per item (``generate_superpixels``), so the dataset setting alone is enough.
        max_regions: region bound for generated maps (docs/method.md, 'Superpixels': 64).
    """

    def __init__(self, generate_missing: bool = False, max_regions: int = 64):
        self.generate_missing = generate_missing
        self.max_regions = max_regions

    def transform(self, results: dict) -> dict:
        path = results.get('superpixel_path')
        if path is None:
            raise KeyError(f"LoadSuperpixels: image {results.get('img_path')} has no superpixel_path; set "
                           "data_prefix['superpixel_path'] in the dataset")
        if self.generate_missing or results.get('generate_superpixels', False):
            from ..superpixels import load_or_make_superpixels
            ids = load_or_make_superpixels(results['img'], path, max_regions=self.max_regions)
        else:
            ids = read_superpixels(path)
        if ids.shape != tuple(results['img'].shape[:2]):
            raise ValueError(f'superpixel map {path} is {ids.shape[0]}x{ids.shape[1]} but its image '
                             f"{results.get('img_path')} is {results['img'].shape[0]}x{results['img'].shape[1]}")
        results['gt_superpixels'] = ids.astype(np.int64) + 1
        _add_seg_field(results, 'gt_superpixels')
        return results


@TRANSFORMS.register_module()
class RandomLongSideResize(BaseTransform):
    """Resize so the long side is ``L ~ U{min_size..max_size}`` (inclusive): bicubic image, nearest maps.

    Output size is (round(H·s), round(W·s)) with s = L / max(H, W), as in the official ``random_resize_long``.
    """

    def __init__(self, min_size: int = 320, max_size: int = 640):
        if not 0 < min_size <= max_size:
            raise ValueError(f'RandomLongSideResize: need 0 < min_size <= max_size, got {min_size}, {max_size}')
        self.min_size, self.max_size = min_size, max_size

    def transform(self, results: dict) -> dict:
        long_side = np.random.randint(self.min_size, self.max_size + 1)
        h, w = results['img'].shape[:2]
        scale = long_side / max(h, w)
        size_wh = (int(round(w * scale)), int(round(h * scale)))
        results['img'] = np.asarray(Image.fromarray(results['img']).resize(size_wh, Image.BICUBIC))
        for key in results.get('seg_fields', []):
            seg = results[key]
            # PIL mode 'I' holds int32: enough for superpixel ids (< 2**24 + 1) and class maps.
            resized = Image.fromarray(seg.astype(np.int32), mode='I').resize(size_wh, Image.NEAREST)
            results[key] = np.asarray(resized).astype(seg.dtype)
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size_wh[0] / w, size_wh[1] / h)
        return results


def random_crop_box(size: int, crop: int):
    """One axis of the official ``get_random_crop_box``: (source offset, target offset, length)."""
    if size > crop:
        return np.random.randint(0, size - crop + 1), 0, crop
    return 0, np.random.randint(0, crop - size + 1), size


@TRANSFORMS.register_module()
class RandomCropWithPad(BaseTransform):
    """Crop a random ``crop_size`` window; an axis shorter than the crop is placed at a random offset.

    The image becomes float32, padded with ``img_pad_value`` (the normalisation mean, so padding normalises to
    0 as in the official code). Superpixels are padded with 0 (their own region, distinct from every real id
    thanks to the +1), saliency with 0 (not salient); other maps in ``seg_fields`` with ``seg_pad_value``
    (255 = ignore).
    """
    ZERO_PADDED_FIELDS = ('gt_superpixels', 'gt_saliency')

    def __init__(self, crop_size: int = 512, img_pad_value: Sequence[float] = IMAGENET_MEAN_RGB,
                 seg_pad_value: int = 255):
        self.crop_size = int(crop_size)
        self.img_pad_value = tuple(float(v) for v in img_pad_value)
        self.seg_pad_value = seg_pad_value

    def axis_box(self, size: int):
        """(source offset, target offset, length) along one axis: the official random window/placement."""
        return random_crop_box(size, self.crop_size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        c = self.crop_size
        (src_y, dst_y, len_y), (src_x, dst_x, len_x) = self.axis_box(h), self.axis_box(w)
        src = (slice(src_y, src_y + len_y), slice(src_x, src_x + len_x))
        dst = (slice(dst_y, dst_y + len_y), slice(dst_x, dst_x + len_x))
        img = np.empty((c, c, results['img'].shape[2]), np.float32)
        img[...] = np.asarray(self.img_pad_value, np.float32)
        img[dst] = results['img'][src]
        results['img'] = img
        for key in results.get('seg_fields', []):
            seg = results[key]
            pad = 0 if key in self.ZERO_PADDED_FIELDS else self.seg_pad_value
            out = np.full((c, c), pad, seg.dtype)
            out[dst] = seg[src]
            results[key] = out
        results['img_shape'] = (c, c)
        results['crop_box'] = (src_y, src_x, len_y, len_x, dst_y, dst_x)
        return results


@TRANSFORMS.register_module()
class RelabelSuperpixels(BaseTransform):
    """Map the ids present in the crop (padding included) to a random permutation of 0..n-1 (docs/method.md,
    'cam_classifier')."""

    def transform(self, results: dict) -> dict:
        sp = results['gt_superpixels']
        unique_ids, inverse = np.unique(sp, return_inverse=True)
        permutation = np.random.permutation(len(unique_ids))
        results['gt_superpixels'] = permutation[inverse.reshape(sp.shape)].astype(np.int64)
        return results


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """Pack ``img`` as a C×H×W tensor and labels, superpixels and masks into a ``SegDataSample``.

    The sample carries ``gt_label`` (multi-hot float32), ``gt_superpixels``, ``gt_saliency`` (uint8 0..255)
    and ``gt_sem_seg`` (PixelData, 1×H×W) when present, and the listed meta keys.
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_id', 'img_path', 'seg_map_path', 'superpixel_path',
                                                    'saliency_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                                    'flip_direction', 'label_indices')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = SegDataSample()
        if 'gt_label' in results:
            sample.gt_label = torch.as_tensor(np.asarray(results['gt_label'], np.float32))
        if 'gt_superpixels' in results:
            sample.gt_superpixels = PixelData(data=torch.from_numpy(results['gt_superpixels'][None].copy()))
        if 'gt_saliency' in results:
            sample.gt_saliency = PixelData(data=torch.from_numpy(np.asarray(results['gt_saliency'], np.uint8)[None]
                                                                 .copy()))
        if 'gt_seg_map' in results:
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(results['gt_seg_map'][None].astype(np.int64)))
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=torch.from_numpy(img), data_samples=sample)
