"""Parity of the scorer and the seed rule with the official evaluation's own outputs (``tests/golden/miou.json``).

The fixture holds three ground-truth maps with 255 outlines, the label maps the official ``eval_sem_seg`` scored
(255 in them counts as background, a false-positive class 7 among them) and the CAMs ``eval_cam`` turned into seeds
at its 0.2 threshold (image 0 with a wrong extra class), each with the official confusion matrix, per-class IoU
(``null`` for a class absent from both) and mIoU over all 21 classes, background included. The official confusion
matrix is chainercv's; mmssc accumulates mmseg's per-class areas, which are its diagonal, row and column sums.
"""
import json
import os.path as osp

import numpy as np
import pytest

from mmssc.stage_files import CamSeeds, strided_size, write_cam_file
from mmssc.datasets.voc import VOC_CLASSES
from mmssc.evaluation import MaskScore, evaluate_cams, evaluate_masks
from mmssc.fileio import write_label_png

GOLDEN = osp.join(osp.dirname(osp.abspath(__file__)), 'golden', 'miou.json')


@pytest.fixture(scope='module')
def fixture():
    with open(GOLDEN) as f:
        return json.load(f)


def write_gt(folder, gts) -> list:
    items = []
    for n, gt in enumerate(gts):
        path = osp.join(folder, 'gt', f'img{n}.png')
        write_label_png(path, np.asarray(gt, np.uint8))
        items.append(dict(img_id=f'img{n}', seg_map_path=path))
    return items


def assert_same_scores(result: dict, official: dict) -> None:
    iou = np.array([np.nan if v is None else v for v in official['iou']], np.float64)
    ours = np.array([result['per_class'][name]['IoU'] for name in ('background',) + VOC_CLASSES]) / 100
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(iou))  # the same classes absent from both
    np.testing.assert_allclose(ours[~np.isnan(iou)], iou[~np.isnan(iou)], rtol=1e-12)
    assert result['mIoU'] / 100 == pytest.approx(official['miou'], rel=1e-12)


def assert_areas_match_confusion(labels, gts, confusion) -> None:
    """mmseg's per-class areas = the official confusion matrix's diagonal, column sums and row sums."""
    score = MaskScore(VOC_CLASSES)
    for pred, gt in zip(labels, gts):
        score.add(pred, np.asarray(gt, np.int64))
    intersect, _, pred_area, gt_area = (t.numpy() for t in score.totals)
    confusion = np.asarray(confusion)
    np.testing.assert_array_equal(intersect, np.diag(confusion))
    np.testing.assert_array_equal(pred_area, confusion.sum(axis=0))
    np.testing.assert_array_equal(gt_area, confusion.sum(axis=1))


def test_pseudo_mask_score_equals_eval_sem_seg(fixture, tmp_path):
    official = fixture['eval_sem_seg']
    items = write_gt(str(tmp_path), fixture['gt'])
    for item, pred in zip(items, official['pred']):
        write_label_png(str(tmp_path / 'pred' / f"{item['img_id']}.png"), np.asarray(pred, np.uint8))
    assert_same_scores(evaluate_masks(str(tmp_path / 'pred'), items, VOC_CLASSES, logger='silent'), official)
    # eval_sem_seg counts the 255 of a prediction as background before counting
    preds = [np.where(np.asarray(p) == 255, 0, np.asarray(p)) for p in official['pred']]
    assert_areas_match_confusion(preds, fixture['gt'], official['confusion'])


def test_seeds_and_seed_score_equal_eval_cam(fixture, tmp_path):
    official = fixture['eval_cam']
    threshold = official['cam_eval_thres']
    items = write_gt(str(tmp_path), fixture['gt'])
    seeds = []
    for item, cams, keys, expected in zip(items, official['cams'], official['keys'], official['seeds']):
        cams, keys = np.asarray(cams, np.float32), np.asarray(keys, np.int64)
        seeds.append(CamSeeds(keys, cams).labels(threshold))
        np.testing.assert_array_equal(seeds[-1], expected)
        h4, w4 = strided_size(*cams.shape[1:])
        write_cam_file(str(tmp_path / 'cams' / f"{item['img_id']}.npz"), keys, cams[:, :h4, :w4], cams)
    result = evaluate_cams(str(tmp_path / 'cams'), items, VOC_CLASSES, threshold=threshold, logger='silent')
    assert_same_scores(result, official)
    assert_areas_match_confusion(seeds, fixture['gt'], official['confusion'])
