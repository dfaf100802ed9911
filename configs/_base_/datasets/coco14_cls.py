# COCO 2014 with image-level labels from the instance annotations (80 classes). Superpixels: make them with
# tools/make_superpixels.py data/coco/train2014 data/coco/superpixels (the official code ships none for COCO).
_base_ = ['./voc12_cls.py']
dataset_type = 'COCOClsDataset'
data_root = 'data/coco'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=None,
        instances_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014', seg_map_path=None, superpixel_path='superpixels'),
        img_suffix='.jpg'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=None,
        instances_file='annotations/instances_val2014.json',
        data_prefix=dict(img_path='val2014', seg_map_path=None)))
test_dataloader = val_dataloader
