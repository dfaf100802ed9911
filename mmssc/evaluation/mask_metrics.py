"""Score CAM seeds and pseudo-mask folders against ground truth with mmseg's IoU computation (method.md §3.2, §6.2).

Both evaluations accumulate, over all images, the per-class intersection, union, predicted and ground-truth pixel
counts with :meth:`mmseg.evaluation.IoUMetric.intersect_and_union` (255 in the ground truth is ignored), and turn
the sums into metrics with :meth:`IoUMetric.total_area_to_metrics`:

    IoU_c = TP_c / (GT_c + Pred_c − TP_c),  mIoU = nanmean_c IoU_c  (classes absent from both are skipped),
    Precision_c = TP_c / Pred_c,  Recall_c = TP_c / GT_c,

the confusion-matrix definition of the official ``eval_cam`` / ``eval_sem_seg``. Class-agnostic foreground
precision and recall are reported too: with F = prediction > 0 and G = ground truth > 0 over non-ignored pixels,
precision = |F ∩ G| / |F| and recall = |F ∩ G| / |G|. All figures are percentages.

* CAMs (§3.2): the prediction is argmax over [t, high_res_1..K] mapped through [0, keys + 1], i.e. class
  keys[argmax_k M_k] + 1 where max_k M_k > t, else background (ties → background). The official threshold is
  the fixed t = 0.2 (:data:`OFFICIAL_CAM_THRESHOLD`); the optional sweep over t is reported separately, with its
  best value, and is *not* the faithful number.
* Pseudo masks (§6.2): the PNG's class indices; 255 (uncertain, e.g. in confident masks) counts as background.
"""
import contextlib
import math
import os.path as osp
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log

from ..fileio import raise_missing_files, read_label_png

OFFICIAL_CAM_THRESHOLD = 0.2
DEFAULT_SWEEP = tuple(round(0.05 * i, 2) for i in range(1, 13))  # 0.05, 0.10, ..., 0.60
IGNORE_INDEX = 255

__all__ = ['OFFICIAL_CAM_THRESHOLD', 'DEFAULT_SWEEP', 'cam_seed_labels', 'MaskScore', 'evaluate_cams',
           'evaluate_masks', 'format_result']


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """Per-image counting ops are far too small to gain from threads, and on a busy CPU OpenMP's waiting
    threads make them orders of magnitude slower; run them on one thread and restore the setting after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _max_and_label(keys: np.ndarray, high_res: np.ndarray):
    """Per pixel, the top CAM value and its class label keys[argmax] + 1 (first maximum on ties)."""
    best, index = torch.from_numpy(np.asarray(high_res)).max(dim=0)
    return best, torch.as_tensor(np.asarray(keys, np.int64) + 1)[index]


def cam_seed_labels(keys: np.ndarray, high_res: np.ndarray, threshold: float) -> np.ndarray:
    """The seed label map of one image's CAMs at background threshold ``threshold`` (int64 H×W, 0..C)."""
    best, labels = _max_and_label(keys, high_res)
    return torch.where(best > threshold, labels, torch.zeros_like(labels)).numpy()


