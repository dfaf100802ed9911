"""Reconstruction losses for the CDR branch, docs/method.md, 'CDR' (and the paper's Table VIII alternatives).

Perceptual loss (official ``VGGLoss``):

    L_p = Σ_j w_j · mean |φ_j(x̂) − φ_j(x)|,   target features φ_j(x) detached,

with φ_j the torchvision VGG19 ``features`` outputs at relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (``features``
indices 1, 6, 11, 20, 29) and w = (1/32, 1/16, 1/8, 1/4, 1). While the input width is > 1024 both images are
average-pooled 2×2 first (never fires at 512). Neither image is rescaled: the reconstruction is in (−1, 1), the target
is the ImageNet-normalised crop (docs/method.md, 'CDR'), exactly as officially.

The loss network is built once, frozen (``eval()``, ``requires_grad=False``) and held outside ``_modules`` so that it
never enters ``state_dict()``/checkpoints, optimisers or DDP (docs/stack_fixes.md). It moves to the input's device
on first use. Any timm model can replace VGG19 (``source='timm'``, taps = timm ``out_indices``).
"""
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log

from mmseg.registry import MODELS

VGG19_TAPS = (1, 6, 11, 20, 29)  # relu1_1 … relu5_1 in torchvision vgg19().features
VGG19_TAP_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
_TORCHVISION_VGG_CFG = dict(vgg11='A', vgg13='B', vgg16='D', vgg19='E')


def _load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'perceptual-loss checkpoint not found: {path}')
    state = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    return state


class _TorchvisionVGGTaps(nn.Module):
    """torchvision ``vgg*().features`` (without the 500 MB classifier) returning the outputs at ``taps``."""

    def __init__(self, arch: str, taps: Sequence[int]):
        super().__init__()
        from torchvision.models import vgg
        if arch not in _TORCHVISION_VGG_CFG:
            raise ValueError(f'torchvision arch must be one of {sorted(_TORCHVISION_VGG_CFG)}, got {arch!r}')
        self.features = vgg.make_layers(vgg.cfgs[_TORCHVISION_VGG_CFG[arch]], batch_norm=False)
        self.taps = list(taps)
        if not self.taps or self.taps != sorted(set(self.taps)):
            raise ValueError(f'taps must be strictly increasing feature indices, got {taps}')
        if self.taps[-1] >= len(self.features):
            raise ValueError(f'tap {self.taps[-1]} is beyond {arch}.features ({len(self.features)} layers)')
        for m in self.features.modules():  # torchvision's VGG init, only relevant when running with random weights
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                nn.init.zeros_(m.bias)

    def load_torchvision_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        """Load a full torchvision VGG state dict (``features.*`` keys; ``classifier.*`` keys are ignored)."""
        features = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
        if not features:
            raise KeyError('no "features.*" keys in the checkpoint: expected a torchvision VGG state dict')
        self.features.load_state_dict(features, strict=True)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features[:self.taps[-1] + 1]):
            x = layer(x)
            if index in self.taps:
                outputs.append(x)
        return outputs


