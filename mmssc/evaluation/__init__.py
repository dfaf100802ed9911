"""Metrics (registered into mmseg's METRICS)."""
from .multilabel_map import MultiLabelMAP

__all__ = ['MultiLabelMAP']
