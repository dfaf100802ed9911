# The paper's VGG16 row for COCO (Table V: 38.1 mIoU on val2014): DeepLab-v2 VGG-16 ASPP-L, 81 classes, 40 epochs.
# See voc_deeplabv2_vgg16.py for the network, the initialisation and the optimiser choices.
_base_ = ['./coco_deeplabv2.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='DeepLabVGG16',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vgg16-397923af.pth')),
    decode_head=dict(in_channels=512, branch_channels=1024, branch_dropout=0.5))
optim_wrapper = dict(
    optimizer=dict(lr=1e-3, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
