"""The SSC CAM classifier of the ``cam_classifier`` stage (docs/method.md, 'cam_classifier').

    x_int = W ∗ f(x)                  bias-free 1×1 classifier on the backbone's last feature map (CAM features)
    s     = mean_{h,w} x_int           GAP logits;  L_cls = multilabel_soft_margin(s, y)
    L     = L_cls + β_p·L_p(D(x_int), x) + [epoch ≥ warm-up]·β_a·L_a(x_int, superpixels, y)

D is the CAM-driven reconstruction head fed with all CAM channels, L_p the perceptual loss against the
(normalised) input image, L_a the ASM alignment loss; DRS hooks clamp the backbone activations (docs/method.md, 'DRS').
Each of
DRS, CDR and ASM is switched off by setting its config to None, so the paper's ablation (Table VII) is a set of
configs. ``cam_features`` is the contract with CAM inference: raw ``x_int`` for normalised inputs, DRS sites
that are not training-only stay active, as in the official inference.

Training uses two optimisers (SGD for backbone + classifier, Adam for the reconstruction head), stepped after one
backward of the summed loss (the official order, docs/method.md, 'cam_classifier'); :meth:`train_step` /
:meth:`update_params_all` implement it, and :class:`mmssc.engine.MultiOptimDDP` does the same under DDP.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS

from .drs import DRSHooks


def official_drs_sites(backbone: nn.Module) -> List[dict]:
    """docs/method.md, 'DRS': every block of the last ResNet stage, plus the training-only clamp on the detached layer2
    output."""
    names = dict(backbone.named_modules())
    last = [n for n in names if n == 'layer4' or n.endswith('.layer4')]
    second = [n for n in names if n == 'layer2' or n.endswith('.layer2')]
    if len(last) != 1 or len(second) != 1:
        raise ValueError(f'cannot find the official DRS sites (layer2, layer4 blocks) in {type(backbone).__name__}; '
                         'give drs=dict(sites=[...]) with module names of this backbone')
    blocks = [f'{last[0]}.{child}' for child, _ in names[last[0]].named_children()]
    return [dict(name=b) for b in blocks] + [dict(name=second[0], training_only=True, detach=True)]


def _check_local_weights(cfg: dict) -> None:
    """Fail at build time, naming the file, when a config's pretrained weights are missing locally."""
    init_cfg = cfg.get('init_cfg') or {}
    path = init_cfg.get('checkpoint') if isinstance(init_cfg, dict) else None
    if path and '://' not in path and not osp.isfile(osp.expanduser(path)):
        raise FileNotFoundError(f'backbone weights not found: {path} (model.backbone.init_cfg.checkpoint; mmssc '
                                'never downloads weights, see README "Pretrained weights")')


