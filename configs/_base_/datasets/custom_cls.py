# Your own data: a folder of images, an image-label file (CSV or JSON) and a class list (docs/data.md, "Your own data").
# Optional: masks (for evaluation; 0 = background, k = k-th class, 255 = ignore) and superpixels.
_base_ = ['./voc12_cls.py']
dataset_type = 'ImageLabelDataset'
data_root = 'data/my_dataset'
classes = 'classes.txt'  # one class name per line (relative to data_root), or a list of names
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=classes,
        label_file='labels.csv',
        ann_file=None,
        data_prefix=dict(img_path='images', seg_map_path=None, superpixel_path='superpixels'),
        superpixels='generate'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=classes,
        label_file='val_labels.csv',
        ann_file=None,
        data_prefix=dict(img_path='images', seg_map_path=None)))
test_dataloader = val_dataloader
