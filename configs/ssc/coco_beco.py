# SSC's segmentation stage on COCO 2014 with BECO co-training (docs/method.md, 'BECO co-training'): two DeepLab-v2
# ResNet-101 (OS 8) networks, 81 classes, trained on SSC's pseudo masks of train2014 and their confidence masks,
# evaluated on val2014 (tools/convert_coco.py). mmseg-style name: beco_deeplabv2_r101-d8_8xb2-40e_coco14-512x512.
#
#   bash tools/dist_train.sh configs/ssc/coco_beco.py 8 \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$PWD/work_dirs/ssc_coco/pseudo_masks
#   bash tools/dist_test.sh configs/ssc/coco_beco.py work_dirs/coco_beco/epoch_40.pth 8 [--tta]
#
# The official repository has no COCO segmentation training; this follows configs/ssc/coco_deeplabv2.py (the
# paper's 40 epochs, batch 16 as 8 GPUs × 2, SyncBN over all 16) with VOC's BECO settings. With 2 images per
# process the class-mix pairs those two (on one GPU with batch 16, as on VOC, it pairs 8 × 2).
# Paper value: 47.0 mIoU on val2014 (ResNet-101). Paper variants as on VOC (configs/ssc/voc_beco.py).
_base_ = [
    '../_base_/models/beco_deeplabv2_r101.py', '../_base_/datasets/coco14_beco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/sgd_poly_40e.py'
]
model = dict(decode_head=dict(num_classes=81))
randomness = dict(seed=3223)
