"""The files every pipeline stage reads and writes, in one place (tools, the pipeline runner and tests use it).

All per-image outputs live in a pipeline work_dir, one file per image named by the image id, written
atomically (temporary name + rename, :mod:`mmssc.fileio`), so a stage can be interrupted and re-run: an image
whose output file exists is finished and is skipped.

=====================  ====================================  =====================================================
stage                  folder (under the work_dir)           file and content
=====================  ====================================  =====================================================
superpixels            ``superpixels/``                      ``<id>.png``: 24-bit RGB PNG, id = R + 256·G + 65536·B
                                                             (H×W, ≤ 64 regions; method.md §9)
1  CAM classifier      ``cam_classifier/``                   mmengine work_dir: ``epoch_N.pth`` checkpoints, logs
2  CAMs                ``cams/``                             ``<id>.npz`` (``np.savez``, no pickles):
                                                             ``keys`` int64 [K] (0-based foreground classes of the
                                                             image's labels), ``cam`` float32 [K, ⌈H/4⌉, ⌈W/4⌉]
                                                             (stride 4), ``high_res`` float32 [K, H, W]; each map
                                                             divided by its own max + 1e-5 (method.md §3.1)
3  IR labels           ``ir_labels/``                        ``<id>.png``: uint8 H×W palette PNG: 0 = confident
                                                             background, c+1 = confident class c, 255 = uncertain
                                                             (method.md §4)
4  IRN                 ``irn/``                              mmengine work_dir: checkpoints (with the mean-shift
                                                             statistic), logs
4  pseudo masks        ``pseudo_masks/``                     ``<id>.png``: uint8 H×W palette PNG, 0 = background,
                                                             c+1 = class c (method.md §6.1)
4  confident masks     ``pseudo_masks_confident/``           ``<id>.png``: the pseudo mask with the uncertain half
                                                             of each class region set to 255 (method.md §7); what
                                                             stage 5 trains on (255 = ignored by mmseg's loss)
5  segmentation        ``segmentation/``                     mmengine work_dir of stock mmseg training
overlays               ``vis/<stage>/``                      ``<id>.jpg`` side-by-side overlays for people to look at
=====================  ====================================  =====================================================
"""
import os.path as osp
from typing import Iterable, List

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
