# SSC's irn stage on PASCAL VOC 2012 train_aug: IRN (boundary + displacement branches) on a frozen ImageNet ResNet-50,
# trained from the IR labels (ir_labels stage) with the official settings (docs/method.md, 'IRN'): radius-10 pairs
# on the 128×128 label grid, batch 16, 3 epochs (1,983 iterations on one process), lr 0.1 (boundary) / 1.0
# (displacement), wd 1e-4, momentum 1e-4 (the official positional-argument quirk; the paper says 0.9), poly 0.9.
#
#   python tools/train.py configs/ssc/voc_irn.py --work-dir W/irn \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$PWD/W/ir_labels
#   python tools/make_pseudo_masks.py configs/ssc/voc_irn.py W/irn/epoch_3.pth --work-dir W
#
# (W = the pipeline work_dir, mmssc/stage_files.py.) With N GPUs (tools/dist_train.sh ... N) set
# train_dataloader.batch_size=16//N to keep the official total of 16. The last checkpoint holds the mean-shift
# statistic (IRNMeanShiftHook, computed on train.txt after the last epoch).
# Needs the local weight file pretrained/resnet50-19c8e357.pth (torchvision's ImageNet ResNet-50 V1; it loads into
# timm's resnet50 unchanged; README "Pretrained weights"). Another timm backbone: set model.backbone.model_name /
# checkpoint and, if its levels differ from ResNet's five, model.displacement_channels / displacement_groups.
_base_ = ['../_base_/default_runtime.py']
data_root = 'data/VOCdevkit/VOC2012'
crop_size = 512
mean_rgb = [123.675, 116.28, 103.53]
model = dict(
    type='IRNet',
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=mean_rgb, std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=False),  # images are loaded as RGB
    # plain ResNet-50 (no DRS), strides 2,2,2,1 = output stride 16 without dilation (layer4 stride 1), FixedBN;
    # fully frozen by IRNet
    backbone=dict(type='TimmFeatureBackbone', model_name='resnet50', last_stage_stride=1,
                  checkpoint='pretrained/resnet50-19c8e357.pth'),
    edge_channels=32, edge_groups=4,                                   # fc_edge1..5: 32 ch, GN(4); fc_edge6 160→1
    displacement_channels=(64, 128, 256, 256, 256),                    # fc_dp1..5
    displacement_groups=(8, 16, 16, 16, 16),
    displacement_fuse_channels=256, displacement_fuse_groups=16,      # fc_dp6 (768→256), fc_dp7 (448→256→2)
    path_radius=10,
    ignore_index=255)
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadIRLabel'),
    dict(type='RandomRescale', scale_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb, seg_pad_value=255),
    dict(type='RescaleSegMaps', scale=0.25),                           # 512 → 128, PIL nearest
    dict(type='PackSegInputs', meta_keys=('img_id', 'img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                                          'scale_factor', 'flip', 'flip_direction')),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='IRLabelDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        # the ir_labels stage's output; relative paths are under data_root: pass the pipeline's W/ir_labels (absolute)
        data_prefix=dict(img_path='JPEGImages', seg_map_path='ir_labels'),
        pipeline=train_pipeline))
# After training: the mean displacement over train.txt, top-left 512 crop, batch 16, drop_last (docs/method.md, 'IRN').
mean_shift_dataloader = dict(
    batch_size=16,
    num_workers=4,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='IRLabelDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages'),
        pipeline=[dict(type='LoadImageRGB'),
                  dict(type='TopLeftCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb),
                  dict(type='PackSegInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape'))]))
custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=mean_shift_dataloader)]
# The images tools/make_pseudo_masks.py runs over (pseudo_masks stage, docs/method.md, 'Random walk': train_aug), with
# their CAMs in W/cams.
infer_dataloader = dict(
    dataset=dict(type='IRLabelDataset', data_root=data_root, ann_file='ImageSets/Segmentation/train_aug.txt',
                 data_prefix=dict(img_path='JPEGImages'), pipeline=[]))

max_epochs = 3
# Two parameter groups: boundary branch lr 0.1, displacement branch lr 1.0 (×10); the frozen backbone gets no
# gradients, so SGD leaves it alone.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'displacement_branch': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
test_cfg = None
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
