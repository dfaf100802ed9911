"""Saliency-weighted prototypes of a CAM, the quantity both I²CRC relation losses are built on (docs/method.md,
'I²CRC').

For CAM features x (B×C×h×w, raw: no ReLU) and a soft pixel mask w (B×H×W in [0, 1], at the input size):

    x̃  = bilinear(x → H×W)                        (align_corners=False; all C channels)
    μ_w = Σ_p w_p · x̃_p / (Σ_p w_p + 1e-5)         (B×C: one C-vector per image)

w = s (the saliency map / 255) gives the foreground prototype μ_fg, w = 1 − s the background prototype μ_bg.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

PROTOTYPE_EPS = 1e-5

__all__ = ['PROTOTYPE_EPS', 'upsample_cam', 'saliency_prototype', 'check_relation_inputs']


def check_relation_inputs(cam: torch.Tensor, labels: torch.Tensor, saliency: torch.Tensor) -> None:
    """One error for inputs a relation loss cannot use (shapes are the contract with the classifier)."""
    if cam.ndim != 4 or labels.shape != cam.shape[:2] or saliency.ndim != 3 or saliency.shape[0] != cam.shape[0]:
        raise ValueError(f'relation loss inputs: expected cam B×C×h×w, labels B×C and saliency B×H×W, got '
                         f'{tuple(cam.shape)}, {tuple(labels.shape)} and {tuple(saliency.shape)}')


def upsample_cam(cam: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """x̃: the CAM bilinearly upsampled to the saliency (input) size."""
    return F.interpolate(cam, size=tuple(size), mode='bilinear', align_corners=False)


def saliency_prototype(cam_up: torch.Tensor, weight: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(μ_w B×C, Σ_p w_p + 1e-5 B×1) of upsampled CAM features ``cam_up`` (B×C×H×W) under mask ``weight``
    (B×H×W)."""
    weight = weight.to(cam_up.dtype).unsqueeze(1)
    mass = weight.sum(dim=(2, 3)) + PROTOTYPE_EPS
    return (cam_up * weight).sum(dim=(2, 3)) / mass, mass
