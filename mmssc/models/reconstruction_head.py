"""The CAM-driven reconstruction (CDR) decoder, docs/method.md, 'CDR'.

It maps the raw CAM ``x_int`` (B×num_classes×h×w, all class channels) to an image of 16× the resolution:

    head : Conv2dBlock(num_classes→256, 3×3, reflect pad 1, no bias, LN, ReLU)
    res  : ResBlock(256) = [3×3 conv, zero pad, LN, ReLU] → [3×3 conv, zero pad, LN] + identity
    up_i : ConvTranspose2d(c_i→c_i, k4 s2 p1, no bias) → InstanceNorm2d(affine=False) → ReLU
           → Conv2dBlock(c_i→c_{i+1}, 3×3, zero pad 1, bias, LN, ReLU),   c = 256, 256, 128, 64, 32
    out  : Conv2d(32→3, 3×3, pad 1, bias) → tanh

``LN`` is the per-sample layer norm of docs/method.md, 'CDR' (not ``nn.LayerNorm`` nor ``nn.GroupNorm``):

    x̂ = (x − μ) / (σ + eps),   μ, σ over C×H×W of each sample, σ unbiased (N−1);   y = γ_c·x̂ + β_c,
    γ ~ U(0, 1), β = 0.

With 20 classes the decoder has 4,631,811 parameters (docs/method.md, 'CDR'). All conv weights keep the PyTorch default
init.
"""
from typing import Sequence

import torch
import torch.nn as nn

from mmseg.registry import MODELS


class SampleLayerNorm(nn.Module):
    """Per-sample normalisation over C×H×W with unbiased σ and eps added to σ, then a per-channel affine
    (docs/method.md, 'CDR')."""

    def __init__(self, num_channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.empty(num_channels).uniform_())  # U(0, 1), as Tensor.uniform_() officially
        self.beta = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()  # statistics over C·H·W in fp32 under bf16 autocast
        flat = x.flatten(1)
        stat_shape = (-1,) + (1,) * (x.dim() - 1)
        mean = flat.mean(dim=1).view(stat_shape)
        std = flat.std(dim=1, unbiased=True).view(stat_shape)
        affine_shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - mean) / (std + self.eps) * self.gamma.view(affine_shape) + self.beta.view(affine_shape)


class Conv2dBlock(nn.Sequential):
    """Explicit padding (reflect or zero) → Conv2d(padding=0) → optional norm → optional activation (docs/method.md,
    'CDR')."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 norm: bool = True, activation: bool = True, pad_type: str = 'zero', bias: bool = True):
        pads = dict(zero=nn.ZeroPad2d, reflect=nn.ReflectionPad2d)
        if pad_type not in pads:
            raise ValueError(f'pad_type must be one of {sorted(pads)}, got {pad_type!r}')
        layers = [pads[pad_type](padding), nn.Conv2d(in_channels, out_channels, kernel_size, stride, 0, bias=bias)]
        if norm:
            layers.append(SampleLayerNorm(out_channels))
        if activation:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """x + [conv-LN-ReLU → conv-LN](x), no activation after the sum (docs/method.md, 'CDR')."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            Conv2dBlock(channels, channels, 3, 1, 1, norm=True, activation=True, pad_type='zero'),
            Conv2dBlock(channels, channels, 3, 1, 1, norm=True, activation=False, pad_type='zero'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpBlock(nn.Sequential):
    """ConvTranspose2d(k4 s2 p1, no bias) → InstanceNorm2d(affine=False) → ReLU → Conv2dBlock 3×3 (docs/method.md,
    'CDR')."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.ConvTranspose2d(in_channels, in_channels, 4, stride=2, padding=1, bias=False),
            nn.InstanceNorm2d(in_channels, affine=False, track_running_stats=False),
            nn.ReLU(inplace=True),
            Conv2dBlock(in_channels, out_channels, 3, 1, 1, norm=True, activation=True, pad_type='zero'))


@MODELS.register_module()
class ReconstructionHead(nn.Module):
    """CDR decoder: raw CAM (B×num_classes×h×w) → image (B×out_channels×16h×16w) in (−1, 1) (docs/method.md, 'CDR').

    Args:
        num_classes: CAM channels fed in (all classes, not only the present ones).
        channels: width of the head/ResBlock, then of each up block's output; the default is the official
            256 → 256 → 128 → 64 → 32 (four ×2 up blocks, so ×16 overall).
        out_channels: reconstructed image channels.
    """

    def __init__(self, num_classes: int = 20, channels: Sequence[int] = (256, 256, 128, 64, 32),
                 out_channels: int = 3):
        super().__init__()
        self.num_classes = num_classes
        self.head = Conv2dBlock(num_classes, channels[0], 3, 1, 1, norm=True, activation=True, pad_type='reflect',
                                bias=False)
        self.res = ResBlock(channels[0])
        self.up = nn.Sequential(*[UpBlock(c_in, c_out) for c_in, c_out in zip(channels[:-1], channels[1:])])
        self.out = nn.Conv2d(channels[-1], out_channels, 3, 1, 1, bias=True)

    def forward(self, cam: torch.Tensor) -> torch.Tensor:
        if cam.shape[1] != self.num_classes:
            raise ValueError(f'expected {self.num_classes} CAM channels, got {cam.shape[1]}')
        return torch.tanh(self.out(self.up(self.res(self.head(cam)))))
