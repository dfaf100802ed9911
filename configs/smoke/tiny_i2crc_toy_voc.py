# I²CRC's classifier (configs/i2crc/voc_cls.py) at toy scale for CPU tests: the same relation losses, optimiser
# groups and square input, with a random-init timm ResNet-18 at output stride 8 instead of the ImageNet VGG-16 "D1"
# (no weights are read), a 16-channel head, 64×64 input and 2 epochs, on the generated toy VOC set
# (tools/make_toy_data.py DIR --saliency writes its stand-in saliency maps to DIR/saliency).
_base_ = ['../i2crc/voc_cls.py']
data_root = 'data/toy_voc'
input_size = 64
model = dict(
    backbone=dict(_delete_=True, type='TimmFeatureBackbone', model_name='resnet18', output_stride=8,
                  out_indices=(4,)),
    in_channels=None,
    classifier=dict(channels=16))
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSaliency'),
    dict(type='SquareResize', size=input_size),
    dict(type='ColorJitterRGB', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                                     data_prefix=dict(saliency_path='saliency'), pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 2
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=1))
i2crc_cam_input_size = input_size
