"""The initial over-segmentation and the region graph the hierarchical merge starts from (docs/method.md,
'Superpixels').

Step 1 of ICD's recipe: Felzenszwalb–Huttenlocher graph segmentation with Gaussian smoothing σ = 0.8,
k = 75 and min_size = 75. scikit-image's ``felzenszwalb`` builds its graph on the 8-neighbourhood, so
every initial region is 8-connected; the region graph here therefore uses the same 8-neighbourhood
(two regions are adjacent when a pixel of one touches a pixel of the other horizontally, vertically or
diagonally). Merging only adjacent regions then keeps every region 8-connected.
"""
import numpy as np
from scipy import ndimage
from skimage.segmentation import felzenszwalb

__all__ = ['felzenszwalb_regions', 'contiguous_labels', 'adjacent_pairs', 'bounding_boxes']


def contiguous_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map non-negative integer labels onto 0..n-1 (order of the original values kept); return (labels, n)."""
    labels = np.asarray(labels, dtype=np.int64)
    present = np.bincount(labels.ravel()) > 0
    n = int(present.sum())
    if n == present.size:
        return labels, n
    lut = np.cumsum(present) - 1
    return lut[labels], n


def felzenszwalb_regions(image: np.ndarray, sigma: float, scale: float, min_size: int) -> tuple[np.ndarray, int]:
    """Felzenszwalb segmentation of an RGB uint8 image as int64 labels 0..R-1; returns (labels, R).

    scikit-image divides ``scale`` by 255 internally, so k keeps the meaning it has in the original
    C++ code on 0..255 intensities (ICD's ``makeSuperpixel … 75``).
    """
    labels = felzenszwalb(image, scale=scale, sigma=sigma, min_size=int(min_size), channel_axis=-1)
    return contiguous_labels(labels)


def adjacent_pairs(labels: np.ndarray, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs (a, b), a < b, of 8-adjacent regions, sorted by (a, b)."""
    shifted_views = (
        (labels[:, :-1], labels[:, 1:]),      # horizontal
        (labels[:-1, :], labels[1:, :]),      # vertical
        (labels[:-1, :-1], labels[1:, 1:]),   # diagonal
        (labels[:-1, 1:], labels[1:, :-1]),   # anti-diagonal
    )
    keys = []
    for first, second in shifted_views:
        differ = first != second
        lo = np.minimum(first[differ], second[differ])
        hi = np.maximum(first[differ], second[differ])
        keys.append(lo * n_regions + hi)
    keys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    return keys // n_regions, keys % n_regions


def bounding_boxes(labels: np.ndarray, n_regions: int) -> np.ndarray:
    """Per-region box as an (R, 4) int64 array (y0, x0, y1, x1), ends exclusive."""
    boxes = np.zeros((n_regions, 4), np.int64)
    for index, slices in enumerate(ndimage.find_objects(labels + 1, max_label=n_regions)):
        if slices is not None:
            boxes[index] = (slices[0].start, slices[1].start, slices[0].stop, slices[1].stop)
    return boxes
