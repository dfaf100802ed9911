"""Switch the ASM loss on after a warm-up (docs/method.md, 'cam_classifier': epochs 0–1 without L_a, from epoch
2 with it).

The gate is recomputed from ``runner.epoch`` before every epoch (and before training, which covers
``--resume``: the Runner restores the epoch before any epoch starts), so a resumed run has it right without
storing anything. Iteration-based loops count epochs as ``iter // len(train_dataloader)``.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ASMWarmupHook(Hook):
    priority = 'NORMAL'

    def __init__(self, start_epoch: int = 2):
        if start_epoch < 0:
            raise ValueError(f'ASMWarmupHook: start_epoch must be >= 0, got {start_epoch}')
        self.start_epoch = start_epoch

    @staticmethod
    def _current_epoch(runner) -> int:
        if runner.train_loop is not None and hasattr(runner.train_loop, 'max_epochs'):
            return runner.epoch
        return runner.iter // max(len(runner.train_dataloader), 1)

    def _set_gate(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'asm_enabled'):
            raise AttributeError(f'ASMWarmupHook needs a model with an `asm_enabled` flag; {type(model).__name__} '
                                 'has none')
        model.asm_enabled = self._current_epoch(runner) >= self.start_epoch

    def before_train(self, runner) -> None:
        self._set_gate(runner)

    def before_train_epoch(self, runner) -> None:
        self._set_gate(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not hasattr(runner.train_loop, 'max_epochs'):  # iteration-based loop: no epoch boundaries
            self._set_gate(runner)
