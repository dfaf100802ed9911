"""I²CRC's object-guided label refinement, one ``<work_dir>/refined_labels/<id>.png`` per image (docs/method.md,
'I²CRC'): the first-round segmenter's prediction G (0 background, c + 1 class c; the official code uses the
predictions after dense CRF) merged with the initial pseudo-label I (``saliency_labels/<id>.png``) and the image
labels. The official steps, in order:

1. every predicted class that is not an image label becomes 255;
2. on **multi-class** images, where G is background but I ≠ 0, take I (255 in I is copied too);
3. if an image-level class is entirely missing from the result, every background pixel becomes 255;
4. if less than 1 % of the pixels are foreground (1..C), the whole image becomes 255.

The second segmentation round trains on these labels.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..fileio import raise_missing_files, read_label_png
from ..stage_files import dataset_items, stage_dir, stage_file, write_label_file
from .per_image import PerImageTask, load_stage_config, run_per_image

IGNORE = 255
MIN_FOREGROUND = 0.01

__all__ = ['refine_labels', 'LabelRefinementTask', 'run']


def refine_labels(prediction: np.ndarray, initial: np.ndarray, keys: Sequence[int],
                  min_foreground: float = MIN_FOREGROUND) -> np.ndarray:
    """The refined label (uint8 H×W) from prediction G, initial label I (uint8 H×W) and the image's 0-based
    classes ``keys`` (module docstring)."""
    prediction, initial = np.asarray(prediction), np.asarray(initial)
    if prediction.shape != initial.shape or prediction.ndim != 2:
        raise ValueError(f'refine_labels: prediction {prediction.shape} and initial label {initial.shape} must be '
                         'the same H×W')
    present = np.asarray(sorted(set(int(k) + 1 for k in keys)), np.int64)
    refined = prediction.astype(np.int64)
    refined[(refined != 0) & ~np.isin(refined, present)] = IGNORE                     # 1
    if len(present) > 1:
        take_initial = (prediction == 0) & (initial != 0)                              # 2
        refined[take_initial] = initial[take_initial]
    if any(not np.any(refined == c) for c in present):                                 # 3
        refined[refined == 0] = IGNORE
    if np.mean((refined > 0) & (refined != IGNORE)) < min_foreground:                  # 4
        refined[:] = IGNORE
    return refined.astype(np.uint8)


class LabelRefinementTask(PerImageTask):
    """Workers read the prediction and the initial label and merge them (CPU only)."""
    name, what = 'refined_labels', 'refined pseudo-labels'

    def __init__(self, work_dir: str, prediction_dir: str, min_foreground: float = MIN_FOREGROUND):
        self.work_dir, self.prediction_dir, self.min_foreground = work_dir, prediction_dir, min_foreground

    def prediction_path(self, item: dict) -> str:
        return osp.join(self.prediction_dir, item['img_id'] + '.png')

    def outputs(self, item: dict) -> Dict[str, str]:
        return dict(refined_labels=stage_file(self.work_dir, 'refined_labels', item['img_id']))

    def check_inputs(self, pending: Sequence[dict]) -> None:
        raise_missing_files([self.prediction_path(item) for item in pending], 'first-round predictions')
        raise_missing_files([stage_file(self.work_dir, 'saliency_labels', item['img_id']) for item in pending],
                            'initial pseudo-labels', '\nmake them with mmssc.stages.saliency_labels')

    def load(self, unit: List[dict]) -> dict:
        item = unit[0]
        prediction = read_label_png(self.prediction_path(item), 'first-round prediction')
        initial_path = stage_file(self.work_dir, 'saliency_labels', item['img_id'])
        initial = read_label_png(initial_path, 'initial pseudo-label')
        if prediction.shape != initial.shape:
            raise ValueError(f'first-round prediction {self.prediction_path(item)} is {prediction.shape} but the '
                             f'initial pseudo-label {initial_path} is {initial.shape}')
        refined = refine_labels(prediction, initial, item['label_indices'], self.min_foreground)
        return dict(results=[(item, refined)])

    def write(self, item: dict, result: np.ndarray) -> None:
        write_label_file(self.outputs(item)['refined_labels'], result)


def run(config: str, work_dir: str, prediction_dir: Optional[str] = None, ann_file: Optional[str] = None,
        workers: int = 0, cfg_options: Optional[dict] = None) -> int:
    """Write ``<work_dir>/refined_labels/<id>.png`` for every image of ``config``'s ``test_dataloader.dataset``
    (``ann_file`` replaces its list; its image labels are used) from the first-round predictions
    ``prediction_dir/<id>.png`` (default ``<work_dir>/round1_masks``, :mod:`.segmenter_masks`) and
    ``<work_dir>/saliency_labels``. Returns the number of files written."""
    cfg = load_stage_config(config, cfg_options)
    items, _ = dataset_items(cfg, ann_file)
    prediction_dir = prediction_dir or stage_dir(work_dir, 'round1_masks')
    return run_per_image(LabelRefinementTask(work_dir, prediction_dir), items, workers,
                         prefix='[label_refinement] ', where=stage_dir(work_dir, 'refined_labels'))
