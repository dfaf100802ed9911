"""BECO's class-mix with its paste boundary (docs/method.md, 'BECO co-training', steps 2 and 3).

Pairs. In a batch of B samples, sample i is paired with i + B/2 in both directions. Output k is a *base* sample
with classes of its *partner* pasted in; the outputs come in the official order

    [0←B/2, B/2←0, 1←B/2+1, B/2+1←1, …]          (B = 4: [0←2, 2←0, 1←3, 3←1])

(an odd batch's last sample has no partner and is appended unmixed).

Paste mask. Of the n classes C present in the partner's source label map S (the offline pseudo label during
warm-up; after it the online label where it is confident and 255 elsewhere), 255 and, with ``ignore_background``,
background excluded, ⌈n/2⌉ are drawn without replacement; α is 1 on the partner's pixels of the drawn classes:

    α(p) = 1[S_partner(p) ∈ drawn]

Mixing. With probability ``mix_prob`` per output (otherwise the base is kept as is), every field F:

    F_out = F_base · (1 − α) + F_partner · α

Boundary. For a mixed output after warm-up, with a (2·size + 1)² square kernel and OpenCV's border rules (pixels
outside the image neither erode nor dilate):

    bdry = dilate(α) − erode(α),        inside = erode(α)

and bdry = 0 otherwise. The loss weights the confident pixels of the boundary by 1 + w (mmssc.models.beco_loss).
"""
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

IGNORE_INDEX = 255
BACKGROUND = 0

# draw(output index k, candidate classes (1-D int64 tensor)) -> the classes to paste; default: a random ⌈n/2⌉
ClassDraw = Callable[[int, torch.Tensor], torch.Tensor]


def pair_order(batch_size: int) -> List[Tuple[int, int]]:
    """``[(base, partner), …]`` in the official output order; an odd batch's last sample pairs with itself."""
    half = batch_size // 2
    order = []
    for i in range(half):
        order += [(i, i + half), (i + half, i)]
    if batch_size % 2:
        order.append((batch_size - 1, batch_size - 1))
    return order


def class_mask(label: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """1 where ``label`` is one of ``classes`` (the official ``generate_class_mask``), int64, shape of ``label``."""
    classes = torch.as_tensor(classes, dtype=label.dtype, device=label.device).reshape(-1)
    return torch.isin(label, classes).long()


def candidate_classes(source: torch.Tensor, ignore_background: bool = True,
                      ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The classes of a source label map that may be pasted: 255 (and background) left out, sorted."""
    present = torch.unique(source)
    keep = present != ignore_index
    if ignore_background:
        keep &= present != BACKGROUND
    return present[keep]


def draw_half(candidates: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """⌈n/2⌉ of the n candidates without replacement (the official ``(n + n % 2) / 2``)."""
    count = math.ceil(len(candidates) / 2)
    order = torch.randperm(len(candidates), generator=generator)
    return candidates[order[:count].to(candidates.device)]


def _square_pool(mask: torch.Tensor, size: int) -> torch.Tensor:
    """Max over a (2·size + 1)² window of a B×H×W {0, 1} float map, outside pixels counting as 0."""
    kernel = 2 * size + 1
    return F.max_pool2d(mask[:, None], kernel, stride=1, padding=size)[:, 0]


def boundary_map(alpha: torch.Tensor, size: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(bdry, inside)`` of a paste mask (H×W or B×H×W, {0, 1}): ``dilate(α) − erode(α)`` and ``erode(α)``.

    OpenCV's default borders: dilation pads with 0 and erosion with 1, so the image edge neither grows nor
    shrinks α. ``max_pool2d`` pads with −∞, which is the same as 0 here for the dilation; the erosion is the
    complement of dilating the complement. An all-0 or all-1 α gives zeros. Same dtype and shape as ``alpha``.
    """
    squeeze = alpha.dim() == 2
    mask = (alpha[None] if squeeze else alpha).float()
    dilated = _square_pool(mask, size)
    eroded = 1.0 - _square_pool(1.0 - mask, size)
    bdry, inside = (dilated - eroded).to(alpha.dtype), eroded.to(alpha.dtype)
    return (bdry[0], inside[0]) if squeeze else (bdry, inside)


@dataclass
class ClassMixResult:
    """The mixed batch in output order (``order``); ``fields`` holds every mixed field by name."""
    order: List[Tuple[int, int]]
    mixed: torch.Tensor          # B bool: output k was mixed (the coin came up)
    alpha: torch.Tensor          # B×H×W int64 paste masks (0 for unmixed outputs)
    classes: List[torch.Tensor]  # the pasted classes per output (empty for unmixed outputs)
    fields: Dict[str, torch.Tensor]


def class_mix(fields: Dict[str, torch.Tensor], source: torch.Tensor, mix_prob: float = 0.5,
              ignore_background: bool = True, draw: Optional[ClassDraw] = None,
              generator: Optional[torch.Generator] = None) -> ClassMixResult:
    """Mix every field of ``fields`` (each B×… with the spatial size of ``source``) pair-wise by classes.

    Args:
        fields: name → B×H×W or B×C×H×W tensor (image, labels, masks); all are mixed with the same α.
        source: B×H×W label maps whose classes are pasted (the partner's row is used for output k).
        mix_prob: probability that an output is mixed; an unmixed output is its base sample unchanged.
        draw: picks the pasted classes from the candidates (tests inject the official draw); default
            :func:`draw_half` on ``generator`` (torch's global generator when None).
    """
    batch = source.shape[0]
    order = pair_order(batch)
    coins = torch.rand(batch, generator=generator) < mix_prob
    alphas, drawn, mixed = [], [], []
    for k, (base, partner) in enumerate(order):
        do_mix = bool(coins[k]) and base != partner
        classes = source.new_zeros(0)
        if do_mix:
            candidates = candidate_classes(source[partner], ignore_background)
            classes = draw(k, candidates) if draw is not None else draw_half(candidates, generator)
        alphas.append(class_mask(source[partner], classes) if do_mix else torch.zeros_like(source[partner],
                                                                                             dtype=torch.long))
        drawn.append(classes)
        mixed.append(do_mix)
    alpha = torch.stack(alphas)
    bases = torch.tensor([b for b, _ in order], device=source.device)
    partners = torch.tensor([p for _, p in order], device=source.device)
    out = {}
    for name, value in fields.items():
        a = alpha if value.dim() == 3 else alpha[:, None]
        a = a.to(value.dtype)
        out[name] = value[bases] * (1 - a) + value[partners] * a
    return ClassMixResult(order=order, mixed=torch.tensor(mixed, device=source.device), alpha=alpha,
                          classes=drawn, fields=out)


def mixed_boundary(result: ClassMixResult, size: int = 1) -> torch.Tensor:
    """The boundary weights map of each output: ``dilate(α) − erode(α)`` for mixed outputs, 0 otherwise."""
    bdry, _ = boundary_map(result.alpha, size)
    return bdry * result.mixed.to(bdry.dtype)[:, None, None]
