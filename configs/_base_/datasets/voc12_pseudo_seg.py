# PASCAL VOC 2012 + SBD: train DeepLab-v2 on SSC's pseudo masks (train_aug, 10,582 images), evaluate on the real
# ground truth of val (1,449) with mmseg's IoUMetric (docs/method.md, 'segmentation'; docs/stack_fixes.md).
#
# Pseudo masks: one class-index PNG per train_aug image (0 = background, 1..20, 255 = uncertain/ignored), i.e.
# the pseudo_masks stage's `pseudo_masks_confident` folder. Set the folder with
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/path/to/pseudo_masks_confident
# (relative paths are taken relative to data_root). A pseudo-mask folder plus a separate folder of 0/1 (or 0/255)
# confidence masks works too: add dict(type='ApplyConfidenceMask', conf_dir=...) right after LoadAnnotations.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_mask_dir = 'pseudo_masks_confident'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # BECO's crop: area U(0.5, 0.75) of the image, aspect ratio in [3/4, 4/3], resized to 512×512 (docs/method.md,
    # 'segmentation').
    dict(type='SegRandomResizedCrop', size=crop_size, scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # Stand-in for BECO's photometric augmentation (brightness/contrast + hue/saturation p=0.8, gray p=0.2,
    # Gaussian blur p=0.5; docs/method.md, 'segmentation'), which lives inside BECO's training step.
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# Official test input: the image resized to 512×512 (aspect ratio not kept, docs/method.md, 'segmentation'). mmseg
# resizes the prediction back and scores it against the original-size ground truth (loaded after the resize).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# Multi-scale test (`tools/test.py ... --tta`): the official scales 0.5-1.5 × 512 (docs/method.md,
# 'segmentation'), plus horizontal flip.
# mmseg's SegTTAModel averages the softmax over the views; the official code takes the pixel-wise max of the
# logits over scales without flip, so numbers can differ slightly.
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(int(crop_size[0] * r), int(crop_size[1] * r)), keep_ratio=False)
             for r in img_ratios],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(
    batch_size=16,  # per process; the official total batch is 16 (docs/method.md, 'segmentation')
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_mask_dir),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        # Real ground truth (SegmentationClass holds the same val masks).
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
