# The embedded demo (python tools/demo.py): the whole SSC pipeline on the generated demo scenes, CPU only.
work_dir = 'work_dirs/demo'
data_root = 'work_dirs/demo/data'
pseudo_mask_list = 'ImageSets/Segmentation/train_test.txt'  # written by tools/demo.py
eval_list = 'ImageSets/Segmentation/train.txt'      # seeds, IR labels, pseudo masks scored on the training images
cam_config = 'configs/demo/demo_cls.py'
irn_config = 'configs/demo/demo_irn.py'
seg_config = 'configs/demo/demo_deeplabv2.py'
stage_args = dict(
    pseudo_masks=['--edge-pad-size', '160'],
)
