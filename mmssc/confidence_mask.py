"""Confidence masks of the ``pseudo_masks`` stage (docs/method.md, 'Confidence masks'), computed inline from the
random-walk scores.

For the full-resolution scores S [C, H, W] of one image (plane 0 = the constant background 0.25, planes 1..K the
random-walk scores divided by their global max, :func:`mmssc.random_walk.random_walk_scores`) and the predicted
plane ``pred = argmax_c S``:

1. margin(p) = top-1 − top-2 of S[:, p], where, as in SSC's ``gen_mask.py``, *every* entry equal to the top-1
   is set to 0 before taking the second max: tied maxima give top-1 minus the next distinct value (or minus 0
   when all entries tie).
2. For every predicted class v (background included), the ⌊n_v · fraction⌋ pixels with the largest margin
   among its n_v pixels are confident (fraction = 0.5: SSC's ``thd``, a per-image, per-class quantile, not a
   score threshold). Equal margins are ranked in raster order (a stable sort; SSC's unstable ``torch.sort``
   leaves that order unspecified).

The ``pseudo_masks`` stage writes the result as ``pseudo_masks_confident/<id>.png``: the pseudo mask with the
non-confident pixels set to 255, which mmseg's losses ignore (SSC writes a separate 0/255 mask instead; see
:mod:`mmssc.stage_files`). Everything runs on the scores' device, vectorised over classes; SSC saved the full score
tensors to disk (~2 MB per image) and looped over classes on the CPU.
"""
import torch

__all__ = ['top2_margin', 'confident_per_class', 'apply_confidence']


def top2_margin(scores: torch.Tensor) -> torch.Tensor:
    """top-1 − top-2 over dim 0 of [C, H, W], with all entries equal to the top-1 zeroed first → [H, W]."""
    top1 = scores.max(dim=0).values
    second = scores.masked_fill(scores == top1.unsqueeze(0), 0).max(dim=0).values
    return top1 - second


def confident_per_class(margin: torch.Tensor, pred: torch.Tensor, fraction: float = 0.5) -> torch.Tensor:
    """Bool [H, W]: per value of ``pred``, its ⌊n·fraction⌋ pixels of largest ``margin`` (ties: raster order)."""
    if margin.shape != pred.shape:
        raise ValueError(f'margin {tuple(margin.shape)} and prediction {tuple(pred.shape)} differ in size')
    if not 0 <= fraction <= 1:
        raise ValueError(f'fraction must lie in [0, 1], got {fraction}')
    flat_margin = margin.reshape(-1)
    _, groups = torch.unique(pred.reshape(-1), return_inverse=True)
    # pixels by descending margin, then (stably) grouped by class: ranks within a class follow the margin
    order = torch.sort(flat_margin, descending=True, stable=True).indices
    order = order[torch.sort(groups[order], stable=True).indices]
    counts = torch.bincount(groups)
    starts = counts.cumsum(0) - counts
    sorted_groups = groups[order]
    rank = torch.arange(order.numel(), device=order.device) - starts[sorted_groups]
    keep = torch.floor(counts.double() * fraction).long()
    confident = torch.zeros_like(flat_margin, dtype=torch.bool)
    confident[order[rank < keep[sorted_groups]]] = True
    return confident.view(margin.shape)


def apply_confidence(labels: torch.Tensor, confident: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """The label map with every non-confident pixel set to ``ignore_index``."""
    return torch.where(confident, labels, torch.full_like(labels, ignore_index))
