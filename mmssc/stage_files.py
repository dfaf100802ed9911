"""The files every pipeline stage reads and writes, in one place (tools, the pipeline runner and tests use it).

All per-image outputs live in a pipeline work_dir, one file per image named by the image id, written
atomically (temporary name + rename, :mod:`mmssc.fileio`), so a stage can be interrupted and re-run: an image
whose output file exists is finished and is skipped.

==================  ======================  =================================  ==========================================
stage (tool)        reads                   writes (under the work_dir)        file and content
==================  ======================  =================================  ==========================================
superpixels         images                  ``superpixels/`` (or the dataset's  ``<id>.png``: 24-bit RGB PNG, id = R +
(make_superpixels)                          ``superpixel_path``)                256·G + 65536·B (H×W, ≤ 64 regions,
docs/method.md, 'Superpixels')
1 CAM classifier    images, labels,         ``cam_classifier/``                mmengine work_dir: ``epoch_N.pth``, logs
(train.py)          superpixels
2 CAMs              images, labels,         ``cams/``                          ``<id>.npz`` (written by
(make_cam)          stage-1 checkpoint                                         ``cam_inference.write_cam_file``; read with
                                                                               ``np.load(allow_pickle=False)``): ``keys``
                                                                               int64 [K] (0-based classes of the image's
                                                                               labels), ``cam`` float32 [K, ⌈H/4⌉,
                                                                               ⌈W/4⌉] (stride 4), ``high_res`` float32
                                                                               [K, H, W]; each map divided by its own
                                                                               max + 1e-5 (docs/method.md, 'Stage 2:
                                                                               multi-scale CAMs')
3 IR labels         ``cams/``, images       ``ir_labels/``                     ``<id>.png``: uint8 H×W palette PNG: 0 =
(make_ir_label)                                                                confident background, c+1 = confident
                                                                               class c, 255 = uncertain (docs/method.md,
                                                                               'Stage 3: IR labels')
4 IRN (train.py)    images, ``ir_labels/``  ``irn/``                           mmengine work_dir: checkpoints (the last
                                                                               holds the mean-shift statistic), logs
4 pseudo masks      images, ``cams/``,      ``pseudo_masks/``                  ``<id>.png``: uint8 H×W palette PNG, 0 =
(make_pseudo_masks) IRN checkpoint                                             background, c+1 = class c
(docs/method.md, 'Random walk')
                                            ``pseudo_masks_confident/``        the pseudo mask with the uncertain half of
                                                                               each class region set to 255
                                                                               (docs/method.md, 'Confidence masks'):
                                                                               what
                                                                               stage 5 trains on (mmseg ignores 255)
5 segmentation      images,                 ``segmentation/``                  mmengine work_dir of stock mmseg training
(train.py)          ``pseudo_masks_confident/``
evaluation          any of the folders      (printed; ``--out`` JSON)          mIoU, per-class IoU, fg precision/recall
(eval_masks)        above + ground truth
overlays            any of the above        ``vis/<stage>/``                   ``<id>.jpg``: image | CAM | IR label |
(``--show-dir``)                                                               pseudo mask | confidence
==================  ======================  =================================  ==========================================
"""
import os.path as osp
from typing import Iterable, List, Sequence

import numpy as np

STAGE_DIRS = dict(
    superpixels='superpixels',
    cam_classifier='cam_classifier',
    cams='cams',
    ir_labels='ir_labels',
    irn='irn',
    pseudo_masks='pseudo_masks',
    pseudo_masks_confident='pseudo_masks_confident',
    segmentation='segmentation',
    vis='vis',
)
PER_IMAGE_SUFFIX = dict(superpixels='.png', cams='.npz', ir_labels='.png', pseudo_masks='.png',
                        pseudo_masks_confident='.png')
CAM_KEYS = ('keys', 'cam', 'high_res')
BACKGROUND_LABEL = 0


def stage_dir(work_dir: str, stage: str) -> str:
    if stage not in STAGE_DIRS:
        raise KeyError(f'unknown stage {stage!r}; known: {", ".join(STAGE_DIRS)}')
    return osp.join(work_dir, STAGE_DIRS[stage])


def stage_file(work_dir: str, stage: str, image_id: str) -> str:
    """Path of one image's output of a per-image stage."""
    if stage not in PER_IMAGE_SUFFIX:
        raise KeyError(f'stage {stage!r} has no per-image files; per-image stages: {", ".join(PER_IMAGE_SUFFIX)}')
    return osp.join(stage_dir(work_dir, stage), image_id + PER_IMAGE_SUFFIX[stage])


def pending_ids(work_dir: str, stage: str, image_ids: Iterable[str]) -> List[str]:
    """The ids whose output of ``stage`` does not exist yet (finished files are complete: writes are atomic)."""
    return [i for i in image_ids if not osp.isfile(stage_file(work_dir, stage, i))]


# ------------------------------------------------------------------ score planes → label values
# Every stage that turns per-class maps into labels (CAM seeds, IR labels, pseudo masks) stacks a background plane
# in front of the K maps of an image's classes ``keys`` (0-based) and takes the argmax: plane 0 is background
# (label 0), plane k ≥ 1 is class keys[k-1] (label keys[k-1] + 1). Ties go to the lower plane, so a class must
# beat the background plane strictly.

def class_of_plane(keys: Sequence[int]) -> np.ndarray:
    """Label value of each plane of a background-first stack: ``[0, keys[0] + 1, …, keys[K-1] + 1]`` (int64)."""
    return np.concatenate([[BACKGROUND_LABEL], np.asarray(keys, dtype=np.int64).reshape(-1) + 1])


class CamSeeds:
    """The seed rule for one image's CAMs ``cams`` (K×H×W) at any background threshold t.

    plane(x) = argmax over [t, M_1(x), …, M_K(x)] = k* + 1 if M_k*(x) > t (k* the first maximum), else 0;
    label(x) = class_of_plane(keys)[plane(x)]. The maximum and argmax are taken once, so a sweep over t costs one
    comparison per threshold.
    """

    def __init__(self, keys: Sequence[int], cams: np.ndarray):
        cams = np.asarray(cams)
        if cams.ndim != 3:
            raise ValueError(f'expected K×H×W CAMs, got shape {cams.shape}')
        self.classes = class_of_plane(keys)
        if len(self.classes) != len(cams) + 1:
            raise ValueError(f'{len(self.classes) - 1} keys for {len(cams)} CAMs')
        self.best = cams.max(axis=0) if len(cams) else np.full(cams.shape[1:], -np.inf, np.float32)
        self.top_plane = cams.argmax(axis=0) + 1 if len(cams) else np.zeros(cams.shape[1:], np.int64)

    def planes(self, threshold: float) -> np.ndarray:
        """Plane indices 0..K (int64 H×W)."""
        return np.where(self.best > threshold, self.top_plane, 0)

    def labels(self, threshold: float) -> np.ndarray:
        """Label values 0 / keys + 1 (int64 H×W)."""
        return self.classes[self.planes(threshold)]


def threshold_planes(cams: np.ndarray, threshold: float) -> np.ndarray:
    """Plane indices 0..K of the seed rule at ``threshold`` (see :class:`CamSeeds`)."""
    return CamSeeds(np.arange(len(cams)), cams).planes(threshold)


def cam_seed_labels(keys: Sequence[int], cams: np.ndarray, threshold: float) -> np.ndarray:
    """The seed label map of one image's CAMs at background threshold ``threshold`` (int64 H×W, 0..C)."""
    return CamSeeds(keys, cams).labels(threshold)
