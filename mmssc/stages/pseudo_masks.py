"""The ``pseudo_masks`` stage: IRN boundaries → random walk of the CAMs → pseudo masks and confident pseudo masks
(docs/method.md, 'Random walk' and 'Confidence masks'); ``tools/make_pseudo_masks.py`` is its command line.

The images are the config's ``infer_dataloader.dataset`` (``ann_file`` replaces its list, relative to its
``data_root``); their CAMs are ``W/cams/<id>.npz`` (the ``cams`` stage). For each image:

1. boundary map e at stride 4 from the image and its flip (:meth:`mmssc.models.IRNet.boundary_map`; images are
   padded to 512 like IRN, larger ones keep their size instead of failing as IRN's fixed 512 padding does);
2. random walk of the stride-4 CAMs, ×4 bilinear upsampling, division by the global max, background plane 0.25
   (:func:`mmssc.random_walk.random_walk_scores`; sparse, on the GPU when there is one);
3. ``W/pseudo_masks/<id>.png``: the argmax as labels 0 (background) / c+1 (the CAM file's class c), a palette PNG;
4. ``W/pseudo_masks_confident/<id>.png``: the same with the less confident half of every predicted class region
   set to 255 (:mod:`mmssc.confidence_mask`), computed from the scores in memory (IRN/SSC saved ~2 MB of scores per
   image for that). ``segmentation`` trains on this folder; 255 is ignored by mmseg's losses.

An image is done when both files exist; files are written atomically, so an interrupted run resumes where it
stopped and gives the same files as one uninterrupted run. Missing CAM files, images or the checkpoint are one
error naming the file(s) before anything is written. The checkpoint holds the backbone too, so the backbone's
ImageNet weight file is not needed here.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..confidence_mask import apply_confidence, confident_per_class, top2_margin
from ..fileio import raise_missing_files, read_image
from ..random_walk import random_walk_scores
from ..stage_files import (class_of_plane, dataset_items, read_cam_file, stage_dir, stage_file, strided_size,
                           write_label_file)
from .per_image import (PerImageTask, load_model, load_stage_config, overlay_step, pick_device, run_per_image,
                        start_ranks)

__all__ = ['WalkSettings', 'pseudo_masks_of', 'PseudoMaskTask', 'irn_inference_cfg', 'run']


@dataclass(frozen=True)
class WalkSettings:
    """The official values; the demo scales radius, exp_times and edge_pad_size to its image size."""
    edge_pad_size: int = 512      # images are padded to at least this for the boundary map (IRN's crop)
    bg_threshold: float = 0.25    # the background plane after the division by the global max
    beta: float = 10              # affinity exponent
    exp_times: int = 8            # T is applied 2^exp_times times (8: T^256)
    radius: int = 5               # neighbourhood radius of the walk
    confident_fraction: float = 0.5  # share of each predicted class region kept as confident

    def __post_init__(self):
        if not 0 <= self.confident_fraction <= 1:
            raise ValueError(f'confident_fraction must lie in [0, 1], got {self.confident_fraction}')
        if self.exp_times < 0 or self.radius < 2:
            raise ValueError(f'exp_times must be >= 0 and radius >= 2, got {self.exp_times} and {self.radius}')


def pseudo_masks_of(model, sample: dict, device, walk: WalkSettings) -> Tuple[np.ndarray, np.ndarray]:
    """(pseudo mask, confident pseudo mask) as uint8 H×W arrays for one image (module docstring, steps 1–4)."""
    image = torch.tensor(sample['image']).permute(2, 0, 1).contiguous()  # a copy: PIL arrays are read-only
    inputs = model.data_preprocessor(dict(inputs=[image]), False)['inputs'].to(device)
    edge = model.boundary_map(inputs, pad_to=walk.edge_pad_size)
    cams = torch.from_numpy(sample['cam']).to(device=device, dtype=torch.float32)
    height, width = sample['image'].shape[:2]
    scores = random_walk_scores(cams, edge, (height, width), bg_threshold=walk.bg_threshold, radius=walk.radius,
                                beta=walk.beta, exp_times=walk.exp_times)
    planes = scores.argmax(dim=0)
    labels = torch.from_numpy(class_of_plane(sample['keys'])).to(device)[planes]
    confident = confident_per_class(top2_margin(scores), planes, walk.confident_fraction)
    confident_labels = apply_confidence(labels, confident)
    return labels.to(torch.uint8).cpu().numpy(), confident_labels.to(torch.uint8).cpu().numpy()


class PseudoMaskTask(PerImageTask):
    """Workers read the image and its CAM file; this process runs IRN and the random walk."""
    name, what = 'pseudo_masks', 'pseudo masks'

    def __init__(self, model, work_dir: str, device, walk: WalkSettings = WalkSettings()):
        self.model, self.work_dir, self.device, self.walk = model, work_dir, device, walk

    def outputs(self, item: dict) -> Dict[str, str]:
        return {stage: stage_file(self.work_dir, stage, item['img_id'])
                for stage in ('pseudo_masks', 'pseudo_masks_confident')}

    def check_inputs(self, pending: Sequence[dict]) -> None:
        raise_missing_files([stage_file(self.work_dir, 'cams', item['img_id']) for item in pending], 'CAM files',
                            '\nmake them with tools/make_cam.py')

    def load(self, unit: List[dict]) -> dict:
        item = unit[0]
        image = read_image(item['img_path'])
        cam_path = stage_file(self.work_dir, 'cams', item['img_id'])
        cams = read_cam_file(cam_path)
        if cams['cam'].shape[1:] != strided_size(*image.shape[:2]):
            raise ValueError(f'CAM file {cam_path} has a {cams["cam"].shape[1:]} stride-4 map but its image '
                             f'{item["img_path"]} ({image.shape[0]}×{image.shape[1]}) needs '
                             f'{strided_size(*image.shape[:2])}')
        return dict(item=item, image=image, keys=cams['keys'], cam=cams['cam'])

    def compute(self, sample: dict) -> list:
        return [(sample['item'], pseudo_masks_of(self.model, sample, self.device, self.walk))]

    def write(self, item: dict, result: Tuple[np.ndarray, np.ndarray]) -> None:
        paths = self.outputs(item)
        write_label_file(paths['pseudo_masks'], result[0])
        write_label_file(paths['pseudo_masks_confident'], result[1])


def irn_inference_cfg(model_cfg):
    """IRN's ``cfg.model`` for inference: the IRN checkpoint holds the backbone, so its ImageNet file is not read."""
    return dict(model_cfg, backbone=dict(model_cfg['backbone'], checkpoint=None))


def run(config: str, checkpoint: str, work_dir: str, ann_file: Optional[str] = None,
        dataloader: str = 'infer_dataloader', walk: WalkSettings = WalkSettings(), workers: int = 2,
        device: Optional[str] = None, show_dir: Optional[str] = None, show_num: int = 20,
        cfg_options: Optional[dict] = None) -> int:
    """Write both masks of every image of ``config``'s ``<dataloader>.dataset`` (``ann_file`` replaces its list)
    from ``<work_dir>/cams`` and the IRN ``checkpoint``; finished images (both files present) are skipped. Missing
    CAM files are one error naming them before anything is written. Under torchrun each process takes its share.
    Returns the number of images this process wrote."""
    ranks = start_ranks()
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg, ann_file, dataloader=dataloader)
    torch_device = pick_device(device, ranks)
    model = load_model(irn_inference_cfg(cfg.model), checkpoint, torch_device, 'boundary_map')
    prefix = ranks.prefix('make_pseudo_masks')
    return run_per_image(PseudoMaskTask(model, work_dir, torch_device, walk), items, workers, ranks, prefix,
                         f'{stage_dir(work_dir, "pseudo_masks")} on {torch_device}',
                         overlay_step(work_dir, items, show_dir, show_num, prefix))
