"""IRN (inter-pixel relation network) of the ``irn`` stage: a class-boundary branch and a displacement branch on a
frozen
backbone, trained from IR labels with path-index affinities (docs/method.md, 'IRN').

**Backbone.** Any registered backbone returning a tuple of feature maps and exposing timm's ``feature_info``
(channels and reductions per level), by default :class:`mmssc.models.TimmFeatureBackbone` ``resnet50`` at output
stride 16, the same choice as ``cam_classifier``. It is fully frozen: no gradients, always in eval mode (BatchNorm
uses its running statistics, IRN's FixedBatchNorm), features computed under ``no_grad`` (IRN detaches every stage).
Levels finer than stride 4 are brought to stride 4 by 3×3 / stride-2 / padding-1 max-pooling: for timm's ResNet,
whose first level is the stride-2 ``act1``, this is exactly the stem's ``maxpool``, so the five levels are IRN's
x1..x5 (64, 256, 512, 1024, 2048 channels at strides 4, 4, 8, 16, 16).

**Boundary branch.** Per level: 1×1 conv (no bias) → GroupNorm → ×(reduction/4) bilinear upsample (if > 1) →
ReLU, cropped to the stride-4 size; the concatenation goes through a 1×1 conv with bias to one channel of edge
logits at stride 4. With ResNet-50 and ``edge_channels=32, edge_groups=4``: 5 × 32 = 160 → 1, upsampling ×1, ×1,
×2, ×4, ×4, exactly IRN's fc_edge1..6.

**Displacement branch.** Stride-4 levels: 1×1 conv → GN → ReLU. Coarser levels: 1×1 conv → GN → ×(reduction/8)
upsample → ReLU, cropped to the first coarse level's size (stride 8); their concatenation → 1×1 conv → GN → ×2
upsample → ReLU (to stride 4, cropped); the concatenation with the stride-4 levels → 1×1 conv → GN → ReLU → 1×1
conv to 2 channels (no bias). With ResNet-50 and the default channels/groups this is IRN's fc_dp1..7
(64/GN8, 128/GN16, 256/GN16 ×3, 768→256/GN16 up×2, 448→256/GN16 → 2).

**Mean shift.** ``mean_shift.running_mean`` (2 values) is the average displacement over the training images,
filled after training by :class:`mmssc.engine.IRNMeanShiftHook`; in eval mode it is subtracted from the output
(IRN's ``MeanShift``). Pseudo masks use only the boundary map.

**Losses** (docs/method.md, 'IRN', summed over the whole batch; e = σ(edge logits), a from :func:`affinity_from_edges`,
targets
from :func:`affinity_targets`, δ = the direction (dy, dx), P = D(src) − D(dst)):

    L_pos   = ½·Σ bg_pos·(−log(a + 1e-5)) / (Σ bg_pos + 1e-5) + ½·Σ fg_pos·(−log(a + 1e-5)) / (Σ fg_pos + 1e-5)
    L_neg   = Σ neg·(−log(1 + 1e-5 − a)) / (Σ neg + 1e-5)
    L_dp_fg = Σ_{pairs, 2 channels} |P − δ|·fg_pos / (2·Σ fg_pos + 1e-5)
    L_dp_bg = Σ_{pairs, 2 channels} |P|·bg_pos / (2·Σ bg_pos + 1e-5)
    total   = (L_pos + L_neg)/2 + (L_dp_fg + L_dp_bg)/2

``loss`` returns each term already multiplied by its ½ (``loss_aff_pos`` = L_pos/2, ...), so the logged ``loss``
is the official total. Under DDP each process normalises by its own pair counts (IRN's DataParallel computed one
loss over the whole batch); with one process it is the same.

The label map of ``data_samples`` is the IR label cropped and downsampled ×4 (nearest) by the data pipeline, at the
edge map's size (128×128 for 512 crops).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from . import timm_backbone  # noqa: F401  (registers TimmFeatureBackbone, the default backbone)
from .path_index import (PathIndex, PathIndexTensors, affinity_from_edges, affinity_targets,
                         pair_displacements)

LOG_EPS = 1e-5
COUNT_EPS = 1e-5


def conv_gn_relu(in_channels: int, out_channels: int, groups: int, upsample: int = 1) -> nn.Sequential:
    """1×1 conv (no bias) → GroupNorm → [×upsample bilinear] → ReLU, IRN's branch unit."""
    layers = [nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.GroupNorm(groups, out_channels)]
    if upsample > 1:
        layers.append(nn.Upsample(scale_factor=upsample, mode='bilinear', align_corners=False))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _factor(reduction: int, target: int, what: str) -> int:
    if reduction % target:
        raise ValueError(f'{what}: a level at stride {reduction} cannot be upsampled to stride {target} by an '
                         'integer factor')
    return reduction // target


