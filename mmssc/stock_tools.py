"""Run mmseg's stock ``tools/train.py`` / ``tools/test.py`` with mmssc in place.

The wheel ships them under ``mmseg/.mim/tools``. mmssc's tools import this package first, which applies the
compat fixes before any config is parsed (the ``mmseg::`` lookup fix must precede ``Config.fromfile``) and
registers every component; then the stock script runs unchanged, so ``--work-dir``, ``--resume``,
``--cfg-options``, ``--amp``, ``--launcher`` and ``--tta`` behave exactly as mmseg users know them.
"""
import os.path as osp
import runpy

import mmseg

import mmssc  # noqa: F401  (fixes + registrations)


def stock_tool_path(name: str) -> str:
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'mmseg does not ship {path}; reinstall mmsegmentation==1.2.2')
    return path


def run_stock_tool(name: str) -> None:
    runpy.run_path(stock_tool_path(name), run_name='__main__')
