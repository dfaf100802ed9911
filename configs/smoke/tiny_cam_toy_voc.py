# Smoke run: a few-thousand-parameter CAM classifier on the generated toy VOC set (tools/make_toy_data.py).
# Exercises the full cam_classifier data path (images + superpixels + joint transforms) through the stock Runner.
_base_ = ['../_base_/datasets/voc12_cls.py', '../_base_/default_runtime.py']
data_root = 'data/toy_voc'
crop_size = 64
model = dict(
    type='TinyCAMClassifier',
    num_classes=20,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=False))
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                 pipeline=[
                     dict(type='LoadImageRGB'),
                     dict(type='LoadSuperpixels'),
                     dict(type='RandomLongSideResize', min_size=48, max_size=96),
                     dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                     dict(type='RandomCropWithPad', crop_size=crop_size),
                     dict(type='RelabelSuperpixels'),
                     dict(type='PackClsInputs'),
                 ]))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=4,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
