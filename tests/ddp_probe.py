"""Test-only hook: every rank saves its final parameters, so tests can check that DDP kept the ranks identical.

Only parameters: BN running statistics are per-rank buffers that DDP re-broadcasts at the *next* forward, so
after the last step they legitimately differ between ranks.
"""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.named_parameters()}
        torch.save(state, osp.join(runner.work_dir, f'rank{get_rank()}_weights.pth'))
