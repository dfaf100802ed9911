# Your own data, image-level labels → pseudo masks → DeepLab-v2 (docs/stages.md, "Your own data, end to end"):
#   data/my_dataset/images/<id>.jpg, labels.csv, classes.txt [, masks/<id>.png for scoring]
#   python tools/pipeline.py configs/pipeline/own_data.py
work_dir = 'work_dirs/my_dataset'
data_root = 'data/my_dataset'
# One foreground class name per line (under data_root). The runner counts the names and sets the classifier's
# class count (n) and the segmenter's (n + 1, with background), so no number needs editing here.
classes_file = 'classes.txt'
# No pseudo_mask_list: every image of labels.csv gets CAMs, IR labels and pseudo masks (listed once in
# work_dir/image_list.txt). eval_mask_dir: those of them with a ground-truth mask there are scored (seeds, IR
# labels, pseudo masks); without masks, remove it and stop before the segmenter's test (README).
eval_mask_dir = 'masks'
cam_config = 'configs/own_data/cls.py'
irn_config = 'configs/own_data/irn.py'
seg_config = 'configs/own_data/deeplabv2.py'
