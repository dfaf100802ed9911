"""``BECOSegmentor``: SSC's segmentation stage as the official code trains it, BECO co-training of two DeepLab-v2
networks (docs/method.md, 'BECO co-training').

Two identical networks (mmseg ``EncoderDecoder``\\ s built from one ``backbone`` + ``decode_head`` config, each
with its own random head init) are trained together by one optimiser. One training step on a batch of B images
with offline pseudo labels Y and confidence masks Mk (B×H×W):

1. after the warm-up (epoch ≥ 2), online labels Y_on, Mk_on from the two networks' averaged softmax in eval
   mode (mmssc.models.online_labels);
2. class-mix of the pairs (i, i + B/2), in the official output order, with the paste boundary after the warm-up
   (mmssc.models.class_mix); after the warm-up a mixed sample is supervised by the mixed *online* label and mask;
3. photometric augmentation of the mixed images (mmssc.models.beco_photometric);
4. L = L_ce1 + L_ce2 + L_cot1 + L_cot2 on both networks' full-resolution logits (mmssc.models.beco_loss).

The epoch comes from :class:`mmssc.engine.BECOWarmupHook`, which sets it before every epoch (and after a
``--resume``). Inference averages the two networks' logits, so mmseg's tools, TTA and ``tools/crf_postprocess.py``
work unchanged; ``test_cfg.mode='multi_scale_max'`` is the official test (§ 'Test' in docs/method.md): the
pixel-wise max of the two-network mean pre-logits over the input and its ``test_cfg.scales`` rescalings.
"""
import copy
import dataclasses
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from .beco_loss import beco_loss_maps, reduce_loss_maps
from .beco_photometric import photometric_augment
from .class_mix import ClassDraw, ClassMixResult, class_mix, mixed_boundary
from .online_labels import OnlineLabels, online_labels

IGNORE_INDEX = 255
MULTI_SCALE_MAX = 'multi_scale_max'
OFFICIAL_TEST_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5)


@dataclass(frozen=True)
class BECOSettings:
    """``model.beco``: BECO's hyper-parameters, the official values by default (docs/method.md, 'BECO
    co-training'; the official names in brackets).

    warm_up_epochs: epochs without online labels and boundary (``warm_up``; 2 in main.py, 1 in the unused JSON).
    online_threshold: softmax confidence of an online label (``highres_t``).
    mix_prob: probability that an output sample is class-mixed.
    ignore_background: background is never pasted (``ignore_bg``).
    boundary_size: the boundary kernel is (2·size + 1)² (``bdry_size``).
    boundary_weight: extra CE weight of confident boundary pixels (``bdry_whb``).
    uncertain_boundary_weight: extra weight of uncertain boundary pixels in the peer terms (``bdry_wlb``).
    photometric: apply the photometric augmentation to the mixed images (``mix_aug``).
    swap_channels: augment the BGR-swapped image, as the official code does (mmssc.models.beco_photometric).
    ignore_index: label value without supervision.
    """
    warm_up_epochs: int = 2
    online_threshold: float = 0.95
    mix_prob: float = 0.5
    ignore_background: bool = True
    boundary_size: int = 1
    boundary_weight: float = 0.2
    uncertain_boundary_weight: float = 0.0
    photometric: bool = True
    swap_channels: bool = True
    ignore_index: int = IGNORE_INDEX

    @classmethod
    def from_config(cls, beco: Optional[dict]) -> 'BECOSettings':
        beco = dict(beco or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(beco) - set(known))
        if unknown:
            raise KeyError(f'model.beco: unknown key(s) {unknown}; known: {", ".join(known)}')
        settings = cls(**beco)
        checks = {'warm_up_epochs': settings.warm_up_epochs >= 0, 'mix_prob': 0 <= settings.mix_prob <= 1,
                  'online_threshold': 0 < settings.online_threshold < 1, 'boundary_size': settings.boundary_size >= 0}
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f'model.beco.{key}: invalid value {getattr(settings, key)!r}')
        return settings


