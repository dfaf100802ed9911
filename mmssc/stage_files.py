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
cam_classifier      images, labels,         ``cam_classifier/``                mmengine work_dir: ``epoch_N.pth``, logs
(train.py)          superpixels
cams                images, labels,         ``cams/``                          ``<id>.npz`` (written by
(make_cam)          ``cam_classifier``                                         ``write_cam_file`` below; read with
                    checkpoint                                                 ``np.load(allow_pickle=False)``): ``keys``
                                                                               int64 [K] (0-based classes of the image's
                                                                               labels), ``cam`` float32 [K, ⌈H/4⌉,
                                                                               ⌈W/4⌉] (stride 4), ``high_res`` float32
                                                                               [K, H, W]; each map divided by its own
                                                                               max + 1e-5 (docs/method.md, 'cams')
ir_labels           ``cams/``, images       ``ir_labels/``                     ``<id>.png``: uint8 H×W palette PNG: 0 =
(make_ir_label)                                                                confident background, c+1 = confident
                                                                               class c, 255 = uncertain (docs/method.md,
                                                                               'ir_labels')
irn (train.py)      images, ``ir_labels/``  ``irn/``                           mmengine work_dir: checkpoints (the last
                                                                               holds the mean-shift statistic), logs
pseudo_masks        images, ``cams/``,      ``pseudo_masks/``                  ``<id>.png``: uint8 H×W palette PNG, 0 =
(make_pseudo_masks) IRN checkpoint                                             background, c+1 = class c
(docs/method.md, 'Random walk')
                                            ``pseudo_masks_confident/``        the pseudo mask with the uncertain half of
                                                                               each class region set to 255
                                                                               (docs/method.md, 'Confidence masks'):
                                                                               what ``segmentation`` trains on (mmseg
                                                                               ignores 255)
segmentation        images,                 ``segmentation/``                  mmengine work_dir of stock mmseg training
(train.py)          plain DeepLab-v2:                                          (plain: ``EncoderDecoder``; BECO:
                    ``pseudo_masks_confident/``                                ``BECOSegmentor``, two networks)
                    (the label, 255 ignored);
                    BECO (the default of
                    configs/pipeline/voc.py,
                    coco.py): the label
                    ``pseudo_masks/<id>.png``
                    and its confidence Mk
                    ``pseudo_masks_confident/
                    <id>.png`` (255 = uncertain
                    ⇒ Mk = 0, else Mk = 1;
                    read next to the label
                    folder), or a 0/1 (0/255)
                    mask folder
                    (``LoadConfidenceMask``,
                    conf_format='binary');
                    a stage config's
                    ``pipeline_inputs`` names
                    the folders it reads
I²CRC (docs/method.md, 'I²CRC'; its pipeline config names ``method = 'i2crc'``; cam_classifier and cams as above,
its CAMs made by stages/i2crc_cams.py in the format above):
saliency_labels     ``cams/``, saliency     ``saliency_labels/``               ``<id>.png``: label PNG as ``ir_labels``:
(make_saliency_         maps                                                   0 background, c+1 class c, 255 ignored
labels)                                                                        (the saliency-guided initial labels)
segmentation_round1 images,                 ``segmentation_round1/``           mmengine work_dir of the first-round
(train.py)          ``saliency_labels/``                                       plain segmenter
round1_masks        images, its             ``round1_masks/``                  ``<id>.png``: label PNG, 0 background,
(make_segmenter_    checkpoint                                                 c+1 class c (its predictions on the
masks)                                                                         training images, dense CRF by default)
refined_labels      ``saliency_labels/``,   ``refined_labels/``                ``<id>.png``: label PNG as
(refine_labels)     ``round1_masks/``                                          ``saliency_labels`` (what the second
                                                                               round, ``segmentation``, trains on)
