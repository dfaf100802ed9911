"""What the per-image stage tools (make_cam, make_pseudo_masks) share: config, device, torchrun sharding.

Under torchrun (``WORLD_SIZE`` > 1) each process takes every ``world``-th pending image; a barrier after listing
the pending images makes sure no rank lists an image another rank has just written, so each image is done once.
"""
import os
import sys
from typing import Optional, Sequence, Tuple

import torch


def load_config(path: str, cfg_options: Optional[dict] = None):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def start_distributed() -> Tuple[int, int, bool]:
    """``(rank, world size, distributed)``; initialises the process group when launched by torchrun."""
    from mmengine.dist import get_dist_info, init_dist
    distributed = int(os.environ.get('WORLD_SIZE', '1')) > 1
    if distributed:
        init_dist('pytorch')  # gloo without CUDA (mmssc.compat), nccl with
    rank, world = get_dist_info()
    return rank, world, distributed


def pick_device(name: Optional[str], distributed: bool) -> torch.device:
    """``name`` if given, else this process's GPU (init_dist selected it), else the CPU."""
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device() if distributed else 0)
    return torch.device('cpu')


def this_rank_share(pending: Sequence, rank: int, world: int, distributed: bool) -> list:
    """This process's part of the pending items, after every rank has listed them."""
    if distributed:
        from mmengine.dist import barrier
        barrier()
    return list(pending)[rank::world]


def report_failure(prefix: str, exc: Exception, outputs: str) -> int:
    """Print one error line and what is kept; the exit status for a failed per-image tool."""
    print(f'{prefix}error: {exc}', file=sys.stderr, flush=True)
    print(f'{prefix}{outputs} written so far are complete and kept; re-run to resume', file=sys.stderr)
    return 1
