"""Fixes that make mmengine 0.10.7 / mmcv-lite 2.1.0 / mmseg 1.2.2 run on today's torch (openmmlab.md §4).

``import mmssc`` applies them before anything touches a registry. Each fix checks whether it is needed and
does nothing otherwise, so a full-mmcv CUDA install is left as it is:

======================  ==========================================  =====================================
fix                     applied when                                 openmmlab.md
======================  ==========================================  =====================================
``mmcv_ops``            ``mmcv._ext`` cannot be imported (mmcv-lite)  §4.1
``checkpoint``          torch >= 2.6 (``weights_only`` default)       §4.3
``package_lookup``      ``pkg_resources`` cannot be imported          §4.4
``cpu_dist``            CUDA is unavailable                           §3.4, §4.5, §4.7
======================  ==========================================  =====================================

The DDP ``device_ids`` fix (§4.6) is a config value (``model_wrapper_cfg`` in ``configs/_base_/default_runtime.py``).
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
