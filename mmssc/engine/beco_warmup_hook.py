"""``BECOWarmupHook``: tells :class:`mmssc.models.BECOSegmentor` the current epoch, which switches BECO's online
labels and boundary weights on after ``model.beco.warm_up_epochs`` (docs/method.md, 'BECO co-training').

The epoch is set from ``runner.epoch`` before training and before every epoch (iteration-based loops: before every
iteration, as ``iter // len(train_dataloader)``). The Runner restores the epoch and iteration of a checkpoint before
``before_train``, so a run continued with ``--resume`` is past or inside the warm-up exactly as the interrupted run
was, without anything stored in the model.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from .asm_warmup_hook import ASMWarmupHook


@HOOKS.register_module()
class BECOWarmupHook(Hook):
    priority = 'NORMAL'

    def _set_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_epoch'):
            raise AttributeError(f'BECOWarmupHook needs a model with set_epoch(epoch) (BECOSegmentor); '
                                 f'{type(model).__name__} has none')
        model.set_epoch(ASMWarmupHook._current_epoch(runner))  # the same epoch count as cam_classifier's warm-up

    def before_train(self, runner) -> None:
        self._set_epoch(runner)

    def before_train_epoch(self, runner) -> None:
        self._set_epoch(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not hasattr(runner.train_loop, 'max_epochs'):  # iteration-based loop: no epoch boundaries
            self._set_epoch(runner)
