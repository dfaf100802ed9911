"""I²CRC's saliency-guided initial pseudo-labels, one ``<work_dir>/saliency_labels/<id>.png`` per image
(docs/method.md, 'I²CRC'), from the image's CAM file (``cams/<id>.npz``, made by :mod:`.i2crc_cams`) and its
saliency map s (uint8 0..255). The official rule, per pixel:

1. scores: background b = 1 − s/255; class c (of the image's labels) m_c = min-max normalised CAM
   ((q − min q) / (max q − min q); a constant map gives 0);
2. every score < 0.3 becomes 0;
3. if more than one score (background included) is > 0.9, the pixel is a conflict: 255;
4. otherwise the label is the argmax (0 background, c + 1 class c; ties to the lower plane, background first);
5. a background pixel where max(s, 255·[max_c m_c > 0.5]) ≥ 32 becomes 255 (salient or CAM-active: unsure);
6. if less than 1 % of the pixels are foreground (1..C), the whole image becomes 255.

The label PNGs are the stage contract's (:func:`mmssc.stage_files.write_label_file`); 255 is ignored by the
segmenter that trains on them.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..datasets.saliency import read_saliency
from ..fileio import raise_missing_files
from ..stage_files import class_of_plane, dataset_items, read_cam_file, stage_dir, stage_file, write_label_file
from .per_image import PerImageTask, load_stage_config, run_per_image

IGNORE = 255

__all__ = ['SaliencyLabelSettings', 'saliency_labels', 'SaliencyLabelTask', 'run']


@dataclass(frozen=True)
class SaliencyLabelSettings:
    """The official thresholds."""
    score_floor: float = 0.3          # step 2
    conflict_threshold: float = 0.9   # step 3
    cam_active: float = 0.5           # step 5: a CAM above this marks the pixel as active
    unsure_saliency: int = 32         # step 5: background pixels at or above this (0..255) become 255
    min_foreground: float = 0.01      # step 6


def minmax(cams: np.ndarray) -> np.ndarray:
    """Per-map (q − min) / (max − min) of K×H×W maps (float64); a constant map gives 0."""
    cams = np.asarray(cams, np.float64)
    low = cams.min(axis=(1, 2), keepdims=True)
    span = cams.max(axis=(1, 2), keepdims=True) - low
    return np.divide(cams - low, span, out=np.zeros_like(cams), where=span > 0)


def saliency_labels(keys: Sequence[int], cams: np.ndarray, saliency: np.ndarray,
                    settings: SaliencyLabelSettings = SaliencyLabelSettings()) -> np.ndarray:
    """The initial pseudo-label (uint8 H×W) of one image: ``keys`` its 0-based classes, ``cams`` their K×H×W maps
    (any scale: they are min-max normalised), ``saliency`` uint8 H×W (module docstring)."""
    cams, saliency = np.asarray(cams), np.asarray(saliency)
    if cams.ndim != 3 or cams.shape[1:] != saliency.shape or len(cams) != len(keys):
        raise ValueError(f'saliency_labels: {len(keys)} keys, CAMs {cams.shape} and saliency {saliency.shape} '
                         'do not match (K×H×W and H×W)')
    class_scores = minmax(cams)
    scores = np.concatenate([(1 - saliency.astype(np.float64) / 255)[None], class_scores])
    scores[scores < settings.score_floor] = 0
    conflict = (scores > settings.conflict_threshold).sum(axis=0) > 1
    labels = class_of_plane(keys)[scores.argmax(axis=0)]
    labels[conflict] = IGNORE
    active = class_scores.max(axis=0, initial=0) > settings.cam_active if len(keys) else np.zeros_like(conflict)
    unsure = np.maximum(saliency.astype(np.int64), IGNORE * active) >= settings.unsure_saliency
    labels[(labels == 0) & unsure] = IGNORE
    if np.mean((labels > 0) & (labels != IGNORE)) < settings.min_foreground:
        labels[:] = IGNORE
    return labels.astype(np.uint8)


class SaliencyLabelTask(PerImageTask):
    """Workers read the CAM file and the saliency map and apply the rule (CPU only)."""
    name, what = 'saliency_labels', 'initial pseudo-labels'

    def __init__(self, work_dir: str, saliency_dir: str, saliency_suffix: str = '.png',
                 settings: SaliencyLabelSettings = SaliencyLabelSettings()):
        self.work_dir, self.saliency_dir, self.saliency_suffix = work_dir, saliency_dir, saliency_suffix
        self.settings = settings

    def saliency_path(self, item: dict) -> str:
        return osp.join(self.saliency_dir, item['img_id'] + self.saliency_suffix)

    def outputs(self, item: dict) -> Dict[str, str]:
        return dict(saliency_labels=stage_file(self.work_dir, 'saliency_labels', item['img_id']))

    def check_inputs(self, pending: Sequence[dict]) -> None:
        raise_missing_files([stage_file(self.work_dir, 'cams', item['img_id']) for item in pending], 'CAM files',
                            '\nmake them with mmssc.stages.i2crc_cams')
        raise_missing_files([self.saliency_path(item) for item in pending], 'saliency maps')

    def load(self, unit: List[dict]) -> dict:
        item = unit[0]
        cam_path, saliency_path = stage_file(self.work_dir, 'cams', item['img_id']), self.saliency_path(item)
        cams, saliency = read_cam_file(cam_path), read_saliency(saliency_path)
        if cams['high_res'].shape[1:] != saliency.shape:
            raise ValueError(f'saliency map {saliency_path} is {saliency.shape[0]}x{saliency.shape[1]} but the '
                             f'CAMs of {cam_path} are {cams["high_res"].shape[1]}x{cams["high_res"].shape[2]}')
        return dict(results=[(item, saliency_labels(cams['keys'], cams['high_res'], saliency, self.settings))])

    def write(self, item: dict, result: np.ndarray) -> None:
        write_label_file(self.outputs(item)['saliency_labels'], result)


def saliency_dir_of(cfg) -> str:
    """The training dataset's ``data_prefix['saliency_path']`` under its ``data_root``."""
    dataset = cfg.train_dataloader.dataset
    folder = dataset.get('data_prefix', {}).get('saliency_path')
    if not folder:
        raise KeyError("the config's train_dataloader.dataset.data_prefix has no saliency_path: pass saliency_dir")
    return folder if osp.isabs(folder) else osp.join(dataset.get('data_root') or '', folder)


def run(config: str, work_dir: str, ann_file: Optional[str] = None, saliency_dir: Optional[str] = None,
        settings: SaliencyLabelSettings = SaliencyLabelSettings(), workers: int = 0,
        cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/saliency_labels/<id>.png`` for every image of ``config``'s ``test_dataloader.dataset``
    (``ann_file`` replaces its list) from ``<work_dir>/cams`` and the saliency maps (default: the training
    dataset's ``saliency_path``); finished images are skipped. Returns the number of files written."""
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg, ann_file)
    task = SaliencyLabelTask(work_dir, saliency_dir or saliency_dir_of(cfg), settings=settings)
    return run_per_image(task, items, workers, prefix='[saliency_labels] ',
                         where=stage_dir(work_dir, 'saliency_labels'))
