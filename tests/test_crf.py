"""mmssc.crf (dense CRF wrapper) and tools/crf_postprocess.py (the official post-processing of saved predictions).

References: pydensecrf driven directly with its own ``unary_from_softmax``/``unary_from_labels``; the closed form
of mean-field inference without pairwise terms; mmseg's SegTTAModel for the multi-scale + flip probabilities; a
confusion-matrix mIoU.
"""
import os
import os.path as osp
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmssc.datasets.random_resized_crop  # noqa: F401  (registered directly, independent of the package exports)
import mmssc.models.deeplabv2_head  # noqa: F401
from mmssc.crf import IR_LABEL_CRF, SEG_TEST_CRF, dense_crf, import_densecrf, label_probs
from mmssc.stage_files import voc_palette
from mmssc.fileio import read_image, read_label_png, write_label_png

from conftest import REPO_ROOT, load_tool

try:
    import pydensecrf.densecrf  # noqa: F401
    HAVE_CRF = True
except ImportError:
    HAVE_CRF = False
needs_crf = pytest.mark.skipif(not HAVE_CRF, reason='pydensecrf is not installed (`pip install pydensecrf2`); '
                               'the CRF post-processing step is optional')
TINY_CFG = osp.join(REPO_ROOT, 'configs/smoke/tiny_deeplabv2_toy_voc.py')





