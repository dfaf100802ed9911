"""Masks of the training images predicted by a trained segmenter, one ``<work_dir>/round1_masks/<id>.png`` per
image: I²CRC's first-round predictions, which :mod:`.label_refinement` merges with the initial labels
(docs/method.md, 'I²CRC'; ``tools/make_segmenter_masks.py`` is its command line).

For each image: the class probabilities P (C×H×W at the image's size) of the segmenter as mmseg tests it (the
config's ``test_pipeline`` without its annotation loading, the model's ``test_cfg``: whole or slide; with ``tta``
the mean softmax over the views of the config's ``tta_pipeline``, as mmseg's ``SegTTAModel`` averages them), then
by default the segmentation test's dense CRF on the real RGB image (:data:`mmssc.crf.SEG_TEST_CRF`, as the
official I²CRC refines its first-round predictions), then the argmax: 0 background, c + 1 class c.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..fileio import read_image
from ..stage_files import dataset_items, stage_dir, stage_file, write_label_file
from .cams import inference_model_cfg
from .per_image import PerImageTask, load_model, load_stage_config, pick_device, run_per_image, start_ranks

__all__ = ['SegmenterProbabilities', 'SegmenterMaskTask', 'run']


def _without_annotations(pipeline: Sequence[dict]) -> List[dict]:
    """The test pipeline without LoadAnnotations (training images of your own data have no masks), also inside
    TestTimeAug's stages."""
    kept = []
    for step in pipeline:
        step = dict(step)
        if step.get('type') == 'LoadAnnotations':
            continue
        if step.get('type') == 'TestTimeAug':
            stages = [[t for t in stage if t.get('type') != 'LoadAnnotations'] for stage in step['transforms']]
            step['transforms'] = [stage for stage in stages if stage]
        kept.append(step)
    return kept


class SegmenterProbabilities:
    """Class probabilities (C×H×W float32 at the image's size) of a trained mmseg segmenter: one view, or with
    ``tta`` the mean softmax over the views of the config's ``tta_pipeline``. ``config`` is a path or a Config."""

    def __init__(self, config, checkpoint: str, device: str = 'cpu', tta: bool = False):
        import mmssc  # noqa: F401  (stack fixes + registrations)
        from mmengine.config import Config
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        from mmengine.runner import CheckpointLoader
        cfg = config if isinstance(config, Config) else Config.fromfile(config)
        if tta and 'tta_pipeline' not in cfg:
            raise ValueError(f'{config} has no tta_pipeline')
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        model_cfg = inference_model_cfg(cfg.model)
        model_cfg['train_cfg'] = None
        self.model = load_model(model_cfg, checkpoint, device, 'test_step')
        meta = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger='silent').get('meta') or {}
        self.class_names = tuple((meta.get('dataset_meta') or {}).get('classes') or ())
        self.tta = tta
        self.pipeline = Compose(_without_annotations(cfg.tta_pipeline if tta else cfg.test_pipeline))

    @torch.no_grad()
    def __call__(self, image_path: str) -> np.ndarray:
        data = self.pipeline(dict(img_path=image_path))
        views = (list(zip(data['inputs'], data['data_samples'])) if self.tta
                 else [(data['inputs'], data['data_samples'])])
        total = None
        for inputs, sample in views:
            result = self.model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
            probs = result.seg_logits.data.float().softmax(dim=0)
            total = probs if total is None else total + probs
        return (total / len(views)).cpu().numpy()


class SegmenterMaskTask(PerImageTask):
    """Workers read the image (for the CRF); this process runs the segmenter, then the CRF."""
    name, what = 'round1_masks', 'segmenter masks'

    def __init__(self, probabilities: SegmenterProbabilities, work_dir: str, crf: bool = True):
        self.probabilities, self.work_dir, self.crf = probabilities, work_dir, crf

    def outputs(self, item: dict) -> Dict[str, str]:
        return dict(round1_masks=stage_file(self.work_dir, 'round1_masks', item['img_id']))

    def load(self, unit: List[dict]) -> dict:
        return dict(item=unit[0], image=read_image(unit[0]['img_path']))

    def compute(self, sample: dict) -> list:
        item, image = sample['item'], sample['image']
        probs = self.probabilities(item['img_path'])
        if probs.shape[1:] != image.shape[:2]:
            raise ValueError(f'the segmenter predicts {probs.shape[1]}x{probs.shape[2]} for {item["img_path"]}, '
                             f'which is {image.shape[0]}x{image.shape[1]}')
        if self.crf:
            from ..crf import dense_crf
            probs = dense_crf(image, probs)
        return [(item, probs.argmax(axis=0).astype(np.uint8))]

    def write(self, item: dict, result: np.ndarray) -> None:
        write_label_file(self.outputs(item)['round1_masks'], result)


def run(config: str, checkpoint: str, work_dir: str, ann_file: Optional[str] = None, crf: bool = True,
        tta: bool = False, workers: int = 0, device: Optional[str] = None,
        cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/round1_masks/<id>.png`` for every image of the segmenter config's
    ``test_dataloader.dataset`` (``ann_file`` replaces its list: the training images) with the trained
    ``checkpoint``; finished images are skipped. Returns the number of files this process wrote."""
    ranks = start_ranks()
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg.copy(), ann_file)
    if crf:
        from ..crf import import_densecrf
        import_densecrf()  # fail before the model is loaded when pydensecrf is missing
    torch_device = pick_device(device, ranks)
    task = SegmenterMaskTask(SegmenterProbabilities(cfg, checkpoint, torch_device, tta), work_dir, crf)
    prefix = ranks.prefix('make_segmenter_masks')
    return run_per_image(task, items, workers, ranks, prefix,
                         f'{stage_dir(work_dir, "round1_masks")} on {torch_device}'
                         + (' (dense CRF)' if crf else ''))
