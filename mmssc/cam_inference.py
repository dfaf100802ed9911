"""Multi-scale, flip-summed class activation maps of a CAM classifier (docs/method.md, 'Stage 2: multi-scale CAMs'), and
the CAM file format.

For an RGB image of size H×W, image labels ``keys`` (0-based foreground classes) and scales S (official:
1.0, 0.5, 1.5, 2.0):

* x_s = PIL bicubic rescale of the uint8 image to (round(H·s), round(W·s)); s = 1 is the image itself.
  ``round`` is NumPy's (half to even), as in the official ``pil_rescale``.
* o_s = ReLU(f(x_s)) + flip(ReLU(f(flip(x_s)))), where f = ``model.cam_features`` on the input normalised by
  ``model.data_preprocessor``; the image and its flip run as one batch (``CAM.forward``'s batch of 2).
* ``cam``      = Σ_s bilinear(o_s → (⌈H/4⌉, ⌈W/4⌉)),                    align_corners=False (stride 4)
* ``high_res`` = Σ_s bilinear(o_s → (⌈H/16⌉·16, ⌈W/16⌉·16))[:, :H, :W], align_corners=False (full res.)
* only the channels of ``keys`` are kept, and each map is divided by its own spatial max + 1e-5.

Restricting to the image labels uses the ground-truth image-level labels: this is the standard protocol, valid
because CAMs are only made for the *training* images, whose image-level labels are the supervision anyway.

Several images of the same size can go through the network together (2·B views per scale); the network's
per-sample computation does not change, although batched convolutions may round differently in the last bit.

The file format (one ``<id>.npz`` per image, see :mod:`mmssc.stage_files`): a zip of three ``.npy`` arrays,
``keys`` int64 [K], ``cam`` float32 [K, ⌈H/4⌉, ⌈W/4⌉], ``high_res`` float32 [K, H, W]; readable with ``np.load``
(no pickles). :func:`write_cam_file` writes it with fixed zip timestamps, so equal arrays give equal bytes.
"""
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .fileio import atomic_path, read_image
from .stage_files import CAM_KEYS, stage_file

DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)
CAM_STRIDE = 4
HIGH_RES_MULTIPLE = 16
NORM_EPS = 1e-5
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: byte-identical files for identical arrays

__all__ = ['DEFAULT_SCALES', 'rescale_image', 'image_pyramid', 'strided_size', 'strided_up_size',
           'multiscale_cams', 'multiscale_cam', 'write_cam_file', 'read_cam_file', 'dataset_items',
           'size_batches', 'run_cam_inference', 'inference_model_cfg', 'build_cam_model']


# ----------------------------------------------------------------------------------------------- geometry
def strided_size(height: int, width: int, stride: int = CAM_STRIDE) -> Tuple[int, int]:
    """(⌈H/stride⌉, ⌈W/stride⌉): the size of the stored stride-4 ``cam``."""
    return (height - 1) // stride + 1, (width - 1) // stride + 1


def strided_up_size(height: int, width: int, multiple: int = HIGH_RES_MULTIPLE) -> Tuple[int, int]:
    """(⌈H/16⌉·16, ⌈W/16⌉·16): ``high_res`` is upsampled to this, then cropped to H×W."""
    h, w = strided_size(height, width, multiple)
    return h * multiple, w * multiple


def rescale_image(image: np.ndarray, scale: float) -> np.ndarray:
    """PIL bicubic rescale of a uint8 H×W×3 image to (round(H·s), round(W·s)); scale 1 returns the image."""
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (int(np.round(height * scale)), int(np.round(width * scale)))
    if min(size) < 1:
        raise ValueError(f'scale {scale} shrinks a {height}x{width} image to nothing')
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BICUBIC))


