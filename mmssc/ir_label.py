"""Inter-pixel relation (IR) labels from CAMs: confident foreground, confident background, uncertain (docs/method.md,
'Stage 3: IR labels').

With ``high_res`` = M (K×H×W, per-class max-normalised CAMs of the image's classes ``keys``) and the raw RGB image:

1. Foreground pass: L_fg = argmax over [τ_fg, M_1, …, M_K] (a constant background plane τ_fg = 0.30 in front;
   ties go to the background, NumPy's first-index rule), refined by the dense CRF below, then mapped to class
   labels with keys_ext = [0, keys + 1]: fg = keys_ext[CRF(L_fg)].
2. Background pass: the same with τ_bg = 0.10, giving bg.
3. IR label = fg where fg > 0; 0 where fg = 0 and bg = 0; 255 (uncertain) where fg = 0 but bg > 0.

Dense CRF (IRN's ``crf_inference_label``): K+1 labels, unary from the label map with confidence 0.7
(−log 0.7 for the given label, −log(0.3/K) for the others; label 0 is a real class), Gaussian pairwise
(sxy 3, compat 3), bilateral pairwise (sxy 50, srgb 5, compat 10) on the raw RGB image, 10 mean-field
iterations, argmax. It runs through :func:`mmssc.crf.dense_crf` with :data:`mmssc.crf.IR_LABEL_CRF` and
:func:`mmssc.crf.label_probs`, whose −log of the probabilities equals pydensecrf's ``unary_from_labels`` exactly.

The file written per image is ``ir_labels/<id>.png`` (palette PNG; :mod:`mmssc.stage_files`).
"""
from typing import Optional, Sequence

import numpy as np

from .crf import IR_LABEL_CRF, IR_LABEL_GT_PROB, dense_crf, label_probs
from .stage_files import class_of_plane, threshold_planes

CONF_FG_THRESHOLD = 0.30
CONF_BG_THRESHOLD = 0.10
UNCERTAIN = 255

__all__ = ['CONF_FG_THRESHOLD', 'CONF_BG_THRESHOLD', 'UNCERTAIN', 'threshold_cams', 'crf_label_refine',
           'combine_confident', 'make_ir_label', 'make_ir_label_file']


def threshold_cams(high_res: np.ndarray, threshold: float) -> np.ndarray:
    """Argmax over a constant background plane ``threshold`` followed by the K maps: int64 H×W in 0..K.

    A pixel is background (0) unless some class map exceeds the threshold strictly (ties → background); the
    rule itself is :func:`mmssc.stage_files.threshold_planes`, shared with the CAM seeds.
    """
    return threshold_planes(high_res, threshold)


def crf_label_refine(image_rgb: np.ndarray, labels: np.ndarray, num_labels: int,
                     gt_prob: float = IR_LABEL_GT_PROB, crf_params: Optional[dict] = None) -> np.ndarray:
    """Dense-CRF refinement of a label map (0..num_labels-1) on the raw RGB image: argmax of the marginals."""
    probs = label_probs(labels, num_labels, gt_prob)
    marginals = dense_crf(image_rgb, probs, **dict(IR_LABEL_CRF, **(crf_params or {})))
    return np.argmax(marginals, axis=0)


def combine_confident(fg_conf: np.ndarray, bg_conf: np.ndarray) -> np.ndarray:
    """fg where fg > 0; 0 where both passes say background; 255 where only the strict pass does (uint8)."""
    ir_label = fg_conf.astype(np.uint8)
    ir_label[fg_conf == 0] = UNCERTAIN
    ir_label[(fg_conf == 0) & (bg_conf == 0)] = 0
    return ir_label


def make_ir_label(image_rgb: np.ndarray, keys: Sequence[int], high_res: np.ndarray,
                  fg_threshold: float = CONF_FG_THRESHOLD, bg_threshold: float = CONF_BG_THRESHOLD,
                  crf_params: Optional[dict] = None) -> np.ndarray:
    """The IR label (uint8 H×W: 0, c+1 for 0-based class c, 255) of one image (formulas in the module docstring).

    ``image_rgb`` is the raw uint8 H×W×3 image, ``keys`` the 0-based classes of the K maps in ``high_res``.
    """
    image_rgb = np.asarray(image_rgb)
    keys = np.asarray(keys, dtype=np.int64)
    if high_res.shape[1:] != image_rgb.shape[:2]:
        raise ValueError(f'CAMs are {high_res.shape[1]}x{high_res.shape[2]} but the image is '
                         f'{image_rgb.shape[0]}x{image_rgb.shape[1]}')
    if len(keys) != len(high_res):
        raise ValueError(f'{len(keys)} keys for {len(high_res)} CAMs')
    keys_ext = class_of_plane(keys)
    num_labels = len(keys_ext)
    fg_conf = keys_ext[crf_label_refine(image_rgb, threshold_cams(high_res, fg_threshold), num_labels,
                                        crf_params=crf_params)]
    bg_conf = keys_ext[crf_label_refine(image_rgb, threshold_cams(high_res, bg_threshold), num_labels,
                                        crf_params=crf_params)]
    return combine_confident(fg_conf, bg_conf)


def make_ir_label_file(job: dict) -> str:
    """Worker task: read the image and its CAM file, write the IR label PNG atomically; return the image id.

    ``job`` holds ``img_id``, ``img_path``, ``cam_path``, ``out_path`` and optionally ``fg_threshold``,
    ``bg_threshold``. Errors name the offending file.
    """
    from .fileio import read_image
    from .stage_files import read_cam_file, write_label_file

    image = read_image(job['img_path'])
    cams = read_cam_file(job['cam_path'])
    if cams['high_res'].shape[1:] != image.shape[:2]:
        raise ValueError(f"CAM file {job['cam_path']} is {cams['high_res'].shape[1]}x{cams['high_res'].shape[2]} "
                         f"but its image {job['img_path']} is {image.shape[0]}x{image.shape[1]}")
    try:
        ir_label = make_ir_label(image, cams['keys'], cams['high_res'], job.get('fg_threshold', CONF_FG_THRESHOLD),
                                 job.get('bg_threshold', CONF_BG_THRESHOLD))
    except (ValueError, RuntimeError) as exc:
        raise type(exc)(f"IR label of {job['img_id']} ({job['img_path']}, {job['cam_path']}): {exc}") from exc
    write_label_file(job['out_path'], ir_label)
    return job['img_id']
