# SSC's cam_classifier stage on COCO 2014 train (80 classes). The paper gives one setting for the classification network
# (10 epochs, batch 6, crop 512) and no COCO-specific values; the official code has no COCO cam_classifier loader.
# Superpixels: python tools/make_superpixels.py data/coco/train2014 data/coco/superpixels --workers 8
_base_ = ['../_base_/models/ssc_cam_r50.py', '../_base_/datasets/coco14_cls.py',
          '../_base_/schedules/ssc_cls_10e.py', '../_base_/default_runtime.py']
model = dict(num_classes=80, reconstruction_head=dict(num_classes=80))
