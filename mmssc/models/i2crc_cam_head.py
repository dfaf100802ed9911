"""I²CRC's CAM head ("extra convs" of the official classifier; docs/method.md, 'I²CRC').

    x = conv1×1_{512→C, bias}( [ReLU(conv3×3_{512→512}(·))]×3 (f) )     the CAM, B×C×h×w (raw, no final ReLU)
    logits = mean_{h,w} x

It replaces SSC's bias-free 1×1 classifier through ``SSCCAMClassifier(classifier=dict(type='I2CRCCamHead'))``,
on the VGG-16 D1 features or any other backbone (``in_channels`` is the backbone's). Every convolution is
initialised as the official code does (:func:`mmssc.models.i2crc_vgg16.official_conv_init`).
"""
import torch.nn as nn
from mmseg.registry import MODELS

from .i2crc_vgg16 import official_conv_init

__all__ = ['I2CRCCamHead']


@MODELS.register_module()
class I2CRCCamHead(nn.Module):
    """Args: in_channels (backbone channels), num_classes (C), channels (512 officially), num_convs (3)."""

    def __init__(self, in_channels: int, num_classes: int, channels: int = 512, num_convs: int = 3):
        super().__init__()
        layers = []
        for index in range(num_convs):
            layers += [nn.Conv2d(in_channels if index == 0 else channels, channels, 3, padding=1),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels if num_convs else in_channels, num_classes, 1, bias=True))
        self.extra_convs = nn.Sequential(*layers)
        official_conv_init(self)

    def forward(self, features):
        return self.extra_convs(features)
