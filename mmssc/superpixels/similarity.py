"""Region similarity measures for the hierarchical merge (docs/method.md, 'Superpixels').

Both models keep one slot per initial region. ``merge(keep, drop)`` folds region ``drop`` into slot
``keep``; ``similarity(i, js)`` scores region ``i`` against regions ``js`` (higher merges first).

``SelectiveSearchSimilarity`` (the paper's "hierarchically merged with selective search"; Uijlings et
al., IJCV 2013, §3.2, the C+T+S+F combination with unit weights)::

    s(i, j) = s_colour + s_texture + s_size + s_fill
    s_colour  = Σ_k min(c_i^k, c_j^k)   25-bin histogram per HSV channel (75 bins), L1-normalised
    s_texture = Σ_k min(t_i^k, t_j^k)   Gaussian derivatives (σ = 1) in 8 orientations per RGB channel,
                                        10 bins each (240 bins), L1-normalised
    s_size    = 1 − (|i| + |j|) / |image|
    s_fill    = 1 − (|BB_ij| − |i| − |j|) / |image|,  BB_ij the box around both regions

A merged region's histograms are the size-weighted mean (|i|·h_i + |j|·h_j) / (|i| + |j|), which is
exactly the normalised histogram of the union. Texture is taken on RGB rather than HSV because a
derivative of hue is meaningless at its wrap-around.

``FeatureSimilarity`` (ICD's ``generate_superpixel.py``, docs/method.md, 'Superpixels')::

    s(i, j) = cos(f_i, f_j) + 1 − (|i| + |j|) / (H·W)

with f the mean of the dense CNN features over the region's pixels, the features bilinearly resized
(half-pixel centres) to the image, and a merged feature the size-weighted mean.
"""
import numpy as np
from scipy import ndimage, sparse
from skimage.color import rgb2hsv

from .regions import bounding_boxes

__all__ = ['SelectiveSearchSimilarity', 'FeatureSimilarity']

COLOUR_BINS = 25
TEXTURE_BINS = 10
TEXTURE_SIGMA = 1.0
# 8 orientations = 4 derivative directions, each rectified into its positive and negative half.
TEXTURE_DIRECTIONS = np.deg2rad([0.0, 45.0, 90.0, 135.0])


def _region_histograms(labels: np.ndarray, n_regions: int, bin_maps: list[np.ndarray], n_bins: int) -> np.ndarray:
    """Per-region histograms of several per-pixel bin maps, concatenated and L1-normalised to sum 1.

    Returns an (R, len(bin_maps)·n_bins) array; each map contributes n_bins consecutive columns.
    """
    flat_labels = labels.ravel() * n_bins
    blocks = [np.bincount(flat_labels + bins.ravel(), minlength=n_regions * n_bins).reshape(n_regions, n_bins)
              for bins in bin_maps]
    hist = np.concatenate(blocks, axis=1).astype(np.float32)
    hist /= hist.sum(axis=1, keepdims=True)
    return hist


def colour_bin_maps(image: np.ndarray) -> list[np.ndarray]:
    """One map of 0..COLOUR_BINS-1 bin indices per HSV channel."""
    hsv = rgb2hsv(image).astype(np.float32)
    bins = np.minimum((hsv * COLOUR_BINS).astype(np.int64), COLOUR_BINS - 1)
    return [bins[..., channel] for channel in range(3)]


def texture_bin_maps(image: np.ndarray) -> list[np.ndarray]:
    """Per RGB channel and orientation, bin indices of the rectified σ = 1 Gaussian derivative.

    Responses are binned over [0, m] with m the channel's largest response, so the histogram uses its
    full range whatever the image contrast.
    """
    maps = []
    for channel in range(3):
        values = image[..., channel].astype(np.float32) / 255.0
        grad_x = ndimage.gaussian_filter(values, TEXTURE_SIGMA, order=(0, 1))
        grad_y = ndimage.gaussian_filter(values, TEXTURE_SIGMA, order=(1, 0))
        directional = [np.cos(angle) * grad_x + np.sin(angle) * grad_y for angle in TEXTURE_DIRECTIONS]
        largest = max(float(np.abs(d).max()) for d in directional)
        to_bin = TEXTURE_BINS / largest if largest > 0 else 0.0
        for response in directional:
            for rectified in (np.maximum(response, 0), np.maximum(-response, 0)):
                maps.append(np.minimum((rectified * to_bin).astype(np.int64), TEXTURE_BINS - 1))
    return maps