class MaskScore:
    """Running totals for one prediction setting: mmseg IoUMetric results plus foreground pixel counts."""

    def __init__(self, class_names: Sequence[str]):
        from mmseg.evaluation import IoUMetric
        self.metric = IoUMetric(ignore_index=IGNORE_INDEX, iou_metrics=['mIoU', 'mFscore'], prefix='mask')
        self.metric.dataset_meta = dict(classes=tuple(class_names))
        self.totals = None  # summed (intersection, union, predicted, ground truth) per class
        self.fg_counts = np.zeros(3, np.int64)  # |F ∩ G|, |F|, |G|
        self.num_images = 0

    def add(self, pred: torch.Tensor, gt: torch.Tensor) -> None:
        self.metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))])
        areas = self.metric.results.pop()  # folded into running sums: memory stays O(classes) for any split
        self.totals = list(areas) if self.totals is None else [t + a for t, a in zip(self.totals, areas)]
        valid = gt != IGNORE_INDEX
        pred_fg, gt_fg = (pred > 0) & valid, (gt > 0) & valid
        self.fg_counts += np.array([int((pred_fg & gt_fg).sum()), int(pred_fg.sum()), int(gt_fg.sum())])
        self.num_images += 1

    def summary(self) -> dict:
        """mIoU, aAcc, foreground precision/recall and per-class IoU/precision/recall, in percent."""
        from mmseg.evaluation import IoUMetric
        if not self.num_images:
            raise ValueError('no images were scored')
        per_class = IoUMetric.total_area_to_metrics(*self.totals, metrics=['mIoU', 'mFscore'])
        tp, pred, gt = (int(v) for v in self.fg_counts)
        names = self.metric.dataset_meta['classes']
        with np.errstate(invalid='ignore'):
            miou = float(np.nanmean(per_class['IoU'])) * 100
        return dict(
            mIoU=miou, aAcc=float(per_class['aAcc']) * 100,
            fg_precision=100.0 * tp / pred if pred else math.nan,
            fg_recall=100.0 * tp / gt if gt else math.nan,
            per_class={name: dict(IoU=float(per_class['IoU'][c]) * 100,
                                  Precision=float(per_class['Precision'][c]) * 100,
                                  Recall=float(per_class['Recall'][c]) * 100)
                       for c, name in enumerate(names)},
            num_images=self.num_images)


def _read_gt(item: dict) -> torch.Tensor:
    path = item.get('seg_map_path')
    if not path:
        raise ValueError(f"image {item['img_id']} has no ground-truth mask (the dataset needs "
                         "data_prefix['seg_map_path'])")
    return torch.from_numpy(read_label_png(path, 'ground-truth mask').astype(np.int64))


def _check_shapes(pred_shape, gt: torch.Tensor, pred_path: str, item: dict) -> None:
    if tuple(pred_shape) != tuple(gt.shape):
        raise ValueError(f'{pred_path} is {pred_shape[0]}x{pred_shape[1]} but its ground truth '
                         f"{item['seg_map_path']} is {gt.shape[0]}x{gt.shape[1]}")


def _score_cam_file(path: str, item: dict, thresholds: Sequence[float], scores: dict) -> None:
    from ..cam_inference import read_cam_file
    cams = read_cam_file(path)
    gt = _read_gt(item)
    _check_shapes(cams['high_res'].shape[1:], gt, path, item)
    # one max/argmax per image; each threshold only compares the max with t (as cam_seed_labels)
    best, labels = _max_and_label(cams['keys'], cams['high_res'])
    for t in thresholds:
        scores[t].add(torch.where(best > t, labels, torch.zeros_like(labels)), gt)


def evaluate_cams(cam_dir: str, items: Sequence[dict], class_names: Sequence[str],
                  threshold: float = OFFICIAL_CAM_THRESHOLD, sweep: Optional[Sequence[float]] = None,
                  logger: str = 'current') -> dict:
    """Seed mIoU of ``cam_dir/<id>.npz`` (``high_res``) at ``threshold``, and optionally over a ``sweep``.

    ``items`` carry ``img_id`` and ``seg_map_path`` (ground truth: 0 = background, c = class c, 255 = ignore);
    ``class_names`` include the background first (C+1 names). Returns :meth:`MaskScore.summary` at
    ``threshold`` plus ``threshold``; with ``sweep``, also ``sweep`` (a list of dicts: threshold, mIoU,
    fg_precision, fg_recall), ``best_threshold`` and ``best`` (the summary at the best threshold). Logs the
    per-class table(s) to ``logger`` (``'silent'`` for none).
    """
    cam_paths = [osp.join(cam_dir, item['img_id'] + '.npz') for item in items]
    raise_missing_files(cam_paths, 'CAM files')
    thresholds = sorted(set([float(threshold)] + [float(t) for t in (sweep or ())]))
    scores = {t: MaskScore(class_names) for t in thresholds}
    with _single_thread():
        for item, path in zip(items, cam_paths):
            _score_cam_file(path, item, thresholds, scores)
    result = dict(scores[float(threshold)].summary(), threshold=float(threshold))
    if sweep:
        summaries = {t: scores[t].summary() for t in thresholds}
        result['sweep'] = [dict(threshold=t, mIoU=s['mIoU'], fg_precision=s['fg_precision'],
                                fg_recall=s['fg_recall']) for t, s in summaries.items()]
        best_t = max(thresholds, key=lambda t: (summaries[t]['mIoU'], -abs(t - threshold)))
        result['best_threshold'] = best_t
        result['best'] = dict(summaries[best_t], threshold=best_t)
    print_log('\n' + format_result(result, f'CAM seeds ({cam_dir})'), logger=logger)
    return result