def _two_colour_scene(shift=3):
    """Red left half / blue right half; labels with two wrong blobs and a boundary shifted by ``shift`` px."""
    rng = np.random.default_rng(0)
    h, w = 40, 48
    img = np.zeros((h, w, 3), np.int64)
    img[:, :w // 2] = (200, 30, 30)
    img[:, w // 2:] = (30, 30, 200)
    img = np.clip(img + rng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
    truth = np.zeros((h, w), np.int64)
    truth[:, w // 2:] = 1
    labels = truth.copy()
    labels[5:9, 5:9] = 1
    labels[20:24, 30:34] = 0
    labels[30:, w // 2 - shift:w // 2] = 1
    return img, truth, labels


def test_missing_pydensecrf_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pydensecrf', None)
    monkeypatch.setitem(sys.modules, 'pydensecrf.densecrf', None)
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        import_densecrf()
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        dense_crf(np.zeros((4, 4, 3), np.uint8), np.full((2, 4, 4), 0.5, np.float32))


def test_label_probs():
    labels = np.array([[0, 2], [1, 2]])
    probs = label_probs(labels, 3, gt_prob=0.7)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs[2], [[0.15, 0.7], [0.15, 0.7]], rtol=1e-6)
    with pytest.raises(ValueError):
        label_probs(np.array([[3]]), 3)
    if HAVE_CRF:  # the unary pydensecrf builds from labels is -log of these probabilities
        from pydensecrf.utils import unary_from_labels
        np.testing.assert_allclose(-np.log(probs.reshape(3, -1)),
                                   unary_from_labels(labels, 3, 0.7, zero_unsure=False), rtol=1e-6)


@needs_crf
def test_dense_crf_equals_pydensecrf_driven_directly():
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    probs = np.ascontiguousarray(rng.dirichlet(np.ones(4), size=(20, 24)).transpose(2, 0, 1), np.float32)
    crf = dcrf.DenseCRF2D(24, 20, 4)
    crf.setUnaryEnergy(unary_from_softmax(probs))
    crf.addPairwiseGaussian(sxy=1, compat=3)  # docs/method.md, 'segmentation'
    crf.addPairwiseBilateral(sxy=67, srgb=3, rgbim=img, compat=4)
    ref = np.array(crf.inference(10)).reshape(4, 20, 24)
    np.testing.assert_allclose(dense_crf(img, probs), ref, rtol=1e-6, atol=1e-7)


@needs_crf
def test_dense_crf_without_pairwise_terms_returns_the_probabilities():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=(10, 12)).transpose(2, 0, 1).astype(np.float32)
    probs[0, 0, 0], probs[1, 0, 0], probs[2, 0, 0] = 0.0, 0.25, 0.75  # a zero: clipped to 1e-5
    q = dense_crf(np.zeros((10, 12, 3), np.uint8), probs, pos_w=0, bi_w=0)
    clipped = np.clip(probs, 1e-5, 1.0)
    np.testing.assert_allclose(q, clipped / clipped.sum(axis=0), atol=1e-6)  # mean field = softmax(-unary)


@needs_crf
@pytest.mark.parametrize('params', [SEG_TEST_CRF, IR_LABEL_CRF], ids=['seg_test', 'ir_label'])
def test_dense_crf_follows_colour_edges(params):
    img, truth, labels = _two_colour_scene()
    probs = label_probs(labels, 2, 0.7)
    assert (labels != truth).sum() == 62
    np.testing.assert_array_equal(dense_crf(img, probs, **params).argmax(axis=0), truth)
    # Without the image term the shifted boundary stays: it is the colour edge that moves it.
    no_colour = dict(params, bi_w=0)
    assert (dense_crf(img, probs, **no_colour).argmax(axis=0)[30:] != truth[30:]).sum() >= 20


# ------------------------------------------------------------------------------------------------ the tool
def _miou(pred_dir, gt_dir, ids, num_classes=21):
    conf = np.zeros((num_classes, num_classes), np.int64)
    for image_id in ids:
        gt = read_label_png(osp.join(gt_dir, image_id + '.png')).astype(np.int64)
        pred = read_label_png(osp.join(pred_dir, image_id + '.png')).astype(np.int64)
        valid = gt != 255
        conf += np.bincount(gt[valid] * num_classes + pred[valid], minlength=num_classes**2).reshape(
            num_classes, num_classes)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.diag(conf) / (conf.sum(0) + conf.sum(1) - np.diag(conf))
    return float(np.nanmean(iou) * 100)


@pytest.fixture
def val_set(toy_voc):
    root, drawn = toy_voc
    ids = sorted(i for i, d in drawn.items() if d['split'] == 'val')
    return root, ids


@needs_crf
def test_tool_refines_saved_labels_resumes_and_scores(val_set, tmp_path, capsys):
    root, ids = val_set
    gt_dir = osp.join(root, 'SegmentationClassAug')
    preds = tmp_path / 'preds'
    for image_id in ids:  # predictions = ground truth with a wrong 6×6 block
        pred = read_label_png(osp.join(gt_dir, image_id + '.png')).copy()
        pred[10:16, 10:16] = 0
        write_label_png(str(preds / (image_id + '.png')), pred, voc_palette(256))
    out = tmp_path / 'crf'
    tool = load_tool('crf_postprocess')
    argv = ['--images', osp.join(root, 'JPEGImages'), '--labels', str(preds), '--out-dir', str(out),
            '--gt-dir', gt_dir]
    assert tool.main(argv + ['--nproc', '2']) == 0
    assert sorted(os.listdir(out)) == sorted(i + '.png' for i in ids)
    for image_id in ids:
        image = read_image(osp.join(root, 'JPEGImages', image_id + '.jpg'))
        ref = dense_crf(image, label_probs(read_label_png(str(preds / (image_id + '.png'))), 21, 0.7)).argmax(0)
        np.testing.assert_array_equal(read_label_png(str(out / (image_id + '.png'))), ref)
    reported = float(re.search(r'after CRF[\s\S]*?masks: mIoU ([0-9.]+)', capsys.readouterr().out).group(1))
    assert reported == pytest.approx(_miou(out, gt_dir, ids), abs=0.01)

    sentinel = np.zeros_like(read_label_png(str(out / (ids[0] + '.png'))))
    write_label_png(str(out / (ids[0] + '.png')), sentinel)
    assert tool.main(argv) == 0
    assert f'{len(ids)} images, {len(ids)} already refined, 0 to do' in capsys.readouterr().out
    np.testing.assert_array_equal(read_label_png(str(out / (ids[0] + '.png'))), sentinel)  # kept, not redone


@needs_crf
def test_tool_refines_low_resolution_logits(val_set, tmp_path):
    root, ids = val_set
    rng = np.random.default_rng(0)
    logits_dir = tmp_path / 'logits'
    os.makedirs(logits_dir)
    logits = {}
    for image_id in ids[:2]:
        h, w = read_image(osp.join(root, 'JPEGImages', image_id + '.jpg')).shape[:2]
        logits[image_id] = rng.normal(0, 2, (21, h // 8, w // 8)).astype(np.float32)
        np.save(logits_dir / (image_id + '.npy'), logits[image_id])
    out = tmp_path / 'crf'
    assert load_tool('crf_postprocess').main(['--images', osp.join(root, 'JPEGImages'), '--logits', str(logits_dir),
                              '--out-dir', str(out), '--bi-w', '5']) == 0
    for image_id, value in logits.items():
        image = read_image(osp.join(root, 'JPEGImages', image_id + '.jpg'))
        up = F.interpolate(torch.from_numpy(value)[None], size=image.shape[:2], mode='bilinear', align_corners=False)
        ref = dense_crf(image, up[0].softmax(0).numpy(), bi_w=5).argmax(0)
        np.testing.assert_array_equal(read_label_png(str(out / (image_id + '.png'))), ref)


@needs_crf
def test_tool_model_mode_uses_the_tta_probabilities(val_set, tmp_path):
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    root, ids = val_set
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    classes = ('background', ) + tuple(f'c{i}' for i in range(1, 21))
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=classes))), ckpt)

    tool = load_tool('crf_postprocess')
    out = tmp_path / 'crf'
    assert tool.main(['--images', osp.join(root, 'JPEGImages'), '--config', TINY_CFG, '--checkpoint', str(ckpt),
                      '--tta', '--ids', osp.join(root, 'ImageSets/Segmentation/val.txt'),
                      '--out-dir', str(out)]) == 0

    from mmssc.stages.segmenter_masks import SegmenterProbabilities, _without_annotations
    probabilities = SegmenterProbabilities(TINY_CFG, str(ckpt), 'cpu', tta=True)
    assert probabilities.class_names == classes
    model.eval()
    tta_model = MODELS.build(dict(type='SegTTAModel', module=model))
    pipeline = Compose([t for t in _without_annotations(cfg.tta_pipeline)])
    for image_id in ids:
        path = osp.join(root, 'JPEGImages', image_id + '.jpg')
        probs = probabilities(path)
        with torch.no_grad():
            (merged, ) = tta_model.test_step(pseudo_collate([pipeline(dict(img_path=path))]))
        np.testing.assert_array_equal(probs.argmax(0), merged.pred_sem_seg.data[0].numpy())  # = mmseg's TTA
        np.testing.assert_array_equal(read_label_png(str(out / (image_id + '.png'))),
                                      dense_crf(read_image(path), probs).argmax(0))