class SelectiveSearchSimilarity:
    """Colour + texture + size + fill similarity of selective search (formulas in the module docstring)."""

    def __init__(self, image: np.ndarray, labels: np.ndarray, n_regions: int):
        self.image_area = float(labels.size)
        self.sizes = np.bincount(labels.ravel(), minlength=n_regions).astype(np.float64)
        colour = _region_histograms(labels, n_regions, colour_bin_maps(image), COLOUR_BINS)
        texture = _region_histograms(labels, n_regions, texture_bin_maps(image), TEXTURE_BINS)
        # Each half sums to 1, so one intersection over the concatenation is s_colour + s_texture.
        self.histograms = np.concatenate([colour, texture], axis=1)
        self.boxes = bounding_boxes(labels, n_regions)

    def similarity(self, i, js) -> np.ndarray:
        """s(i, j) for each j in ``js``; ``i`` may be a scalar or an array broadcastable with ``js``."""
        histogram_term = np.minimum(self.histograms[i], self.histograms[js]).sum(axis=-1, dtype=np.float64)
        size_sum = self.sizes[i] + self.sizes[js]
        box_i, box_j = self.boxes[i], self.boxes[js]
        box_height = np.maximum(box_i[..., 2], box_j[..., 2]) - np.minimum(box_i[..., 0], box_j[..., 0])
        box_width = np.maximum(box_i[..., 3], box_j[..., 3]) - np.minimum(box_i[..., 1], box_j[..., 1])
        size_term = 1.0 - size_sum / self.image_area
        fill_term = 1.0 - (box_height * box_width - size_sum) / self.image_area
        return histogram_term + size_term + fill_term

    def similarity_matrix(self, regions: np.ndarray) -> np.ndarray:
        """Dense s over ``regions`` × ``regions`` (used only for the few regions left to a global merge)."""
        return np.stack([self.similarity(r, regions) for r in regions]) if len(regions) else np.zeros((0, 0))

    def merge(self, keep: int, drop: int) -> None:
        size_keep, size_drop = self.sizes[keep], self.sizes[drop]
        total = size_keep + size_drop
        self.histograms[keep] = (size_keep * self.histograms[keep] + size_drop * self.histograms[drop]) / total
        self.sizes[keep] = total
        box_keep, box_drop = self.boxes[keep], self.boxes[drop]
        self.boxes[keep] = (min(box_keep[0], box_drop[0]), min(box_keep[1], box_drop[1]),
                            max(box_keep[2], box_drop[2]), max(box_keep[3], box_drop[3]))


def _bilinear_taps(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (lo, hi) and weight of hi for resizing in_size → out_size with half-pixel centres."""
    source = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    source = np.clip(source, 0, in_size - 1)
    lo = np.floor(source).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, source - lo


def region_mean_features(features: np.ndarray, labels: np.ndarray, n_regions: int) -> np.ndarray:
    """Mean over each region of the features bilinearly resized to the label map, as (R, D) float64.

    Resizing is linear, so each region's sum is a weighted sum of the low-resolution feature vectors;
    the (R × h·w) weight matrix is accumulated sparsely and the H×W×D resized map is never built.
    """
    feat_h, feat_w, channels = features.shape
    height, width = labels.shape
    y_lo, y_hi, y_weight = _bilinear_taps(height, feat_h)
    x_lo, x_hi, x_weight = _bilinear_taps(width, feat_w)
    rows, cols, weights = [], [], []
    for y_index, wy in ((y_lo, 1.0 - y_weight), (y_hi, y_weight)):
        for x_index, wx in ((x_lo, 1.0 - x_weight), (x_hi, x_weight)):
            rows.append(labels.ravel())
            cols.append((y_index[:, None] * feat_w + x_index[None, :]).ravel())
            weights.append((wy[:, None] * wx[None, :]).ravel())
    region_weights = sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_regions, feat_h * feat_w))
    sums = region_weights @ features.reshape(-1, channels).astype(np.float64)
    sizes = np.bincount(labels.ravel(), minlength=n_regions).astype(np.float64)
    return sums / sizes[:, None]


class FeatureSimilarity:
    """ICD's similarity: cosine of region-mean CNN features plus the size term (module docstring)."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, n_regions: int):
        features = np.asarray(features)
        if features.ndim != 3:
            raise ValueError(f'features must be h×w×D, got shape {features.shape}')
        self.image_area = float(labels.size)
        self.sizes = np.bincount(labels.ravel(), minlength=n_regions).astype(np.float64)
        self.means = region_mean_features(features, labels, n_regions)
        self.unit_means = self._normalise(self.means)

    @staticmethod
    def _normalise(vectors: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        # A zero feature has no direction: its cosine with anything is taken as 0.
        return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)

    def similarity(self, i, js) -> np.ndarray:
        if np.ndim(i) == 0:
            cosine = self.unit_means[js] @ self.unit_means[i]
        else:
            cosine = np.sum(self.unit_means[i] * self.unit_means[js], axis=-1)
        return cosine + 1.0 - (self.sizes[i] + self.sizes[js]) / self.image_area

    def similarity_matrix(self, regions: np.ndarray) -> np.ndarray:
        unit = self.unit_means[regions]
        sizes = self.sizes[regions]
        return unit @ unit.T + 1.0 - (sizes[:, None] + sizes[None, :]) / self.image_area

    def merge(self, keep: int, drop: int) -> None:
        size_keep, size_drop = self.sizes[keep], self.sizes[drop]
        total = size_keep + size_drop
        self.means[keep] = (size_keep * self.means[keep] + size_drop * self.means[drop]) / total
        self.unit_means[keep] = self._normalise(self.means[keep])
        self.sizes[keep] = total
