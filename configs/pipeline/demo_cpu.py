# The embedded demo (python tools/demo.py): the whole SSC pipeline on the generated demo scenes, CPU only.
work_dir = 'work_dirs/demo'
data_root = 'work_dirs/demo/data'
# The generated scenes (mmssc.datasets.make_demo_dataset). The class-correlated texture appears with its class in
# 40% of the images and without it (per absent class) in 15%: a cue for the class, but a weaker one than the
# object's own part, so a classifier that over-activates on it pays for that on the images where it misleads.
demo_data = dict(num_train=160, num_val=30, num_test=30, image_size=160, cooccurrence_prob=0.4,
                 texture_without_class_prob=0.15)
# written by tools/demo.py (mmssc.datasets.demo_scenes.write_pipeline_list): the training images, which are scored,
# and the test images whose overlays it shows; the other test images are only predicted by the segmenter
pseudo_mask_list = 'ImageSets/Segmentation/train_test.txt'
eval_list = 'ImageSets/Segmentation/train.txt'      # seeds, IR labels, pseudo masks scored on the training images
cam_config = 'configs/demo/demo_cls.py'
irn_config = 'configs/demo/demo_irn.py'
seg_config = 'configs/demo/demo_deeplabv2.py'
# Random walk at the demo's scale (s = 128 / 512 = 1/4, configs/demo/demo_cls.py). Officially radius 5 and 2^8 = 256
# steps on the stride-4 grid of a ~500×375 image (125×94 cells); a walk spreads a CAM over about
# radius·√steps = 5·16 = 80 cells, most of such an image. On the demo's 40×40 grid that walk reaches four times
# as far relative to the objects and spreads classes across weak boundaries (benchmarks/stages34_controlled.py,
# CAMs written from the ground truth: seeds 76.7 mIoU → pseudo masks 84.7 with it, 90.9 scaled). Scaled: radius·√steps = 80·s = 20 cells; the smallest radius the walk takes is 2, so
# √steps = 10, steps = 100 ≈ 2^7 (exp_times 7). IRN's edge padding: the official 512 is IRN's crop, which
# a VOC image never exceeds; here the crop is 128, so the demo's 160-px images are not padded.
stage_args = dict(
    pseudo_masks=['--radius', '2', '--exp-times', '7', '--edge-pad-size', '128'],
)
