"""IRN's pixel-pair index: which pixel pairs get an affinity, the path between them, and the pair targets.

docs/method.md, 'IRN' (pairs) and 'Random walk' (the random walk uses the same paths at radius 5).

**Search directions.** For a radius R the pairs (p, p + δ) use the "forward" offsets

    δ ∈ {(0, x) : 1 ≤ x < R}  ∪  {(y, x) : 1 ≤ y < R, −R < x < R, x² + y² < R²}

(radius 10: 9 + 143 = 152 directions; radius 5: 4 + 30 = 34). Every unordered pair of pixels closer than R
appears once; its reverse is never listed.

**Path.** The path of δ = (dy, dx) is every (y, x) in the bounding box of (0, 0) and δ whose squared distance
to the line through them is below 1: (dy·x − dx·y)² / (dy² + dx²) < 1. It contains both end points. The
affinity of the pair is a = 1 − max_{k ∈ path} e_k over the boundary map e (boundary probabilities).

**Order.** Directions are grouped by path length (ascending), in the enumeration order above within a group, so
paths of one group stack into one tensor. Everything that lists directions (affinities, targets, offsets) uses
this order, as IRN's ``PathIndex.search_dst`` does.

**Source grid.** On an H×W map with r = ⌈R⌉ − 1, the sources are rows 0..H−r−1 and columns r..W−r−1, so every
destination p + δ (0 ≤ dy ≤ r, |dx| ≤ r) lies inside the map: (H − r)·(W − 2r) sources (119×110 = 13,090 on
IRN's 128×128 label grid). Tensors are laid out as [..., direction, source].

**Targets** (for a label map at the same grid, ``ignore_index`` = uncertain):
    valid = label(src) ≠ ignore ∧ label(dst) ≠ ignore
    bg_pos = valid ∧ label(src) = label(dst) = 0,   fg_pos = valid ∧ label(src) = label(dst) > 0,
    neg = valid ∧ label(src) ≠ label(dst).
IRN writes ``valid`` as ``label < 21`` (VOC's 21 classes, 255 = uncertain); ``≠ 255`` is the same on VOC IR labels
and also holds for COCO's 81.
"""
import math
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np
import torch

__all__ = ['PathIndex', 'PathIndexTensors', 'search_directions', 'path_of', 'affinity_from_edges',
           'affinity_targets', 'pair_displacements']


def search_directions(radius: int) -> List[Tuple[int, int]]:
    """The forward offsets (dy, dx) of a radius, in enumeration order (not yet grouped by path length)."""
    directions = [(0, x) for x in range(1, radius)]
    for y in range(1, radius):
        for x in range(-radius + 1, radius):
            if x * x + y * y < radius * radius:
                directions.append((y, x))
    return directions


def path_of(direction: Tuple[int, int]) -> List[Tuple[int, int]]:
    """Pixels (y, x) of the path from (0, 0) to ``direction``; destination first, (0, 0) last.

    The destination is the unique pixel of the box with the largest |y| + |x|; the order of the others does not
    matter (the affinity is a max over the path).
    """
    dy, dx = direction
    length_sq = dy * dy + dx * dx
    coords = [(y, x) for y in range(min(0, dy), max(0, dy) + 1) for x in range(min(0, dx), max(0, dx) + 1)
              if (dy * x - dx * y) ** 2 < length_sq]  # squared line distance < 1, without the division
    return sorted(coords, key=lambda c: -abs(c[0]) - abs(c[1]))


class PathIndexTensors(NamedTuple):
    """The index tensors of one grid size (on one device).

    Attributes:
        size: (H, W) of the grid.
        paths: per path-length group, int64 [n_dirs, length, S]: flat grid index of each path pixel per source.
        src: int64 [S], flat index of each source.
        dst: int64 [D, S], flat index of each destination.
        directions: int64 [D, 2], the (dy, dx) of each direction (the displacement target δ).
    """
    size: Tuple[int, int]
    paths: List[torch.Tensor]
    src: torch.Tensor
    dst: torch.Tensor
    directions: torch.Tensor


