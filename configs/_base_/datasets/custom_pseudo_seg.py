# Your own data: train DeepLab-v2 on the pseudo masks of your images, evaluate on your ground-truth masks if you
# have them. Masks: 0 = background, k = k-th class of classes.txt (the cam_classifier class list, one name per line;
# `background` is prepended automatically), 255 = ignore. Without an image list (ann_file), the training set is
# the pseudo masks present in the folder, and the validation set is the ground-truth masks present.
_base_ = ['./voc12_pseudo_seg.py']
dataset_type = 'ClassListSegDataset'
data_root = 'data/my_dataset'
classes = 'classes.txt'  # relative to data_root
pseudo_mask_dir = 'pseudo_masks_confident'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=classes,
        data_prefix=dict(img_path='images', seg_map_path=pseudo_mask_dir),
        ann_file=''))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes=classes,
        data_prefix=dict(img_path='images', seg_map_path='masks'),
        ann_file=''))  # or a list of validation ids, e.g. 'val.txt'
test_dataloader = val_dataloader
