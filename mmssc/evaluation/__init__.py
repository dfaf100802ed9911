"""Metrics (registered into mmseg's METRICS)."""
from .mask_metrics import (DEFAULT_SWEEP, OFFICIAL_CAM_THRESHOLD, MaskScore, cam_seed_labels, evaluate_cams,
                           evaluate_masks, format_result)
from .multilabel_map import MultiLabelMAP

__all__ = ['MultiLabelMAP', 'DEFAULT_SWEEP', 'OFFICIAL_CAM_THRESHOLD', 'MaskScore', 'cam_seed_labels',
           'evaluate_cams', 'evaluate_masks', 'format_result']
