"""The sparse random walk equals the dense T^256 formulation (docs/method.md, 'Random walk')."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmssc.random_walk import random_walk, random_walk_scores, transition_matrix


def dense_random_walk(cams, edge, radius=5, beta=10, exp_times=8):
    """The random walk written plainly, in float64: the N×N affinity A from the spec's pairs and paths, T = A^β with
    columns normalised, squared ``exp_times`` times, rw = (x ⊙ (1 − e))·T^(2^exp_times)."""
    cams, edge = np.asarray(cams, np.float64), np.asarray(edge, np.float64)
    height, width = edge.shape
    n = height * width
    affinity = np.eye(n)
    for p in range(n):
        py, px = divmod(p, width)
        for q in range(n):
            qy, qx = divmod(q, width)
            dy, dx = qy - py, qx - px
            if p == q or dy * dy + dx * dx >= radius * radius:  # pairs closer than the radius (both directions)
                continue
            path = [(y, x) for y in range(min(py, qy), max(py, qy) + 1) for x in range(min(px, qx), max(px, qx) + 1)
                    if (dy * (x - px) - dx * (y - py)) ** 2 < dy * dy + dx * dx]  # line distance < 1
            affinity[p, q] = 1 - max(edge[y, x] for y, x in path)
    assert np.array_equal(affinity, affinity.T)
    transition = affinity ** beta
    transition = transition / transition.sum(axis=0, keepdims=True)  # columns sum to 1
    for _ in range(exp_times):
        transition = transition @ transition
    x = (cams * (1 - edge)).reshape(len(cams), n)
    return (x @ transition).reshape(cams.shape)


@pytest.mark.parametrize('size', [(7, 9), (10, 6), (4, 13), (12, 12)])
def test_sparse_walk_equals_dense_reference(size):
    rng = np.random.default_rng(sum(size))
    cams = rng.uniform(0, 1, (3,) + size)
    edge = rng.uniform(0, 1, size) ** 3  # mostly low boundaries, a few strong ones
    expected = dense_random_walk(cams, edge)
    ours = random_walk(torch.from_numpy(cams).float(), torch.from_numpy(edge).float())
    assert ours.dtype == torch.float32 and ours.shape == cams.shape
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-4)
    # in float64 only the order of additions differs
    ours64 = random_walk(torch.from_numpy(cams), torch.from_numpy(edge))
    np.testing.assert_allclose(ours64.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_other_radius_beta_and_steps():
    rng = np.random.default_rng(1)
    cams, edge = rng.uniform(0, 1, (2, 8, 11)), rng.uniform(0, 1, (8, 11))
    for radius, beta, exp_times in ((3, 2, 3), (6, 10, 0), (5, 1, 5)):
        expected = dense_random_walk(cams, edge, radius, beta, exp_times)
        ours = random_walk(torch.from_numpy(cams), torch.from_numpy(edge), radius, beta, exp_times)
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_transition_is_column_stochastic_with_69_neighbours():
    edge = torch.rand(15, 17, dtype=torch.float64)
    step = transition_matrix(edge).to_dense()
    # row j of P = Tᵀ is column j of T: sums to 1
    torch.testing.assert_close(step.sum(dim=1), torch.ones(15 * 17, dtype=torch.float64))
    counts = (step != 0).sum(dim=1).view(15, 17)
    # radius 5: itself + 68 pixels at squared distance < 25 (the 34 forward offsets and their mirrors)
    assert counts[7, 8] == 69 and counts[0, 0] == 1 + sum(1 for y in range(5) for x in range(5)
                                                         if 0 < y * y + x * x < 25)


def test_scores_upsample_normalise_and_add_background():
    rng = np.random.default_rng(2)
    cams, edge = rng.uniform(0, 1, (2, 6, 8)), rng.uniform(0, 1, (6, 8))
    scores = random_walk_scores(torch.from_numpy(cams), torch.from_numpy(edge), (22, 30), bg_threshold=0.25)
    # by hand: dense walk → ×4 bilinear (24×32) → crop 22×30 → ÷ global max; plane 0 = 0.25
    walked = torch.from_numpy(dense_random_walk(cams, edge))
    up = F.interpolate(walked[None], scale_factor=4, mode='bilinear', align_corners=False)[0, :, :22, :30]
    assert scores.shape == (3, 22, 30)
    assert torch.all(scores[0] == 0.25)
    torch.testing.assert_close(scores[1:], up / up.max(), rtol=1e-9, atol=1e-12)
    assert scores[1:].max() == 1
    # no classes: everything is background
    empty = random_walk_scores(torch.zeros(0, 6, 8), torch.rand(6, 8), (22, 30))
    assert empty.shape == (1, 22, 30) and torch.all(empty == 0.25)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_gpu_walk_equals_cpu_walk():
    rng = np.random.default_rng(3)
    cams = torch.from_numpy(rng.uniform(0, 1, (4, 40, 50))).float()
    edge = torch.from_numpy(rng.uniform(0, 1, (40, 50)) ** 3).float()
    cpu = random_walk(cams, edge)
    gpu = random_walk(cams.cuda(), edge.cuda())
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
