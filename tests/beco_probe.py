"""Test-only hook for the BECO resume test: once the Runner has loaded a checkpoint (``before_train``, after the
warm-up hook), save the model's state, its epoch and whether it uses online labels."""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class BECOStateProbeHook(Hook):
    priority = 'LOW'  # after BECOWarmupHook (NORMAL) has set the epoch

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(dict(state=state, epoch=model.current_epoch, online=model.online),
                   osp.join(runner.work_dir, f'probe_start_epoch{runner.epoch}.pth'))
