"""The project's one scorer: CAM seeds, pseudo masks, IR labels and segmenter predictions against ground truth.

Every caller passes the dataset's **foreground** class names (C of them); the scorer puts ``background`` in front
itself (:func:`scored_classes`), so label 0 is scored as background, labels 1..C as the classes in order, and the
per-class tables print background first. mIoU is the mean over all C + 1 rows, background included, as the
official ``eval_cam`` / ``eval_sem_seg`` compute it. A label value outside 0..C (other than 255 in the ground
truth) is an error naming the file, never silently dropped.

Both evaluations accumulate, over all images, the per-class intersection, union, predicted and ground-truth pixel
counts with :meth:`mmseg.evaluation.IoUMetric.intersect_and_union` (255 in the ground truth is ignored), and turn
the sums into metrics with :meth:`IoUMetric.total_area_to_metrics`:

    IoU_c = TP_c / (GT_c + Pred_c − TP_c),  mIoU = nanmean_c IoU_c  (classes absent from both are skipped),
    Precision_c = TP_c / Pred_c,  Recall_c = TP_c / GT_c,

the confusion-matrix definition of the official ``eval_cam`` / ``eval_sem_seg``. Class-agnostic foreground
precision and recall are reported too: with F = prediction > 0 and G = ground truth > 0 over non-ignored pixels,
precision = |F ∩ G| / |F| and recall = |F ∩ G| / |G|. All figures are percentages.

* CAMs (docs/method.md, 'Evaluation'): the seed rule of :class:`mmssc.stage_files.CamSeeds`: argmax over [t,
high_res_1..K] mapped
  through [0, keys + 1], i.e. class keys[argmax_k M_k] + 1 where max_k M_k > t, else background (ties →
  background). The official threshold is
  the fixed t = 0.2 (:data:`OFFICIAL_CAM_THRESHOLD`); the optional sweep over t is reported separately, with its
  best value, and is *not* the faithful number.
* Pseudo masks (docs/method.md, 'Evaluation'): the PNG's class indices; 255 (uncertain, e.g. in confident masks) counts
as background.
"""
import contextlib
import math
import os.path as osp
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log

from ..fileio import raise_missing_files, read_label_png
from ..stage_files import CamSeeds

BACKGROUND = 'background'
OFFICIAL_CAM_THRESHOLD = 0.2
DEFAULT_SWEEP = tuple(round(0.05 * i, 2) for i in range(1, 13))  # 0.05, 0.10, ..., 0.60
IGNORE_INDEX = 255

__all__ = ['BACKGROUND', 'OFFICIAL_CAM_THRESHOLD', 'DEFAULT_SWEEP', 'scored_classes', 'MaskScore',
           'evaluate_cams', 'evaluate_masks', 'ir_label_quality', 'gt_dir_items', 'format_result']


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


def scored_classes(foreground_classes: Sequence[str]) -> Tuple[str, ...]:
    """The rows the scorer reports: ``background`` followed by the dataset's foreground class names."""
    names = tuple(foreground_classes)
    if not names:
        raise ValueError('no foreground classes to score')
    if any(str(name).lower() == BACKGROUND for name in names):
        raise ValueError(f'the scorer takes the foreground class names and adds {BACKGROUND!r} itself; got '
                         f'{names[:3]}... with {BACKGROUND!r} among them')
    return (BACKGROUND,) + names


class MaskScore:
    """Running totals for one prediction setting: mmseg IoUMetric results plus foreground pixel counts.

    ``foreground_classes`` are the dataset's C class names; the totals have C + 1 rows, background first.
    """

    def __init__(self, foreground_classes: Sequence[str]):
        from mmseg.evaluation import IoUMetric
        self.metric = IoUMetric(ignore_index=IGNORE_INDEX, iou_metrics=['mIoU', 'mFscore'], prefix='mask')
        self.metric.dataset_meta = dict(classes=scored_classes(foreground_classes))
        self.totals = None  # summed (intersection, union, predicted, ground truth) pixels per class, float64
        self.fg_counts = np.zeros(3, np.int64)  # |F ∩ G|, |F|, |G|
        self.num_images = 0

    def _check_values(self, labels: torch.Tensor, what: str, source: str, ignore_allowed: bool) -> None:
        num_rows = len(self.metric.dataset_meta['classes'])
        bad = (labels < 0) | (labels >= num_rows)
        if ignore_allowed:
            bad &= labels != IGNORE_INDEX
        if bool(bad.any()):
            value = int(labels[bad][0])
            raise ValueError(f'{source or what}: {what} label {value} is outside 0..{num_rows - 1} (background + '
                             f'{num_rows - 1} classes){" and is not 255 (ignore)" if ignore_allowed else ""}')

    def add(self, pred, gt, source: str = '') -> None:
        """Add one image: ``pred`` and ``gt`` are H×W label maps (NumPy or torch); ``source`` names them in
        errors."""
        pred, gt = (torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).long() for x in (pred, gt))
        self._check_values(pred, 'predicted', source, ignore_allowed=False)
        self._check_values(gt, 'ground-truth', source, ignore_allowed=True)
        self.metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))])
        # folded into running sums: memory stays O(classes) for any split. mmseg counts in float32, exact per
        # image but not past 2**24 pixels (a VOC split's background has 10**8); float64 sums stay exact integers
        areas = [area.double() for area in self.metric.results.pop()]
        self.totals = areas if self.totals is None else [t + a for t, a in zip(self.totals, areas)]
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
    from ..stage_files import read_cam_file
    cams = read_cam_file(path)
    gt = _read_gt(item)
    _check_shapes(cams['high_res'].shape[1:], gt, path, item)
    seeds = CamSeeds(cams['keys'], cams['high_res'])  # one max/argmax per image, one comparison per threshold
    for t in thresholds:
        scores[t].add(seeds.labels(t), gt, path)


