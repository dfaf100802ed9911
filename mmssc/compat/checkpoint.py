"""Trusted local checkpoint loading on torch >= 2.6 (docs/stack_fixes.md).

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 checkpoints pickle its
``HistoryBuffer`` (and numpy scalars), so ``--resume`` and ``load_from`` fail. The fix re-registers mmengine's
loader for local paths (the empty prefix) so that it calls ``torch.load(weights_only=False)``. Only local files go
through it: the run's own work_dir and checkpoints the user names. URLs keep mmengine's own loader.
"""
import os.path as osp

import torch
from mmengine.utils import digit_version


def _load_trusted_local(filename, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


def apply() -> bool:
    if digit_version(torch.__version__) < digit_version('2.6.0'):
        return False
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_trusted_local, force=True)
    return True