class BoundaryBranch(nn.Module):
    """Edge logits at stride 4 from every level (module docstring)."""

    def __init__(self, in_channels: Sequence[int], reductions: Sequence[int], channels: int = 32, groups: int = 4):
        super().__init__()
        self.levels = nn.ModuleList(
            conv_gn_relu(c, channels, groups, _factor(r, 4, 'boundary branch'))
            for c, r in zip(in_channels, reductions))
        self.fuse = nn.Conv2d(channels * len(in_channels), 1, 1, bias=True)

    def forward(self, features: Sequence[torch.Tensor], size: Tuple[int, int]) -> torch.Tensor:
        outs = [level(f)[..., :size[0], :size[1]] for level, f in zip(self.levels, features)]
        return self.fuse(torch.cat(outs, dim=1))


class DisplacementBranch(nn.Module):
    """Displacement field (2 channels) at stride 4 (module docstring)."""

    def __init__(self, in_channels: Sequence[int], reductions: Sequence[int], channels: Sequence[int],
                 groups: Sequence[int], fuse_channels: int = 256, fuse_groups: int = 16):
        super().__init__()
        if not len(in_channels) == len(channels) == len(groups):
            raise ValueError(f'displacement branch: the backbone has {len(in_channels)} levels but '
                             f'displacement_channels has {len(channels)} and displacement_groups {len(groups)} '
                             'entries; give one per level')
        self.fine = [i for i, r in enumerate(reductions) if r == 4]
        self.coarse = [i for i, r in enumerate(reductions) if r > 4]
        if not self.fine or not self.coarse:
            raise ValueError(f'displacement branch needs levels at stride 4 and coarser; reductions {reductions}')
        self.levels = nn.ModuleList()
        for i, (c, r) in enumerate(zip(in_channels, reductions)):
            up = 1 if i in self.fine else _factor(r, 8, 'displacement branch')
            self.levels.append(conv_gn_relu(c, channels[i], groups[i], up))
        self.coarse_fuse = conv_gn_relu(sum(channels[i] for i in self.coarse), fuse_channels, fuse_groups, 2)
        fine_channels = sum(channels[i] for i in self.fine)
        self.head = nn.Sequential(
            nn.Conv2d(fine_channels + fuse_channels, fuse_channels, 1, bias=False),
            nn.GroupNorm(fuse_groups, fuse_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(fuse_channels, 2, 1, bias=False))

    def forward(self, features: Sequence[torch.Tensor], size: Tuple[int, int]) -> torch.Tensor:
        outs = [level(f) for level, f in zip(self.levels, features)]
        coarse_size = outs[self.coarse[0]].shape[-2:]
        coarse = torch.cat([outs[i][..., :coarse_size[0], :coarse_size[1]] for i in self.coarse], dim=1)
        up = self.coarse_fuse(coarse)[..., :size[0], :size[1]]
        return self.head(torch.cat([outs[i] for i in self.fine] + [up], dim=1))


class MeanShift(nn.Module):
    """Subtract the stored mean displacement in eval mode; identity in training (IRN's ``MeanShift``)."""

    def __init__(self, num_features: int = 2):
        super().__init__()
        self.register_buffer('running_mean', torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return x
        return x - self.running_mean.view(1, -1, 1, 1)


def irn_loss_terms(edge_prob: torch.Tensor, displacement: torch.Tensor, labels: torch.Tensor,
                   index: PathIndexTensors, ignore_index: int = 255) -> Dict[str, torch.Tensor]:
    """The four unweighted terms L_pos, L_neg, L_dp_fg, L_dp_bg of the module docstring.

    Args:
        edge_prob: boundary probabilities [B, H, W].
        displacement: [B, 2, H, W].
        labels: label map [B, H, W] at the same grid (``ignore_index`` = uncertain).
        index: :meth:`PathIndex.tensors` of that grid.
    """
    bg_pos, fg_pos, neg = (t.to(edge_prob.dtype) for t in affinity_targets(labels, index, ignore_index))
    aff = affinity_from_edges(edge_prob, index)
    pos_loss = -torch.log(aff + LOG_EPS)
    neg_loss = -torch.log(1. + LOG_EPS - aff)
    n_bg, n_fg, n_neg = bg_pos.sum(), fg_pos.sum(), neg.sum()
    pos = (bg_pos * pos_loss).sum() / (n_bg + COUNT_EPS) / 2 + (fg_pos * pos_loss).sum() / (n_fg + COUNT_EPS) / 2
    negative = (neg * neg_loss).sum() / (n_neg + COUNT_EPS)

    pair = pair_displacements(displacement, index)                            # [B, 2, D, S]
    target = index.directions.t().to(pair.dtype).view(1, 2, -1, 1)            # δ = (dy, dx) per direction
    dp_fg = ((pair - target).abs() * fg_pos.unsqueeze(1)).sum() / (2 * n_fg + COUNT_EPS)
    dp_bg = (pair.abs() * bg_pos.unsqueeze(1)).sum() / (2 * n_bg + COUNT_EPS)
    return dict(aff_pos=pos, aff_neg=negative, disp_fg=dp_fg, disp_bg=dp_bg)


@MODELS.register_module()
class IRNet(BaseModel):
    """IRN on a frozen backbone (module docstring).

    Args:
        backbone: config of a backbone with ``feature_info`` (default: timm ResNet-50, OS 16, random init; set
            ``checkpoint`` to a local ImageNet weight file for real training).
        edge_channels, edge_groups: width and GroupNorm groups of each boundary-branch level (32, 4).
        displacement_channels, displacement_groups: per backbone level (IRN: 64/8, 128/16, 256/16 ×3).
        displacement_fuse_channels, displacement_fuse_groups: the fused layers (256, 16).
        path_radius: radius of the training pairs on the stride-4 grid (10).
        ignore_index: the uncertain label of the IR labels (255).
    """

    def __init__(self,
                 backbone: dict = dict(type='TimmFeatureBackbone', model_name='resnet50', output_stride=16),
                 edge_channels: int = 32,
                 edge_groups: int = 4,
                 displacement_channels: Sequence[int] = (64, 128, 256, 256, 256),
                 displacement_groups: Sequence[int] = (8, 16, 16, 16, 16),
                 displacement_fuse_channels: int = 256,
                 displacement_fuse_groups: int = 16,
                 path_radius: int = 10,
                 ignore_index: int = 255,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        info = getattr(self.backbone, 'feature_info', None)
        if info is None:
            raise TypeError(f'IRNet needs a backbone with timm-style feature_info (channels and reductions per '
                            f'level); {type(self.backbone).__name__} has none')
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        channels, reductions = list(info.channels()), list(info.reduction())
        self.pool_times = [0] * len(reductions)
        for i, r in enumerate(reductions):  # levels finer than stride 4: the stem max-pool(s) bring them there
            while reductions[i] < 4:
                reductions[i] *= 2
                self.pool_times[i] += 1
        self.level_reductions = reductions
        self.edge_branch = BoundaryBranch(channels, reductions, edge_channels, edge_groups)
        self.displacement_branch = DisplacementBranch(channels, reductions, displacement_channels,
                                                      displacement_groups, displacement_fuse_channels,
                                                      displacement_fuse_groups)
        self.mean_shift = MeanShift(2)
        self.path_index = PathIndex(path_radius)
        self.ignore_index = ignore_index

    # ------------------------------------------------------------------ structure
    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: BN keeps its running statistics
        return self

    def backbone_features(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The frozen levels, finer ones max-pooled to stride 4 (no gradients)."""
        with torch.no_grad():
            features = list(self.backbone(inputs))
            for i, times in enumerate(self.pool_times):
                for _ in range(times):
                    features[i] = F.max_pool2d(features[i], kernel_size=3, stride=2, padding=1)
        return [f.detach() for f in features]

    def extract(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(edge logits [B, 1, h, w], raw displacement [B, 2, h, w]) at stride 4, before the mean shift."""
        features = self.backbone_features(inputs)
        size = features[self.level_reductions.index(4)].shape[-2:]
        return self.edge_branch(features, size), self.displacement_branch(features, size)

    # ------------------------------------------------------------------ training
    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        edge_logits, displacement = self.extract(inputs)
        labels = torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).to(edge_logits.device).long()
        if labels.shape[-2:] != edge_logits.shape[-2:]:
            raise ValueError(f'IR label grid {tuple(labels.shape[-2:])} differs from the stride-4 edge map '
                             f'{tuple(edge_logits.shape[-2:])} of a {tuple(inputs.shape[-2:])} crop: downsample the '
                             'cropped label ×4 in the pipeline (RescaleSegMaps, scale=0.25)')
        index = self.path_index.tensors(labels.shape[-2:], labels.device)
        terms = irn_loss_terms(torch.sigmoid(edge_logits[:, 0]), displacement, labels, index, self.ignore_index)
        return {f'loss_{name}': value / 2 for name, value in terms.items()}

    # ------------------------------------------------------------------ inference
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        edge_logits, displacement = self.extract(inputs)
        displacement = self.mean_shift(displacement)
        if mode == 'tensor':
            return edge_logits, displacement
        if mode == 'predict':
            for sample, edge, disp in zip(data_samples, torch.sigmoid(edge_logits), displacement):
                sample.pred_edge = PixelData(data=edge)
                sample.pred_displacement = PixelData(data=disp)
            return data_samples
        raise ValueError(f'unknown mode {mode!r}')

    @torch.no_grad()
    def boundary_map(self, image: torch.Tensor, pad_to: int = 512) -> torch.Tensor:
        """Boundary probabilities of a normalised image [1, 3, H, W] → [⌈H/4⌉, ⌈W/4⌉] (docs/method.md, 'Random walk').

        The image and its horizontal flip run as one batch, each zero-padded right and bottom to
        ``max(pad_to, H) × max(pad_to, W)`` (0 = the mean colour after normalisation); the edge logits are
        cropped to the image's stride-4 size and e = σ(edge₀/2 + flip(edge₁)/2). IRN pads to exactly 512 and fails
        on larger images (COCO); here larger images keep their own size. ``pad_to=0`` disables padding. Padding
        matters because GroupNorm statistics cover the padded area, so 512 reproduces IRN on VOC.
        """
        if image.dim() == 3:
            image = image.unsqueeze(0)
        height, width = image.shape[-2:]
        pair = torch.cat([image, image.flip(-1)], dim=0)
        pad_h, pad_w = max(pad_to - height, 0), max(pad_to - width, 0)
        if pad_h or pad_w:
            pair = F.pad(pair, (0, pad_w, 0, pad_h))
        edge_logits, _ = self.extract(pair)
        h4, w4 = (height - 1) // 4 + 1, (width - 1) // 4 + 1
        edge_logits = edge_logits[:, 0, :h4, :w4]
        return torch.sigmoid(edge_logits[0] / 2 + edge_logits[1].flip(-1) / 2)
