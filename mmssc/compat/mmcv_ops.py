"""A stand-in ``mmcv.ops`` for mmcv-lite, which ships no compiled ops (docs/stack_fixes.md).

mmseg 1.2.2 imports ``mmcv.ops.point_sample`` unconditionally, and the real ``mmcv/ops/__init__.py`` loads
``mmcv._ext`` first, so ``import mmseg.models`` fails with ``No module named 'mmcv._ext'``. The stand-in keeps the
real folder as its ``__path__`` (pure-Python submodules still import), exposes the pure-PyTorch ``point_sample``,
and raises ``ModuleNotFoundError`` for every other name, because mmseg guards its optional ops with
``except ModuleNotFoundError``. Nothing is done when ``mmcv._ext`` imports (full mmcv).
"""
import importlib
import os.path as osp
import sys
import types


def _has_compiled_ops() -> bool:
    try:
        importlib.import_module('mmcv._ext')
        return True
    except ImportError:
        return False


def _missing_op(name: str):
    if name.startswith('__'):  # dunder probes (inspect, pickle, hasattr) expect AttributeError
        raise AttributeError(name)
    raise ModuleNotFoundError(
        f'mmcv.ops.{name} needs the compiled ops of full mmcv; mmcv-lite has none. mmssc does not use it; '
        'install full mmcv (see README, "GPU install") if your own config does.', name=f'mmcv.ops.{name}')


def _sigmoid_focal_loss(*args, **kwargs):
    raise NotImplementedError('mmcv.ops.sigmoid_focal_loss needs full mmcv; use FocalLoss(use_sigmoid=False) '
                              'or install full mmcv.')


def apply() -> bool:
    if _has_compiled_ops():
        return False
    current = sys.modules.get('mmcv.ops')
    if getattr(current, '_mmssc_stand_in', False):
        return True
    import mmcv
    stand_in = types.ModuleType('mmcv.ops', 'mmssc stand-in for mmcv.ops (mmcv-lite has no compiled ops)')
    stand_in.__path__ = [osp.join(osp.dirname(mmcv.__file__), 'ops')]
    stand_in._mmssc_stand_in = True
    stand_in.__getattr__ = _missing_op
    sys.modules['mmcv.ops'] = stand_in
    mmcv.ops = stand_in
    from mmcv.ops.point_sample import point_sample  # pure PyTorch, resolved through __path__
    stand_in.point_sample = point_sample
    stand_in.sigmoid_focal_loss = _sigmoid_focal_loss
    return True
