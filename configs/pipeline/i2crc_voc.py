# I²CRC on PASCAL VOC 2012, every stage in one command (docs/stages.md, 'I²CRC'):
#   python tools/pipeline.py configs/pipeline/i2crc_voc.py [--gpus 8]
# cam_classifier (VGG-16 "D1" + the two relation losses) → cams (one 256² view) → saliency_labels (CAM + saliency
# rule) → segmentation_round1 → round1_masks (its masks of train_aug, dense CRF) → refined_labels → segmentation.
# Data: data/VOCdevkit/VOC2012 with SBD's train_aug (docs/data.md) and one saliency map per image in
# saliency_aug/<id>.png (grayscale 0..255, the image's size) from a salient-object detector you run;
# weights: pretrained/vgg16-397923af.pth (classifier) and pretrained/resnet101-cd907fc2.pth (segmenter).
# Both segmentation rounds train mmssc's plain DeepLab-v2 config with its own schedule, not the official I²CRC
# segmenter settings (docs/method.md, 'I²CRC').
method = 'i2crc'
work_dir = 'work_dirs/i2crc_voc'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_mask_list = 'ImageSets/Segmentation/train_aug.txt'   # CAMs and pseudo-labels: train_aug (10,582)
eval_list = 'ImageSets/Segmentation/train.txt'              # scored on train (1,464)
cam_config = 'configs/i2crc/voc_cls.py'
seg_config = 'configs/ssc/voc_deeplabv2.py'                 # the segmenter is tested on val, its config's test split
