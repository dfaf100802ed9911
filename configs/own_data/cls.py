# The cam_classifier stage on your own data (docs/stages.md, "Your own data, end to end"):
# data/my_dataset/images/*.jpg, labels.csv (image-level labels) and classes.txt (one class name per line, no
# background). Run it through configs/pipeline/own_data.py, whose runner sets the class count from classes.txt; on
# its own: --cfg-options model.num_classes=K model.reconstruction_head.num_classes=K (K = the names in
# classes.txt).
# Backbone and perceptual-loss network: the ImageNet EfficientNet-Lite0 that can be had offline (README,
# "Pretrained weights"); everything else is the official recipe (10 epochs, batch 6, crop 512, DRS + CDR + ASM).
# For the paper's ResNet-50 + VGG19, base this file on ../ssc/voc_cls.py instead and keep the dataset part below.
_base_ = ['../ssc/voc_cls_effnet_lite0.py']
data_root = 'data/my_dataset'
pretrained = 'pretrained/tf_efficientnet_lite0.pth'
model = dict(
    backbone=dict(checkpoint=pretrained),
    # No ImageNet VGG19 offline: the same EfficientNet-Lite0 is the frozen loss network (taps at strides 2/4/8/16,
    # deeper taps weighted more, as VGG19's 1/32…1); its L_p is about 10× VGG19's, hence β_p = 0.1 (as the demo).
    reconstruction_loss=dict(_delete_=True, type='PerceptualLoss', source='timm', arch='tf_efficientnet_lite0',
                             checkpoint=pretrained, taps=(0, 1, 2, 3), layer_weights=(1 / 8, 1 / 4, 1 / 2, 1),
                             loss_weight=0.1))
dataset = dict(type='ImageLabelDataset', data_root=data_root, classes='classes.txt', label_file='labels.csv',
               ann_file='')  # no list: every image of labels.csv
train_dataloader = dict(dataset=dict(
    _delete_=True, data_prefix=dict(img_path='images', superpixel_path='superpixels'),
    superpixels='required',  # the pipeline's first stage makes them (or superpixels='generate': on the fly)
    pipeline={{_base_.train_pipeline}}, **dataset))
# mAP on the labelled images themselves (a check that the classifier learnt the labels); the CAM stage also
# takes its images from test_dataloader: every image of labels.csv.
val_dataloader = dict(dataset=dict(_delete_=True, data_prefix=dict(img_path='images'),
                                   pipeline={{_base_.test_pipeline}}, **dataset))
test_dataloader = val_dataloader
