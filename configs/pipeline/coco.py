# The paper's COCO 2014 run, every stage in one command (docs/stages.md, 'One command: the pipeline runner'):
#   python tools/pipeline.py configs/pipeline/coco.py --gpus 8
# Data: data/coco/{train2014,val2014}, annotations/instances_{train,val}2014.json and the val2014 ground-truth masks
# of tools/convert_coco.py (docs/data.md, 'COCO 2014'); the superpixel stage makes data/coco/superpixels.
# Batch sizes are per process: coco_beco.py is set for 8 GPUs (8 × 2 = the paper's 16); coco_cls.py and
# coco_irn.py hold VOC's single-GPU totals (6, 16), so with --gpus 8 add irn={'train_dataloader.batch_size': 2}
# to stage_cfg_options below to keep IRN's 16.
work_dir = 'work_dirs/ssc_coco'
data_root = 'data/coco'
# No pseudo_mask_list: every train2014 image with an instance annotation (the images that have image-level labels)
# gets CAMs, IR labels and pseudo masks, listed once in work_dir/image_list.txt. The CAM tools take their images
# from the cam_classifier config's test split (val2014 there, for its mAP), so the options below point it at train2014.
# No eval_list: COCO's train2014 masks are optional (tools/convert_coco.py ... masks/train2014); with them, add
# --cfg-options eval_mask_dir=masks/train2014 to score seeds, IR labels and pseudo masks. The segmenter is tested on
# val2014, its config's test split.
cam_config = 'configs/ssc/coco_cls.py'
irn_config = 'configs/ssc/coco_irn.py'
# BECO co-training (configs/ssc/coco_beco.py); configs/ssc/coco_deeplabv2.py trains one network on the confident
# pixels only (--cfg-options seg_config=...).
seg_config = 'configs/ssc/coco_beco.py'
stage_cfg_options = dict(cam_classifier={
    'test_dataloader.dataset.instances_file': 'annotations/instances_train2014.json',
    'test_dataloader.dataset.data_prefix.img_path': 'train2014'})
