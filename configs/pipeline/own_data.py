# Your own data, image-level labels → pseudo masks → DeepLab-v2 (docs/stages.md, "Your own data, end to end"):
#   data/my_dataset/images/<id>.jpg, labels.csv, classes.txt [, masks/<id>.png for scoring]
#   python tools/pipeline.py configs/pipeline/own_data.py
work_dir = 'work_dirs/my_dataset'
data_root = 'data/my_dataset'
num_classes = 5                 # the number of names in classes.txt (no background)
# No pseudo_mask_list: every image of labels.csv gets CAMs, IR labels and pseudo masks (listed once in
# work_dir/image_list.txt). eval_mask_dir: those of them with a ground-truth mask there are scored (seeds, IR
# labels, pseudo masks); without masks, remove it and stop before the segmenter's test (README).
eval_mask_dir = 'masks'
cam_config = 'configs/own_data/cls.py'
irn_config = 'configs/own_data/irn.py'
seg_config = 'configs/own_data/deeplabv2.py'
stage_cfg_options = dict(
    cam_classifier={'model.num_classes': num_classes, 'model.reconstruction_head.num_classes': num_classes},
    segmentation={'model.decode_head.num_classes': num_classes + 1})
