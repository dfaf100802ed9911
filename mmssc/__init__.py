"""mmssc: SSC weakly supervised semantic segmentation as an OpenMMLab extension.

Importing the package applies the stack fixes of :mod:`mmssc.compat` first, then registers every component into
mmseg's registries, so configs only need ``custom_imports = dict(imports=['mmssc'])``.
"""


def _require_mmcv() -> None:
    """mmcv is not in ``install_requires`` (CPU and GPU installs want different builds): say how to get it."""
    try:
        import mmcv  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name != 'mmcv':
            raise
        raise ImportError(
            'mmssc needs mmcv, which `pip install -e .` does not install (CPU machines and GPU machines want '
            'different builds). CPU, or GPU without compiled ops: `pip install mmcv-lite==2.1.0` (or `pip install '
            '-r requirements.txt`, the tested stack). GPU with compiled ops: `pip install -U openmim && mim '
            'install "mmcv==2.1.0"`. See README, "Set up and first run".') from None


_require_mmcv()

from .compat import apply_all as _apply_compat_fixes  # noqa: E402

_apply_compat_fixes()

from .version import __version__  # noqa: E402
from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)

__all__ = ['__version__']