def evaluate_cams(cam_dir: str, items: Sequence[dict], foreground_classes: Sequence[str],
                  threshold: float = OFFICIAL_CAM_THRESHOLD, sweep: Optional[Sequence[float]] = None,
                  logger: str = 'current') -> dict:
    """Seed mIoU of ``cam_dir/<id>.npz`` (``high_res``) at ``threshold``, and optionally over a ``sweep``.

    ``items`` carry ``img_id`` and ``seg_map_path`` (ground truth: 0 = background, c = class c, 255 = ignore);
    ``foreground_classes`` are the dataset's C class names (background is added). Returns :meth:`MaskScore.summary` at
    ``threshold`` plus ``threshold``; with ``sweep``, also ``sweep`` (a list of dicts: threshold, mIoU,
    fg_precision, fg_recall), ``best_threshold`` and ``best`` (the summary at the best threshold). Logs the
    per-class table(s) to ``logger`` (``'silent'`` for none).
    """
    cam_paths = [osp.join(cam_dir, item['img_id'] + '.npz') for item in items]
    raise_missing_files(cam_paths, 'CAM files')
    thresholds = sorted(set([float(threshold)] + [float(t) for t in (sweep or ())]))
    scores = {t: MaskScore(foreground_classes) for t in thresholds}
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


def evaluate_masks(mask_dir: str, items: Sequence[dict], foreground_classes: Sequence[str],
                   logger: str = 'current', title: str = 'masks') -> dict:
    """mIoU of the label PNGs ``mask_dir/<id>.png`` (pseudo masks, refined masks, segmenter predictions; 255 →
    background, docs/method.md, 'Evaluation') over the dataset's ``foreground_classes`` plus background; same result
    keys as above."""
    mask_paths = [osp.join(mask_dir, item['img_id'] + '.png') for item in items]
    raise_missing_files(mask_paths, 'masks')
    score = MaskScore(foreground_classes)
    with _single_thread():
        for item, path in zip(items, mask_paths):
            pred = read_label_png(path, 'mask').astype(np.int64)
            gt = _read_gt(item)
            _check_shapes(pred.shape, gt, path, item)
            pred[pred == IGNORE_INDEX] = 0
            score.add(pred, gt, path)
    result = score.summary()
    print_log('\n' + format_result(result, f'{title} ({mask_dir})'), logger=logger)
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
    """How good the confident pixels of IR labels (0 / c+1 / 255 = uncertain, docs/method.md, 'ir_labels') are,
    in percent.

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


def gt_dir_items(gt_dir: str, ids_file: Optional[str] = None, ids: Optional[Sequence[str]] = None) -> list:
    """Items to score from a ground-truth folder: ``ids``, or the ids of ``ids_file`` (first token per line), or
    every ``<id>.png`` in ``gt_dir``; each ``dict(img_id, seg_map_path)``. Missing files are one error naming
    them."""
    import os
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(f'ground-truth folder not found: {gt_dir}')
    if ids is not None:
        ids = list(ids)
    elif ids_file:
        if not osp.isfile(ids_file):
            raise FileNotFoundError(f'id list not found: {ids_file}')
        with open(ids_file, encoding='utf-8') as f:
            ids = [osp.splitext(osp.basename(ln.split()[0]))[0] for ln in f if ln.strip()]
    else:
        ids = sorted(n[:-4] for n in os.listdir(gt_dir) if n.endswith('.png') and not n.startswith('.'))
    if not ids:
        raise ValueError(f'no images to evaluate ({ids_file or gt_dir} lists none)')
    items = [dict(img_id=i, seg_map_path=osp.join(gt_dir, i + '.png')) for i in ids]
    raise_missing_files([item['seg_map_path'] for item in items], 'ground-truth masks')
    return items
