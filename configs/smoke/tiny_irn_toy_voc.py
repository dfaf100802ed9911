# CPU smoke run of the irn stage on the generated toy VOC set (tools/make_toy_data.py): the same IRNet, data pipeline,
# two learning rates, poly schedule and mean-shift hook as configs/ssc/voc_irn.py, with a random-init timm ResNet-18
# (no weight file is read), 128 crops (32×32 label grid: radius-10 pairs fit), batch 4 and 2 epochs.
# IR labels: pass the folder with --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/ir_labels.
_base_ = ['../ssc/voc_irn.py']
data_root = 'data/toy_voc'
crop_size = 128
mean_rgb = [123.675, 116.28, 103.53]
model = dict(backbone=dict(model_name='resnet18', checkpoint=None))
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadIRLabel'),
    dict(type='RandomRescale', scale_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb, seg_pad_value=255),
    dict(type='RescaleSegMaps', scale=0.25),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline))
mean_shift_dataloader = dict(
    batch_size=4, num_workers=0, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='IRLabelDataset', data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages'),
        pipeline=[dict(type='LoadImageRGB'),
                  dict(type='TopLeftCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb),
                  dict(type='PackSegInputs')]))
custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=mean_shift_dataloader)]
infer_dataloader = dict(dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train_aug.txt'))
max_epochs = 2
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2))
