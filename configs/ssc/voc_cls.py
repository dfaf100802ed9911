# SSC's cam_classifier stage on PASCAL VOC 2012 train_aug: ResNet-50 CAM classifier + DRS + CDR + ASM, the official
# settings: 10 epochs, batch 6, crop 512 (17,630 iterations on one process), lr 0.1 / 1.0 (head), poly 0.9.
#   python tools/train.py configs/ssc/voc_cls.py                  (one GPU: batch 6, as the official run)
#   bash tools/dist_train.sh configs/ssc/voc_cls.py 8              (8 GPUs: batch 6 per GPU = 48 in total; to keep the
#     official total of 6, add --cfg-options train_dataloader.batch_size=1 — the lr is not rescaled automatically)
# Needs the local weight files pretrained/resnet50-19c8e357.pth and pretrained/vgg19-dcbb9e9d.pth (README).
_base_ = ['../_base_/models/ssc_cam_r50.py', '../_base_/datasets/voc12_cls.py',
          '../_base_/schedules/ssc_cls_10e.py', '../_base_/default_runtime.py']
