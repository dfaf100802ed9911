# SSC/BECO segmentation schedule (docs/method.md, 'segmentation'): SGD lr 0.01 for every parameter (no 10× head
# multiplier), momentum 0.9, weight decay 1e-4, poly decay (power 0.9) stepped every iteration.
# VOC: 100 epochs as the official main.py (the paper and its JSON config say 80: set max_epochs=80
# and the scheduler's end=80). 10,582 // 16 = 661 iterations per epoch, 66,100 in all (docs/method.md, 'segmentation').
# The official lr is max(0.01·(1 - it/max_it)^0.9, 1e-5); mmengine's PolyLR gives (0.01 - 1e-5)·(1 - it/max_it)^0.9
# + 1e-5, which differs by at most 1e-5.
# Validation runs every val_interval epochs on the evaluation split for monitoring only; no checkpoint is chosen
# by val mIoU (the official code keeps the best-on-val checkpoint, which selects on the evaluation split).
max_epochs = 100
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
