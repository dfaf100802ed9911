"""Fully connected CRF refinement (Krähenbühl & Koltun, NeurIPS 2011) of per-pixel class probabilities.

For an image I and probabilities P (C×H×W), the CRF minimises

    E(x) = Σ_i ψ_u(x_i) + Σ_{i<j} [x_i ≠ x_j] · ( w_pos · exp(-|p_i - p_j|² / 2σ_pos²)
                                              + w_bi  · exp(-|p_i - p_j|² / 2σ_xy² - |I_i - I_j|² / 2σ_rgb²) )

with the unary ψ_u(x_i = c) = -log max(P_c(i), 1e-5) (pydensecrf's ``unary_from_softmax``), a Potts
compatibility and ``n_iters`` mean-field steps; :func:`dense_crf` returns the mean-field marginals Q (C×H×W).

Parameter sets used by SSC:

* :data:`SEG_TEST_CRF`, the segmentation test CRF of docs/method.md, 'segmentation': 10 iterations, Gaussian (σ 1, w
  3), bilateral (σ_xy 67, σ_rgb 3, w 4), unary from the softmax of the upsampled logits.
* :data:`IR_LABEL_CRF`, IRN's CRF for the IR labels (docs/method.md, 'ir_labels'): 10 iterations, Gaussian (σ 3, w
  3), bilateral (σ_xy 50, σ_rgb 5, w 10), unary from a label map with confidence 0.7 (:func:`label_probs`).

The image is the real RGB image (uint8). The official segmentation test feeds the CRF the *mean-subtracted* image
cast with ``astype(uint8)``, so negative values wrap around modulo 256 (docs/method.md, 'segmentation'): a quirk
inherited from deeplab-pytorch that distorts the colour term. It is deliberately not reproduced here, so CRF numbers
from this module are those of the intended CRF, not a bit-exact copy of the official ones.

pydensecrf is imported only when a CRF actually runs; install it with ``pip install pydensecrf2`` (prebuilt
wheels of the original pydensecrf, which fails to build with Cython 3 on recent Pythons).
"""
import numpy as np

SEG_TEST_CRF = dict(n_iters=10, pos_w=3.0, pos_xy_std=1.0, bi_w=4.0, bi_xy_std=67.0, bi_rgb_std=3.0)
IR_LABEL_CRF = dict(n_iters=10, pos_w=3.0, pos_xy_std=3.0, bi_w=10.0, bi_xy_std=50.0, bi_rgb_std=5.0)
IR_LABEL_GT_PROB = 0.7
PROB_CLIP = 1e-5

INSTALL_HINT = ('the dense CRF needs pydensecrf: `pip install pydensecrf2` (prebuilt wheels; the original '
                '`pydensecrf` package fails to build with Cython 3), or from source: '
                '`pip install git+https://github.com/lucasb-eyer/pydensecrf.git`')


def import_densecrf():
    """Import ``pydensecrf.densecrf``, or raise an ImportError that says how to install it."""
    try:
        import pydensecrf.densecrf as densecrf
    except ImportError as exc:
        raise ImportError(f'{INSTALL_HINT} ({exc})') from exc
    return densecrf


def label_probs(labels: np.ndarray, num_classes: int, gt_prob: float = IR_LABEL_GT_PROB) -> np.ndarray:
    """Probabilities that trust a label map with confidence ``gt_prob`` (C×H×W float32).

    P_c(i) = gt_prob if labels[i] == c, else (1 - gt_prob) / (C - 1): the unary of pydensecrf's
    ``unary_from_labels(..., zero_unsure=False)`` written as probabilities.
    """
    labels = np.asarray(labels)
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob must lie in (0, 1), got {gt_prob}')
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= num_classes:
        raise ValueError(f'labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}')
    probs = np.full((num_classes, ) + labels.shape, (1.0 - gt_prob) / (num_classes - 1), np.float32)
    np.put_along_axis(probs, labels[None].astype(np.int64), np.float32(gt_prob), axis=0)
    return probs


def dense_crf(image_rgb: np.ndarray, probs: np.ndarray, n_iters: int = SEG_TEST_CRF['n_iters'],
              pos_w: float = SEG_TEST_CRF['pos_w'], pos_xy_std: float = SEG_TEST_CRF['pos_xy_std'],
              bi_w: float = SEG_TEST_CRF['bi_w'], bi_xy_std: float = SEG_TEST_CRF['bi_xy_std'],
              bi_rgb_std: float = SEG_TEST_CRF['bi_rgb_std']) -> np.ndarray:
    """Refine ``probs`` (C×H×W, each pixel a distribution) with a dense CRF on ``image_rgb`` (H×W×3 uint8).

    Defaults are the segmentation test CRF of docs/method.md, 'segmentation'. Returns the marginals Q as C×H×W
    float32; take ``argmax(axis=0)`` for labels.
    """
    image_rgb = np.asarray(image_rgb)
    probs = np.asarray(probs, dtype=np.float32)
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f'image_rgb must be H×W×3 uint8, got {image_rgb.shape} {image_rgb.dtype}')
    if probs.ndim != 3 or probs.shape[1:] != image_rgb.shape[:2]:
        raise ValueError(f'probs must be C×H×W with H×W = {image_rgb.shape[:2]}, got {probs.shape}')
    num_classes, height, width = probs.shape
    if num_classes < 2:
        raise ValueError('a CRF needs at least 2 classes')
    densecrf = import_densecrf()
    crf = densecrf.DenseCRF2D(width, height, num_classes)
    unary = -np.log(np.clip(probs, PROB_CLIP, 1.0)).reshape(num_classes, -1)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=pos_xy_std, compat=pos_w)
    if not (image_rgb.flags.c_contiguous and image_rgb.flags.writeable):  # pydensecrf needs a writable C buffer
        image_rgb = image_rgb.copy(order='C')
    crf.addPairwiseBilateral(sxy=bi_xy_std, srgb=bi_rgb_std, rgbim=image_rgb, compat=bi_w)
    marginals = crf.inference(int(n_iters))
    return np.asarray(marginals, dtype=np.float32).reshape(num_classes, height, width)
