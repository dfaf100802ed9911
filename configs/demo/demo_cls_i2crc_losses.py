# Full SSC on the demo scenes (./demo_cls.py) plus I²CRC's two relation losses with their official weights, exactly
# as configs/ssc/voc_cls_i2crc_losses.py adds them to configs/ssc/voc_cls.py (benchmarks/i2crc.py, row "SSC + I²CRC
# losses"). Saliency: the demo's stand-in maps in <data_root>/saliency (tools/make_demo_data.py --saliency; a
# degraded copy of the true foreground, not a detector's output), loaded with the image and resized, flipped and
# cropped with it (the crop pads them with 0: background in the prototypes).
_base_ = ['./demo_cls.py']
model = dict(relation_losses=[
    dict(type='ClassAgnosticDistanceLoss', fg_weight=0.01, bg_weight=0.025, single_label_only=True),
    dict(type='ClassSpecificDistanceLoss', loss_weight=0.1)])
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='LoadSaliency'),
    dict(type='RandomLongSideResize', min_size=112, max_size=208),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=128, img_pad_value=(127.5, 127.5, 127.5)),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(dataset=dict(data_prefix=dict(saliency_path='saliency'), pipeline=train_pipeline))
