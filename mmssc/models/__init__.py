"""Registered models and model parts."""
from .tiny_cam_classifier import TinyCAMClassifier

__all__ = ['TinyCAMClassifier']
