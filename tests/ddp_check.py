"""Run a config with 2 CPU processes through tools/dist_train.sh and compare the ranks' final weights."""
import os.path as osp

import torch

from conftest import free_port, run_tool


def dist_train_two_ranks(config: str, work_dir: str, cfg_options=(), config_hooks=(), timeout=600):
    """Train ``config`` (a path) on 2 gloo ranks with the weight probe; return both ranks' state dicts.

    ``config_hooks``: the config's own ``custom_hooks`` (dicts), kept beside the probe.
    """
    probe_cfg = osp.join(work_dir, 'ddp_probe_cfg.py')
    with open(probe_cfg, 'w') as f:
        f.write(f"_base_ = [{osp.abspath(config)!r}]\n"
                "custom_imports = dict(imports=['mmssc', 'ddp_probe'], allow_failed_imports=False)\n"
                f"custom_hooks = {list(config_hooks) + [dict(type='RankWeightsDumpHook')]!r}\n")
    args = ['bash', 'tools/dist_train.sh', probe_cfg, '2', '--work-dir', work_dir]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    proc = run_tool(args, timeout=timeout, PORT=free_port())
    weights = [torch.load(osp.join(work_dir, f'rank{r}_weights.pth')) for r in (0, 1)]
    return proc, weights


def assert_same_weights(weights):
    rank0, rank1 = weights
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f'ranks differ at {key}'
