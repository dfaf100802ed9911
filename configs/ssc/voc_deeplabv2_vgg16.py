# The paper's VGG16 rows (Table III: 66.8 val / 67.4 test on VOC): DeepLab-v2 with VGG-16 ("ASPP-L").
# * Backbone: VGG-16 convolutions at output stride 8 (pool4/pool5 stride 1, conv5 dilation 2), from torchvision's
#   ImageNet vgg16 (local file vgg16-397923af.pth; `torchvision.models.vgg16(weights='IMAGENET1K_V1')`).
# * Head: four branches fc6 (3×3, rate 6/12/18/24, 1024) → fc7 (1×1, 1024) → fc8 (1×1, classes), dropout 0.5,
#   summed. DeepLab-v2 initialised fc6/fc7 from a subsampled ImageNet fc6/fc7 (a caffe model); torchvision's file
#   has no such layers, so they start from N(0, 0.01) here.
# * Optimisation: the DeepLab-v2 VGG defaults (lr 1e-3, 10× on the head, weight decay 5e-4; no BN so a smaller lr
#   than the ResNet recipe). The paper gives no VGG-specific values; data, schedule and batch follow the ResNet
#   config.
_base_ = ['./voc_deeplabv2.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='DeepLabVGG16',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vgg16-397923af.pth')),
    decode_head=dict(in_channels=512, branch_channels=1024, branch_dropout=0.5))
optim_wrapper = dict(
    optimizer=dict(lr=1e-3, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
