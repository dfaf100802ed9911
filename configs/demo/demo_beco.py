# The segmentation stage of the embedded demo with BECO co-training (docs/method.md, 'BECO co-training'):
# ./demo_deeplabv2.py's network twice (EfficientNet-Lite0 at OS 8 + the summed dilated head), trained together on
# the demo's pseudo masks (W/pseudo_masks) and confidence masks (W/pseudo_masks_confident). Select it with
#   python tools/pipeline.py configs/pipeline/demo_cpu.py --cfg-options seg_config=configs/demo/demo_beco.py
# Same short schedule and scale rules as ./demo_deeplabv2.py, so the two compare at equal cost per network.
# Departures from the official BECO values:
#   * 128 crops, batch 8, 100 iterations (5 epochs of the 160 training images) instead of 512, 16 and 100 epochs:
#     the demo's 160-px images and its CPU budget (./demo_deeplabv2.py).
#   * lr 0.001 with a 10× head instead of 0.01 everywhere: this EfficientNet model diverges at 0.01.
#   * warm-up: the official 2 epochs (here 40 of the 100 iterations, 20 per epoch) rather than 2 % of the run:
#     the online labels need networks that have learnt something first.
#   * class-mix pairs within the batch of 8 (4 pairs) instead of 16.
_base_ = ['./demo_deeplabv2.py']
model = dict(type='BECOSegmentor', beco=dict(warm_up_epochs=2),
             test_cfg=dict(mode='whole', scales=(0.5, 0.75, 1.0, 1.25, 1.5)))
custom_hooks = [dict(type='BECOWarmupHook')]  # iteration loop: epoch = iteration // 20
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadConfidenceMask', conf_dir='pseudo_masks_confident', conf_format='ignore_label'),
    dict(type='SegRandomResizedCrop', size=(128, 128), scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackBECOInputs'),
]
train_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path='pseudo_masks'), pipeline=train_pipeline))
pipeline_inputs = {'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks'}