evaluation          any of the folders      (printed; ``--out`` JSON)          mIoU, per-class IoU, fg precision/recall
(eval_masks)        above + ground truth
overlays            any of the above        ``vis/<stage>/``                   ``<id>.jpg``: image | CAM | IR label |
(``--show-dir``)                                                               pseudo mask | confidence
==================  ======================  =================================  ==========================================
"""
import os.path as osp
import zipfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .fileio import atomic_path, open_image, write_label_png

STAGE_DIRS = dict(
    superpixels='superpixels',
    cam_classifier='cam_classifier',
    cams='cams',
    ir_labels='ir_labels',
    irn='irn',
    pseudo_masks='pseudo_masks',
    pseudo_masks_confident='pseudo_masks_confident',
    saliency_labels='saliency_labels',
    segmentation_round1='segmentation_round1',
    round1_masks='round1_masks',
    refined_labels='refined_labels',
    segmentation='segmentation',
    vis='vis',
)
PER_IMAGE_SUFFIX = dict(superpixels='.png', cams='.npz', ir_labels='.png', pseudo_masks='.png',
                        pseudo_masks_confident='.png', saliency_labels='.png', round1_masks='.png',
                        refined_labels='.png')
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


# ------------------------------------------------------------------ CAM files (stage `cams`)
# One ``<id>.npz`` per image: a zip of three ``.npy`` arrays, ``keys`` int64 [K] (the 0-based classes of the
# image's labels), ``cam`` float32 [K, ⌈H/4⌉, ⌈W/4⌉] (stride 4) and ``high_res`` float32 [K, H, W], each map
# divided by its own spatial max + NORM_EPS; readable with ``np.load(allow_pickle=False)``.
CAM_STRIDE = 4
HIGH_RES_MULTIPLE = 16
NORM_EPS = 1e-5
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: byte-identical files for identical arrays


def strided_size(height: int, width: int, stride: int = CAM_STRIDE) -> Tuple[int, int]:
    """(⌈H/stride⌉, ⌈W/stride⌉): the size of the stored stride-4 ``cam``."""
    return (height - 1) // stride + 1, (width - 1) // stride + 1


def strided_up_size(height: int, width: int, multiple: int = HIGH_RES_MULTIPLE) -> Tuple[int, int]:
    """(⌈H/16⌉·16, ⌈W/16⌉·16): ``high_res`` is upsampled to this, then cropped to H×W."""
    h, w = strided_size(height, width, multiple)
    return h * multiple, w * multiple


def write_cam_file(path: str, keys: np.ndarray, cam: np.ndarray, high_res: np.ndarray) -> None:
    """Atomically write one image's CAMs as ``.npz`` (keys int64, cam/high_res float32; no pickles).

    The zip members get a fixed timestamp, so the same arrays always give the same bytes.
    """
    arrays = dict(keys=np.asarray(keys, dtype=np.int64), cam=np.asarray(cam, dtype=np.float32),
                  high_res=np.asarray(high_res, dtype=np.float32))
    _check_cam_arrays(arrays, path)
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f, zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_STORED) as archive:
            for name in CAM_KEYS:
                member = zipfile.ZipInfo(name + '.npy', date_time=_ZIP_EPOCH)
                with archive.open(member, 'w', force_zip64=True) as out:
                    np.lib.format.write_array(out, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def _check_cam_arrays(arrays: Dict[str, np.ndarray], path: str) -> None:
    keys, cam, high_res = (arrays[k] for k in CAM_KEYS)
    if keys.ndim != 1 or cam.ndim != 3 or high_res.ndim != 3:
        raise ValueError(f'CAM file {path}: expected keys [K], cam [K,h,w], high_res [K,H,W], got '
                         f'{keys.shape}, {cam.shape}, {high_res.shape}')
    if not len(keys) == len(cam) == len(high_res):
        raise ValueError(f'CAM file {path}: {len(keys)} keys but {len(cam)} cam and {len(high_res)} high_res maps')
    if cam.shape[1:] != strided_size(*high_res.shape[1:]):
        raise ValueError(f'CAM file {path}: cam is {cam.shape[1:]} but high_res {high_res.shape[1:]} needs '
                         f'{strided_size(*high_res.shape[1:])} (stride {CAM_STRIDE})')


def read_cam_file(path: str) -> Dict[str, np.ndarray]:
    """Read ``keys``, ``cam`` and ``high_res`` from a CAM file; one error naming the file if it is missing/bad."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CAM file not found: {path}')
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in CAM_KEYS if k not in data.files]
            if missing:
                raise ValueError(f'missing arrays {missing}')
            arrays = {k: data[k] for k in CAM_KEYS}
    except Exception as exc:  # zipfile / numpy raise several unrelated types for bad files
        raise ValueError(f'cannot read CAM file {path}: {exc}') from exc
    _check_cam_arrays(arrays, path)
    return arrays


