# The whole I²CRC method at toy scale on the generated toy VOC set with its stand-in saliency maps
# (python tools/make_toy_data.py data/toy_voc --saliency): used by the tests. Random-init tiny backbones, a few
# iterations per trained stage; every stage's code path runs.
method = 'i2crc'
work_dir = 'work_dirs/pipeline_i2crc_toy'
data_root = 'data/toy_voc'
pseudo_mask_list = 'ImageSets/Segmentation/train.txt'   # images that get CAMs and pseudo-labels
eval_list = 'ImageSets/Segmentation/train.txt'          # the same images, scored against their masks
cam_config = 'configs/smoke/tiny_i2crc_toy_voc.py'
seg_config = 'configs/smoke/tiny_deeplabv2_toy_voc.py'  # both segmentation rounds