@MODELS.register_module()
class SSCCAMClassifier(BaseModel):
    """
    Args:
        backbone: any registered backbone returning a tuple of feature maps (mmseg ``ResNet``,
            :class:`TimmFeatureBackbone`, ...); the map at ``feature_index`` feeds the classifier.
        num_classes: foreground classes (20 for VOC, 80 for COCO).
        in_channels: channels of that map; None = measured with a dummy forward.
        frozen_modules: backbone module-name prefixes whose parameters get ``requires_grad=False`` (for timm
            backbones; mmseg's ResNet has ``frozen_stages``).
        norm_eval: keep every BatchNorm of the backbone in eval mode (the official FixedBatchNorm, docs/method.md,
        'cam_classifier').
        drs: ``dict(delta=0.55, sites=None)`` (None = :func:`official_drs_sites`) or None to disable DRS.
        reconstruction_head: config of the CDR decoder (:class:`ReconstructionHead`) or None to disable CDR.
        reconstruction_loss: loss between reconstruction and input (``PerceptualLoss``, ``PixelL1Loss``, ...);
            its ``loss_weight`` is β_p.
        asm_loss: :class:`ASMLoss` config (``loss_weight`` = β_a) or None; switched on by ``ASMWarmupHook``.
        classifier: None (the bias-free 1×1 conv of SSC) or the config of a CAM head mapping the feature map to
            the C CAM channels (``in_channels`` and ``num_classes`` are filled in), e.g. I²CRC's
            :class:`I2CRCCamHead`.
        relation_losses: configs of losses called as ``loss(cam, labels, saliency)`` with the raw CAM
            (B×C×h×w), the multi-hot labels (B×C) and the saliency in [0, 1] at the input size (B×H×W, from
            ``LoadSaliency``); each adds its ``loss_name`` term (I²CRC's :class:`ClassAgnosticDistanceLoss` and
            :class:`ClassSpecificDistanceLoss`, docs/method.md, 'I²CRC').
        cdr_autocast: run the reconstruction head and its loss network under bf16 autocast. Off by default (the
            official code is fp32); about 1.75× faster CDR on CPUs with AVX512-BF16 (benchmarks/stage1_step.py).
        cdr_checkpoint_chunk: n (default 1): run the CDR branch n samples at a time (:meth:`cdr_loss`): the loss
            network's backward is done in the forward pass and the decoder is recomputed in backward, which caps
            the branch's memory at one chunk's activations for one more decoder forward, with the official loss
            and gradients exactly. None: the official code's computation, the whole batch's CDR activations kept
            for backward (docs/benchmarks.md, 'cam_classifier train step').
        cdr_decoder_checkpoint: with ``cdr_checkpoint_chunk``, recompute each chunk's decoder in backward (True,
            default: the least memory). False keeps the decoder's activations of every chunk instead: the same
            loss and gradients bit for bit (a recomputed forward repeats the same operations), one decoder forward
            fewer per step (15 % of the demo's step on a CPU) for the whole batch's decoder activations in memory;
            the loss network's are still freed chunk by chunk.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int = 20,
                 in_channels: Optional[int] = None,
                 feature_index: int = -1,
                 frozen_modules: Sequence[str] = (),
                 norm_eval: bool = True,
                 drs: Optional[dict] = dict(delta=0.55, sites=None),
                 reconstruction_head: Optional[dict] = None,
                 reconstruction_loss: Optional[dict] = None,
                 asm_loss: Optional[dict] = None,
                 classifier: Optional[dict] = None,
                 relation_losses: Optional[Sequence[dict]] = None,
                 cdr_autocast: bool = False,
                 cdr_checkpoint_chunk: Optional[int] = 1,
                 cdr_decoder_checkpoint: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        _check_local_weights(backbone)
        self.backbone = MODELS.build(backbone)
        self.feature_index = feature_index
        self.norm_eval = norm_eval
        self._freeze(frozen_modules)
        if in_channels is None:
            with torch.no_grad():
                in_channels = self.backbone(torch.zeros(1, 3, 64, 64))[feature_index].shape[1]
        if classifier is None:
            self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        else:
            self.classifier = MODELS.build(dict(classifier, in_channels=in_channels, num_classes=num_classes))
        self.relation_losses = nn.ModuleList([MODELS.build(cfg) for cfg in relation_losses or ()])

        if (reconstruction_head is None) != (reconstruction_loss is None):
            raise ValueError('reconstruction_head and reconstruction_loss go together: set both (CDR on) or '
                             'neither (CDR off)')
        self.reconstruction_head = MODELS.build(reconstruction_head) if reconstruction_head else None
        self.reconstruction_loss = MODELS.build(reconstruction_loss) if reconstruction_loss else None
        self.asm_loss = MODELS.build(asm_loss) if asm_loss else None
        self.cdr_autocast = cdr_autocast
        if cdr_checkpoint_chunk is not None and (not isinstance(cdr_checkpoint_chunk, int) or cdr_checkpoint_chunk < 1):
            raise ValueError(f'model.cdr_checkpoint_chunk must be None or a positive int, got {cdr_checkpoint_chunk!r}')
        self.cdr_checkpoint_chunk = cdr_checkpoint_chunk
        self.cdr_decoder_checkpoint = bool(cdr_decoder_checkpoint)
        self.asm_enabled = False  # set by ASMWarmupHook; never saved, recomputed from the epoch on resume

        self.drs_hooks = None
        if drs is not None:
            sites = drs.get('sites') or official_drs_sites(self.backbone)
            self.drs_hooks = DRSHooks(sites, delta=drs.get('delta', 0.55))
            # training-only sites follow the backbone's training flag (True whenever this model trains)
            self.drs_hooks.attach(self.backbone)

    # ------------------------------------------------------------------ structure
    def _freeze(self, prefixes: Sequence[str]) -> None:
        modules = dict(self.backbone.named_modules())
        for prefix in prefixes:
            if prefix not in modules:
                raise KeyError(f'frozen_modules: backbone {type(self.backbone).__name__} has no module {prefix!r}')
            modules[prefix].requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    # ------------------------------------------------------------------ forward
    def cam_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw CAM features x_int (B×C×h×w, no ReLU) of normalised inputs."""
        return self.classifier(self.backbone(inputs)[self.feature_index])

    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        cam = self.cam_features(inputs)
        labels = torch.stack([s.gt_label for s in data_samples]).to(cam)
        if labels.shape[1] != cam.shape[1]:
            raise ValueError(f'model.num_classes is {cam.shape[1]} but the dataset has {labels.shape[1]} classes: '
                             'set model.num_classes (and model.reconstruction_head.num_classes) to the length '
                             "of the dataset's class list")
        losses = dict(loss_cls=F.multilabel_soft_margin_loss(cam.mean(dim=(2, 3)), labels))
        if self.reconstruction_head is not None:
            losses['loss_rec'] = self.cdr_loss(cam, inputs)
        if self.asm_loss is not None and self.asm_enabled:
            superpixels = torch.stack([s.gt_superpixels.data[0] for s in data_samples])
            losses['loss_asm'] = self.asm_loss(cam, superpixels, labels)
        if len(self.relation_losses):
            saliency = self._saliency(data_samples, inputs).to(cam)
            for relation_loss in self.relation_losses:
                losses[relation_loss.loss_name] = relation_loss(cam, labels, saliency)
        return losses

    @staticmethod
    def _saliency(data_samples: List, inputs: torch.Tensor) -> torch.Tensor:
        """The batch's saliency maps in [0, 1] (B×H×W), checked against the input size."""
        if not all('gt_saliency' in sample for sample in data_samples):
            raise KeyError('model.relation_losses need saliency maps: add LoadSaliency to the training pipeline and '
                           "data_prefix['saliency_path'] to the dataset")
        saliency = torch.stack([sample.gt_saliency.data[0] for sample in data_samples]).float() / 255
        if saliency.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f'saliency maps are {tuple(saliency.shape[-2:])} but the inputs '
                             f'{tuple(inputs.shape[-2:])}: resize/crop them together (seg_fields)')
        return saliency.to(inputs.device)

    def _reconstruct(self, cam: torch.Tensor) -> torch.Tensor:
        with torch.autocast(cam.device.type, dtype=torch.bfloat16, enabled=self.cdr_autocast):
            return self.reconstruction_head(cam)

    def _reconstruction_loss(self, reconstruction: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        if reconstruction.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f'the reconstruction is {tuple(reconstruction.shape[-2:])} but the crop is '
                             f'{tuple(inputs.shape[-2:])}: the crop must be 16 × the CAM size (e.g. 512 '
                             'at output stride 16)')
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=self.cdr_autocast):
            return self.reconstruction_loss(reconstruction, inputs).float()

    def _loss_and_gradient(self, reconstruction: torch.Tensor, inputs: torch.Tensor):
        """The reconstruction loss of a detached reconstruction and its gradient, the loss network's backward
        done now so that its activations are freed before the next chunk."""
        if reconstruction.dtype == torch.float16:
            raise ValueError('model.cdr_checkpoint_chunk computes the loss network\'s gradient outside the '
                             "optimiser's fp16 loss scaling, where it would underflow: use bf16 "
                             "(model.cdr_autocast=True, or AmpOptimWrapper with dtype='bfloat16')")
        leaf = reconstruction.detach().requires_grad_()
        with torch.enable_grad():
            loss = self._reconstruction_loss(leaf, inputs)
        gradient, = torch.autograd.grad(loss, leaf)
        return loss.detach(), gradient

    def cdr_loss(self, cam: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """β_p·L_p(D(x_int), x) of the batch (docs/method.md, 'CDR').

        With ``cdr_checkpoint_chunk`` = n the batch goes n samples at a time: the decoder runs under activation
        checkpointing (recomputed in backward; ``cdr_decoder_checkpoint=False`` keeps its activations), and the
        loss network's forward *and* backward run at once, giving the loss ℓ_c and g_c = ∂ℓ_c/∂x̂_c of the
        chunk's reconstruction x̂_c. The chunk then contributes

            ℓ_c + ⟨x̂_c, g_c⟩ − stop_grad(⟨x̂_c, g_c⟩),

        whose value is ℓ_c and whose gradient reaches the decoder and the CAM as J_D^T g_c: the same loss and
        gradients as the whole batch (every layer is per-sample and every sample has as many elements), with
        only one chunk's loss-network activations alive at a time and the loss network never recomputed.
        """
        chunk = self.cdr_checkpoint_chunk
        if chunk is None or not torch.is_grad_enabled():
            return self._reconstruction_loss(self._reconstruct(cam), inputs)
        total = cam.new_zeros(())
        for cam_chunk, input_chunk in zip(cam.split(chunk), inputs.split(chunk)):
            if self.cdr_decoder_checkpoint:
                reconstruction = checkpoint(self._reconstruct, cam_chunk, use_reentrant=False)
            else:
                reconstruction = self._reconstruct(cam_chunk)
            chunk_loss, gradient = self._loss_and_gradient(reconstruction, input_chunk)
            linear = (reconstruction.float() * gradient.float()).sum()
            total = total + (chunk_loss + linear - linear.detach()) * (len(cam_chunk) / len(cam))
        return total

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        cam = self.cam_features(inputs)
        if mode == 'predict':
            scores = cam.mean(dim=(2, 3)).sigmoid()
            for sample, score, sample_cam in zip(data_samples, scores, F.relu(cam)):
                sample.pred_score = score
                sample.pred_cam = sample_cam
            return data_samples
        if mode == 'tensor':
            return cam
        raise ValueError(f'unknown mode {mode!r}')

    # ------------------------------------------------------------------ optimisation
    def update_params_all(self, loss: torch.Tensor, optim_wrapper: OptimWrapperDict) -> None:
        """One backward of the summed loss, then step every optimiser in order (cam, then dec; docs/method.md,
        'cam_classifier')."""
        wrappers = list(optim_wrapper.values())
        wrappers[0].backward(loss)
        for wrapper in wrappers:
            wrapper.step()
            wrapper.zero_grad()

    def train_step(self, data, optim_wrapper):
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        data = self.data_preprocessor(data, True)
        losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.parse_losses(losses)
        self.update_params_all(parsed_loss, optim_wrapper)
        return log_vars
