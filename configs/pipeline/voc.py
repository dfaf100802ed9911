# The paper's PASCAL VOC 2012 run, every stage in one command (docs/stages.md, 'One command: the pipeline runner'):
#   python tools/pipeline.py configs/pipeline/voc.py --gpus 8
# Data: data/VOCdevkit/VOC2012 with SBD's train_aug and the superpixels (docs/data.md, 'PASCAL VOC 2012 + SBD');
# weights: pretrained/resnet50-19c8e357.pth, vgg19-dcbb9e9d.pth, resnet101-cd907fc2.pth (README).
# Batch sizes are per process: the stage configs hold the official single-GPU totals (6, 16, 16). With --gpus N
# each stage trains with N times that; to keep the official totals of IRN and DeepLab-v2 add, for N = 8,
#   stage_cfg_options = dict(irn={'train_dataloader.batch_size': 2}, segmentation={'train_dataloader.batch_size': 2})
# (cam_classifier's 6 does not split over 8 processes: configs/ssc/voc_cls.py).
work_dir = 'work_dirs/ssc_voc'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_mask_list = 'ImageSets/Segmentation/train_aug.txt'   # CAMs, IR labels and pseudo masks: train_aug (10,582)
eval_list = 'ImageSets/Segmentation/train.txt'              # seeds, IR labels, pseudo masks scored on train (1,464)
cam_config = 'configs/ssc/voc_cls.py'                       # the segmenter is tested on val, its config's test split
irn_config = 'configs/ssc/voc_irn.py'
# BECO co-training as the official code trains the segmenter (labels pseudo_masks/, confidence pseudo_masks_confident/);
# configs/ssc/voc_deeplabv2.py trains one network on the confident pixels only (--cfg-options seg_config=...).
seg_config = 'configs/ssc/voc_beco.py'
