# COCO 2014 for BECO co-training: ./coco14_pseudo_seg.py with the offline label (pseudo_masks/) and its confidence
# (pseudo_masks_confident/ next to it, 255 = uncertain) as two fields; see ./voc12_beco.py.
_base_ = ['./coco14_pseudo_seg.py']
crop_size = (512, 512)
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
