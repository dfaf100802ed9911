# Full SSC (configs/ssc/voc_cls.py) plus I²CRC's two relation losses on its raw CAM (docs/method.md, 'I²CRC'):
# L = L_cls + β_p·L_p + β_a·L_a + 0.01·L_center(s) + 0.025·L_center(1−s) + 0.1·L_dist, with I²CRC's official
# weights. The saliency maps (<data_root>/saliency_aug/<id>.png) are loaded with the image and resized, flipped and
# cropped with it; the crop pads them with 0, so padded pixels count as background in the prototypes.
_base_ = ['./voc_cls.py']
model = dict(relation_losses=[
    dict(type='ClassAgnosticDistanceLoss', fg_weight=0.01, bg_weight=0.025, single_label_only=True),
    dict(type='ClassSpecificDistanceLoss', loss_weight=0.1)])
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='LoadSaliency'),
    dict(type='RandomLongSideResize', min_size=320, max_size=640),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=512),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(dataset=dict(data_prefix=dict(saliency_path='saliency_aug'), pipeline=train_pipeline))
