"""mmssc: SSC weakly supervised semantic segmentation as an OpenMMLab extension.

Importing the package applies the stack fixes of :mod:`mmssc.compat` first, then registers every component into
mmseg's registries, so configs only need ``custom_imports = dict(imports=['mmssc'])``.
"""
from .compat import apply_all as _apply_compat_fixes

_apply_compat_fixes()

from .version import __version__  # noqa: E402
from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)

__all__ = ['__version__']
