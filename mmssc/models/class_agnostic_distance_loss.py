"""I²CRC's class-agnostic distance module (intra-class compactness), as the official code computes it
(docs/method.md, 'I²CRC').

With x̃ the CAM (B×C×h×w, pre-ReLU) bilinearly upsampled to the input size H×W, s the saliency in [0, 1]
(B×H×W) and μ_w the w-weighted prototype (:mod:`.saliency_prototypes`), for a soft mask w:

    L_center(w) = mean_{n ∈ S, c} [ Σ_p (w_p · (x̃_{n,c,p} − μ_{w,n,c}))² / (Σ_p w_p + 1e-5) ]

    L = fg_weight · L_center(s) + bg_weight · L_center(1 − s)        (official: 0.01 and 0.025)

S is the set of **single-label** images of the batch (exactly one positive class); with none, L = 0 (a zero
that keeps the graph). Because the official code masks the difference and then squares it, each pixel is weighted
by w_p², not w_p: with a soft saliency map an uncertain pixel (s = 0.5) counts a quarter, not a half. Both
prototypes use all C channels, so the term is class-agnostic: it pulls the salient pixels towards one foreground
vector and the rest towards one background vector.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from .saliency_prototypes import check_relation_inputs, saliency_prototype, upsample_cam

__all__ = ['ClassAgnosticDistanceLoss', 'center_loss']


def center_loss(cam_up: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """L_center(w) for upsampled CAMs ``cam_up`` (N×C×H×W) and mask ``weight`` (N×H×W): the mean over n and c."""
    prototype, mass = saliency_prototype(cam_up, weight)
    w = weight.to(cam_up.dtype).unsqueeze(1)
    spread = ((w * (cam_up - prototype[:, :, None, None])) ** 2).sum(dim=(2, 3))  # the official w² weighting
    return (spread / mass).mean()


@MODELS.register_module()
class ClassAgnosticDistanceLoss(nn.Module):
    """``forward(cam, labels, saliency)`` → fg_weight·L_center(s) + bg_weight·L_center(1 − s) (module docstring).

    Args:
        fg_weight: weight of the foreground term (w = s); official 0.01.
        bg_weight: weight of the background term (w = 1 − s); official 0.025.
        single_label_only: restrict to the images with exactly one positive label (official); False uses every
            image.
        loss_name: the key of this term in the classifier's loss dict.
    """

    def __init__(self, fg_weight: float = 0.01, bg_weight: float = 0.025, single_label_only: bool = True,
                 loss_name: str = 'loss_center'):
        super().__init__()
        self.fg_weight, self.bg_weight = float(fg_weight), float(bg_weight)
        self.single_label_only = single_label_only
        self.loss_name = loss_name

    def forward(self, cam: torch.Tensor, labels: torch.Tensor, saliency: torch.Tensor,
                selected: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_relation_inputs(cam, labels, saliency)
        if selected is None:
            selected = labels.sum(dim=1) == 1 if self.single_label_only else torch.ones_like(labels[:, 0], dtype=bool)
        if not bool(selected.any()):
            return cam.sum() * 0  # no single-label image: 0, still attached to the graph (DDP sees every parameter)
        cam_up = upsample_cam(cam[selected], saliency.shape[-2:])
        s = saliency[selected].to(cam_up.dtype)
        return self.fg_weight * center_loss(cam_up, s) + self.bg_weight * center_loss(cam_up, 1 - s)
