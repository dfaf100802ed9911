"""Discriminative Region Suppression (DRS), docs/method.md, 'DRS'.

    DRS(x) = min(x, δ · max_{h,w} x)        per sample, per channel, δ = 0.55

The spatial max is a global max (``AdaptiveMaxPool2d(1)`` in the official code) and is **not** detached, so the
clamp level itself receives gradient. DRS has no parameters.

Official sites (docs/method.md, 'DRS'):

1. the output of every bottleneck of ``layer4`` (training and CAM inference);
2. the *detached* output of ``layer2``, during training only.

Why a forward hook on a block output equals the official in-block DRS: the official layer4 bottleneck ends in
``min(ReLU(z), δ·max ReLU(z))`` where ``z = bn3(conv3(·)) + shortcut``. A standard bottleneck (torchvision, timm,
mmseg) ends in ``ReLU(z)``, so clamping its output gives exactly the same tensor, which the next block then uses as
both its input and its residual, as in the official code. The layer2 site is the variant without ReLU; its input is
post-ReLU already, so this makes no difference.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from mmseg.registry import MODELS


def drs(x: torch.Tensor, delta: float = 0.55) -> torch.Tensor:
    """Return ``min(x, delta * amax_{h,w}(x))`` for an N×C×H×W tensor (docs/method.md, 'DRS')."""
    spatial_max = x.amax(dim=(-2, -1), keepdim=True)  # not detached, as in the official code
    return torch.min(x, delta * spatial_max)


@MODELS.register_module()
class DRS(nn.Module):
    """DRS as a parameter-free module: ``min(x, delta · max_{h,w} x)`` (docs/method.md, 'DRS')."""

    def __init__(self, delta: float = 0.55):
        super().__init__()
        self.delta = delta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drs(x, self.delta)

    def extra_repr(self) -> str:
        return f'delta={self.delta}'


@MODELS.register_module()
class DRSHooks:
    """Attach DRS to named submodules of any backbone as forward hooks (docs/method.md, 'DRS').

    Args:
        sites: one dict per hooked module, with keys
            ``name`` (as in ``model.named_modules()``, e.g. ``'layer4.0'``),
            ``training_only`` (default False): apply only while the *model passed to* :meth:`attach` is in training
            mode, and
            ``detach`` (default False): detach the module output before clamping (the official layer2 site).
            The official configuration is ``[dict(name='layer4.0'), dict(name='layer4.1'), dict(name='layer4.2'),
            dict(name='layer2', training_only=True, detach=True)]``.
        delta: the DRS factor δ. ``None`` (or an empty ``sites``) disables DRS: :meth:`attach` registers nothing.

    Design choice: ``training_only`` looks at the training flag of the root model given to :meth:`attach`, not at
    the hooked module's own flag. mmseg's ``ResNet(frozen_stages=2)`` keeps layer1/layer2 permanently in eval mode,
    so the module's own flag would switch the training-only site off for good.
    """

    def __init__(self, sites: Sequence[Dict], delta: Optional[float] = 0.55):
        self.sites: List[Dict] = [self._check_site(s) for s in sites]
        self.delta = delta
        self._handles: List = []

    @staticmethod
    def _check_site(site) -> Dict:
        if isinstance(site, str):
            site = dict(name=site)
        unknown = set(site) - {'name', 'training_only', 'detach'}
        if 'name' not in site or unknown:
            raise ValueError(f'A DRS site needs a "name" and may only have training_only/detach; got {site}')
        return dict(name=site['name'], training_only=bool(site.get('training_only', False)),
                    detach=bool(site.get('detach', False)))

    @property
    def enabled(self) -> bool:
        return self.delta is not None and len(self.sites) > 0

    @property
    def handles(self) -> List:
        return list(self._handles)

    def attach(self, model: nn.Module) -> List:
        """Register the hooks on ``model``'s named submodules; returns the removable handles."""
        if self._handles:
            raise RuntimeError('DRSHooks are already attached; call remove() first')
        if not self.enabled:
            return []
        modules = dict(model.named_modules())
        missing = [s['name'] for s in self.sites if s['name'] not in modules]
        if missing:
            raise KeyError(f'DRS sites {missing} not found in {type(model).__name__}; '
                           f'top-level children are {[n for n, _ in model.named_children()]}')
        for site in self.sites:
            hook = self._make_hook(model, site)
            self._handles.append(modules[site['name']].register_forward_hook(hook))
        return self.handles

    def _make_hook(self, root: nn.Module, site: Dict):
        delta, training_only, detach = self.delta, site['training_only'], site['detach']

        def drs_hook(module, inputs, output):
            if training_only and not root.training:
                return None  # None keeps the module's own output
            if detach:
                output = output.detach()
            return drs(output, delta)

        return drs_hook

    def remove(self) -> None:
        """Remove every hook registered by :meth:`attach`."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __repr__(self) -> str:
        return f'{type(self).__name__}(delta={self.delta}, sites={self.sites})'