class PathIndex:
    """Directions and paths of one radius, and their index tensors for any grid size (cached).

    Args:
        radius: R (IRN training: 10 on the stride-4 label grid; the random walk: 5).
    """

    def __init__(self, radius: int):
        if int(radius) != radius or radius < 2:
            raise ValueError(f'PathIndex radius must be an integer >= 2, got {radius}')
        self.radius = int(radius)
        self.radius_floor = int(math.ceil(radius)) - 1
        by_length: Dict[int, List[List[Tuple[int, int]]]] = {}
        for direction in search_directions(self.radius):
            path = path_of(direction)
            by_length.setdefault(len(path), []).append(path)
        # [n_dirs, length, 2] offsets per path length, ascending
        self.path_offsets: List[np.ndarray] = [np.asarray(by_length[n], np.int64) for n in sorted(by_length)]
        self.directions: np.ndarray = np.concatenate([p[:, 0] for p in self.path_offsets], axis=0)
        self._cache: Dict[tuple, PathIndexTensors] = {}

    @property
    def num_directions(self) -> int:
        return len(self.directions)

    def source_grid(self, size: Sequence[int]) -> Tuple[int, int]:
        """(rows, columns) of the source grid on an H×W map; a map too small for the radius is an error."""
        height, width = int(size[0]), int(size[1])
        rows, cols = height - self.radius_floor, width - 2 * self.radius_floor
        if rows < 1 or cols < 1:
            raise ValueError(f'a {height}×{width} map is too small for path radius {self.radius}: it needs at '
                             f'least {self.radius_floor + 1} rows and {2 * self.radius_floor + 1} columns '
                             '(use larger crops or a smaller radius)')
        return rows, cols

    def tensors(self, size: Sequence[int], device=None) -> PathIndexTensors:
        """Index tensors for an H×W grid on ``device``."""
        device = torch.device(device) if device is not None else torch.device('cpu')
        key = (int(size[0]), int(size[1]), str(device))
        if key not in self._cache:
            self._cache[key] = self._build(key[:2], device)
        return self._cache[key]

    def _build(self, size: Tuple[int, int], device: torch.device) -> PathIndexTensors:
        height, width = size
        rows, cols = self.source_grid(size)
        r = self.radius_floor
        src_y, src_x = np.meshgrid(np.arange(rows), np.arange(r, r + cols), indexing='ij')
        src = (src_y * width + src_x).reshape(-1)
        paths = []
        for offsets in self.path_offsets:
            flat_offsets = offsets[..., 0] * width + offsets[..., 1]  # [n_dirs, length]
            paths.append(torch.from_numpy(flat_offsets[..., None] + src[None, None, :]).to(device))
        dst = torch.cat([p[:, 0] for p in paths], dim=0)
        return PathIndexTensors(size=size, paths=paths, src=torch.from_numpy(src).to(device), dst=dst,
                                directions=torch.from_numpy(self.directions).to(device))


def affinity_from_edges(edge: torch.Tensor, index: PathIndexTensors) -> torch.Tensor:
    """a = 1 − max over the path of the boundary probabilities; ``edge`` [B, H, W] → [B, D, S].

    The max sends its gradient to one path pixel (as IRN's max-pool), not split among ties.
    """
    flat = edge.reshape(edge.shape[0], -1)
    groups = []
    for paths in index.paths:
        gathered = flat[:, paths.reshape(-1)].view(flat.shape[0], *paths.shape)  # [B, n_dirs, length, S]
        groups.append(1 - gathered.max(dim=2).values)
    return torch.cat(groups, dim=1)


def affinity_targets(labels: torch.Tensor, index: PathIndexTensors,
                     ignore_index: int = 255) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(bg_pos, fg_pos, neg) float masks [B, D, S] of a label map [B, H, W] (module docstring)."""
    flat = labels.reshape(labels.shape[0], -1)
    src = flat[:, index.src].unsqueeze(1)  # [B, 1, S]
    dst = flat[:, index.dst]               # [B, D, S]
    valid = (src != ignore_index) & (dst != ignore_index)
    equal = src == dst
    bg_pos = valid & equal & (src == 0)
    fg_pos = valid & equal & (src > 0)
    neg = valid & ~equal
    return bg_pos.float(), fg_pos.float(), neg.float()


def pair_displacements(displacement: torch.Tensor, index: PathIndexTensors) -> torch.Tensor:
    """D(src) − D(dst) of a displacement field [B, 2, H, W] → [B, 2, D, S]."""
    flat = displacement.reshape(displacement.shape[0], displacement.shape[1], -1)
    return flat[:, :, index.src].unsqueeze(2) - flat[:, :, index.dst]
