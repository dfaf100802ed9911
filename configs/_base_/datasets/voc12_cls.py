# PASCAL VOC 2012 + SBD ("train_aug", 10,582 images) with image-level labels and superpixels (docs/method.md,
# 'cam_classifier').
# Superpixels are the 24-bit PNGs distributed with the paper's data, or made with tools/make_superpixels.py.
dataset_type = 'VOCClsDataset'
# Image-level labels: 'auto' reads the VOC XML annotations (Annotations/<id>.xml), the official labels, when that
# folder exists, and otherwise derives them from the SegmentationClassAug masks (which miss a class on a few
# percent of images). The dataset's log line says which was used; 'xml' requires the official labels.
label_source = 'auto'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = 512
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='RandomLongSideResize', min_size=320, max_size=640),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='LoadImageRGB'), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug',
                         superpixel_path='superpixels'),
        superpixels='required',
        label_source=label_source,
        pipeline=train_pipeline))
# Classification mAP on val (batch 1: images keep their own size).
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source=label_source,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiLabelMAP')
test_evaluator = val_evaluator