def image_pyramid(image: np.ndarray, scales: Sequence[float] = DEFAULT_SCALES) -> List[np.ndarray]:
    """The rescaled views of one image, one per scale (what a data-loader worker prepares)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'expected an H×W×3 uint8 RGB image, got {image.shape} {image.dtype}')
    return [rescale_image(image, s) for s in scales]


# ---------------------------------------------------------------------------------------------- inference
def _model_device(model: torch.nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device('cpu')


@torch.no_grad()
def multiscale_cams(model: torch.nn.Module, pyramids: Sequence[Sequence[np.ndarray]],
                    keys: Sequence[Sequence[int]], image_size: Tuple[int, int],
                    autocast: bool = False) -> List[Dict[str, np.ndarray]]:
    """CAMs of a batch of same-size images from their pre-rescaled views (formulas in the module docstring).

    Args:
        model: a CAM classifier in eval mode exposing ``cam_features(inputs) -> B×C×h×w`` (pre-ReLU) and a
            ``data_preprocessor`` that normalises a list of C×H×W uint8 tensors (mmengine convention).
        pyramids: per image, its views from :func:`image_pyramid`, in the same scale order for every image;
            images in one call must share their size at every scale.
        keys: per image, the 0-based classes to keep (its image labels), in the order they are stored.
        image_size: the original (H, W) shared by the images.
        autocast: run the network under ``torch.autocast`` (float16 on CUDA, bfloat16 on CPU); upsampling and
            sums stay float32. Off in the official code.

    Returns one dict per image: ``keys`` int64 [K], ``cam`` float32 [K, ⌈H/4⌉, ⌈W/4⌉], ``high_res`` float32
    [K, H, W], each map divided by its spatial max + 1e-5.
    """
    if len(pyramids) != len(keys):
        raise ValueError(f'{len(pyramids)} images but {len(keys)} key lists')
    if not pyramids:
        return []
    if len({len(p) for p in pyramids}) != 1:
        raise ValueError('every image needs the same number of scales')
    if any(len(k) == 0 for k in keys):
        raise ValueError('an image without labels has no CAM to keep (empty keys)')
    device = _model_device(model)
    batch = len(pyramids)
    height, width = image_size
    cam_size, up_size = strided_size(height, width), strided_up_size(height, width)
    key_index = [torch.as_tensor(np.asarray(k, dtype=np.int64), device=device) for k in keys]
    cam_sums, high_res_sums = [None] * batch, [None] * batch
    for s in range(len(pyramids[0])):
        views = [torch.from_numpy(np.ascontiguousarray(p[s].transpose(2, 0, 1))) for p in pyramids]
        if len({tuple(v.shape) for v in views}) != 1:
            raise ValueError(f'images batched together must share their size at every scale, got '
                             f'{sorted({tuple(v.shape) for v in views})}')
        inputs = model.data_preprocessor(dict(inputs=views), False)['inputs'].to(device)
        amp_dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
        with torch.autocast(device.type, dtype=amp_dtype, enabled=autocast):
            features = model.cam_features(torch.cat([inputs, inputs.flip(-1)]))  # image + h-flip in one batch
        features = F.relu(features.float())
        flip_summed = features[:batch] + features[batch:].flip(-1)
        for b in range(batch):
            maps = flip_summed[b, key_index[b]][None]  # selecting classes first: upsampling is per channel
            strided = F.interpolate(maps, cam_size, mode='bilinear', align_corners=False)[0]
            full = F.interpolate(maps, up_size, mode='bilinear', align_corners=False)[0, :, :height, :width]
            cam_sums[b] = strided if cam_sums[b] is None else cam_sums[b] + strided
            high_res_sums[b] = full if high_res_sums[b] is None else high_res_sums[b] + full
    results = []
    for b in range(batch):
        cam = cam_sums[b] / (cam_sums[b].amax(dim=(1, 2), keepdim=True) + NORM_EPS)
        full = high_res_sums[b] / (high_res_sums[b].amax(dim=(1, 2), keepdim=True) + NORM_EPS)
        results.append(dict(keys=np.asarray(keys[b], dtype=np.int64), cam=cam.cpu().numpy(),
                            high_res=full.cpu().numpy()))
    return results


def multiscale_cam(model: torch.nn.Module, image: np.ndarray, keys: Sequence[int],
                   scales: Sequence[float] = DEFAULT_SCALES, autocast: bool = False) -> Dict[str, np.ndarray]:
    """CAMs of one RGB uint8 image (see :func:`multiscale_cams`)."""
    pyramid = image_pyramid(image, scales)
    return multiscale_cams(model, [pyramid], [keys], image.shape[:2], autocast)[0]


# ------------------------------------------------------------------------------------------------- files
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


def image_size_of(path: str) -> Optional[Tuple[int, int]]:
    """(H, W) of an image file from its header (no decoding); None when it cannot be read."""
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except Exception:  # the loader reports unreadable images with their name later
        return None


# ------------------------------------------------------------------------------------------------- model
# Parts of a CAM classifier config that only training uses; CAM inference builds the model without them, so their
# weight files (VGG19 of the perceptual loss, ...) need not exist.
TRAINING_ONLY_MODEL_KEYS = ('reconstruction_head', 'reconstruction_loss', 'asm_loss')


def inference_model_cfg(model_cfg):
    """``cfg.model`` for inference: training-only parts removed, no pretrained initialisation (the checkpoint
    provides every weight, so the ImageNet file of ``backbone.init_cfg`` is not needed)."""
    model_cfg = model_cfg.copy()
    for key in TRAINING_ONLY_MODEL_KEYS:
        if key in model_cfg:
            model_cfg[key] = None
    if isinstance(model_cfg.get('backbone'), dict) and model_cfg['backbone'].get('init_cfg'):
        model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
    return model_cfg


def build_cam_model(cfg, checkpoint: str, device):
    """The CAM classifier of ``cfg.model`` with the checkpoint's weights, in eval mode on ``device``.

    Every parameter and buffer of the inference model must come from the checkpoint (a missing one is an
    error: a CAM from random weights is worthless); checkpoint entries of training-only parts are ignored.
    """
    from mmengine.runner import CheckpointLoader
    from mmseg.registry import MODELS

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    model = MODELS.build(inference_model_cfg(cfg.model))
    if not callable(getattr(model, 'cam_features', None)):
        raise ValueError(f'{type(model).__name__} has no cam_features(inputs): not a CAM classifier')
    try:
        state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger='silent')
    except Exception as exc:  # torch/pickle raise many types for a bad file
        raise ValueError(f'cannot read checkpoint {checkpoint}: {exc}') from exc
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    try:
        missing = model.load_state_dict(state, strict=False).missing_keys
    except RuntimeError as exc:  # shape mismatches
        raise ValueError(f'checkpoint {checkpoint} does not fit {type(model).__name__}: {exc}') from exc
    if missing:
        raise ValueError(f'checkpoint {checkpoint} lacks {len(missing)} weights of {type(model).__name__} '
                         f'(first: {missing[0]}): is it a checkpoint of this config?')
    return model.to(device).eval()


# ------------------------------------------------------------------------------------------------ inputs
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


# ------------------------------------------------------------------------------------------ running it
def size_batches(items: Sequence[dict], batch_size: int) -> List[List[dict]]:
    """Split ``items`` into batches of at most ``batch_size`` images of equal size (order of first appearance).

    Sizes come from the image headers; an unreadable header keeps its image alone (its read fails later,
    naming the file). ``batch_size`` 1 keeps the given order.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be at least 1, got {batch_size}')
    if batch_size == 1:
        return [[item] for item in items]
    groups: Dict[object, List[dict]] = {}
    for n, item in enumerate(items):
        size = image_size_of(item['img_path'])
        groups.setdefault(size if size is not None else ('unreadable', n), []).append(item)
    return [group[i:i + batch_size] for group in groups.values() for i in range(0, len(group), batch_size)]


