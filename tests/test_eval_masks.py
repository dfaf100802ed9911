"""Seed and pseudo-mask evaluation (docs/method.md, 'Evaluation'): mmssc/evaluation/mask_metrics.py and tools/eval_masks.py.

The reference is a confusion matrix built here with ``np.bincount`` (the official eval's definition):
IoU_c = TP / (GT_c + Pred_c − TP), mIoU = nanmean, predictions from the padded argmax of the seed rule.
"""
import json
import os.path as osp

import numpy as np
import pytest

from mmssc.stage_files import cam_seed_labels, strided_size, voc_palette, write_cam_file
from mmssc.datasets.toy_voc import LAYOUT
from mmssc.datasets.voc import VOC_CLASSES
from mmssc.evaluation.mask_metrics import DEFAULT_SWEEP, evaluate_cams, evaluate_masks
from mmssc.fileio import read_label_png, write_label_png

from conftest import REPO_ROOT, load_tool

NAMES = ('background',) + VOC_CLASSES  # the rows the scorer reports for VOC's 20 foreground classes
TINY_CFG = osp.join(REPO_ROOT, 'configs/smoke/tiny_cam_toy_voc.py')


def reference_scores(preds, gts, num_classes=21):
    conf = np.zeros((num_classes, num_classes), np.int64)
    fg = np.zeros(3, np.int64)
    for pred, gt in zip(preds, gts):
        valid = gt != 255
        conf += np.bincount(num_classes * gt[valid].astype(np.int64) + pred[valid],
                            minlength=num_classes ** 2).reshape(num_classes, num_classes)
        fg += [((pred > 0) & (gt > 0) & valid).sum(), ((pred > 0) & valid).sum(), ((gt > 0) & valid).sum()]
    tp = np.diag(conf).astype(float)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = tp / (conf.sum(0) + conf.sum(1) - tp)
        precision, recall = tp / conf.sum(0), tp / conf.sum(1)
    return dict(iou=iou * 100, miou=np.nanmean(iou) * 100, precision=precision * 100, recall=recall * 100,
                fg_precision=100 * fg[0] / fg[1], fg_recall=100 * fg[0] / fg[2])


def random_scene(rng, shape, classes):
    gt = np.zeros(shape, np.uint8)
    for c in classes:
        y, x = rng.integers(0, shape[0] - 10), rng.integers(0, shape[1] - 10)
        gt[y:y + rng.integers(8, 20), x:x + rng.integers(8, 25)] = c
    gt[rng.random(shape) < 0.05] = 255  # ignored boundary pixels
    return gt


def official_seed_prediction(keys, high_res, threshold):
    padded = np.pad(high_res, ((1, 0), (0, 0), (0, 0)), mode='constant', constant_values=threshold)
    return np.pad(keys + 1, (1, 0), mode='constant')[np.argmax(padded, axis=0)]


