"""The ``cams`` stage: multi-scale, flip-summed class activation maps of a trained CAM classifier, one
``<work_dir>/cams/<id>.npz`` per image (docs/method.md, 'cams').

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

The file format is the stage contract's (:func:`mmssc.stage_files.write_cam_file`): ``keys`` int64 [K], ``cam``
float32 [K, ⌈H/4⌉, ⌈W/4⌉], ``high_res`` float32 [K, H, W], written with fixed zip timestamps, so equal arrays give
equal bytes.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..fileio import read_image
from ..stage_files import NORM_EPS, dataset_items, stage_dir, stage_file, strided_size, strided_up_size, write_cam_file
from .per_image import (PerImageTask, load_model, load_stage_config, overlay_step, pick_device, run_per_image,
                        start_ranks)

DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)

__all__ = ['DEFAULT_SCALES', 'rescale_image', 'image_pyramid', 'multiscale_cams', 'multiscale_cam', 'size_batches',
           'inference_model_cfg', 'CamTask', 'run']


# ----------------------------------------------------------------------------------------------- the views
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


# ------------------------------------------------------------------------------------------ the stage
def image_size_of(path: str) -> Optional[Tuple[int, int]]:
    """(H, W) of an image file from its header (no decoding); None when it cannot be read."""
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except Exception:  # the loader reports unreadable images with their name later
        return None


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


class CamTask(PerImageTask):
    """Workers read each batch's images and rescale them (the slow CPU part); this process runs the network."""
    name, what = 'cams', 'CAM files'

    def __init__(self, model: torch.nn.Module, work_dir: str, scales: Sequence[float] = DEFAULT_SCALES,
                 batch_size: int = 1, autocast: bool = False):
        self.model, self.work_dir, self.scales = model, work_dir, tuple(scales)
        self.batch_size, self.autocast = batch_size, autocast

    def outputs(self, item: dict) -> Dict[str, str]:
        return dict(cams=stage_file(self.work_dir, 'cams', item['img_id']))

    def check_inputs(self, pending: Sequence[dict]) -> None:
        for item in pending:
            if not item.get('label_indices'):
                raise ValueError(f"image {item['img_id']} ({item['img_path']}) has no image labels: no CAM to keep")

    def units(self, items: Sequence[dict]) -> List[List[dict]]:
        return size_batches(items, self.batch_size)

    def load(self, unit: List[dict]) -> dict:
        images = [read_image(item['img_path']) for item in unit]
        sizes = {img.shape[:2] for img in images}
        if len(sizes) != 1:
            raise ValueError(f'images {[i["img_path"] for i in unit]} were batched together but have '
                             f'sizes {sorted(sizes)}')
        return dict(items=unit, size=images[0].shape[:2], pyramids=[image_pyramid(img, self.scales) for img in images])

    def compute(self, sample: dict) -> list:
        results = multiscale_cams(self.model, sample['pyramids'], [i['label_indices'] for i in sample['items']],
                                  sample['size'], self.autocast)
        return list(zip(sample['items'], results))

    def write(self, item: dict, result: dict) -> None:
        write_cam_file(self.outputs(item)['cams'], **result)


def run(config: str, checkpoint: str, work_dir: str, ann_file: Optional[str] = None,
        scales: Sequence[float] = DEFAULT_SCALES, batch_size: int = 1, workers: Optional[int] = None,
        device: Optional[str] = None, amp: bool = False, show_dir: Optional[str] = None, show_num: int = 20,
        cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/cams/<id>.npz`` for every image of ``config``'s ``test_dataloader.dataset`` (``ann_file``
    replaces its list); finished images are skipped. The model is ``config``'s without its training-only parts,
    every weight from ``checkpoint``. ``workers`` data-loader processes read and rescale images (default: 2 on a
    GPU, 0 on a CPU, where the network dominates); ``show_dir`` gets overlays of the first ``show_num`` images.
    Under torchrun each process takes its share. Returns the number of files this process wrote."""
    ranks = start_ranks()
    if not osp.isfile(checkpoint):  # before the (slow) dataset scan
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg, ann_file)
    torch_device = pick_device(device, ranks)
    model = load_model(inference_model_cfg(cfg.model), checkpoint, torch_device, 'cam_features')
    if workers is None:
        workers = 2 if torch_device.type == 'cuda' else 0
    prefix = ranks.prefix('make_cam')
    return run_per_image(CamTask(model, work_dir, scales, batch_size, amp), items, workers, ranks, prefix,
                         f'{stage_dir(work_dir, "cams")} on {torch_device}',
                         overlay_step(work_dir, items, show_dir, show_num, prefix))
