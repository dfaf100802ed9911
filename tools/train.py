"""`python tools/train.py CONFIG ...`: mmseg's stock train script with mmssc's fixes and components (same flags)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

from mmssc.stock_tools import run_stock_tool  # noqa: E402

if __name__ == '__main__':
    run_stock_tool('train.py')
