"""I²CRC's CAM extraction, one ``<work_dir>/cams/<id>.npz`` per image in the stage contract's format
(docs/method.md, 'I²CRC'; ``tools/make_i2crc_cam.py`` is its command line).

For an RGB image of size H×W with image labels ``keys``, as the official test script does:

1. the image resized to S×S (S = 256 officially; PIL bilinear, the torchvision ``Resize`` default), normalised by
   ``model.data_preprocessor``; one scale, no flip;
2. x = ``model.cam_features`` (C×h×w); for each labelled class c: m = ReLU(x_c) / (max ReLU(x_c) + 1e-8);
3. q = uint8(255·m) (truncated, as the official cast), resized to H×W with OpenCV's bicubic (``INTER_CUBIC``,
   saturating to 0..255): the official per-class PNG.

It is a module of its own rather than an option of the ``cams`` stage because every step differs (one square
scale instead of an aspect-preserving pyramid, no flip, uint8 quantisation, bicubic instead of bilinear, another
normalisation); the output is the same contract, so seeds, overlays and :mod:`.saliency_labels` read it like any
CAM file: ``high_res`` = q / 255 (float32, K×H×W, peak 1 where the class peaks) and ``cam`` = its bilinear
(align_corners=False) reduction to the stride-4 size.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..fileio import read_image
from ..stage_files import dataset_items, stage_dir, strided_size
from .cams import CamTask, inference_model_cfg
from .per_image import load_model, load_stage_config, overlay_step, pick_device, run_per_image, start_ranks

OFFICIAL_INPUT_SIZE = 256
MAX_EPS = 1e-8

__all__ = ['OFFICIAL_INPUT_SIZE', 'quantised_cams', 'i2crc_cam', 'I2CRCCamTask', 'run']


def quantised_cams(features: torch.Tensor, keys: Sequence[int], image_size) -> np.ndarray:
    """Steps 2–3 for CAM features ``features`` (C×h×w): uint8 K×H×W maps of the classes ``keys``."""
    maps = F.relu(features[list(keys)].float())
    maps = maps / (maps.amax(dim=(1, 2), keepdim=True) + MAX_EPS)
    quantised = (maps * 255).cpu().numpy().astype(np.uint8)
    height, width = image_size
    return np.stack([cv2.resize(q, (width, height), interpolation=cv2.INTER_CUBIC) for q in quantised])


@torch.no_grad()
def i2crc_cam(model: torch.nn.Module, image: np.ndarray, keys: Sequence[int],
              input_size: int = OFFICIAL_INPUT_SIZE) -> Dict[str, np.ndarray]:
    """The CAM file arrays of one uint8 RGB image (module docstring)."""
    if not len(keys):
        raise ValueError('an image without labels has no CAM to keep (empty keys)')
    square = np.asarray(Image.fromarray(image).resize((input_size, input_size), Image.BILINEAR))
    view = torch.from_numpy(np.ascontiguousarray(square.transpose(2, 0, 1)))
    device = next(model.parameters()).device
    inputs = model.data_preprocessor(dict(inputs=[view]), False)['inputs'].to(device)
    features = model.cam_features(inputs)[0]
    high_res = quantised_cams(features, keys, image.shape[:2]).astype(np.float32) / 255
    cam = F.interpolate(torch.from_numpy(high_res)[None], strided_size(*image.shape[:2]), mode='bilinear',
                        align_corners=False)[0].numpy()
    return dict(keys=np.asarray(keys, dtype=np.int64), cam=cam, high_res=high_res)


class I2CRCCamTask(CamTask):
    """The ``cams`` stage's outputs, input checks and writer, with I²CRC's single square view per image: workers
    read the images; this process runs the network."""

    def __init__(self, model: torch.nn.Module, work_dir: str, input_size: int = OFFICIAL_INPUT_SIZE):
        super().__init__(model, work_dir)
        self.input_size = int(input_size)

    def units(self, items: Sequence[dict]) -> List[List[dict]]:
        return [[item] for item in items]

    def load(self, unit: List[dict]) -> dict:
        return dict(item=unit[0], image=read_image(unit[0]['img_path']))

    def compute(self, sample: dict) -> list:
        item = sample['item']
        return [(item, i2crc_cam(self.model, sample['image'], item['label_indices'], self.input_size))]


def run(config: str, checkpoint: str, work_dir: str, ann_file: Optional[str] = None,
        input_size: Optional[int] = None, workers: int = 0, device: Optional[str] = None,
        show_dir: Optional[str] = None, show_num: int = 20, cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/cams/<id>.npz`` for every image of ``config``'s ``test_dataloader.dataset`` (``ann_file``
    replaces its list) with the trained classifier ``checkpoint``; finished images are skipped. ``input_size``
    defaults to the config's ``i2crc_cam_input_size`` (256). Returns the number of files this process wrote."""
    ranks = start_ranks()
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg, ann_file)
    torch_device = pick_device(device, ranks)
    model_cfg = inference_model_cfg(cfg.model)
    model_cfg['relation_losses'] = None  # training-only, parameter-free
    model = load_model(model_cfg, checkpoint, torch_device, 'cam_features')
    size = input_size or cfg.get('i2crc_cam_input_size', OFFICIAL_INPUT_SIZE)
    prefix = ranks.prefix('make_i2crc_cam')
    return run_per_image(I2CRCCamTask(model, work_dir, size), items, workers, ranks, prefix,
                         f'{stage_dir(work_dir, "cams")} on {torch_device}',
                         overlay_step(work_dir, items, show_dir, show_num, prefix))
