"""I²CRC's class-specific distance module (inter-class separation), as the official code computes it
(docs/method.md, 'I²CRC').

With x̃ the CAM (B×C×h×w, pre-ReLU) bilinearly upsampled to the input size, s the saliency in [0, 1] (B×H×W),
μ_fg = μ_s and μ_bg = μ_{1−s} the saliency-weighted prototypes (:mod:`.saliency_prototypes`) and y the multi-hot
labels (B×C):

    L_dist = mean_{n, c} [ (μ_bg − μ_fg)_{n,c} · y_{n,c} ]          (official weight 0.1)

The mean runs over all C channels, so an image with one label contributes 1/C of its class's gap. The term is
linear and unbounded below: it keeps raising the foreground prototype's activation of the image's classes above
the background prototype's, i.e. the object above the background. Every image of the batch takes part (the
official code restricts only the class-agnostic term to single-label images); ``single_label_only=True`` applies
that restriction here too.
"""
import torch
import torch.nn as nn
from mmseg.registry import MODELS

from .saliency_prototypes import check_relation_inputs, saliency_prototype, upsample_cam

__all__ = ['ClassSpecificDistanceLoss']


@MODELS.register_module()
class ClassSpecificDistanceLoss(nn.Module):
    """``forward(cam, labels, saliency)`` → loss_weight · L_dist (module docstring).

    Args:
        loss_weight: official 0.1.
        single_label_only: use only the single-label images (0 when there are none); off in the official code.
        loss_name: the key of this term in the classifier's loss dict.
    """

    def __init__(self, loss_weight: float = 0.1, single_label_only: bool = False, loss_name: str = 'loss_dist'):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.single_label_only = single_label_only
        self.loss_name = loss_name

    def forward(self, cam: torch.Tensor, labels: torch.Tensor, saliency: torch.Tensor) -> torch.Tensor:
        check_relation_inputs(cam, labels, saliency)
        if self.single_label_only:
            selected = labels.sum(dim=1) == 1
            if not bool(selected.any()):
                return cam.sum() * 0
            cam, labels, saliency = cam[selected], labels[selected], saliency[selected]
        cam_up = upsample_cam(cam, saliency.shape[-2:])
        s = saliency.to(cam_up.dtype)
        foreground, _ = saliency_prototype(cam_up, s)
        background, _ = saliency_prototype(cam_up, 1 - s)
        return self.loss_weight * ((background - foreground) * labels.to(cam_up.dtype)).mean()
