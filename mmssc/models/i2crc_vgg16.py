"""VGG-16 as I²CRC's classifier uses it (the official "D1" configuration; docs/method.md, 'I²CRC').

* conv1–conv4 as in VGG-16, with the standard 2×2 stride-2 max-pools after conv1, conv2 and conv3 (stride 8);
* pool4 is a 3×3 max-pool with stride 1 and padding 1 (no downsampling);
* conv5_1–conv5_3 have dilation 2 (padding 2); there is no pool5.

A 256×256 input gives a 512×32×32 map. The layers sit in ``features`` at torchvision's indices (convolutions at
0, 2, 5, ..., 28), so torchvision's ImageNet ``vgg16`` file (``vgg16-397923af.pth``) loads non-strictly through
``init_cfg=dict(type='Pretrained', checkpoint=<local file>)``: the convolutions get its weights, its
``classifier.*`` keys are unused. Before that, every convolution is initialised as the official code does,
weight ~ N(0, 2 / (k²·C_out)) and bias 0 (what a layer keeps when no file is given).
"""
import math

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from .deeplab_vgg16 import VGG16_STAGES

__all__ = ['I2CRCVGG16', 'official_conv_init']


def official_conv_init(module: nn.Module) -> None:
    """weight ~ N(0, √(2 / (k_h·k_w·C_out))), bias 0, for every convolution of ``module``."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
            nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / fan_out))
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)


@MODELS.register_module()
class I2CRCVGG16(BaseModule):
    """VGG-16 "D1" features; ``forward`` returns ``(conv5_3 after ReLU,)`` (512 channels, stride 8)."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        layers, in_channels = [], 3
        for stage, (num_convs, channels) in enumerate(VGG16_STAGES):
            dilation = 2 if stage == 4 else 1
            for _ in range(num_convs):
                layers += [nn.Conv2d(in_channels, channels, 3, padding=dilation, dilation=dilation),
                           nn.ReLU(inplace=True)]
                in_channels = channels
            if stage < 3:
                layers.append(nn.MaxPool2d(2, stride=2))
            elif stage == 3:
                layers.append(nn.MaxPool2d(3, stride=1, padding=1))  # pool4 keeps the resolution
        self.features = nn.Sequential(*layers)
        self.out_channels = in_channels
        official_conv_init(self)

    def forward(self, x):
        return (self.features(x), )
