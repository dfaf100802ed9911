"""The one scorer through every entry point, on two tiny images whose confusion matrix was worked out by hand.

Three foreground classes ``cat dog bird`` (labels 1..3) plus background (0). Pixels are (ground truth, prediction):

    image a (2×6)  GT   0 0 0 1 1 255      pred 0 0 1 1 1 1
                        3 3 3 2 2 0             3 3 0 0 3 0
    image b (2×2)  GT   3 3                pred 3 0
                        0 0                     0 0

The GT 255 pixel is ignored. Counting the other 15 pixels, conf[g, p]:

               pred 0  1  2  3    GT total
        GT 0        5  1  0  0    6
        GT 1        0  2  0  0    2
        GT 2        1  0  0  1    2        (dog: in the ground truth only, never predicted)
        GT 3        2  0  0  3    5        (bird: the last class)
        pred total  8  3  0  4

    IoU = TP / (GT + pred − TP): background 5/9, cat 2/3, dog 0/2 = 0, bird 3/6;
    mIoU = (5/9 + 2/3 + 0 + 1/2) / 4 = 31/72 = 43.06 %.
    Foreground (label > 0): |F ∩ G| = 6, |F| = 7, |G| = 9 → precision 6/7, recall 6/9.

A scorer that sized its metric from the three foreground names alone (the mistake this file guards against) scores
label 0 as ``cat``, drops ``bird`` and gets another mIoU; every test below would fail on it.
"""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmssc.stage_files import stage_dir, stage_file, strided_size, write_cam_file
from mmssc.fileio import write_label_png

from conftest import REPO_ROOT, load_tool

CLASSES = ('cat', 'dog', 'bird')
GT = dict(a=np.array([[0, 0, 0, 1, 1, 255], [3, 3, 3, 2, 2, 0]], np.uint8),
          b=np.array([[3, 3], [0, 0]], np.uint8))
PRED = dict(a=np.array([[0, 0, 1, 1, 1, 1], [3, 3, 0, 0, 3, 0]], np.uint8),
            b=np.array([[3, 0], [0, 0]], np.uint8))
EXPECTED_IOU = dict(background=5 / 9, cat=2 / 3, dog=0.0, bird=3 / 6)
EXPECTED_MIOU = 100 * 31 / 72
EXPECTED_PRECISION = dict(background=5 / 8, cat=2 / 3, dog=float('nan'), bird=3 / 4)
EXPECTED_RECALL = dict(background=5 / 6, cat=2 / 2, dog=0 / 2, bird=3 / 5)
EXPECTED_FG = dict(fg_precision=100 * 6 / 7, fg_recall=100 * 6 / 9)


def test_the_hand_counted_confusion_matrix_is_consistent():
    """The module docstring's matrix, recounted from the maps (guards the expected values themselves)."""
    conf = np.zeros((4, 4), np.int64)
    for image_id in GT:
        valid = GT[image_id] != 255
        np.add.at(conf, (GT[image_id][valid], PRED[image_id][valid]), 1)
    np.testing.assert_array_equal(conf, [[5, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 1], [2, 0, 0, 3]])


def assert_hand_computed(result: dict) -> None:
    assert list(result['per_class']) == ['background', *CLASSES]  # background first, every class once
    for name, iou in EXPECTED_IOU.items():
        row = result['per_class'][name]
        assert row['IoU'] == pytest.approx(100 * iou), name
        assert row['Recall'] == pytest.approx(100 * EXPECTED_RECALL[name]), name
        precision = EXPECTED_PRECISION[name]
        assert np.isnan(row['Precision']) if np.isnan(precision) else row['Precision'] == pytest.approx(100 * precision)
    assert result['mIoU'] == pytest.approx(EXPECTED_MIOU)
    for key, value in EXPECTED_FG.items():
        assert result[key] == pytest.approx(value), key
    assert result['num_images'] == 2


