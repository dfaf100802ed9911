# Full SSC cam_classifier stage (DRS + CDR + ASM, two optimisers, warm-up hook) at toy scale for CPU tests and demos:
# a random-init timm ResNet-18 at output stride 16, crop 64, on the generated toy VOC set (tools/make_toy_data.py).
# The perceptual loss runs with a RANDOM VGG19 here (allow_random_weights): fine for exercising the code path.
_base_ = ['./voc_cls.py']
data_root = 'data/toy_voc'
crop_size = 64
model = dict(
    backbone=dict(_delete_=True, type='TimmFeatureBackbone', model_name='resnet18', output_stride=16,
                  out_indices=(4,)),
    in_channels=None,
    frozen_modules=['model.conv1', 'model.bn1', 'model.layer1', 'model.layer2'],
    reconstruction_loss=dict(checkpoint=None, allow_random_weights=True))
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='RandomLongSideResize', min_size=48, max_size=96),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                                     pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(cam=dict(optimizer=dict(lr=0.05)))
param_scheduler = dict(
    cam=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)],
    dec=[dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)])
default_hooks = dict(logger=dict(interval=1))
