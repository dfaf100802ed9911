# cam_classifier optimisation (docs/method.md, 'cam_classifier'): one summed backward, then SGD (backbone +
# classifier) and Adam (decoder).
#
# OFFICIAL vs PAPER: the paper says SGD momentum 0.9, but the official PolyOptimizer passes weight_decay as SGD's
# third positional argument (momentum), so the code runs with momentum 1e-4 and uses 0.9 as the poly power. We
# reproduce the code: momentum=1e-4. For the paper's variant set
#   optim_wrapper.cam.optimizer.momentum=0.9   (e.g. --cfg-options optim_wrapper.cam.optimizer.momentum=0.9)
max_epochs = 10
optim_wrapper = dict(
    constructor='SubmoduleOptimWrapperConstructor',
    cam=dict(type='OptimWrapper', modules=['backbone', 'classifier'],
             optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
             paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0)})),   # head lr 1.0
    # the decoder's optimiser; skipped automatically when the model has no reconstruction_head (ablations)
    dec=dict(type='OptimWrapper', modules=['reconstruction_head'],
             optimizer=dict(type='Adam', lr=5e-4, betas=(0.5, 0.999), weight_decay=0)))
# per-iteration poly decay (power 0.9) to 0 over all iterations, for both optimisers
param_scheduler = dict(
    cam=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs,
              convert_to_iter_based=True)],
    dec=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs,
              convert_to_iter_based=True)])
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# ASM starts at epoch 2 (epochs 0–1 train L_cls + L_p only)
custom_hooks = [dict(type='ASMWarmupHook', start_epoch=2)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
