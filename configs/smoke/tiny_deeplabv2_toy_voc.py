# CPU smoke run of the segmentation stage on the generated toy VOC set (tools/make_toy_data.py): the same
# EncoderDecoder + DeepLabV2Head + PascalVOCDataset + IoUMetric path as configs/ssc/voc_deeplabv2.py, with a tiny
# OS-8 ResNet-18 (8 base channels, random init: no weights are read), 64×64 crops and a few iterations.
# Pseudo masks: data_root/pseudo_masks_confident (0..20, 255 = uncertain); tests write them.
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/voc12_pseudo_seg.py',
    '../_base_/default_runtime.py'
]
data_root = 'data/toy_voc'
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN cannot run on CPU (gloo)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, stem_channels=8, base_channels=8, norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(in_channels=64, num_classes=21))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='SegRandomResizedCrop', size=crop_size, scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(s, s), keep_ratio=False) for s in (48, 64)],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 4
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
