# CPU smoke run of BECO co-training on the generated toy VOC set (tools/make_toy_data.py): the same BECOSegmentor,
# LoadConfidenceMask / PackBECOInputs and BECOWarmupHook path as configs/ssc/voc_beco.py, with
# ./tiny_deeplabv2_toy_voc.py's tiny OS-8 ResNet-18 (random init), 64×64 crops and 2 epochs of 3 iterations
# (12 images, batch 4) with a 1-epoch warm-up, so both phases run. Labels: data_root/pseudo_masks (0..20);
# confidence: data_root/pseudo_masks_confident (255 = uncertain); tests write both.
_base_ = ['./tiny_deeplabv2_toy_voc.py']
crop_size = (64, 64)
model = dict(type='BECOSegmentor', beco=dict(warm_up_epochs=1), test_cfg=dict(mode='whole', scales=(0.75, 1.25)))
custom_hooks = [dict(type='BECOWarmupHook')]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadConfidenceMask', conf_dir='pseudo_masks_confident', conf_format='ignore_label'),
    dict(type='SegRandomResizedCrop', size=crop_size, scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackBECOInputs'),
]
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(data_prefix=dict(seg_map_path='pseudo_masks'), pipeline=train_pipeline))
pipeline_inputs = {'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks'}
max_epochs = 2
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=max_epochs, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
log_processor = dict(by_epoch=True)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1))
