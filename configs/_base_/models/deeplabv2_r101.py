# DeepLab-v2 with a ResNet-101 backbone, as SSC's segmentation stage builds it (docs/method.md, 'segmentation').
# * Backbone: torchvision-layout ResNet-101 ("resnet-B": 7×7 stem, stride on the 3×3 conv), output stride 8:
#   strides (1, 2, 1, 1), dilations (1, 1, 2, 4), no contracted dilation and no multi-grid; layer4 only.
#   (The paper says OS 16; the official code uses 8.) Trainable BN, not frozen.
# * Head: four 3×3 dilated convolutions 2048 → classes, rates 6/12/18/24, with bias, summed; N(0, 0.01).
# * Init: torchvision's ImageNet ResNet-101. The official code uses IMAGENET1K_V2 (resnet101-cd907fc2.pth, 81.9 %
#   top-1), a stronger start than the classic DeepLab init. Nothing is downloaded: put the file at the path below
#   (e.g. `torchvision.models.resnet101(weights='IMAGENET1K_V2')` on a machine with internet, then
#   `torch.save(model.state_dict(), 'pretrained/resnet101-cd907fc2.pth')`) or override
#   `model.backbone.init_cfg.checkpoint`. A missing file stops training with FileNotFoundError naming the path.
#   Its `fc.*` keys are reported as unused; everything else matches mmseg's `ResNet` names.
# * BN: SyncBN. One process reverts it to BN automatically (same as the official single-GPU BN over a batch of
#   16); with N GPUs it normalises over the whole batch, as the official batch-16 BN did. CPU/gloo runs cannot use
#   SyncBN: pass `--cfg-options model.backbone.norm_cfg.type=BN`.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet mean/std (docs/method.md, 'Pipeline overview'), RGB, 0..255
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        in_channels=3,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet101-cd907fc2.pth')),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=0,
        num_classes=21,
        dilations=(6, 12, 18, 24),
        dropout_ratio=0.0,
        align_corners=False,
        # 255 = uncertain / unlabelled; averaged over the labelled pixels, like PyTorch's CE with ignore_index.
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    auxiliary_head=None,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
