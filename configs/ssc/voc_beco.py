# SSC's segmentation stage on PASCAL VOC 2012 as the official code runs it: BECO co-training of two DeepLab-v2
# ResNet-101 (OS 8) networks on SSC's pseudo masks and confidence masks, evaluated on the val ground truth
# (docs/method.md, 'BECO co-training'). mmseg-style name: beco_deeplabv2_r101-d8_1xb16-100e_voc12aug-512x512.
#
#   W=work_dirs/ssc_voc   # the pseudo_masks stage's work_dir: W/pseudo_masks and W/pseudo_masks_confident
#   python tools/train.py configs/ssc/voc_beco.py \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$PWD/$W/pseudo_masks
#   python tools/test.py configs/ssc/voc_beco.py work_dirs/voc_beco/epoch_100.pth \
#       --cfg-options model.test_cfg.mode=multi_scale_max        # the official multi-scale max test
#   python tools/test.py configs/ssc/voc_beco.py work_dirs/voc_beco/epoch_100.pth --tta   # or mmseg's TTA
#
# Official settings (segmentation/main.py): batch 16 on one GPU, 512×512 crops of area U(0.5, 0.75), flip, BECO's
# photometric augmentation, SGD lr 0.01 for every parameter of both networks (momentum 0.9, wd 1e-4), poly 0.9 per
# iteration down to 1e-5, warm-up 2 epochs, seed 3223, 100 epochs (661 iterations each).
# Where the paper differs (config values, not separate files):
#   * 80 epochs (paper and the unused JSON):
#       --cfg-options train_cfg.max_epochs=80 param_scheduler.0.end=80
#   * output stride 16 (paper; the code uses 8):
#       --cfg-options "model.backbone.strides=(1,2,2,1)" "model.backbone.dilations=(1,1,1,2)"
#   * warm-up 1 epoch (the unused JSON): --cfg-options model.beco.warm_up_epochs=1
# Paper values: 72.7 mIoU val / 72.8 test (ResNet-101).
# With N GPUs set train_dataloader.batch_size=16//N: the class-mix pairs images within each process's batch.
_base_ = [
    '../_base_/models/beco_deeplabv2_r101.py', '../_base_/datasets/voc12_beco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/sgd_poly_100e.py'
]
model = dict(decode_head=dict(num_classes=21))
randomness = dict(seed=3223)  # the official seed
