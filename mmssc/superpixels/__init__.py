"""Superpixels for the ASM loss of ``cam_classifier``: Felzenszwalb + hierarchical merge to ≤ 64 regions
(docs/method.md, 'Superpixels').

The public API is ``make_superpixels`` (generate from an image, optionally with CNN features as ICD)
and ``load_or_make_superpixels`` (read a stored 24-bit PNG id map or generate and cache one).
"""
from .api import load_or_make_superpixels, make_superpixels
from .selective_merge import MergeInfo

__all__ = ['make_superpixels', 'load_or_make_superpixels', 'MergeInfo']