@dataclass
class BECOStep:
    """Everything one BECO step computed (the golden test compares each against the official code)."""
    online: Optional[OnlineLabels]
    mix: ClassMixResult
    images: torch.Tensor      # B×3×H×W: mixed (and augmented) images the networks were trained on
    label: torch.Tensor       # B×H×W: supervision label after the mix
    confidence: torch.Tensor  # B×H×W: its confidence
    boundary: torch.Tensor    # B×H×W: paste boundary (0 during warm-up and for unmixed samples)
    logits1: torch.Tensor
    logits2: torch.Tensor
    maps: Dict[str, torch.Tensor]
    losses: Dict[str, torch.Tensor]


Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def beco_step(networks: Sequence[nn.Module], forward: Forward, images: torch.Tensor, labels: torch.Tensor,
              confidence: torch.Tensor, online: bool, settings: BECOSettings = BECOSettings(),
              augment: Optional[Callable[[torch.Tensor], torch.Tensor]] = None, draw: Optional[ClassDraw] = None,
              generator: Optional[torch.Generator] = None) -> BECOStep:
    """One BECO step on a batch (module docstring, steps 1–4).

    Args:
        networks: the two networks; ``forward(network, images)`` gives full-resolution logits B×C×H×W.
        images: B×3×H×W network inputs; labels: B×H×W offline labels; confidence: B×H×W {0, 1} offline Mk.
        online: past the warm-up: online labels, online supervision of mixed samples, boundary weights.
        augment: applied to the mixed images before the forward pass (None: no photometric augmentation).
        draw: picks the pasted classes (see :func:`mmssc.models.class_mix.class_mix`).
    """
    net1, net2 = networks
    confidence = confidence.reshape(labels.shape).long()
    fields = dict(img=images, label=labels.long(), mask=confidence)
    found = None
    source = fields['label']
    if online:
        found = online_labels(networks, forward, images, settings.online_threshold)
        fields.update(label_online=found.labels, mask_online=found.confident)
        source = torch.where(found.confident.bool(), found.labels, torch.full_like(found.labels,
                                                                                    settings.ignore_index))
    mix = class_mix(fields, source, settings.mix_prob, settings.ignore_background, draw, generator)
    label, mask = mix.fields['label'], mix.fields['mask']
    if online:
        use_online = mix.mixed[:, None, None]  # unmixed samples keep their offline label and mask
        label = torch.where(use_online, mix.fields['label_online'], label)
        mask = torch.where(use_online, mix.fields['mask_online'], mask)
        boundary = mixed_boundary(mix, settings.boundary_size)
    else:
        boundary = torch.zeros_like(label)
    mixed_images = mix.fields['img']
    if augment is not None:
        mixed_images = augment(mixed_images)
    logits1, logits2 = forward(net1, mixed_images), forward(net2, mixed_images)
    maps = beco_loss_maps(logits1, logits2, label, settings.ignore_index)
    losses = reduce_loss_maps(maps, mask, boundary, settings.boundary_weight, settings.uncertain_boundary_weight)
    return BECOStep(online=found, mix=mix, images=mixed_images, label=label, confidence=mask, boundary=boundary,
                    logits1=logits1, logits2=logits2, maps=maps, losses=losses)


