"""VGG-16 as DeepLab-v2 uses it: the 13 convolutions at output stride 8 (for the paper's VGG16 rows).

DeepLab-v2 (Chen et al., TPAMI 2017, the "default setting" the SSC paper follows for VGG16, §IV-A) changes
VGG-16's conv part so that it keeps resolution:

* pool1-pool3: 3×3 max pooling, stride 2, padding 1 (stride 8 after pool3);
* pool4 and pool5: 3×3 max pooling, **stride 1**, padding 1 (no further downsampling);
* conv5_1-conv5_3: dilation 2 (to keep the receptive field that pool4's stride would have given).

The classifier (fc6/fc7) becomes the ASPP-L branches of :class:`~mmssc.models.deeplabv2_head.DeepLabV2Head`
(``branch_channels=1024``). The layers sit in ``features`` at torchvision's indices (convolutions at 0, 2, 5, ...,
28; pools at 4, 9, 16, 23, 30), so torchvision's ImageNet ``vgg16`` state dict loads unchanged through
``init_cfg=dict(type='Pretrained', checkpoint=<local file>)``; its ``classifier.*`` keys are reported as unused.
Pools use floor rounding, so a 512×512 input gives a 64×64 feature map (caffe's ceil rounding would give 65).
"""
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS

# (number of 3×3 convs, output channels) per VGG-16 stage.
VGG16_STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


@MODELS.register_module()
class DeepLabVGG16(BaseModule):
    """VGG-16 convolutions with DeepLab-v2's stride-8 pooling and dilated conv5; returns ``(conv5 feature,)``.

    Args:
        pool_strides: stride of pool1..pool5 (DeepLab-v2: 2, 2, 2, 1, 1).
        dilations: dilation of the convolutions of stage 1..5 (DeepLab-v2: 1, 1, 1, 1, 2).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='pretrained/vgg16-397923af.pth')``; without it the
            convolutions get Kaiming-normal weights.
    """

    def __init__(self, pool_strides=(2, 2, 2, 1, 1), dilations=(1, 1, 1, 1, 2),
                 init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu')):
        super().__init__(init_cfg)
        if len(pool_strides) != len(VGG16_STAGES) or len(dilations) != len(VGG16_STAGES):
            raise ValueError('pool_strides and dilations need one value per VGG-16 stage (5)')
        layers, in_channels = [], 3
        for (num_convs, channels), stride, dilation in zip(VGG16_STAGES, pool_strides, dilations):
            for _ in range(num_convs):
                layers += [nn.Conv2d(in_channels, channels, 3, padding=dilation, dilation=dilation),
                           nn.ReLU(inplace=True)]
                in_channels = channels
            layers.append(nn.MaxPool2d(3, stride=stride, padding=1))
        self.features = nn.Sequential(*layers)
        self.out_channels = in_channels

    def forward(self, x):
        return (self.features(x), )
