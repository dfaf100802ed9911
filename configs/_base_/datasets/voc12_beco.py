# PASCAL VOC 2012 + SBD for BECO co-training (docs/method.md, 'BECO co-training'; docs/stages.md, 'segmentation'):
# ./voc12_pseudo_seg.py with the offline label and its confidence as two fields.
# * Label: the `pseudo_masks` stage's pseudo_masks/<id>.png (0 background, 1..20; no 255). Set the folder with
#     --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/path/to/W/pseudo_masks
# * Confidence Mk: LoadConfidenceMask reads pseudo_masks_confident/<id>.png next to the label folder (255 =
#   uncertain ⇒ Mk = 0). For the official 0/1 (or 0/255) mask folder instead, set the transform's
#   conf_dir=/abs/path conf_format='binary'.
# * No PhotoMetricDistortion: BECO's photometric augmentation runs inside the training step, after the class-mix.
_base_ = ['./voc12_pseudo_seg.py']
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadConfidenceMask', conf_dir='pseudo_masks_confident', conf_format='ignore_label'),
    # area U(0.5, 0.75), aspect ratio in [3/4, 4/3], resized to 512×512; the confidence moves with the label
    dict(type='SegRandomResizedCrop', size=crop_size, scale=(0.5, 0.75), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackBECOInputs'),
]
train_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path='pseudo_masks'), pipeline=train_pipeline))
# The pipeline runner (mmssc/runner.py) points these keys at its work_dir folders (default: seg_map_path at
# pseudo_masks_confident, for plain training on the confident pixels).
pipeline_inputs = {'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks'}
