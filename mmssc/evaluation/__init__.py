"""Metrics (registered into mmseg's METRICS)."""
from .mask_metrics import (BACKGROUND, DEFAULT_SWEEP, OFFICIAL_CAM_THRESHOLD, MaskScore, evaluate_cams,
                           evaluate_masks, format_result, gt_dir_items, ir_label_quality, scored_classes)
from .multilabel_map import MultiLabelMAP

__all__ = ['MultiLabelMAP', 'BACKGROUND', 'DEFAULT_SWEEP', 'OFFICIAL_CAM_THRESHOLD', 'MaskScore', 'scored_classes',
           'evaluate_cams', 'evaluate_masks', 'ir_label_quality', 'gt_dir_items', 'format_result']
