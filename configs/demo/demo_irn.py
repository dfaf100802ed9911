# Stage 4 (IRN) of the embedded demo: the same frozen EfficientNet-Lite0 as stage 1, 128 crops (a 32×32 label grid
# for the radius-10 pairs), batch 8, 3 epochs as the official schedule.
_base_ = ['../ssc/voc_irn.py']
data_root = 'work_dirs/demo/data'
crop_size = 128
mean_rgb = [127.5, 127.5, 127.5]
model = dict(
    data_preprocessor=dict(mean=mean_rgb, std=[127.5, 127.5, 127.5]),
    backbone=dict(model_name='tf_efficientnet_lite0', checkpoint='pretrained/tf_efficientnet_lite0.pth',
                  last_stage_stride=None, output_stride=16))
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadIRLabel'),
    dict(type='RandomRescale', scale_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb, seg_pad_value=255),
    dict(type='RescaleSegMaps', scale=0.25),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                                     pipeline=train_pipeline))
mean_shift_dataloader = dict(
    batch_size=8, num_workers=0, drop_last=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='IRLabelDataset', data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                 data_prefix=dict(img_path='JPEGImages'),
                 pipeline=[dict(type='LoadImageRGB'),
                           dict(type='TopLeftCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb),
                           dict(type='PackSegInputs')]))
custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=mean_shift_dataloader)]
infer_dataloader = dict(dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt'))
default_hooks = dict(logger=dict(interval=5))
