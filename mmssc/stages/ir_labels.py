"""The ``ir_labels`` stage: inter-pixel relation (IR) labels from the CAMs, confident foreground, confident
background, uncertain; one ``<work_dir>/ir_labels/<id>.png`` per image (docs/method.md, 'ir_labels').

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

The file written per image is ``ir_labels/<id>.png`` (palette PNG; :mod:`mmssc.stage_files`). The two dense CRFs
per image are CPU work: they run in the per-image loop's worker processes (default: half the CPUs, as the
official code).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..crf import IR_LABEL_CRF, IR_LABEL_GT_PROB, dense_crf, label_probs
from ..fileio import raise_missing_files, read_image
from ..stage_files import (class_of_plane, dataset_items, read_cam_file, stage_dir, stage_file, threshold_planes,
                           write_label_file)
from .per_image import PerImageTask, load_stage_config, overlay_step, run_per_image

CONF_FG_THRESHOLD = 0.30
CONF_BG_THRESHOLD = 0.10
UNCERTAIN = 255

__all__ = ['CONF_FG_THRESHOLD', 'CONF_BG_THRESHOLD', 'UNCERTAIN', 'threshold_cams', 'crf_label_refine',
           'combine_confident', 'make_ir_label', 'IRLabelTask', 'items_from_cam_dir', 'run']


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


class IRLabelTask(PerImageTask):
    """Workers read the image and its CAM file and run both CRF passes; this process writes the PNG."""
    name, what = 'ir_labels', 'IR labels'

    def __init__(self, work_dir: str, fg_threshold: float = CONF_FG_THRESHOLD,
                 bg_threshold: float = CONF_BG_THRESHOLD):
        self.work_dir, self.fg_threshold, self.bg_threshold = work_dir, fg_threshold, bg_threshold

    def outputs(self, item: dict) -> Dict[str, str]:
        return dict(ir_labels=stage_file(self.work_dir, 'ir_labels', item['img_id']))

    def check_inputs(self, pending: Sequence[dict]) -> None:
        raise_missing_files([stage_file(self.work_dir, 'cams', item['img_id']) for item in pending], 'CAM files',
                            ' (run tools/make_cam.py on the same image list first)')

    def load(self, unit: List[dict]) -> dict:
        item = unit[0]
        cam_path = stage_file(self.work_dir, 'cams', item['img_id'])
        image = read_image(item['img_path'])
        cams = read_cam_file(cam_path)
        if cams['high_res'].shape[1:] != image.shape[:2]:
            raise ValueError(f"CAM file {cam_path} is {cams['high_res'].shape[1]}x{cams['high_res'].shape[2]} "
                             f"but its image {item['img_path']} is {image.shape[0]}x{image.shape[1]}")
        try:
            ir_label = make_ir_label(image, cams['keys'], cams['high_res'], self.fg_threshold, self.bg_threshold)
        except (ValueError, RuntimeError) as exc:
            raise type(exc)(f"IR label of {item['img_id']} ({item['img_path']}, {cam_path}): {exc}") from exc
        return dict(results=[(item, ir_label)])

    def write(self, item: dict, result: np.ndarray) -> None:
        write_label_file(self.outputs(item)['ir_labels'], result)


def items_from_cam_dir(work_dir: str, img_dir: str, img_suffix: str = '.jpg') -> List[dict]:
    """Without a config: every CAM file's id in ``work_dir/cams``, its image ``img_dir/<id><img_suffix>``."""
    cam_dir = stage_dir(work_dir, 'cams')
    if not osp.isdir(cam_dir):
        raise FileNotFoundError(f'CAM folder not found: {cam_dir} (run tools/make_cam.py first)')
    ids = sorted(n[:-len('.npz')] for n in os.listdir(cam_dir) if n.endswith('.npz') and not n.startswith('.'))
    if not ids:
        raise FileNotFoundError(f'no CAM files in {cam_dir}')
    items = [dict(img_id=i, img_path=osp.join(img_dir, i + img_suffix)) for i in ids]
    raise_missing_files([item['img_path'] for item in items], 'images')
    return items


def run(work_dir: str, config: Optional[str] = None, ann_file: Optional[str] = None,
        img_dir: Optional[str] = None, img_suffix: str = '.jpg', workers: Optional[int] = None,
        fg_threshold: float = CONF_FG_THRESHOLD, bg_threshold: float = CONF_BG_THRESHOLD,
        show_dir: Optional[str] = None, show_num: int = 20, cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/ir_labels/<id>.png`` for the images of ``config``'s ``test_dataloader.dataset``
    (``ann_file`` replaces its list), or, without a config, for every CAM file's image in ``img_dir``. Every
    CAM file must exist before anything is written; finished images are skipped. ``workers`` CRF processes
    (default: half the CPUs). Returns the number of files written."""
    if config:
        items = dataset_items(load_stage_config(config, cfg_options), ann_file)[0]
    else:
        items = items_from_cam_dir(work_dir, img_dir, img_suffix)
    workers = max(1, (os.cpu_count() or 2) // 2) if workers is None else workers
    prefix = '[make_ir_label] '
    return run_per_image(IRLabelTask(work_dir, fg_threshold, bg_threshold), items, workers, prefix=prefix,
                         where=f'{stage_dir(work_dir, "ir_labels")} with {workers} worker(s)',
                         after=overlay_step(work_dir, items, show_dir, show_num, prefix))
