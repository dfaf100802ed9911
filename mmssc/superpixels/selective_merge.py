"""Greedy hierarchical merging of an over-segmentation down to at most N regions (docs/method.md, 'Superpixels').

Selective search's grouping (Uijlings et al., IJCV 2013, §3.1): repeatedly merge the most similar
pair of *adjacent* regions, where the similarity comes from a model in ``similarity.py``. Adjacent
pairs sit in a max-heap keyed by similarity; after a merge the merged region is rescored against its
neighbours only (O(degree) per step, never all pairs). Entries that mention a region changed since
they were pushed are recognised by a per-region version counter and skipped when popped.

The ≤ N bound must always hold, so when no adjacent pair is left while more than N regions remain
(a region graph that is not connected), the remaining regions are merged by *global* greedy merging:
the most similar pair among all remaining regions, adjacent or not. Global merging is also ICD's own
rule (docs/method.md, 'Superpixels', no adjacency constraint) and is what the CNN-feature path uses. It keeps
an m×m similarity matrix and each row's best partner, so a step costs O(m) plus one rescored row.

Ties are broken by region index, so the result is deterministic.
"""
import heapq
from dataclasses import dataclass

import numpy as np

from .regions import adjacent_pairs

__all__ = ['MergeInfo', 'greedy_merge']

# Global merging holds an m×m float64 matrix; above this many regions the feature path first merges
# adjacent pairs down to it (about 130 MB), which only happens for images far larger than VOC/COCO.
GLOBAL_MATRIX_LIMIT = 4096


@dataclass
class MergeInfo:
    """What the merge did: region counts and how many merges were adjacent or global."""
    initial_regions: int
    final_regions: int
    adjacent_merges: int = 0
    global_merges: int = 0


class _MergeState:
    """Which initial regions are still alive and which region each merged one went into."""

    def __init__(self, n_regions: int):
        self.parent = np.arange(n_regions)
        self.alive = np.ones(n_regions, bool)
        self.count = n_regions

    def record(self, keep: int, drop: int) -> None:
        self.parent[drop] = keep
        self.alive[drop] = False
        self.count -= 1

    def final_lookup(self) -> np.ndarray:
        """Initial label → final id, ids 0..n-1 numbered in the order of the surviving slots."""
        root = self.parent.copy()
        while True:  # pointer jumping: O(log depth) vectorised passes
            next_root = root[root]
            if np.array_equal(next_root, root):
                break
            root = next_root
        final_id = np.cumsum(self.alive) - 1
        return final_id[root]


def _merge_adjacent(labels: np.ndarray, model, state: _MergeState, target: int) -> int:
    """Merge the most similar adjacent pair until ``target`` regions remain or none is adjacent."""
    first, second = adjacent_pairs(labels, state.parent.size)
    neighbours = [set() for _ in range(state.parent.size)]
    for a, b in zip(first.tolist(), second.tolist()):
        neighbours[a].add(b)
        neighbours[b].add(a)
    version = [0] * state.parent.size
    scores = model.similarity(first, second) if first.size else np.zeros(0)
    heap = [(-s, a, b, 0, 0) for s, a, b in zip(scores.tolist(), first.tolist(), second.tolist())]
    heapq.heapify(heap)
    merges = 0
    while state.count > target and heap:
        _, keep, drop, keep_version, drop_version = heapq.heappop(heap)
        if version[keep] != keep_version or version[drop] != drop_version:
            continue  # one of the two changed (or vanished) after this entry was pushed
        model.merge(keep, drop)
        state.record(keep, drop)
        version[keep] += 1
        version[drop] += 1
        merged = (neighbours[keep] | neighbours[drop]) - {keep, drop}
        for other in neighbours[drop]:
            if other != keep:
                neighbours[other].discard(drop)
                neighbours[other].add(keep)
        neighbours[keep], neighbours[drop] = merged, set()
        merges += 1
        if merged:
            others = np.fromiter(sorted(merged), np.int64, len(merged))
            for other, score in zip(others.tolist(), model.similarity(keep, others).tolist()):
                lo, hi = (keep, other) if keep < other else (other, keep)
                heapq.heappush(heap, (-score, lo, hi, version[lo], version[hi]))
    return merges


def _merge_global(model, state: _MergeState, target: int) -> int:
    """Merge the most similar pair among all alive regions until ``target`` remain."""
    regions = np.flatnonzero(state.alive)
    count = regions.size
    if count <= target:
        return 0
    scores = np.array(model.similarity_matrix(regions), dtype=np.float64)
    np.fill_diagonal(scores, -np.inf)
    alive = np.ones(count, bool)
    best_partner = scores.argmax(axis=1)
    best_score = scores[np.arange(count), best_partner]
    merges = 0
    while count > target:
        row = int(best_score.argmax())
        col = int(best_partner[row])
        keep, drop = min(row, col), max(row, col)  # local order follows region index
        model.merge(int(regions[keep]), int(regions[drop]))
        state.record(int(regions[keep]), int(regions[drop]))
        alive[drop] = False
        count -= 1
        merges += 1
        scores[drop, :] = -np.inf
        scores[:, drop] = -np.inf
        best_score[drop] = -np.inf
        rescored = np.asarray(model.similarity(int(regions[keep]), regions), dtype=np.float64)
        rescored[~alive] = -np.inf
        rescored[keep] = -np.inf
        scores[keep, :] = rescored
        scores[:, keep] = rescored
        # Rows whose best partner was one of the merged pair must look again; the others only need
        # to know whether the merged region now beats their best.
        stale = np.flatnonzero(alive & ((best_partner == keep) | (best_partner == drop)))
        stale = np.union1d(stale, [keep])
        best_partner[stale] = scores[stale].argmax(axis=1)
        best_score[stale] = scores[stale, best_partner[stale]]
        improved = alive & (rescored > best_score)
        best_score[improved] = rescored[improved]
        best_partner[improved] = keep
    return merges


def greedy_merge(labels: np.ndarray, n_regions: int, model, max_regions: int,
                 adjacent_only: bool = True) -> tuple[np.ndarray, MergeInfo]:
    """Merge the regions of ``labels`` (0..n_regions-1) until at most ``max_regions`` remain.

    ``adjacent_only`` merges adjacent pairs (selective search) and falls back to global merging only
    to keep the bound; otherwise merging is global from the start (ICD). Returns the lookup from
    initial label to final id (0..n-1) and a ``MergeInfo``.
    """
    if max_regions < 1:
        raise ValueError(f'max_regions must be at least 1, got {max_regions}')
    state = _MergeState(n_regions)
    info = MergeInfo(initial_regions=n_regions, final_regions=n_regions)
    if adjacent_only:
        info.adjacent_merges = _merge_adjacent(labels, model, state, max_regions)
    elif state.count > GLOBAL_MATRIX_LIMIT:
        info.adjacent_merges = _merge_adjacent(labels, model, state, max(GLOBAL_MATRIX_LIMIT, max_regions))
    info.global_merges = _merge_global(model, state, max_regions)
    info.final_regions = state.count
    return state.final_lookup(), info
