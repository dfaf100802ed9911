# SSC's segmentation stage on COCO 2014: DeepLab-v2 ResNet-101 (OS 8), 81 classes, trained on SSC pseudo masks of
# train2014
# with the confidence mask applied, evaluated on val2014 ground truth (tools/convert_coco.py) with IoUMetric.
# mmseg-style name: deeplabv2_r101-d8_8xb2-40e_coco14-512x512 (pseudo masks).
#
#   bash tools/dist_train.sh configs/ssc/coco_deeplabv2.py 8 \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$PWD/work_dirs/<stage4>/pseudo_masks_confident
#   bash tools/dist_test.sh configs/ssc/coco_deeplabv2.py work_dirs/coco_deeplabv2/epoch_40.pth 8 [--tta]
#
# Paper values: 47.0 mIoU on val2014 (ResNet-101), 40 epochs, batch 16 (8 GPUs × 2 here, SyncBN over all 16).
# The official repository has no COCO segmentation training (docs/method.md, 'Pipeline overview'); everything else
# follows the VOC recipe.
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/coco14_pseudo_seg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/sgd_poly_40e.py'
]
model = dict(decode_head=dict(num_classes=81))
randomness = dict(seed=3223)
