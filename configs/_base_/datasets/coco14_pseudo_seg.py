# COCO 2014 (81 classes: background + 80): train DeepLab-v2 on SSC's pseudo masks of train2014, evaluate on the
# real ground truth of val2014 (40,504 images) with IoUMetric. The ground-truth masks come from the instance
# annotations: python tools/convert_coco.py data/coco/annotations/instances_val2014.json data/coco/masks/val2014
# Pseudo masks: 0 = background, k = COCO_CLASSES[k-1], 255 = uncertain; by default the training set is every
# pseudo mask present in the folder (images without an image-level label get none). Set the folder with
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/path/to/pseudo_masks_confident
_base_ = ['./voc12_pseudo_seg.py']
dataset_type = 'COCOSegDataset'
data_root = 'data/coco'
pseudo_mask_dir = 'pseudo_masks_confident'
train_dataloader = dict(
    batch_size=2,  # per GPU: 8 GPUs × 2 = the paper's batch of 16
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train2014', seg_map_path=pseudo_mask_dir),
        ann_file=''))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val2014', seg_map_path='masks/val2014'),
        ann_file=''))
test_dataloader = val_dataloader