@pytest.fixture(scope='module')
def cam_set(tmp_path_factory):
    """Six images: ground truth, CAM files made from noisy versions of it, as items for the evaluators."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp('eval')
    items, truth = [], {}
    for n in range(6):
        shape = (40 + 4 * n, 50 + 3 * n)
        classes = rng.choice(np.arange(1, 21), size=rng.integers(1, 3), replace=False)
        gt = random_scene(rng, shape, classes)
        keys = np.sort(classes) - 1
        high_res = np.stack([np.clip((gt == k + 1) * 0.6 + rng.random(shape) * 0.5, 0, None) for k in keys])
        high_res = (high_res / (high_res.max(axis=(1, 2), keepdims=True) + 1e-5)).astype(np.float32)
        image_id = f'img{n}'
        gt_path = str(folder / 'gt' / f'{image_id}.png')
        write_label_png(gt_path, gt, voc_palette(256))
        h4, w4 = strided_size(*shape)
        write_cam_file(str(folder / 'cams' / f'{image_id}.npz'), keys, high_res[:, :h4, :w4], high_res)
        items.append(dict(img_id=image_id, seg_map_path=gt_path))
        truth[image_id] = (gt, keys, high_res)
    return str(folder), items, truth


def test_seed_labels_follow_the_padded_argmax_rule():
    high_res = np.array([[[0.1, 0.5, 0.2, 0.9]], [[0.1, 0.7, 0.2, 0.2]]], np.float32)
    keys = np.array([3, 14])
    labels = cam_seed_labels(keys, high_res, np.float32(0.2))
    np.testing.assert_array_equal(labels, [[0, 15, 0, 4]])  # ties with the threshold → background
    np.testing.assert_array_equal(labels, official_seed_prediction(keys, high_res, np.float32(0.2)))


def test_cam_evaluation_matches_a_confusion_matrix_at_0_2_and_over_the_sweep(cam_set):
    folder, items, truth = cam_set
    result = evaluate_cams(osp.join(folder, 'cams'), items, VOC_CLASSES, sweep=DEFAULT_SWEEP, logger='silent')
    gts = [truth[i['img_id']][0] for i in items]

    def reference_at(t):
        preds = [official_seed_prediction(k, h, np.float32(t)) for _, k, h in (truth[i['img_id']] for i in items)]
        return reference_scores(preds, gts)

    ref = reference_at(0.2)
    assert result['threshold'] == 0.2 and result['num_images'] == 6
    assert result['mIoU'] == pytest.approx(ref['miou'], abs=1e-4)
    assert result['fg_precision'] == pytest.approx(ref['fg_precision'], abs=1e-6)
    assert result['fg_recall'] == pytest.approx(ref['fg_recall'], abs=1e-6)
    for c, name in enumerate(NAMES):
        for key, ref_key in (('IoU', 'iou'), ('Precision', 'precision'), ('Recall', 'recall')):
            got, want = result['per_class'][name][key], ref[ref_key][c]
            assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, abs=1e-4), (name, key)
    sweep = {row['threshold']: row['mIoU'] for row in result['sweep']}
    assert sorted(sweep) == sorted(DEFAULT_SWEEP)
    for t, miou in sweep.items():
        assert miou == pytest.approx(reference_at(t)['miou'], abs=1e-4), t
    assert result['best_threshold'] == max(sweep, key=sweep.get)
    assert result['best']['mIoU'] == pytest.approx(max(sweep.values()))


def test_mask_evaluation_counts_255_as_background(cam_set, tmp_path):
    folder, items, truth = cam_set
    rng = np.random.default_rng(1)
    preds = []
    for item in items:
        gt = truth[item['img_id']][0].copy()
        pred = np.where(gt == 255, 0, gt).astype(np.uint8)
        pred[rng.random(pred.shape) < 0.1] = 255        # uncertain pixels
        pred[rng.random(pred.shape) < 0.05] = 7         # wrong class
        write_label_png(str(tmp_path / f"{item['img_id']}.png"), pred, voc_palette(256))
        preds.append(np.where(pred == 255, 0, pred))
    result = evaluate_masks(str(tmp_path), items, VOC_CLASSES, logger='silent')
    ref = reference_scores(preds, [truth[i['img_id']][0] for i in items])
    assert result['mIoU'] == pytest.approx(ref['miou'], abs=1e-4)
    assert result['fg_recall'] == pytest.approx(ref['fg_recall'], abs=1e-6)
    assert 'threshold' not in result


def test_missing_predictions_and_size_mismatches_name_the_file(cam_set, tmp_path):
    folder, items, truth = cam_set
    with pytest.raises(FileNotFoundError, match='img0.png'):
        evaluate_masks(str(tmp_path), items, VOC_CLASSES, logger='silent')
    for item in items:
        write_label_png(str(tmp_path / f"{item['img_id']}.png"), np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r'img0.png is 5x5 but its ground truth .*img0.png is 40x50'):
        evaluate_masks(str(tmp_path), items, VOC_CLASSES, logger='silent')


def test_tool_on_the_toy_set_with_config_and_with_gt_dir(toy_voc, tmp_path, capsys):
    root = toy_voc[0]
    tool = load_tool('eval_masks')
    gt_dir = osp.join(root, LAYOUT['mask_dir'])
    # perfect pseudo masks: the ground truth itself (ids from the split list)
    ids_file = osp.join(root, LAYOUT['split_dir'], 'train.txt')
    ids = [ln.strip() for ln in open(ids_file) if ln.strip()]
    masks = tmp_path / 'masks'
    for image_id in ids:
        gt = read_label_png(osp.join(gt_dir, image_id + '.png'))
        write_label_png(str(masks / f'{image_id}.png'), gt, voc_palette(256))
    out = str(tmp_path / 'result.json')
    assert tool.main(['--gt-dir', gt_dir, '--ids', ids_file, '--masks', str(masks), '--out', out]) == 0
    saved = json.load(open(out))
    assert saved['mIoU'] == pytest.approx(100) and saved['fg_precision'] == pytest.approx(100)
    assert saved['per_class']['bicycle']['IoU'] is None  # absent class: NaN → null
    assert saved['num_images'] == len(ids)
    assert 'mIoU 100.00' in capsys.readouterr().out

    assert tool.main([TINY_CFG, '--masks', str(masks), '--ann-file', 'ImageSets/Segmentation/train.txt',
                      '--cfg-options', f'test_dataloader.dataset.data_root={root}', '--out', out]) == 0
    assert json.load(open(out))['mIoU'] == pytest.approx(100)

    # with --cams, the sweep table and the best threshold are printed after the fixed-threshold table
    cams = tmp_path / 'cams'
    for image_id in ids:
        gt = read_label_png(osp.join(gt_dir, image_id + '.png'))
        keys = np.array([c - 1 for c in np.unique(gt) if c not in (0, 255)])
        high_res = np.stack([(gt == k + 1) * 0.5 for k in keys]).astype(np.float32)  # exactly right above 0.5
        h4, w4 = strided_size(*gt.shape)
        write_cam_file(str(cams / f'{image_id}.npz'), keys, high_res[:, :h4, :w4], high_res)
    capsys.readouterr()
    assert tool.main(['--gt-dir', gt_dir, '--ids', ids_file, '--cams', str(cams), '--sweep', '0.3', '0.5',
                      '--out', out]) == 0
    log = capsys.readouterr().out
    assert 'background threshold 0.2: mIoU 100.00' in log and 'best threshold 0.2' in log
    result = json.load(open(out))
    assert [r['threshold'] for r in result['sweep']] == [0.2, 0.3, 0.5]
    assert result['sweep'][2]['mIoU'] < 100  # at 0.5 the maps tie with the threshold: everything is background

    assert tool.main(['--gt-dir', gt_dir, '--ids', ids_file, '--masks', str(tmp_path / 'nothing')]) == 1
    assert 'nothing' in capsys.readouterr().err