@pytest.fixture
def scored_work_dir(tmp_path):
    """Own-data layout (images/, classes.txt, labels.csv, masks/) and a work_dir holding the hand-made CAMs, IR
    labels, pseudo masks (with 255 where the prediction is background: the scorer counts it as background)."""
    root, work_dir = tmp_path / 'my_dataset', str(tmp_path / 'work')
    (root / 'images').mkdir(parents=True)
    (root / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    rows = ['image,labels']
    for image_id, gt in GT.items():
        Image.fromarray(np.full(gt.shape + (3,), 128, np.uint8)).save(root / 'images' / f'{image_id}.jpg')
        write_label_png(str(root / 'masks' / f'{image_id}.png'), gt)
        pred = PRED[image_id]
        keys = np.array(sorted({int(v) - 1 for v in np.unique(pred) if v > 0}))
        rows.append(f"{image_id}.jpg,{';'.join(CLASSES[k] for k in keys)}")
        # CAMs whose seeds at the official 0.2 are exactly PRED: 0.9 on the predicted pixels, 0.1 elsewhere
        high_res = np.stack([np.where(pred == k + 1, 0.9, 0.1) for k in keys]).astype(np.float32)
        h4, w4 = strided_size(*pred.shape)
        write_cam_file(stage_file(work_dir, 'cams', image_id), keys, high_res[:, :h4, :w4], high_res)
        uncertain = pred.copy()  # one correctly background-predicted pixel marked uncertain (255): still
        uncertain[tuple(np.argwhere((pred == 0) & (gt == 0))[0])] = 255  # background in the pseudo-mask score
        write_label_png(stage_file(work_dir, 'pseudo_masks', image_id), uncertain)
        write_label_png(stage_file(work_dir, 'ir_labels', image_id), uncertain)
    (root / 'labels.csv').write_text('\n'.join(rows) + '\n')
    return str(root), work_dir


def own_data_runner(root: str, work_dir: str):
    from mmengine.config import Config

    from mmssc.runner import StageRunner
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pipeline', 'own_data.py'))
    cfg.work_dir, cfg.data_root = work_dir, root
    return StageRunner(cfg, log=lambda message: None)


def test_pipeline_evaluate_scores_background_and_every_class(scored_work_dir, monkeypatch):
    root, work_dir = scored_work_dir
    runner = own_data_runner(root, work_dir)
    # the segmenter path: a trained checkpoint and what stock tools/test.py writes (its predictions as PNGs)
    checkpoint = runner.checkpoint('segmentation')
    os.makedirs(osp.dirname(checkpoint))
    open(checkpoint, 'wb').close()

    def fake_test_tool(args, stage):
        assert 'tools/test.py' in args
        out_dir = args[args.index('--out') + 1]
        for image_id, pred in PRED.items():
            write_label_png(osp.join(out_dir, image_id + '.png'), pred)

    monkeypatch.setattr(runner, '_run', fake_test_tool)
    results = runner.evaluate()
    for key in ('cams', 'pseudo_masks', 'segmentation'):
        assert_hand_computed(results[key])
    assert results['cams']['threshold'] == 0.2
    # IR labels: confident = GT-valid pixels not 255 (15 − 2 marked uncertain, both GT background) → 13 of 15,
    # correct = the 10 diagonal pixels of the matrix minus the 2 marked uncertain = 8
    assert results['ir_labels']['precision'] == pytest.approx(100 * 8 / 13)
    assert results['ir_labels']['coverage'] == pytest.approx(100 * 13 / 15)
    saved = json.load(open(osp.join(work_dir, 'pipeline_results.json')))
    assert saved['pseudo_masks']['mIoU'] == pytest.approx(EXPECTED_MIOU)


def test_eval_masks_tool_scores_background_and_every_class(scored_work_dir, tmp_path, capsys):
    root, work_dir = scored_work_dir
    tool = load_tool('eval_masks')
    out = str(tmp_path / 'result.json')
    base = ['--gt-dir', osp.join(root, 'masks'), '--classes', osp.join(root, 'classes.txt'), '--out', out]
    for source in (['--masks', stage_dir(work_dir, 'pseudo_masks')], ['--cams', stage_dir(work_dir, 'cams')]):
        assert tool.main(base + source) == 0
        result = json.load(open(out))
        result['per_class']['dog']['Precision'] = float('nan')  # JSON wrote NaN as null
        assert_hand_computed(result)
        table = capsys.readouterr().out
        assert table.index('background') < table.index('cat') < table.index('bird')
        assert f'mIoU {EXPECTED_MIOU:.2f}' in table


def test_segmenter_predictions_score_like_pseudo_masks(scored_work_dir, tmp_path):
    """tools/crf_postprocess.py's scoring (refined masks) goes through the same scorer."""
    root, _ = scored_work_dir
    tool = load_tool('crf_postprocess')
    out_dir = tmp_path / 'refined'
    for image_id, pred in PRED.items():
        write_label_png(str(out_dir / f'{image_id}.png'), pred)
    assert_hand_computed(tool.evaluate(str(out_dir), osp.join(root, 'masks'), sorted(GT),
                                       ('background',) + CLASSES))


def test_a_label_outside_the_classes_is_an_error_naming_the_file(scored_work_dir, tmp_path):
    from mmssc.evaluation import evaluate_masks, gt_dir_items
    root, _ = scored_work_dir
    items = gt_dir_items(osp.join(root, 'masks'))
    for image_id, pred in PRED.items():
        write_label_png(str(tmp_path / f'{image_id}.png'), np.where(pred == 3, 4, pred).astype(np.uint8))
    with pytest.raises(ValueError, match=r'a\.png: predicted label 4 is outside 0\.\.3'):
        evaluate_masks(str(tmp_path), items, CLASSES, logger='silent')


def test_the_scorer_refuses_a_class_list_with_background():
    from mmssc.evaluation import MaskScore, scored_classes
    assert scored_classes(CLASSES) == ('background',) + CLASSES
    with pytest.raises(ValueError, match='adds .background. itself'):
        MaskScore(('background',) + CLASSES)
