# The segmentation stage on your own data with BECO co-training (docs/method.md, 'BECO co-training'):
# ./deeplabv2.py's two networks (EfficientNet-Lite0 at OS 8 + the summed dilated head) trained together on the
# pseudo masks (W/pseudo_masks) and their confidence (W/pseudo_masks_confident next to them); the pipeline runner
# points the label folder at its work_dir (pipeline_inputs below). On its own:
#   python tools/train.py configs/own_data/beco.py --cfg-options \
#       train_dataloader.dataset.data_prefix.seg_map_path=$PWD/work_dirs/my_dataset/pseudo_masks \
#       model.decode_head.num_classes=K+1
# BECO's official settings (model.beco defaults: warm-up 2 epochs, online threshold 0.95, mix 0.5, boundary 0.2,
# photometric augmentation). Departure, as in ./deeplabv2.py: lr 0.001 with a 10× head instead of 0.01 for
# everything (this EfficientNet model diverges at 0.01).
_base_ = ['./deeplabv2.py']
crop_size = (512, 512)
model = dict(type='BECOSegmentor', beco=dict(), test_cfg=dict(mode='whole', scales=(0.5, 0.75, 1.0, 1.25, 1.5)))
custom_hooks = [dict(type='BECOWarmupHook')]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadConfidenceMask', conf_dir='pseudo_masks_confident', conf_format='ignore_label'),
    dict(type='SegRandomResizedCrop', size=crop_size, scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackBECOInputs'),
]
train_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path='pseudo_masks'), pipeline=train_pipeline))
pipeline_inputs = {'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks'}