def _build_timm_taps(arch: str, taps: Optional[Sequence[int]], checkpoint: Optional[str],
                     timm_kwargs: Optional[Dict]) -> nn.Module:
    import timm
    kwargs = dict(features_only=True, **(timm_kwargs or {}))
    if taps is not None:
        kwargs['out_indices'] = tuple(taps)
    if checkpoint is None:
        return timm.create_model(arch, pretrained=False, **kwargs)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'perceptual-loss checkpoint not found: {checkpoint}')
    # timm loads a local file into the full model, then wraps it in the feature extractor (docs/stack_fixes.md)
    return timm.create_model(arch, pretrained=True, pretrained_cfg_overlay=dict(file=checkpoint), **kwargs)


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """``loss(reconstruction, target) = loss_weight · Σ_j w_j · mean|φ_j(reconstruction) − φ_j(target)|``
    (docs/method.md, 'CDR').

    Args:
        source: ``'torchvision'`` (a VGG; ``taps`` index its ``features``) or ``'timm'`` (any timm model built with
            ``features_only=True``; ``taps`` are its ``out_indices``).
        arch: ``'vgg19'`` etc. for torchvision, or a timm model name.
        checkpoint: local weight file: a torchvision state dict (torchvision) or a timm state dict (timm).
        taps: feature taps; default relu1_1…relu5_1 for VGG19, timm's default ``out_indices`` for timm.
        layer_weights: one weight per tap; default (1/32, 1/16, 1/8, 1/4, 1) for the VGG19 taps, else all 1.
        allow_random_weights: permit ``checkpoint=None`` (random loss network: tests and smoke runs only).
        max_width: both images are 2×2 average-pooled while their width exceeds this.
        loss_weight: β_p (docs/method.md, 'cam_classifier').
        timm_kwargs: extra ``timm.create_model`` arguments.
    """

    def __init__(self, source: str = 'torchvision', arch: str = 'vgg19', checkpoint: Optional[str] = None,
                 taps: Optional[Sequence[int]] = None, layer_weights: Optional[Sequence[float]] = None,
                 allow_random_weights: bool = False, max_width: int = 1024, loss_weight: float = 1.0,
                 timm_kwargs: Optional[Dict] = None):
        super().__init__()
        if checkpoint is None and not allow_random_weights:
            raise ValueError(f'PerceptualLoss({source}:{arch}) needs pretrained weights: pass checkpoint="/path/to/'
                             f'{arch}.pth" (a local {source} state dict), or allow_random_weights=True for a '
                             'random loss network (tests only)')
        if source == 'torchvision':
            taps = VGG19_TAPS if taps is None else taps
            network = _TorchvisionVGGTaps(arch, taps)
            if checkpoint is not None:
                network.load_torchvision_state_dict(_load_state_dict_file(checkpoint))
            num_taps = len(network.taps)
        elif source == 'timm':
            network = _build_timm_taps(arch, taps, checkpoint, timm_kwargs)
            num_taps = len(network.feature_info.out_indices)
        else:
            raise ValueError(f'source must be "torchvision" or "timm", got {source!r}')
        if checkpoint is None:
            print_log(f'PerceptualLoss: the {source} {arch} loss network has RANDOM weights '
                      '(allow_random_weights=True); the loss is not a perceptual loss', logger='current',
                      level=logging.WARNING)
        if layer_weights is None:
            default_vgg19 = source == 'torchvision' and arch == 'vgg19' and tuple(taps) == VGG19_TAPS
            layer_weights = VGG19_TAP_WEIGHTS if default_vgg19 else (1.0,) * num_taps
        if len(layer_weights) != num_taps:
            raise ValueError(f'{len(layer_weights)} layer_weights for {num_taps} taps')
        self.layer_weights = tuple(float(w) for w in layer_weights)
        self.max_width = max_width
        self.loss_weight = loss_weight
        network.eval().requires_grad_(False)
        # A plain list keeps the frozen network out of _modules: no state_dict, parameters(), optimiser or DDP.
        self._frozen_network = [network]

    @property
    def loss_network(self) -> nn.Module:
        return self._frozen_network[0]

    def train(self, mode: bool = True) -> 'PerceptualLoss':
        super().train(mode)
        self.loss_network.eval()  # always frozen, whatever the parent's mode
        return self

    def _network_on(self, device: torch.device) -> nn.Module:
        network = self.loss_network
        if next(network.parameters()).device != device:
            network.to(device)  # once: .to()/.cuda() of the parent do not reach it
        return network

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        network = self._network_on(reconstruction.device)
        while reconstruction.shape[-1] > self.max_width:
            reconstruction = F.avg_pool2d(reconstruction, 2, stride=2)
            target = F.avg_pool2d(target, 2, stride=2)
        with torch.no_grad():  # the target features are constants (detached officially)
            target_features = network(target)
        reconstruction_features = network(reconstruction)
        # distances in fp32 even under bf16 autocast (a no-op in fp32 runs)
        loss = sum(w * F.l1_loss(f_rec.float(), f_tgt.float()) for w, f_rec, f_tgt in
                   zip(self.layer_weights, reconstruction_features, target_features))
        return self.loss_weight * loss


@MODELS.register_module()
class PixelL1Loss(nn.Module):
    """``loss_weight · mean|reconstruction − target|`` (the paper's L1 reconstruction ablation, Table VIII)."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.l1_loss(reconstruction, target.detach())


@MODELS.register_module()
class PixelL2Loss(nn.Module):
    """``loss_weight · mean (reconstruction − target)²`` (the paper's L2 reconstruction ablation, Table VIII)."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.mse_loss(reconstruction, target.detach())
