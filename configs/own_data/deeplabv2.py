# The segmentation stage on your own data: DeepLab-v2 (the summed dilated head) trained on the confident pseudo
# masks (the pipeline points seg_map_path at them), validated and tested on your ground-truth masks in
# data/my_dataset/masks (0 background, k = k-th name of classes.txt, 255 ignore). The official schedule and crop
# (SGD 0.01·poly, batch 16, 512 crops; 40 epochs as the paper's COCO run) on the offline ImageNet
# EfficientNet-Lite0 at output stride 8.
# Through configs/pipeline/own_data.py the runner sets num_classes (1 + the names in classes.txt); on its own:
# --cfg-options model.decode_head.num_classes=K+1.
# For the paper's ResNet-101, base this file on ../ssc/voc_deeplabv2.py's model with its local weights.
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/custom_pseudo_seg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/sgd_poly_40e.py'
]
data_root = 'data/my_dataset'
mean_rgb = [127.5, 127.5, 127.5]
model = dict(
    data_preprocessor=dict(mean=mean_rgb, std=[127.5, 127.5, 127.5]),
    backbone=dict(_delete_=True, type='TimmFeatureBackbone', model_name='tf_efficientnet_lite0',
                  checkpoint='pretrained/tf_efficientnet_lite0.pth', output_stride=8, out_indices=(4,)),
    decode_head=dict(in_channels=320, channels=320, num_classes=21))
# lr 0.001: at the official 0.01 this EfficientNet model diverged on the demo scenes (configs/demo/demo_deeplabv2.py).
optim_wrapper = dict(optimizer=dict(lr=0.001), paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
