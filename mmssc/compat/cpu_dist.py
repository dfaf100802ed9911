"""Distributed training on machines without CUDA: gloo, no ``cuda.set_device``, clean exit (docs/stack_fixes.md).

mmengine's ``_init_dist_pytorch`` calls ``torch.cuda.set_device(local_rank)`` unconditionally, which fails where
there is no GPU. When CUDA is unavailable it is replaced by a version that initialises the process group with gloo
(a config asking for nccl is switched to gloo, with a log line), so one config runs on GPUs and on CPUs.

torch 2.14's gloo sometimes aborts one rank at interpreter exit (``terminate called without an active
exception``, launcher rc 1). A monitored barrier followed by ``destroy_process_group`` at exit avoids it; it is
registered only for gloo process groups that mmengine initialised.
"""
import atexit
import datetime
import os

import torch
import torch.distributed as torch_dist

_EXIT_BARRIER_TIMEOUT = datetime.timedelta(seconds=60)


def shutdown_process_group() -> None:
    """Synchronise the ranks, then destroy the gloo process group (safe to call twice)."""
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    try:
        if torch_dist.get_backend() == 'gloo' and torch_dist.get_world_size() > 1:
            torch_dist.monitored_barrier(timeout=_EXIT_BARRIER_TIMEOUT)
    except RuntimeError:
        pass  # another rank already failed; its own error is the one to report
    torch_dist.destroy_process_group()


def _init_dist_pytorch_cpu(backend, init_backend='torch', **kwargs) -> None:
    if init_backend != 'torch':
        raise ValueError(f'init_backend={init_backend!r} needs CUDA; on CPU only the torch backend works')
    if backend != 'gloo':
        from mmengine.logging import print_log
        print_log(f'CUDA is unavailable: using the gloo backend instead of {backend!r}', logger='current')
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)
    atexit.register(shutdown_process_group)


def apply() -> bool:
    if torch.cuda.is_available():
        return False
    import mmengine.dist.utils as dist_utils
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu
    return True
