"""The ``evaluation`` stage for any folder: CAM seeds or masks scored against ground truth with the project's one
scorer, :mod:`mmssc.evaluation.mask_metrics` (background included, 255 ignored; docs/method.md, 'Evaluation').
``tools/eval_masks.py`` is its command line; the pipeline runner scores every stage with the same functions.
"""
import json
import math
from typing import Optional, Sequence

from ..evaluation.mask_metrics import (DEFAULT_SWEEP, OFFICIAL_CAM_THRESHOLD, evaluate_cams, evaluate_masks,
                                       format_result, gt_dir_items)
from ..fileio import atomic_path
from ..stage_files import dataset_items

__all__ = ['foreground_classes', 'run']


def foreground_classes(spec: str) -> tuple:
    """'voc', 'coco' or a foreground class-list file (the scorer adds background)."""
    from ..datasets import COCO_CLASSES, VOC_CLASSES, load_class_names
    return {'voc': VOC_CLASSES, 'coco': COCO_CLASSES}.get(spec) or load_class_names(spec)


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def run(cams: Optional[str] = None, masks: Optional[str] = None, config: Optional[str] = None,
        ann_file: Optional[str] = None, cfg_options: Optional[dict] = None, gt_dir: Optional[str] = None,
        ids: Optional[str] = None, classes: str = 'voc', threshold: float = OFFICIAL_CAM_THRESHOLD,
        sweep: Optional[Sequence[float]] = None, out: Optional[str] = None) -> dict:
    """Score the CAM files in ``cams`` (seeds at ``threshold``; ``sweep``: more thresholds, the best reported
    too; an empty sequence: the default 0.05..0.60) or the label PNGs in ``masks``. The images and their ground
    truth are ``config``'s ``test_dataloader.dataset`` (``ann_file`` replaces its list), or the masks in
    ``gt_dir`` (the ids in file ``ids``, else all) with ``classes`` ('voc', 'coco' or a class-list file).
    Prints the table; ``out`` gets the result as JSON (NaN → null). Returns the result."""
    if (cams is None) == (masks is None):
        raise ValueError('give exactly one of cams and masks')
    if (config is None) == (gt_dir is None):
        raise ValueError('give exactly one of config and gt_dir')
    if config:
        items, names = dataset_items(config, ann_file, cfg_options)
    else:
        items, names = gt_dir_items(gt_dir, ids), foreground_classes(classes)
    if cams:
        sweep = None if sweep is None else (tuple(sweep) or DEFAULT_SWEEP)
        result = evaluate_cams(cams, items, names, threshold, sweep, logger='silent')
        print(format_result(result, f'CAM seeds ({cams})'), flush=True)
    else:
        result = evaluate_masks(masks, items, names, logger='silent')
        print(format_result(result, f'masks ({masks})'), flush=True)
    if out:
        with atomic_path(out) as tmp, open(tmp, 'w') as f:
            json.dump(_json_safe(result), f, indent=1)
    return result
