"""The superpixel generator the datasets and tools call (docs/method.md, 'Superpixels', option (b)).

``make_superpixels``: Felzenszwalb (σ 0.8, k 75, min size 75) then greedy merging to at most
``max_regions`` regions, with selective search's colour/texture/size/fill similarity between adjacent
regions, or, when dense CNN features are given, ICD's cosine + size similarity merged globally.
``load_or_make_superpixels``: read a stored 24-bit PNG id map (docs/method.md, 'cam_classifier') or generate
one
and cache it atomically in the same format.
"""
import os.path as osp
from typing import Optional

import numpy as np

from ..stage_files import read_superpixels, write_superpixels
from .regions import felzenszwalb_regions
from .selective_merge import greedy_merge
from .similarity import FeatureSimilarity, SelectiveSearchSimilarity

__all__ = ['make_superpixels', 'load_or_make_superpixels']


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'image must be an H×W×3 uint8 RGB array, got shape {image.shape} dtype {image.dtype}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'image is empty: shape {image.shape}')
    return image


def make_superpixels(image: np.ndarray, max_regions: int = 64, sigma: float = 0.8, scale: float = 75,
                     min_size: int = 75, features: Optional[np.ndarray] = None, *,
                     return_info: bool = False):
    """Superpixels of an RGB image: int64 H×W ids 0..n-1 with n ≤ ``max_regions``, deterministic.

    Args:
        image: H×W×3 uint8 RGB.
        max_regions: upper bound N on the number of regions (ICD and the paper use 64).
        sigma, scale, min_size: Felzenszwalb's smoothing σ, k and minimum component size.
        features: optional h×w×D dense CNN features of this image (e.g. VGG16 conv5_3 as in ICD).
            When given, regions are merged by cos(f_i, f_j) + 1 − (|i|+|j|)/(H·W) on their mean
            features (resized bilinearly to the image), globally as ICD does, so a region may consist
            of several pieces. Without features, only adjacent regions merge (selective search), so
            every region stays 8-connected unless the global fallback was needed.
        return_info: also return a ``MergeInfo`` (region counts, adjacent vs global merges).
    """
    image = _check_image(image)
    max_regions = int(max_regions)
    if max_regions < 1:
        raise ValueError(f'max_regions must be at least 1, got {max_regions}')
    labels, n_regions = felzenszwalb_regions(image, sigma=sigma, scale=scale, min_size=min_size)
    if features is None:
        model = SelectiveSearchSimilarity(image, labels, n_regions)
    else:
        model = FeatureSimilarity(features, labels, n_regions)
    lookup, info = greedy_merge(labels, n_regions, model, max_regions, adjacent_only=features is None)
    ids = lookup[labels]
    return (ids, info) if return_info else ids


def load_or_make_superpixels(image: np.ndarray, path: Optional[str], max_regions: int = 64,
                             cache: bool = True) -> np.ndarray:
    """Superpixel ids (int64 H×W) for ``image``: read from ``path`` if it exists, else generate.

    A generated map is written atomically to ``path`` (24-bit PNG ids) when ``cache`` is true, so
    concurrent data-loader workers never see a half-written file. A stored map is returned with its
    ids as stored (the distributed VOC files are not necessarily contiguous); its size must match the
    image's, since a map for another resolution would silently misalign.
    """
    if path is not None and osp.exists(path):
        ids = read_superpixels(path)
        image_shape = np.shape(image)[:2]
        if ids.shape != tuple(image_shape):
            raise ValueError(f'superpixel map {path} is {ids.shape[0]}×{ids.shape[1]} but its image is '
                             f'{image_shape[0]}×{image_shape[1]}')
        return ids
    ids = make_superpixels(image, max_regions=max_regions)
    if cache and path is not None:
        try:
            write_superpixels(path, ids)
        except OSError as exc:
            raise OSError(f'cannot cache generated superpixels at {path} ({exc}); '
                          'pass cache=False to generate them in memory only') from exc
    return ids


