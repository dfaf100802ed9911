# The irn stage on your own data, trained from the IR labels the pipeline writes (configs/pipeline/own_data.py sets
# their folder). The official IRN recipe (crop 512, batch 16, 3 epochs) on the offline ImageNet EfficientNet-Lite0
# (frozen, as the official ResNet-50), at output stride 16.
_base_ = ['../ssc/voc_irn.py']
data_root = 'data/my_dataset'
crop_size = 512
mean_rgb = [127.5, 127.5, 127.5]  # EfficientNet-Lite's normalisation; the crop padding normalises to 0
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
# No image lists: IRN trains on every image that has an IR label, and the pseudo-mask stage gets its list from
# the pipeline (the images of labels.csv).
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='', pipeline=train_pipeline,
                                     data_prefix=dict(img_path='images', seg_map_path='ir_labels')))
mean_shift_dataloader = dict(
    batch_size=16, num_workers=4, drop_last=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='IRLabelDataset', data_root=data_root, ann_file='', data_prefix=dict(img_path='images'),
                 pipeline=[dict(type='LoadImageRGB'),
                           dict(type='TopLeftCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb),
                           dict(type='PackSegInputs')]))
custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=mean_shift_dataloader)]
infer_dataloader = dict(dataset=dict(data_root=data_root, ann_file='', data_prefix=dict(img_path='images')))
