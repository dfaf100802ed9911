# I²CRC's classifier on PASCAL VOC 2012 train_aug, the official recipe (docs/method.md, 'I²CRC'):
# VGG-16 "D1" (stride 8, dilated conv5) + 3 extra 3×3 convs + 1×1 conv with bias, 256×256 square input with colour
# jitter, MLSM + 0.01·L_center(s) + 0.025·L_center(1−s) + 0.1·L_dist, SGD Nesterov, 30 epochs, batch 5.
#   python tools/train.py configs/i2crc/voc_cls.py --work-dir work_dirs/i2crc_voc/cam_classifier
# Needs pretrained/vgg16-397923af.pth (torchvision's ImageNet VGG-16, a local file: a missing one is an error at
# build time, nothing is downloaded) and the saliency maps in <data_root>/saliency_aug/<id>.png (grayscale 0..255,
# from a salient-object detector the user runs; docs/stages.md, 'I²CRC').
# Any timm backbone works instead: backbone=dict(_delete_=True, type='TimmFeatureBackbone', ...), in_channels=None
# (configs/i2crc/demo_cls.py).
_base_ = ['../_base_/datasets/voc12_cls.py', '../_base_/default_runtime.py']
num_classes = 20
input_size = 256
model = dict(
    type='SSCCAMClassifier',
    num_classes=num_classes,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=False),  # images are loaded as RGB
    backbone=dict(type='I2CRCVGG16',
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/vgg16-397923af.pth')),
    in_channels=512,
    norm_eval=False,  # VGG-16 has no BatchNorm
    drs=None,
    classifier=dict(type='I2CRCCamHead', channels=512, num_convs=3),
    relation_losses=[
        dict(type='ClassAgnosticDistanceLoss', fg_weight=0.01, bg_weight=0.025, single_label_only=True),
        dict(type='ClassSpecificDistanceLoss', loss_weight=0.1)])
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSaliency'),
    dict(type='SquareResize', size=input_size),   # no flip, no crop (official)
    dict(type='ColorJitterRGB', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=5,
    dataset=dict(data_prefix=dict(_delete_=True, img_path='JPEGImages', seg_map_path='SegmentationClassAug',
                                  saliency_path='saliency_aug'),
                 superpixels=None, pipeline=train_pipeline))
# SGD with Nesterov momentum; lr 1e-3 backbone weights, 2e-3 backbone biases, 1e-2 extra-conv weights, 2e-2
# extra-conv biases. A custom key's lr_mult replaces bias_lr_mult (mmengine), so each extra-conv bias has its own key.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, custom_keys={
        'classifier': dict(lr_mult=10.0),
        'classifier.extra_convs.0.bias': dict(lr_mult=20.0),
        'classifier.extra_convs.2.bias': dict(lr_mult=20.0),
        'classifier.extra_convs.4.bias': dict(lr_mult=20.0),
        'classifier.extra_convs.6.bias': dict(lr_mult=20.0)}))
max_epochs = 30
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[5, 10], gamma=0.1)]  # ×0.1 at epochs 5, 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# CAM extraction (256 input, single scale, no flip): mmssc.stages.i2crc_cams / tools/make_i2crc_cam.py.
i2crc_cam_input_size = input_size
