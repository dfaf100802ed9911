"""README's own-data walkthrough: images + labels.csv + classes.txt → tools/pipeline.py configs/pipeline/own_data.py."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from conftest import REPO_ROOT, run_tool, toy_ids

# The toy set's five VOC classes, renumbered 1..5 as an own class list would be.
TOY_CLASSES = {1: 'aeroplane', 3: 'bird', 8: 'cat', 12: 'dog', 15: 'person'}
# Full-size configs shrunk to seconds: one epoch, batch 2, 64-pixel crops, random weights, no worker processes.
TINY = '''
_base_ = [{base!r}]
loader = {{'batch_size': 2, 'num_workers': 0, 'persistent_workers': False}}
def tiny(prefixes, **extra):
    out = {{f'{{p}}.{{k}}': v for p in prefixes for k, v in loader.items()}}
    out.update(extra)
    return out
stage_cfg_options = dict(
    cam_classifier=tiny(['train_dataloader', 'val_dataloader'], **{{
        'train_cfg.max_epochs': 1, 'custom_hooks.0.start_epoch': 0,
        'train_dataloader.dataset.pipeline.2.min_size': 64, 'train_dataloader.dataset.pipeline.2.max_size': 128,
        'train_dataloader.dataset.pipeline.4.crop_size': 64, 'model.backbone.checkpoint': None,
        'model.reconstruction_loss.checkpoint': None, 'model.reconstruction_loss.allow_random_weights': True}}),
    irn=tiny(['train_dataloader', 'custom_hooks.0.dataloader'], **{{
        'train_cfg.max_epochs': 1, 'train_dataloader.dataset.pipeline.4.crop_size': 96,  # 24×24 ≥ radius-10 paths
        'custom_hooks.0.dataloader.dataset.pipeline.1.crop_size': 96, 'model.backbone.checkpoint': None}}),
    segmentation=tiny(['train_dataloader', 'val_dataloader', 'test_dataloader'], **{{
        'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, 'model.data_preprocessor.size': (64, 64),
        'train_dataloader.dataset.pipeline.2.size': (64, 64), 'val_dataloader.dataset.pipeline.1.scale': (64, 64),
        'test_dataloader.dataset.pipeline.1.scale': (64, 64), 'model.backbone.checkpoint': None}}))
# no class count here: the runner reads it from classes.txt (5 names → model.num_classes 5, decode_head 6)
stage_args = dict(superpixels=['--workers', '1'], ir_labels=['--workers', '1'], cams=['--scales', '1.0'],
                  pseudo_masks=['--edge-pad-size', '128'])
'''


def make_own_data(toy_root: str, root: str, masked: list) -> dict:
    """The toy set in the own-data layout: images/, classes.txt, labels.csv (names), masks/ for ``masked`` only."""
    from mmssc.fileio import read_label_png, write_label_png
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'masks'))
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(TOY_CLASSES.values()) + '\n')
    renumber = np.zeros(256, np.uint8)
    renumber[255] = 255
    for new, voc in enumerate(TOY_CLASSES, start=1):
        renumber[voc] = new
    rows, labels = ['image,labels'], {}
    for image_id in toy_ids(toy_root, 'train'):
        shutil.copy(osp.join(toy_root, 'JPEGImages', image_id + '.jpg'), osp.join(root, 'images'))
        mask = renumber[read_label_png(osp.join(toy_root, 'SegmentationClassAug', image_id + '.png'))]
        labels[image_id] = [TOY_CLASSES[voc] for voc in TOY_CLASSES if (mask == renumber[voc]).any()]
        rows.append(f"{image_id}.jpg,{';'.join(labels[image_id])}")
        if image_id in masked:
            write_label_png(osp.join(root, 'masks', image_id + '.png'), mask)
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        f.write('\n'.join(rows) + '\n')
    return labels


@pytest.fixture(scope='module')
def own_data_run(toy_voc, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('own') / 'my_dataset')
    masked = toy_ids(toy_voc[0], 'train')[:5]
    labels = make_own_data(toy_voc[0], root, masked)
    config = tmp_path_factory.mktemp('own_cfg') / 'own_data_tiny.py'
    config.write_text(TINY.format(base=osp.join(REPO_ROOT, 'configs', 'pipeline', 'own_data.py')))
    work_dir = str(tmp_path_factory.mktemp('own_work'))
    proc = run_tool(['tools/pipeline.py', str(config), '--work-dir', work_dir, '--cfg-options',
                     f'data_root={root}'], timeout=1200)
    return root, work_dir, labels, masked, proc.stdout + proc.stderr


@pytest.mark.slow
def test_every_labelled_image_gets_a_pseudo_mask(own_data_run):
    root, work_dir, labels, _, _ = own_data_run
    listed = open(osp.join(work_dir, 'image_list.txt')).read().split()
    assert listed == sorted(labels)              # no list given: the images of labels.csv
    for folder in ('cams', 'ir_labels', 'pseudo_masks', 'pseudo_masks_confident'):
        assert sorted(osp.splitext(n)[0] for n in os.listdir(osp.join(work_dir, folder))) == listed, folder
    assert sorted(osp.splitext(n)[0] for n in os.listdir(osp.join(root, 'superpixels'))) == listed


@pytest.mark.slow
def test_only_images_with_a_mask_are_scored(own_data_run):
    _, work_dir, _, masked, log = own_data_run
    results = json.load(open(osp.join(work_dir, 'pipeline_results.json')))
    for stage in ('cams', 'ir_labels', 'pseudo_masks', 'segmentation'):
        assert results[stage]['num_images'] == len(masked), stage
    for stage in ('cams', 'pseudo_masks', 'segmentation'):  # background, then the names of classes.txt in order
        assert list(results[stage]['per_class']) == ['background', *TOY_CLASSES.values()], stage
    assert '(test split)' in log and f"mIoU {results['pseudo_masks']['mIoU']:.1f}" in log


@pytest.mark.slow
def test_without_ground_truth_the_segmenter_trains_with_validation_off(own_data_run, tmp_path):
    """README: no masks at all → stop the pipeline at the pseudo masks, train ``segmentation`` with validation off."""
    root, work_dir, _, _, _ = own_data_run
    unmasked = str(tmp_path / 'my_dataset')
    shutil.copytree(root, unmasked, ignore=shutil.ignore_patterns('masks'))
    seg_dir = str(tmp_path / 'seg')
    run_tool(['tools/train.py', 'configs/own_data/deeplabv2.py', '--work-dir', seg_dir, '--cfg-options',
              f'data_root={unmasked}', f'train_dataloader.dataset.data_root={unmasked}',
              f"train_dataloader.dataset.data_prefix.seg_map_path={osp.join(work_dir, 'pseudo_masks_confident')}",
              'model.decode_head.num_classes=6', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
              'test_cfg=None', 'test_dataloader=None', 'test_evaluator=None',
              'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False', 'model.data_preprocessor.size=(64,64)',
              'train_dataloader.dataset.pipeline.2.size=(64,64)', 'model.backbone.checkpoint=None'], timeout=600)
    assert osp.isfile(osp.join(seg_dir, 'epoch_1.pth'))


def own_data_runner(work_dir: str, data_root: str):
    from mmengine.config import Config

    from mmssc.runner import StageRunner
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pipeline', 'own_data.py'))
    cfg.work_dir, cfg.data_root = work_dir, data_root
    return StageRunner(cfg, log=lambda message: None)


def test_the_class_count_follows_classes_txt(tmp_path):
    root = tmp_path / 'my_dataset'
    root.mkdir()
    (root / 'classes.txt').write_text('cat\ndog\ntraffic light\n')
    runner = own_data_runner(str(tmp_path / 'work'), str(root))
    for stage in ('cam_classifier', 'cams', 'ir_labels'):   # the CAM tools build the classifier of cam_classifier
        options = runner.stage_options(stage)
        assert options['model.num_classes'] == options['model.reconstruction_head.num_classes'] == 3, stage
    assert runner.stage_options('segmentation')['model.decode_head.num_classes'] == 4     # + background
    assert 'model.num_classes' not in runner.stage_options('irn')
    assert "model.num_classes=3" in runner.command('cam_classifier')


def test_a_missing_classes_file_is_one_error_naming_it(tmp_path):
    runner = own_data_runner(str(tmp_path / 'work'), str(tmp_path / 'my_dataset'))   # construction needs no data
    with pytest.raises(FileNotFoundError, match='classes_file not found: .*my_dataset/classes.txt'):
        runner.run()
    assert not osp.exists(tmp_path / 'work')                  # found before anything was written


def test_a_missing_eval_mask_dir_is_one_error_naming_it(tmp_path):
    runner = own_data_runner(str(tmp_path / 'work'), str(tmp_path / 'my_dataset'))
    with pytest.raises(FileNotFoundError, match='eval_mask_dir not found: .*my_dataset/masks'):
        runner.evaluate()


def test_an_eval_mask_dir_without_a_listed_image_is_one_error_naming_it(toy_voc, tmp_path):
    root = str(tmp_path / 'my_dataset')
    make_own_data(toy_voc[0], root, masked=[])   # masks/ exists but holds no mask
    runner = own_data_runner(str(tmp_path / 'work'), root)
    with pytest.raises(FileNotFoundError, match='no image of the pseudo-mask list has a ground-truth mask in '
                                                'eval_mask_dir .*my_dataset/masks'):
        runner.evaluate()


def test_the_image_list_is_written_by_an_explicit_step_only(toy_voc, tmp_path):
    root = str(tmp_path / 'my_dataset')
    labels = make_own_data(toy_voc[0], root, masked=[])
    runner = own_data_runner(str(tmp_path / 'work'), root)
    path = runner.image_list_path()
    assert path == osp.join(str(tmp_path / 'work'), 'image_list.txt')
    assert runner.image_ids() == sorted(labels)               # the images it will list, read without writing
    assert not osp.exists(path)
    runner.write_image_list()
    assert open(path).read().split() == sorted(labels)
