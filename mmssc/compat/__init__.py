"""Fixes that make mmengine 0.10.7 / mmcv-lite 2.1.0 / mmseg 1.2.2 run on today's torch (docs/stack_fixes.md).

``import mmssc`` applies them before anything touches a registry. Each fix checks whether it is needed and
does nothing otherwise, so a full-mmcv CUDA install is left as it is:

======================  ==========================================
fix                     applied when
======================  ==========================================
``mmcv_ops``            ``mmcv._ext`` cannot be imported (mmcv-lite)
``checkpoint``          torch >= 2.6 (``weights_only`` default)
``package_lookup``      ``pkg_resources`` cannot be imported
``cpu_dist``            CUDA is unavailable
======================  ==========================================

What each fix is for, with the exact errors: docs/stack_fixes.md.
The DDP ``device_ids`` fix is a config value (``model_wrapper_cfg`` in ``configs/_base_/default_runtime.py``).
``applied()`` tells which fixes are active in this process.
"""
from . import checkpoint, cpu_dist, mmcv_ops, package_lookup

_APPLIED = {}


def apply_all() -> dict:
    """Apply every needed fix once; return ``{name: bool}`` saying which were applied."""
    if not _APPLIED:
        for name, module in (('mmcv_ops', mmcv_ops), ('package_lookup', package_lookup),
                             ('checkpoint', checkpoint), ('cpu_dist', cpu_dist)):
            _APPLIED[name] = module.apply()
    return dict(_APPLIED)


def applied() -> dict:
    return dict(_APPLIED)
