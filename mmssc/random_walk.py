"""The random walk of the ``pseudo_masks`` stage (docs/method.md, 'Random walk'), computed without the N×N transition
matrix.

On the stride-4 grid of an image (h×w pixels, N = h·w) with boundary probabilities e:

* Affinity of two pixels closer than the radius R (5): A_ij = 1 − max_{k ∈ path(i, j)} e_k, the paths of
  :class:`mmssc.models.path_index.PathIndex`; A is symmetric, A_ii = 1, and A_ij = 0 for farther pairs.
* Transition matrix T = A^β (elementwise, β = 10) with every column normalised to sum 1:
  T_ij = A_ij^β / d_j, d_j = Σ_i A_ij^β.
* rw = (x ⊙ (1 − e)) · T^(2^t), x the K×N CAMs (t = ``exp_times`` = 8: T^256).

IRN builds T densely (N×N, 0.55 GB at N = 11,750) and squares it 8 times (O(N³) each). Here T stays sparse:
each column has at most 1 + 2·34 = 69 non-zeros at R = 5 (itself, and the 34 forward and 34 backward offsets), and
(x·T^256) = ((x·T)·T)·…·T, 256 sparse products of O(69·N·K) each, in O(69·N + K·N) memory. The only change is
floating-point rounding (the order of the additions); the test compares against the dense formulation.

T is stored transposed as a CSR matrix P = Tᵀ (row j holds column j of T), so one step is ``y ← P @ y`` on the
N×K matrix y = xᵀ; this runs on the device of the inputs (CUDA when available) with ``torch.sparse.mm``.
"""
import warnings
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

from .models.path_index import PathIndex

__all__ = ['local_affinities', 'transition_matrix', 'random_walk', 'random_walk_scores']

_PATH_INDICES = {}


def _path_index(radius: int) -> PathIndex:
    if radius not in _PATH_INDICES:
        _PATH_INDICES[radius] = PathIndex(radius)
    return _PATH_INDICES[radius]


def local_affinities(edge: torch.Tensor, radius: int = 5) -> Tuple[torch.Tensor, torch.Tensor]:
    """Affinities of every pixel with its forward neighbours.

    Args:
        edge: boundary probabilities [h, w].
        radius: R.

    Returns:
        ``(affinity, valid)``, both [D, N]: A(p, p + δ_d) for the D forward directions of :class:`PathIndex`
        (its order), and whether p + δ_d lies inside the map (affinity is 0 where it does not).
    """
    index = _path_index(radius)
    height, width = edge.shape
    r = index.radius_floor
    device = edge.device
    # Pad so that every path pixel of every source exists; the padding value never reaches a valid pair because
    # a path lies in the bounding box of its two end points.
    padded = F.pad(edge[None, None], (r, r, r, r), value=1.0)[0, 0]
    padded_width = width + 2 * r
    ys = torch.arange(height, device=device)
    xs = torch.arange(width, device=device)
    base = ((ys[:, None] + r) * padded_width + (xs[None, :] + r)).reshape(-1)  # [N]
    flat = padded.reshape(-1)
    max_edges = []
    for offsets in index.path_offsets:  # [n_dirs, length, 2]
        offsets = torch.as_tensor(offsets, device=device)
        shift = offsets[..., 0] * padded_width + offsets[..., 1]  # [n_dirs, length]
        max_edges.append(flat[base[None, None, :] + shift[..., None]].amax(dim=1))
    affinity = 1 - torch.cat(max_edges, dim=0)  # [D, N]

    directions = torch.as_tensor(index.directions, device=device)
    dst_y = ys[None, :, None] + directions[:, 0, None, None]
    dst_x = xs[None, None, :] + directions[:, 1, None, None]
    valid = ((dst_y < height) & (dst_x >= 0) & (dst_x < width)).reshape(len(directions), -1)
    return affinity * valid, valid


