"""One optimiser per group of submodules (docs/method.md, 'cam_classifier': SGD for the classifier, Adam for
the decoder).

mmengine ships no multi-optimiser constructor (docs/stack_fixes.md). Each key of ``optim_wrapper`` other than
``constructor`` describes one optimiser: ``modules`` names the model's submodules it owns, ``paramwise_cfg`` works
as usual (keys keep their prefixes, e.g. ``classifier``), and the result is an ``OptimWrapperDict`` keyed the same
way, so ``param_scheduler`` can be a dict of per-optimiser lists::

    optim_wrapper = dict(
        constructor='SubmoduleOptimWrapperConstructor',
        cam=dict(type='OptimWrapper', modules=['backbone', 'classifier'], optimizer=dict(type='SGD', ...),
                 paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0)})),
        dec=dict(type='OptimWrapper', modules=['reconstruction_head'], optimizer=dict(type='Adam', ...)))

Parameters with ``requires_grad=False`` are left out; a trainable parameter owned by no group, or by two, is an error.
A group whose submodules are all switched off (the attribute exists but is ``None``, e.g. ``reconstruction_head``
in an ablation without CDR) is skipped with a log line, so ablation configs keep the same ``optim_wrapper``;
a name the model does not have at all is an error.
"""
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS




@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SubmoduleOptimWrapperConstructor:

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if paramwise_cfg is not None:
            raise ValueError('SubmoduleOptimWrapperConstructor: put paramwise_cfg inside each optimiser group')
        self.group_cfgs = {name: dict(cfg) for name, cfg in optim_wrapper_cfg.items()}
        for name, cfg in self.group_cfgs.items():
            if not isinstance(cfg, dict) or not cfg.get('modules'):
                raise ValueError(f'optim_wrapper.{name} needs `modules` (submodule names of the model)')

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        owner = {}
        wrappers = {}
        for name, cfg in self.group_cfgs.items():
            cfg = dict(cfg)
            module_names = cfg.pop('modules')
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            group = nn.ModuleDict()
            for module_name in module_names:
                if not hasattr(model, module_name):
                    raise KeyError(f'optim_wrapper.{name}.modules: {type(model).__name__} has no submodule '
                                   f'{module_name!r}')
                module = getattr(model, module_name)
                if module is None:
                    continue
                group[module_name] = module
                for pname, param in module.named_parameters(prefix=module_name):
                    if param.requires_grad:
                        if pname in owner:
                            raise ValueError(f'parameter {pname} is in optimiser groups {owner[pname]!r} and {name!r}')
                        owner[pname] = name
            if not len(group):
                print_log(f'optim_wrapper.{name}: {module_names} switched off, optimiser not built', logger='current')
                continue
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(group)
        unowned = [n for n, p in model.named_parameters() if p.requires_grad and n not in owner]
        if unowned:
            raise ValueError(f'trainable parameters in no optimiser group: {unowned[:5]}'
                             f'{" ..." if len(unowned) > 5 else ""}')
        return OptimWrapperDict(**wrappers)
