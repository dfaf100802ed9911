"""Runner-side components: hooks, optimiser constructors, model wrappers."""
from .asm_warmup_hook import ASMWarmupHook
from .beco_warmup_hook import BECOWarmupHook
from .mean_shift_hook import IRNMeanShiftHook
from .multi_optim_ddp import MultiOptimDDP
from .submodule_optim_constructor import SubmoduleOptimWrapperConstructor

__all__ = ['ASMWarmupHook', 'BECOWarmupHook', 'IRNMeanShiftHook', 'MultiOptimDDP', 'SubmoduleOptimWrapperConstructor']
