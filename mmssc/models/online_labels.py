"""BECO's online labels (docs/method.md, 'BECO co-training', step 1): after the warm-up, the two networks'
own confident predictions relabel the pasted regions.

Both networks run in eval mode (BN on running statistics, no dropout) without gradient on the un-mixed batch;
their full-resolution logits P1, P2 (B×C×H×W) are averaged before the softmax:

    P̄      = (P1 + P2) / 2
    Y_on   = argmax_c softmax(P̄)_c
    Mk_on  = 1[max_c softmax(P̄)_c > τ]        (τ = 0.95)

Afterwards the networks go back to training mode.
"""
from typing import Callable, NamedTuple, Sequence

import torch
import torch.nn as nn

ONLINE_THRESHOLD = 0.95


class OnlineLabels(NamedTuple):
    mean_logits: torch.Tensor  # B×C×H×W, P̄
    labels: torch.Tensor       # B×H×W int64, Y_on
    confident: torch.Tensor    # B×H×W int64, Mk_on


def online_labels_from_logits(logits1: torch.Tensor, logits2: torch.Tensor,
                              threshold: float = ONLINE_THRESHOLD) -> OnlineLabels:
    """Y_on and Mk_on of the module docstring from the two networks' logits."""
    mean_logits = (logits1 + logits2) / 2
    top_prob, labels = mean_logits.float().softmax(dim=1).max(dim=1)
    return OnlineLabels(mean_logits, labels, (top_prob > threshold).long())


@torch.no_grad()
def online_labels(networks: Sequence[nn.Module], forward: Callable[[nn.Module, torch.Tensor], torch.Tensor],
                  images: torch.Tensor, threshold: float = ONLINE_THRESHOLD) -> OnlineLabels:
    """Run both ``networks`` in eval mode with ``forward(network, images)`` (full-resolution logits) and return
    the online labels; each network's training mode is restored afterwards."""
    modes = [net.training for net in networks]
    try:
        for net in networks:
            net.eval()
        logits1, logits2 = (forward(net, images) for net in networks)
    finally:
        for net, mode in zip(networks, modes):
            net.train(mode)
    return online_labels_from_logits(logits1, logits2, threshold)
