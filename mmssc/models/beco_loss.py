"""BECO's four-term loss (docs/method.md, 'BECO co-training', step 4).

Two networks see the same (mixed, augmented) batch and give full-resolution logits P1, P2 (B×C×H×W). With Y the
(mixed) label, Mk ∈ {0, 1} its confidence, bdry the paste boundary (mmssc.models.class_mix), CE the per-pixel
cross-entropy (log-softmax, natural log) that is 0 at ``ignore_index`` pixels, and ŷ1 = argmax P1, ŷ2 = argmax P2
as constant targets:

    L_ce1  = mean_{b,h,w}[ CE(P1, Y)  · Mk       · (1 + w_hb · bdry) ]
    L_ce2  = mean_{b,h,w}[ CE(P2, Y)  · Mk       · (1 + w_hb · bdry) ]
    L_cot1 = mean_{b,h,w}[ CE(P1, ŷ2) · (1 − Mk) · (1 + w_lb · bdry) ]
    L_cot2 = mean_{b,h,w}[ CE(P2, ŷ1) · (1 − Mk) · (1 + w_lb · bdry) ]
    L      = L_ce1 + L_ce2 + L_cot1 + L_cot2

The means run over all B·H·W pixels, masked ones counting as zeros (not over the confident pixels only).
Official values: w_hb = 0.2, w_lb = 0. Confident pixels learn from the pseudo label, the others from the peer
network's hard prediction (cross pseudo-supervision).
"""
from typing import Dict

import torch
import torch.nn.functional as F

IGNORE_INDEX = 255


def pixel_ce(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-pixel cross-entropy B×H×W (0 where ``target`` is ``ignore_index``)."""
    return F.cross_entropy(logits, target.long(), ignore_index=ignore_index, reduction='none')


def beco_loss_maps(logits1: torch.Tensor, logits2: torch.Tensor, label: torch.Tensor,
                   ignore_index: int = IGNORE_INDEX) -> Dict[str, torch.Tensor]:
    """The four unweighted CE maps and the peer targets: ``ce1``, ``ce2``, ``cot1``, ``cot2`` (B×H×W) and
    ``cot1_target`` = argmax P2, ``cot2_target`` = argmax P1 (no gradient flows into a target)."""
    cot1_target = logits2.detach().argmax(dim=1)
    cot2_target = logits1.detach().argmax(dim=1)
    return dict(ce1=pixel_ce(logits1, label, ignore_index), ce2=pixel_ce(logits2, label, ignore_index),
                cot1=pixel_ce(logits1, cot1_target, ignore_index), cot2=pixel_ce(logits2, cot2_target, ignore_index),
                cot1_target=cot1_target, cot2_target=cot2_target)


def beco_losses(logits1: torch.Tensor, logits2: torch.Tensor, label: torch.Tensor, confidence: torch.Tensor,
                boundary: torch.Tensor, boundary_weight: float = 0.2, uncertain_boundary_weight: float = 0.0,
                ignore_index: int = IGNORE_INDEX) -> Dict[str, torch.Tensor]:
    """``loss_ce1``, ``loss_ce2``, ``loss_cot1``, ``loss_cot2`` of the module docstring.

    Args:
        logits1, logits2: B×C×H×W full-resolution logits of the two networks.
        label: B×H×W target labels (``ignore_index`` allowed).
        confidence: B×H×W (or B×1×H×W) {0, 1} confidence Mk of ``label``.
        boundary: B×H×W {0, 1} paste boundary (zeros when nothing was pasted).
        boundary_weight: w_hb, extra weight of confident boundary pixels (official 0.2).
        uncertain_boundary_weight: w_lb, extra weight of uncertain boundary pixels (official 0).
    """
    maps = beco_loss_maps(logits1, logits2, label, ignore_index)
    return reduce_loss_maps(maps, confidence, boundary, boundary_weight, uncertain_boundary_weight)


def reduce_loss_maps(maps: Dict[str, torch.Tensor], confidence: torch.Tensor, boundary: torch.Tensor,
                     boundary_weight: float = 0.2, uncertain_boundary_weight: float = 0.0) -> Dict[str, torch.Tensor]:
    """Weight the maps of :func:`beco_loss_maps` by Mk, 1 − Mk and the boundary, and average over all pixels."""
    shape = maps['ce1'].shape
    mask = confidence.reshape(shape).to(maps['ce1'].dtype)
    bdry = boundary.reshape(shape).to(maps['ce1'].dtype)
    confident_weight = mask * (1 + boundary_weight * bdry)
    uncertain_weight = (1 - mask) * (1 + uncertain_boundary_weight * bdry)
    return dict(loss_ce1=(maps['ce1'] * confident_weight).mean(), loss_ce2=(maps['ce2'] * confident_weight).mean(),
                loss_cot1=(maps['cot1'] * uncertain_weight).mean(),
                loss_cot2=(maps['cot2'] * uncertain_weight).mean())
