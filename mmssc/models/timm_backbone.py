"""Any timm model as a multi-scale feature extractor, with weights only from a local file.

``timm.create_model(name, features_only=True, ...)``; ``feature_info`` (channels and reductions per output) is the
contract with the heads that read it. Pretrained weights come from ``checkpoint`` (a local ``.pth`` or
``.safetensors`` of the full timm model; classifier keys are dropped by timm) through
``pretrained_cfg_overlay``, so nothing is ever fetched from a hub: a missing file is a ``FileNotFoundError``.
mmseg's own ``TIMMBackbone`` defaults to ``pretrained=True`` (a hub download) and fails with ``checkpoint_path``
under ``features_only`` (docs/stack_fixes.md), hence this wrapper.
"""
import os.path as osp
from typing import Optional, Sequence

import timm
import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS


def _set_last_stage_stride(model, model_name: str, stride: int) -> None:
    """Change the stride of the first block of ``layer4`` (its strided 3×3 conv and its shortcut)."""
    layer4 = getattr(model, 'layer4', None)
    if layer4 is None:
        raise ValueError(f'last_stage_stride: {model_name} has no layer4 (ResNet family only)')
    first = layer4[0]
    strided = [m for m in first.modules() if isinstance(m, torch.nn.Conv2d) and m.stride != (1, 1)]
    if not strided or any(m.dilation != (1, 1) for m in first.modules() if isinstance(m, torch.nn.Conv2d)):
        raise ValueError(f'last_stage_stride: layer4 of {model_name} is not strided and undilated; do not combine '
                         'it with output_stride')
    old = strided[0].stride[0]
    for conv in strided:
        conv.stride = (stride, stride)
    for level in model.feature_info.info:  # keep feature_info (the contract with the heads) true
        if level['module'].startswith('layer4'):
            level['reduction'] = level['reduction'] * stride // old


@MODELS.register_module()
class TimmFeatureBackbone(BaseModule):
    """``forward`` returns the tuple of feature maps selected by ``out_indices``.

    Args:
        model_name: any timm model name (``resnet50``, ``tf_efficientnet_lite0``, ``convnext_tiny``, ...).
        checkpoint: local weight file of that timm model, or None for random initialisation.
        out_indices: which feature levels to return (timm numbering; default all).
        output_stride: 8 or 16 for models that support dilation (ResNets, EfficientNets, ConvNeXt); None
            keeps the model's own (ViTs accept none).
        last_stage_stride: ResNet family only: set the stride of ``layer4`` (1 gives output stride 16 *without*
            dilation, the official CAM/IRN ResNet-50 of docs/method.md, 'cam_classifier'; timm's ``output_stride=16``
            dilates layer4 instead).
        **timm_kwargs: passed to ``timm.create_model`` (``drop_path_rate``, ``dynamic_img_size``, ...).
    """

    def __init__(self, model_name: str, checkpoint: Optional[str] = None, out_indices: Optional[Sequence[int]] = None,
                 output_stride: Optional[int] = None, last_stage_stride: Optional[int] = None,
                 init_cfg: Optional[dict] = None, **timm_kwargs):
        super().__init__(init_cfg=init_cfg)
        kwargs = dict(features_only=True, pretrained=checkpoint is not None, **timm_kwargs)
        if checkpoint is not None:
            if not osp.isfile(checkpoint):
                raise FileNotFoundError(f'timm weights for {model_name} not found: {checkpoint} (mmssc never '
                                        'downloads weights; see README "Pretrained weights")')
            kwargs['pretrained_cfg_overlay'] = dict(file=osp.abspath(checkpoint))
        if out_indices is not None:
            kwargs['out_indices'] = tuple(out_indices)
        if output_stride is not None:
            kwargs['output_stride'] = output_stride
        self.model = timm.create_model(model_name, **kwargs)
        if last_stage_stride is not None:
            _set_last_stage_stride(self.model, model_name, last_stage_stride)
        self.feature_info = self.model.feature_info
        # weights loaded from a file must survive the Runner's init_weights()
        self._is_init = checkpoint is not None

    def forward(self, x: torch.Tensor) -> tuple:
        return tuple(self.model(x))
