"""Store IRN's mean displacement in the model after training, so the final checkpoint carries it (docs/method.md,
'IRN').

IRN, after its last step: in eval mode, run the network over ``train.txt`` (top-left 512 crop, batch 16,
drop_last), take the mean of the displacement output per batch (over images and pixels, per channel), average
those batch means, and store the 2-vector in ``mean_shift.running_mean`` before saving.

This hook does that at the end of the last training epoch (iteration, for iteration-based loops), before
mmengine's ``CheckpointHook`` (priority VERY_LOW) saves the last checkpoint, so that file holds the statistic;
earlier checkpoints keep 0. The raw displacement is averaged (``model.extract``, before the mean shift), so a
model that already holds a statistic gets the same value again. Under DDP every process averages its share of
the batches and the sums are all-reduced, so all processes store the same value (with one process it is IRN's
number exactly).

Config::

    custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=dict(batch_size=16, drop_last=True, dataset=...))]
"""
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS


@HOOKS.register_module()
class IRNMeanShiftHook(Hook):
    """Args:
        dataloader: dataloader config of the images to average over (IRN: train.txt, top-left 512 crop,
            batch 16, drop_last, no shuffling).
    """
    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) in after_train_epoch / after_train_iter

    def __init__(self, dataloader: dict):
        self.dataloader_cfg = dataloader

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def after_train_epoch(self, runner) -> None:
        if hasattr(runner.train_loop, 'max_epochs') and self.is_last_train_epoch(runner):
            self.store_mean_shift(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not hasattr(runner.train_loop, 'max_epochs') and self.is_last_train_iter(runner):
            self.store_mean_shift(runner)

    @torch.no_grad()
    def mean_displacement(self, model, dataloader) -> torch.Tensor:
        """Mean over batches of the per-batch mean raw displacement (2 values), all-reduced across processes."""
        device = next(model.parameters()).device
        total = torch.zeros(2, dtype=torch.float64, device=device)
        batches = torch.zeros((), dtype=torch.float64, device=device)
        for data in dataloader:
            inputs = model.data_preprocessor(data, False)['inputs']
            _, displacement = model.extract(inputs)
            total += displacement.double().mean(dim=(0, 2, 3))
            batches += 1
        all_reduce(total)
        all_reduce(batches)
        if batches.item() == 0:
            raise RuntimeError('IRNMeanShiftHook: the mean-shift dataloader gave no batch (fewer images than '
                               'batch_size with drop_last=True?)')
        return (total / batches).float()

    def store_mean_shift(self, runner, dataloader: Optional[object] = None) -> torch.Tensor:
        model = self._model(runner)
        if not hasattr(model, 'mean_shift') or not callable(getattr(model, 'extract', None)):
            raise AttributeError(f'IRNMeanShiftHook needs an IRN model (mean_shift + extract); got '
                                 f'{type(model).__name__}')
        if dataloader is None:
            dataloader = Runner.build_dataloader(self.dataloader_cfg, seed=runner.seed)
        was_training = model.training
        model.eval()
        try:
            mean = self.mean_displacement(model, dataloader)
        finally:
            model.train(was_training)
        model.mean_shift.running_mean.copy_(mean.to(model.mean_shift.running_mean))
        runner.logger.info(f'IRN mean shift (mean displacement dy, dx): {mean.tolist()}')
        return mean