def full_resolution_logits(network: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """An ``EncoderDecoder``'s head logits upsampled bilinearly to the input size (the official ``logits``)."""
    return resize(network._forward(images), size=images.shape[2:], mode='bilinear',
                  align_corners=network.align_corners)


@MODELS.register_module()
class BECOSegmentor(BaseSegmentor):
    """Two ``EncoderDecoder``\\ s trained by BECO; see the module docstring.

    Args:
        backbone, decode_head, neck, train_cfg, test_cfg, pretrained: as mmseg's ``EncoderDecoder``; both networks
            are built from them. ``test_cfg.mode`` may also be ``'multi_scale_max'`` (with ``test_cfg.scales``).
        beco: :class:`BECOSettings` overrides.
        data_preprocessor: shared by both networks (its mean/std undo the normalisation for the augmentation).
    """

    def __init__(self, backbone: dict, decode_head: dict, neck: Optional[dict] = None,
                 auxiliary_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, beco: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if auxiliary_head is not None:
            raise ValueError('BECOSegmentor: BECO trains the decode heads only; set model.auxiliary_head=None')
        network = dict(type='EncoderDecoder', backbone=backbone, decode_head=decode_head, neck=neck,
                       train_cfg=train_cfg, test_cfg=test_cfg, pretrained=pretrained)
        self.network1 = MODELS.build(copy.deepcopy(network))
        self.network2 = MODELS.build(copy.deepcopy(network))
        self.settings = BECOSettings.from_config(beco)
        self.test_cfg = self.network1.test_cfg
        self.align_corners = self.network1.align_corners
        self.num_classes = self.network1.num_classes
        self.out_channels = self.network1.out_channels
        self.current_epoch: Optional[int] = None  # set by BECOWarmupHook

    @property
    def networks(self) -> List[nn.Module]:
        return [self.network1, self.network2]

    def set_epoch(self, epoch: int) -> None:
        """The training epoch (0-based) the next steps belong to: online labels from ``warm_up_epochs`` on."""
        self.current_epoch = int(epoch)

    @property
    def online(self) -> bool:
        if self.current_epoch is None:
            raise RuntimeError('BECOSegmentor does not know the epoch: add dict(type=\'BECOWarmupHook\') to the '
                               'config\'s custom_hooks (it sets the epoch for the warm-up)')
        return self.current_epoch >= self.settings.warm_up_epochs

    # ------------------------------------------------------------------ training
    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        """Photometric augmentation in pixel space: undo the data preprocessor's normalisation, augment, redo it."""
        normalized = getattr(self.data_preprocessor, '_enable_normalize', False)
        mean = self.data_preprocessor.mean if normalized else images.new_zeros(1, 3, 1, 1)
        std = self.data_preprocessor.std if normalized else images.new_ones(1, 3, 1, 1)
        pixels = images * std + mean
        pixels = photometric_augment(pixels, swap_channels=self.settings.swap_channels)
        return (pixels - mean) / std

    @staticmethod
    def _targets(data_samples) -> tuple:
        labels, confidences = [], []
        for sample in data_samples:
            if 'gt_confidence' not in sample:
                raise KeyError('BECOSegmentor: a training sample has no gt_confidence; the training pipeline needs '
                               "dict(type='LoadConfidenceMask', ...) after LoadAnnotations and "
                               "dict(type='PackBECOInputs') instead of PackSegInputs (configs/ssc/voc_beco.py)")
            label = sample.gt_sem_seg.data[0].long()
            confidence = sample.gt_confidence.data[0].long()
            pad_h, pad_w = label.shape[0] - confidence.shape[0], label.shape[1] - confidence.shape[1]
            if pad_h or pad_w:  # the data preprocessor padded the label (bottom/right, 255): padding is uncertain
                confidence = F.pad(confidence, (0, pad_w, 0, pad_h), value=0)
            labels.append(label)
            confidences.append(confidence)
        return torch.stack(labels), torch.stack(confidences)

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        labels, confidence = self._targets(data_samples)
        online = self.online
        step = beco_step(self.networks, full_resolution_logits, inputs, labels, confidence, online, self.settings,
                         augment=self._augment if self.settings.photometric else None)
        losses = dict(step.losses)
        # logged, not summed (no "loss" in the names): the warm-up state and the online labels' confident share
        losses['beco_online'] = inputs.new_tensor(float(online))
        if step.online is not None:
            losses['beco_online_confident'] = step.online.confident.float().mean()
        return losses

    # ------------------------------------------------------------------ inference
    def extract_feat(self, inputs: torch.Tensor) -> list:
        return [net.extract_feat(inputs) for net in self.networks]

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        return sum(net.encode_decode(inputs, batch_img_metas) for net in self.networks) / 2

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """The two networks' mean head logits (stride 8)."""
        return sum(net._forward(inputs) for net in self.networks) / 2

    def multi_scale_max_inference(self, inputs: torch.Tensor) -> torch.Tensor:
        """The official test: the pixel-wise max, over the input and its rescalings by ``test_cfg.scales``, of the
        two-network mean pre-logits, each upsampled to the input's pre-logit size; then upsampled to the input."""
        base = self._forward(inputs)
        best = base
        height, width = inputs.shape[2:]
        for scale in self.test_cfg.get('scales', OFFICIAL_TEST_SCALES):
            scaled = resize(inputs, size=(int(height * scale), int(width * scale)), mode='bilinear',
                            align_corners=False)
            best = torch.maximum(best, resize(self._forward(scaled), size=base.shape[2:], mode='bilinear',
                                              align_corners=False))
        return resize(best, size=inputs.shape[2:], mode='bilinear', align_corners=self.align_corners)

    def inference(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        mode = self.test_cfg.get('mode', 'whole')
        if mode == MULTI_SCALE_MAX:
            return self.multi_scale_max_inference(inputs)
        if mode not in ('whole', 'slide'):
            raise ValueError(f"model.test_cfg.mode: {mode!r}; expected 'whole', 'slide' or '{MULTI_SCALE_MAX}'")
        return sum(net.inference(inputs, batch_img_metas) for net in self.networks) / 2

    def predict(self, inputs: torch.Tensor, data_samples=None):
        if data_samples is not None:
            batch_img_metas = [sample.metainfo for sample in data_samples]
        else:
            batch_img_metas = [dict(ori_shape=inputs.shape[2:], img_shape=inputs.shape[2:],
                                    pad_shape=inputs.shape[2:], padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        return self.postprocess_result(self.inference(inputs, batch_img_metas), data_samples)
