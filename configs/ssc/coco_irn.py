# SSC's irn stage on COCO 2014 train: the VOC IRN recipe of voc_irn.py (frozen ImageNet ResNet-50, radius-10 pairs,
# batch 16, 3 epochs, lr 0.1 / 1.0, poly 0.9) on train2014, as coco_cls.py carries the VOC cam_classifier settings
# over to COCO. The paper gives no COCO-specific IRN values and the official code has no COCO IRN.
#
#   python tools/train.py configs/ssc/coco_irn.py --work-dir W/irn \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$PWD/W/ir_labels
#   python tools/make_pseudo_masks.py configs/ssc/coco_irn.py W/irn/epoch_3.pth --work-dir W --ann-file LIST
#
# (W = the pipeline work_dir; configs/pipeline/coco.py runs both.)
_base_ = ['./voc_irn.py']
data_root = 'data/coco'
crop_size = 512
mean_rgb = [123.675, 116.28, 103.53]
# No image lists: IRN trains on every image that has an IR label (the ir_labels stage writes one per annotated
# train2014 image); the pseudo-mask stage gets its list from the pipeline (--ann-file).
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='',
                                     data_prefix=dict(img_path='train2014', seg_map_path='ir_labels')))
# The mean displacement after training: VOC takes it over train.txt; COCO has no such subset, so every image of
# train2014 (the training images, as on VOC).
mean_shift_dataloader = dict(
    batch_size=16, num_workers=4, drop_last=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='IRLabelDataset', data_root=data_root, ann_file='', data_prefix=dict(img_path='train2014'),
                 pipeline=[dict(type='LoadImageRGB'),
                           dict(type='TopLeftCropWithPad', crop_size=crop_size, img_pad_value=mean_rgb),
                           dict(type='PackSegInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape'))]))
custom_hooks = [dict(type='IRNMeanShiftHook', dataloader=mean_shift_dataloader)]
infer_dataloader = dict(dataset=dict(data_root=data_root, ann_file='', data_prefix=dict(img_path='train2014')))
