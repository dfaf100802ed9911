# The irn stage of the embedded demo: the same frozen EfficientNet-Lite0 as cam_classifier at output stride 16,
# 128 crops.
#
# Scale (s = 128 / 512 = 1/4, as configs/demo/demo_cls.py): the official radius-10 training pairs live on the
# 128×128 label grid of a 512 crop (stride 4); the demo's grid is 32×32, so the radius is 10·s = 2.5 → 3, which
# reaches as far across an object, relative to its size, as the official pairs do.
# Length in iterations: the official 3 epochs are 1,983 iterations of batch 16 on VOC's 10,582 images; 3 epochs of
# the demo's 160 images at batch 8 would be 60 iterations, too few for the boundary branch to learn anything. 200
# iterations (10 epochs) train it to a stable loss on 2 CPU cores in under a minute.
_base_ = ['../ssc/voc_irn.py']
data_root = 'work_dirs/demo/data'
crop_size = 128
mean_rgb = [127.5, 127.5, 127.5]
model = dict(
    data_preprocessor=dict(mean=mean_rgb, std=[127.5, 127.5, 127.5]),
    backbone=dict(model_name='tf_efficientnet_lite0', checkpoint='pretrained/tf_efficientnet_lite0.pth',
                  last_stage_stride=None, output_stride=16),
    path_radius=3)
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
max_iters = 200
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
