"""Mean average precision of multi-label classification scores (the CAM classifier's own metric).

AP of one class = mean over its positive samples of the precision at that sample's rank, samples ranked by
descending score (ties broken by order). mAP = mean AP over classes that have at least one positive.
"""
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(-scores, kind='stable')
    hits = labels[order] > 0
    if not hits.any():
        return float('nan')
    precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hits.mean())


@METRICS.register_module()
class MultiLabelMAP(BaseMetric):
    """Reads ``pred_score`` and ``gt_label`` from each data sample; reports ``mAP`` in percent."""
    default_prefix = 'cls'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append((np.asarray(sample['pred_score'].cpu()), np.asarray(sample['gt_label'].cpu())))

    def compute_metrics(self, results: list) -> dict:
        scores = np.stack([r[0] for r in results])
        labels = np.stack([r[1] for r in results])
        aps = [average_precision(scores[:, c], labels[:, c]) for c in range(scores.shape[1])]
        return dict(mAP=100.0 * float(np.nanmean(aps)) if not np.all(np.isnan(aps)) else float('nan'))