# ------------------------------------------------------------------ label PNGs (ir_labels, pseudo_masks, ...)
# uint8 H×W palette PNGs: 0 = background, c+1 = class c, 255 = uncertain / ignored; VOC's palette for every set.
def voc_palette(n: int = 256) -> list:
    """VOC's colour map: bit k of the index goes to bit (7 - k//3) of channel k % 3."""
    palette = []
    for index in range(n):
        rgb, c = [0, 0, 0], index
        for shift in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - shift)
            c >>= 3
        palette.append(rgb)
    return palette


LABEL_PALETTE = voc_palette(256)


def write_label_file(path: str, labels: np.ndarray) -> None:
    """Atomically write a stage's label map (uint8 H×W) as a palette PNG with :data:`LABEL_PALETTE`."""
    write_label_png(path, labels, LABEL_PALETTE)


# ------------------------------------------------------------------ superpixel PNGs (stage `superpixels`)
# The 24-bit PNG id encoding of the files distributed with the paper's data: ``id = c0 + 256*c1 + 65536*c2`` over
# the three channels, computed in int64 (NumPy >= 2 overflows in uint8 arithmetic). Single-channel PNGs are read
# as the id itself.
MAX_SUPERPIXEL_ID = 2**24 - 1


def read_superpixels(path: str) -> np.ndarray:
    """Read a superpixel id map as int64 H×W (ids as stored; datasets add 1 to keep 0 for padding)."""
    img = open_image(path, 'superpixel map')
    arr = np.asarray(img)
    if arr.ndim == 2:
        return arr.astype(np.int64)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., :3].astype(np.int64)
        return arr[..., 0] + 256 * arr[..., 1] + 65536 * arr[..., 2]
    raise ValueError(f'superpixel map {path} has unsupported shape {arr.shape}')


def write_superpixels(path: str, ids: np.ndarray) -> None:
    """Atomically write an H×W id map (0..2**24-1) as a 24-bit RGB PNG, R holding the low byte."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 2:
        raise ValueError(f'superpixel map for {path} must be H×W, got shape {ids.shape}')
    if ids.min(initial=0) < 0 or ids.max(initial=0) > MAX_SUPERPIXEL_ID:
        raise ValueError(f'superpixel ids for {path} must lie in 0..{MAX_SUPERPIXEL_ID}')
    rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, mode='RGB').save(tmp, format='PNG')


# ------------------------------------------------------------------ the images a stage runs over
def dataset_items(config, ann_file: Optional[str] = None, cfg_options: Optional[dict] = None,
                  dataloader: str = 'test_dataloader') -> Tuple[List[dict], Tuple[str, ...]]:
    """The images a stage runs over: the config's ``<dataloader>.dataset`` (default ``test_dataloader``).

    ``ann_file`` replaces the dataset's split list (relative paths are under its ``data_root``, mmengine's
    rule); ``cfg_options`` are merged first, as ``--cfg-options`` does. Returns ``(items, classes)``: per image a
    dict with ``img_id``, ``img_path``, ``label_indices`` (0-based foreground classes) and ``seg_map_path``
    when the dataset has masks; ``classes`` are the foreground class names, the list the scorer takes (an mmseg
    segmentation dataset's class 0, the background, is left out). Missing images, masks or labels raise the
    dataset's own errors, which name the file.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.datasets import BaseSegDataset
    from mmseg.registry import DATASETS

    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if dataloader not in cfg or 'dataset' not in cfg[dataloader]:
        raise KeyError(f'the config has no {dataloader}.dataset to take the images from')
    dataset_cfg = cfg[dataloader]['dataset'].copy()
    if ann_file:
        dataset_cfg['ann_file'] = ann_file
    dataset_cfg['pipeline'] = []  # only the file list is needed
    dataset = DATASETS.build(dataset_cfg)
    items = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        # mmseg's segmentation datasets have no img_id: the file stem is also the name IoUMetric saves under
        image_id = info.get('img_id') or osp.splitext(osp.basename(info['img_path']))[0]
        item = dict(img_id=image_id, img_path=info['img_path'],
                    label_indices=[int(i) for i in info.get('label_indices', [])])
        if info.get('seg_map_path'):
            item['seg_map_path'] = info['seg_map_path']
        items.append(item)
    classes = tuple(dataset.metainfo['classes'])
    # mmseg segmentation datasets list label 0 (background) as their first class; image-label datasets do not
    return items, classes[1:] if isinstance(dataset, BaseSegDataset) else classes