def evaluate_masks(mask_dir: str, items: Sequence[dict], class_names: Sequence[str],
                   logger: str = 'current') -> dict:
    """mIoU of the pseudo masks ``mask_dir/<id>.png`` (255 → background, §6.2); same result keys as above."""
    mask_paths = [osp.join(mask_dir, item['img_id'] + '.png') for item in items]
    raise_missing_files(mask_paths, 'masks')
    score = MaskScore(class_names)
    with _single_thread():
        for item, path in zip(items, mask_paths):
            pred = read_label_png(path, 'mask').astype(np.int64)
            gt = _read_gt(item)
            _check_shapes(pred.shape, gt, path, item)
            pred[pred == IGNORE_INDEX] = 0
            score.add(torch.from_numpy(pred), gt)
    result = score.summary()
    print_log('\n' + format_result(result, f'masks ({mask_dir})'), logger=logger)
    return result


def _pct(value: float) -> str:
    return 'nan' if value is None or math.isnan(value) else f'{value:.2f}'


def format_result(result: dict, title: str = '') -> str:
    """The per-class table and summary lines (and the sweep table, when present) as text."""
    from prettytable import PrettyTable

    def class_table(summary):
        table = PrettyTable(['Class', 'IoU', 'Precision', 'Recall'])
        for name, values in summary['per_class'].items():
            table.add_row([name, _pct(values['IoU']), _pct(values['Precision']), _pct(values['Recall'])])
        return table.get_string()

    def summary_line(summary, label):
        return (f"{label}: mIoU {_pct(summary['mIoU'])}, foreground precision {_pct(summary['fg_precision'])}, "
                f"recall {_pct(summary['fg_recall'])}, aAcc {_pct(summary['aAcc'])} "
                f"({summary['num_images']} images)")

    lines = [title] if title else []
    lines.append(class_table(result))
    if 'threshold' in result:
        lines.append(summary_line(result, f"background threshold {result['threshold']:g}"))
    else:
        lines.append(summary_line(result, 'masks'))
    if 'sweep' in result:
        sweep = PrettyTable(['threshold', 'mIoU', 'fg precision', 'fg recall'])
        for row in result['sweep']:
            sweep.add_row([f"{row['threshold']:g}", _pct(row['mIoU']), _pct(row['fg_precision']),
                           _pct(row['fg_recall'])])
        lines.append('threshold sweep (the official protocol is the fixed threshold above):')
        lines.append(sweep.get_string())
        lines.append(summary_line(result['best'], f"best threshold {result['best_threshold']:g}"))
    return '\n'.join(lines)


def ir_label_quality(ir_label_dir: str, items: Sequence[dict]) -> dict:
    """How good the confident pixels of IR labels (0 / c+1 / 255 = uncertain, §4) are, in percent.

    precision = correctly labelled confident pixels / confident pixels; coverage = confident pixels / pixels with
    ground truth; both over pixels whose ground truth is not 255, summed over the images.
    """
    paths = [osp.join(ir_label_dir, item['img_id'] + '.png') for item in items]
    raise_missing_files(paths, 'IR labels')
    correct = confident = labelled = 0
    for item, path in zip(items, paths):
        ir_label = read_label_png(path, 'IR label').astype(np.int64)
        gt = _read_gt(item).numpy()
        _check_shapes(ir_label.shape, torch.from_numpy(gt), path, item)
        valid = gt != IGNORE_INDEX
        sure = valid & (ir_label != IGNORE_INDEX)
        correct += int((sure & (ir_label == gt)).sum())
        confident += int(sure.sum())
        labelled += int(valid.sum())
    return dict(precision=100.0 * correct / confident if confident else math.nan,
                coverage=100.0 * confident / labelled if labelled else math.nan, num_images=len(items))
