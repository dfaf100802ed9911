# Stage 1 of the embedded demo (tools/demo.py): full SSC on the generated demo scenes (160×160, 5 classes), on CPU.
# Backbone: ImageNet EfficientNet-Lite0 (offline, tools/convert_efficientnet_lite.py), as configs/ssc/
# voc_cls_effnet_lite0.py. No ImageNet VGG19 exists offline, so the perceptual loss uses the same EfficientNet-Lite0
# as its frozen loss network (taps at strides 2/4/8/16, deeper taps weighted more, as VGG19's 1/32…1).
_base_ = ['../ssc/voc_cls_effnet_lite0.py']
data_root = 'work_dirs/demo/data'
num_classes = 5
crop_size = 128
pretrained = 'pretrained/tf_efficientnet_lite0.pth'
model = dict(
    num_classes=num_classes,
    backbone=dict(checkpoint=pretrained),
    reconstruction_head=dict(num_classes=num_classes),
    reconstruction_loss=dict(_delete_=True, type='PerceptualLoss', source='timm', arch='tf_efficientnet_lite0',
                             checkpoint=pretrained, taps=(0, 1, 2, 3), layer_weights=(1 / 8, 1 / 4, 1 / 2, 1),
                             # β_p: these taps give an L_p about 10× VGG19's (≈12 at the start here), so 0.1 keeps
                             # the reconstruction term on the scale of the official β_p = 1 with VGG19
                             loss_weight=0.1))
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='RandomLongSideResize', min_size=112, max_size=208),   # the official 320–640 relative to 512 crops
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size, img_pad_value=(127.5, 127.5, 127.5)),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
dataset = dict(type='ImageLabelDataset', classes='classes.txt', data_root=data_root,
               data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug',
                                superpixel_path='superpixels'))
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(dataset, ann_file='ImageSets/Segmentation/train.txt', superpixels='required',
                                     pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(dataset, ann_file='ImageSets/Segmentation/val.txt',
                                   pipeline=[dict(type='LoadImageRGB'), dict(type='PackClsInputs')]))
test_dataloader = val_dataloader
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = dict(
    cam=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)],
    dec=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)])
default_hooks = dict(logger=dict(interval=5))