def transition_matrix(edge: torch.Tensor, radius: int = 5, beta: float = 10) -> torch.Tensor:
    """P = Tᵀ as a sparse CSR [N, N] matrix (module docstring): P[j, i] = A_ij^β / Σ_k A_kj^β."""
    height, width = edge.shape
    n = height * width
    device = edge.device
    affinity, valid = local_affinities(edge, radius)
    forward_weight = affinity.pow(beta) * valid                                  # W(p, p + δ), [D, N]
    directions = torch.as_tensor(_path_index(radius).directions, device=device)
    flat_shift = directions[:, 0] * width + directions[:, 1]                     # [D]
    pixels = torch.arange(n, device=device)
    ys, xs = pixels // width, pixels % width

    # neighbours i of each pixel j: itself, j + δ (forward) and j − δ (backward)
    forward_cols = pixels[None] + flat_shift[:, None]
    backward_cols = pixels[None] - flat_shift[:, None]
    backward_valid = ((ys[None] - directions[:, 0, None] >= 0) & (xs[None] - directions[:, 1, None] >= 0)
                      & (xs[None] - directions[:, 1, None] < width))
    backward_weight = torch.zeros_like(forward_weight)
    src = backward_cols.clamp(0, n - 1)
    backward_weight = torch.where(backward_valid, forward_weight.gather(1, src), backward_weight)  # W(j − δ, j)

    cols = torch.cat([pixels[None], forward_cols, backward_cols], dim=0)         # [M, N]
    weights = torch.cat([torch.ones_like(forward_weight[:1]), forward_weight, backward_weight], dim=0)
    present = torch.cat([torch.ones_like(valid[:1]), valid, backward_valid], dim=0)
    # ÷ d_j (A_jj^β = 1 > 0). The neighbours are summed first and the self weight 1 added last: adding the small
    # A_ij^β one by one to 1 rounds each of them to fp32's step at 1, and T^256 amplifies that error in d_j.
    weights = weights / (weights[1:].sum(dim=0, keepdim=True) + weights[:1])

    # CSR rows need their column indices sorted: sort each pixel's neighbours, absent ones last.
    cols = torch.where(present, cols, torch.full_like(cols, n))
    cols, order = cols.sort(dim=0)
    weights, present = weights.gather(0, order), present.gather(0, order)
    present_t = present.t()
    crow = torch.zeros(n + 1, dtype=torch.int64, device=device)
    crow[1:] = present_t.sum(dim=1).cumsum(0)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
        return torch.sparse_csr_tensor(crow, cols.t()[present_t], weights.t()[present_t], size=(n, n),
                                       check_invariants=False)  # valid by construction: sorted, unique columns


def random_walk(cams: torch.Tensor, edge: torch.Tensor, radius: int = 5, beta: float = 10,
                exp_times: int = 8) -> torch.Tensor:
    """rw = (x ⊙ (1 − e)) · T^(2^exp_times) for CAMs x [K, h, w] and boundaries e [h, w] → [K, h, w]."""
    if cams.shape[-2:] != edge.shape:
        raise ValueError(f'CAMs {tuple(cams.shape[-2:])} and boundary map {tuple(edge.shape)} differ in size')
    num_classes, height, width = cams.shape
    if num_classes == 0:
        return cams.clone()
    step = transition_matrix(edge, radius, beta)
    walk = (cams * (1 - edge)).reshape(num_classes, -1).t().contiguous()       # [N, K]
    for _ in range(2 ** exp_times):
        walk = torch.sparse.mm(step, walk)
    return walk.t().reshape(num_classes, height, width)


def random_walk_scores(cams: torch.Tensor, edge: torch.Tensor, image_size: Sequence[int],
                       bg_threshold: float = 0.25, radius: int = 5, beta: float = 10,
                       exp_times: int = 8) -> torch.Tensor:
    """Class scores of the random walk (docs/method.md, 'Random walk') at full resolution: [K + 1, H, W], plane 0 =
    background.

    rw is upsampled ×4 bilinearly (align_corners=False), cropped to H×W and divided by its global max over all
    classes and pixels; plane 0 is the constant ``bg_threshold`` (0.25). The pseudo label is the argmax, plane k
    meaning the k-th class of the CAM file. If rw is 0 everywhere (CAMs all 0, where IRN divides by 0) every
    pixel gets background.
    """
    height, width = int(image_size[0]), int(image_size[1])
    background = cams.new_full((1, height, width), bg_threshold)
    if cams.shape[0] == 0:
        return background
    walked = random_walk(cams, edge, radius, beta, exp_times)
    upsampled = F.interpolate(walked[None], scale_factor=4, mode='bilinear', align_corners=False)[0]
    upsampled = upsampled[:, :height, :width]
    peak = upsampled.max()
    if peak > 0:
        upsampled = upsampled / peak
    return torch.cat([background, upsampled], dim=0)