class PyramidBatches(torch.utils.data.Dataset):
    """Data-loader side of CAM inference: reads each batch's images and rescales them (the slow CPU part).

    A failure is returned, not raised, so the main process reports it as one error naming the file instead of
    a worker traceback.
    """

    def __init__(self, batches: Sequence[Sequence[dict]], scales: Sequence[float]):
        self.batches, self.scales = list(batches), tuple(scales)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict:
        items = self.batches[index]
        try:
            images = [read_image(item['img_path']) for item in items]
            sizes = {img.shape[:2] for img in images}
            if len(sizes) != 1:
                raise ValueError(f'images {[i["img_path"] for i in items]} were batched together but have '
                                 f'sizes {sorted(sizes)}')
            return dict(items=items, size=images[0].shape[:2],
                        pyramids=[image_pyramid(img, self.scales) for img in images])
        except (OSError, ValueError) as exc:
            return dict(items=items, error=exc)


def _keep_batch(batch):  # collate_fn: a batch is already one item of PyramidBatches
    return batch


def run_cam_inference(model: torch.nn.Module, items: Sequence[dict], work_dir: str,
                      scales: Sequence[float] = DEFAULT_SCALES, batch_size: int = 1, workers: int = 0,
                      autocast: bool = False, progress: bool = True) -> int:
    """Write ``cams/<id>.npz`` under ``work_dir`` for every item (no skipping here: pass the pending ones).

    ``items`` are dicts with ``img_id``, ``img_path`` and ``label_indices`` (see :func:`dataset_items`).
    Images are read and rescaled by ``workers`` data-loader processes while the network runs; ``batch_size``
    images of equal size share one forward per scale. Prints a progress bar with counts and ETA when
    ``progress``. Returns the number of files written.
    """
    from mmengine.utils import ProgressBar

    for item in items:
        if not item.get('label_indices'):
            raise ValueError(f"image {item['img_id']} ({item['img_path']}) has no image labels: no CAM to keep")
    loader = torch.utils.data.DataLoader(PyramidBatches(size_batches(items, batch_size), scales), batch_size=None,
                                         shuffle=False, num_workers=workers, collate_fn=_keep_batch)
    bar = ProgressBar(len(items)) if progress and items else None
    bar_step = max(1, len(items) // 100)  # at most ~100 bar updates: logs of large runs stay short
    written = unreported = 0
    for batch in loader:
        if 'error' in batch:
            raise batch['error']
        results = multiscale_cams(model, batch['pyramids'], [i['label_indices'] for i in batch['items']],
                                  batch['size'], autocast)
        for item, result in zip(batch['items'], results):
            write_cam_file(stage_file(work_dir, 'cams', item['img_id']), **result)
            written += 1
        unreported += len(results)
        if bar is not None and (unreported >= bar_step or written == len(items)):
            bar.update(unreported)
            unreported = 0
    if bar is not None:
        bar.file.write('\n')
        bar.file.flush()
    return written
