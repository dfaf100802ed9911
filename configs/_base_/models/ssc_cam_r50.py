# The SSC CAM classifier with the official ResNet-50 (docs/method.md, 'cam_classifier').
# torchvision-style ResNet-50 at output stride 16 WITHOUT dilation (strides 1,2,2,1 for layer1..4), BN statistics
# frozen (FixedBatchNorm = norm_eval), stem..layer2 frozen (the official detach after layer2).
model = dict(
    type='SSCCAMClassifier',
    num_classes=20,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=False),  # images are loaded as RGB
    backbone=dict(
        type='ResNet', depth=50, style='pytorch', strides=(1, 2, 2, 1), dilations=(1, 1, 1, 1),
        contract_dilation=False, out_indices=(3,), frozen_stages=2, norm_eval=True,
        norm_cfg=dict(type='BN', requires_grad=True),
        # torchvision's ImageNet ResNet-50 (V1, resnet50-19c8e357.pth, as the official code); a local file only.
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    in_channels=2048,
    norm_eval=True,
    # DRS δ = 0.55 on every layer4 block (train and inference) and on the detached layer2 output (training only).
    drs=dict(delta=0.55, sites=None),
    # CDR: the decoder (docs/method.md, 'CDR') on all CAM channels, perceptual loss with a frozen VGG19 (β_p =
    # loss_weight = 1).
    reconstruction_head=dict(type='ReconstructionHead', num_classes=20),
    reconstruction_loss=dict(type='PerceptualLoss', source='torchvision', arch='vgg19',
                             checkpoint='pretrained/vgg19-dcbb9e9d.pth', loss_weight=1.0),
    # ASM (β_a = loss_weight = 1, θ = 0.3, 8×8 erosion), switched on by ASMWarmupHook after 2 epochs.
    asm_loss=dict(type='ASMLoss', threshold=0.3, kernel_size=8, superpixel_stride=2,
                  use_reliable_selection=True, loss_weight=1.0),
    # cdr_checkpoint_chunk=1: the CDR branch one sample at a time. The loss and gradients are the official ones
    # (exact, tested), with one sample's decoder and loss-network activations in memory instead of the batch's:
    # 1.46x the baseline's peak memory instead of 4.47x at 512 / batch 6, and no slower (docs/benchmarks.md).
    # None = the official code's unchunked computation. cdr_autocast=True (opt-in, not exact): decoder + loss
    # network in bf16, ~1.5x faster on CPUs with AVX512-BF16 and on tensor cores.
    cdr_checkpoint_chunk=1,
    cdr_autocast=False)
