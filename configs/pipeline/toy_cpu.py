# The whole pipeline at toy scale on the generated toy VOC set (tools/make_toy_data.py): used by the tests.
# Random-init tiny backbones, a few iterations per trained stage; every stage's code path runs.
work_dir = 'work_dirs/pipeline_toy'
data_root = 'data/toy_voc'
pseudo_mask_list = 'ImageSets/Segmentation/train.txt'   # images that get CAMs, IR labels and pseudo masks
eval_list = 'ImageSets/Segmentation/train.txt'          # the same images, scored against their masks
cam_config = 'configs/ssc/toy_cls_tiny_cpu.py'
irn_config = 'configs/smoke/tiny_irn_toy_voc.py'
seg_config = 'configs/smoke/tiny_deeplabv2_toy_voc.py'
stage_args = dict(
    superpixels=['--workers', '1'],
    cams=['--scales', '1.0', '0.5'],
    ir_labels=['--workers', '1'],
    pseudo_masks=['--edge-pad-size', '128'],
)
stage_cfg_options = dict(cam_classifier={'train_cfg.max_epochs': 2, 'custom_hooks.0.start_epoch': 1})
