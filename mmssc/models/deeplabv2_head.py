"""The DeepLab-v2 ASPP decode head: parallel dilated classifiers whose logits are summed.

DeepLab-v2 (Chen et al., TPAMI 2017) classifies every pixel with R parallel branches that look at the same
feature map x with different dilation rates r and adds their class scores:

    logits(x) = Σ_{r ∈ rates} f_r(x)

* ResNet-101 variant (docs/method.md, 'segmentation', the one SSC/BECO use): f_r is one 3×3 convolution with dilation
  r, padding r and a bias, mapping the 2048 backbone channels straight to the classes. Rates 6/12/18/24; weights N(0,
  0.01), biases 0; no BN, no ReLU, no dropout, no image pooling. Compare mmseg's ``ASPPHead`` (DeepLab-v3), which
  *concatenates* BN-ReLU branches and adds a bottleneck: a different model (docs/stack_fixes.md).
* VGG-16 variant ("ASPP-L" of the DeepLab-v2 paper, used for the paper's VGG16 rows, Tables III/V): f_r is
  fc6 (3×3, dilation r, in → ``branch_channels``) → ReLU → dropout → fc7 (1×1) → ReLU → dropout → fc8 (1×1 →
  classes). Set ``branch_channels=1024``.

mmseg's ``BaseDecodeHead`` supplies the loss (logits upsampled bilinearly to the label size, cross-entropy with
``ignore_index`` 255, so uncertain pseudo-label pixels marked 255 contribute nothing) and inference. It always
builds a 1×1 ``conv_seg``, which this head does not use: it is deleted, because an unused parameter would break
DDP with ``find_unused_parameters=False`` (docs/stack_fixes.md).
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

DEEPLABV2_RATES = (6, 12, 18, 24)


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLab-v2 ASPP head (sum of dilated branches).

    Args:
        in_channels: channels of the backbone feature used (``in_index`` picks it; 2048 for ResNet-101 layer4).
        num_classes: number of classes, background included (21 for VOC, 81 for COCO).
        dilations: one branch per rate; padding equals the rate, so the output keeps the input's size.
        branch_channels: ``None`` for the single-convolution branches of the ResNet variant; an int (1024 in
            DeepLab-v2) for the fc6-fc7-fc8 branches of the VGG variant.
        branch_dropout: dropout after fc6 and fc7 in the VGG variant (0.5 in DeepLab-v2); unused otherwise.
        channels: required by ``BaseDecodeHead``'s signature but unused; defaults to ``in_channels``.
        dropout_ratio: dropout on the input feature, shared by the branches; 0 (none) as in SSC/BECO.
        init_cfg: default N(0, 0.01) weights and zero biases for every convolution of the branches.
    """

    def __init__(self,
                 in_channels: int,
                 dilations: Sequence[int] = DEEPLABV2_RATES,
                 branch_channels: Optional[int] = None,
                 branch_dropout: float = 0.5,
                 channels: Optional[int] = None,
                 dropout_ratio: float = 0.0,
                 init_cfg=dict(type='Normal', std=0.01, bias=0, override=dict(name='aspp')),
                 **kwargs):
        if not dilations:
            raise ValueError('DeepLabV2Head needs at least one dilation rate')
        super().__init__(in_channels=in_channels, channels=in_channels if channels is None else channels,
                         dropout_ratio=dropout_ratio, init_cfg=init_cfg, **kwargs)
        del self.conv_seg  # built by BaseDecodeHead, never used here (see the module docstring)
        self.dilations = tuple(int(d) for d in dilations)
        self.branch_channels = branch_channels
        self.aspp = nn.ModuleList(self._make_branch(self.in_channels, d, branch_channels, branch_dropout)
                                  for d in self.dilations)

    def _make_branch(self, in_channels: int, rate: int, branch_channels: Optional[int],
                     branch_dropout: float) -> nn.Module:
        if branch_channels is None:
            return nn.Conv2d(in_channels, self.out_channels, 3, padding=rate, dilation=rate, bias=True)
        return nn.Sequential(
            nn.Conv2d(in_channels, branch_channels, 3, padding=rate, dilation=rate, bias=True),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout2d(branch_dropout),
            nn.Conv2d(branch_channels, branch_channels, 1, bias=True),  # fc7
            nn.ReLU(inplace=True),
            nn.Dropout2d(branch_dropout),
            nn.Conv2d(branch_channels, self.out_channels, 1, bias=True))  # fc8

    def forward(self, inputs):
        """Class logits at the feature's resolution: Σ_r f_r(x)."""
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        logits = self.aspp[0](x)
        for branch in self.aspp[1:]:
            logits = logits + branch(x)
        return logits
