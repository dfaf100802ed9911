"""A few-thousand-parameter CAM classifier for smoke runs and DDP tests.

Same contract as the SSC classifier (docs/method.md, 'cam_classifier'): a bias-free 1×1 classifier applied *before*
pooling gives per-class CAM features; logits are their global average; the loss is the multilabel soft margin loss.
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmseg.registry import MODELS


@MODELS.register_module()
class TinyCAMClassifier(BaseModel):

    def __init__(self, num_classes: int = 20, channels=(16, 32), data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(True)]
            in_ch = out_ch
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(in_ch, num_classes, 1, bias=False)

    def cam_features(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(inputs))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        cams = self.cam_features(inputs)
        logits = cams.mean(dim=(2, 3))
        if mode == 'loss':
            labels = torch.stack([s.gt_label for s in data_samples]).to(logits)
            return dict(loss_cls=F.multilabel_soft_margin_loss(logits, labels))
        if mode == 'predict':
            for sample, score in zip(data_samples, logits.sigmoid()):
                sample.pred_score = score
            return data_samples
        return cams
