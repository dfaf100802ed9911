"""``segmentation``: the DeepLab-v2 head, the segmentation datasets/transforms, the configs and stock-tool runs on CPU.

References are computed independently of the code under test: explicit dilated-convolution sums, a hand-written
masked cross-entropy, numpy nearest-neighbour resizing, and a confusion-matrix mIoU from the saved predictions.
"""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import mmssc  # noqa: F401  (compat fixes + registrations)
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS, TRANSFORMS
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

# Imported directly so the unit tests do not depend on the package exports.
from mmssc.datasets.class_list_seg import ClassListSegDataset
from mmssc.datasets.coco_seg import COCO_SEG_CLASSES, COCOSegDataset
from mmssc.datasets.apply_confidence_mask import ApplyConfidenceMask
from mmssc.datasets.random_resized_crop import SegRandomResizedCrop
from mmssc.stage_files import voc_palette
from mmssc.fileio import read_label_png, write_label_png
from mmssc.models.deeplab_vgg16 import DeepLabVGG16
from mmssc.models.deeplabv2_head import DeepLabV2Head

from conftest import REPO_ROOT, run_tool
from ddp_check import assert_same_weights, dist_train_two_ranks

TINY_CFG = 'configs/smoke/tiny_deeplabv2_toy_voc.py'
RATES = (6, 12, 18, 24)
NUM_VOC = 21



# ----------------------------------------------------------------------------------------------------- head
def _dilated_conv_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, rate: int) -> np.ndarray:
    """3×3 convolution with dilation ``rate`` and zero padding ``rate``, by explicit shifted sums (N×C×H×W)."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (rate, rate), (rate, rate)))
    out = np.broadcast_to(bias[None, :, None, None], (n, weight.shape[0], h, w)).astype(np.float64)
    for dy in range(3):
        for dx in range(3):
            window = padded[:, :, dy * rate:dy * rate + h, dx * rate:dx * rate + w]
            out = out + np.einsum('nkhw,ck->nchw', window, weight[:, :, dy, dx])
    return out


def test_head_is_the_sum_of_four_dilated_convolutions():
    torch.manual_seed(0)
    head = DeepLabV2Head(in_channels=6, num_classes=5, in_index=1)
    assert MODELS.get('DeepLabV2Head') is DeepLabV2Head
    assert head.dilations == RATES and not hasattr(head, 'conv_seg')
    for branch in head.aspp:  # N(0, 0.01) gives tiny outputs; larger weights make the comparison meaningful
        torch.nn.init.normal_(branch.weight)
        torch.nn.init.normal_(branch.bias)
    x = torch.randn(2, 6, 9, 30)  # width > 2·24: the widest branch sees real pixels, not only padding
    out = head([torch.zeros(1), x]).detach().numpy()
    assert out.shape == (2, 5, 9, 30)
    ref = sum(_dilated_conv_reference(x.numpy().astype(np.float64), b.weight.detach().numpy(),
                                      b.bias.detach().numpy(), r) for b, r in zip(head.aspp, RATES))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    # exactly the four convolutions' parameters: 4 × (6·9·5 weights + 5 biases)
    assert sum(p.numel() for p in head.parameters()) == 4 * (6 * 9 * 5 + 5)


def test_head_init_is_normal_001_with_zero_bias():
    torch.manual_seed(0)
    head = DeepLabV2Head(in_channels=256, num_classes=NUM_VOC)
    head.init_weights()
    weights = torch.cat([b.weight.flatten() for b in head.aspp])
    assert abs(weights.std().item() - 0.01) < 0.0003 and abs(weights.mean().item()) < 0.0003
    assert all(torch.count_nonzero(b.bias) == 0 for b in head.aspp)


def test_head_vgg_aspp_l_branches():
    torch.manual_seed(0)
    head = DeepLabV2Head(in_channels=8, num_classes=3, branch_channels=16, branch_dropout=0.5).eval()
    x = torch.randn(1, 8, 7, 7)
    ref = 0
    for branch, rate in zip(head.aspp, RATES):
        fc6, fc7, fc8 = branch[0], branch[3], branch[6]
        hidden = F.relu(F.conv2d(x, fc6.weight, fc6.bias, padding=rate, dilation=rate))
        hidden = F.relu(F.conv2d(hidden, fc7.weight, fc7.bias))
        ref = ref + F.conv2d(hidden, fc8.weight, fc8.bias)
    torch.testing.assert_close(head([x]), ref)
    head.train()
    assert not torch.equal(head([x]), head([x]))  # dropout is active in training


def test_vgg16_backbone_is_stride_8_and_loads_torchvision_names(tmp_path):
    import torchvision
    with torch.device('meta'):
        tv_features = torchvision.models.vgg16().features.state_dict()
    backbone = DeepLabVGG16()
    ours = backbone.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {'features.' + k: v.shape for k, v in tv_features.items()}
    (feat, ) = backbone(torch.randn(1, 3, 64, 48))
    assert feat.shape == (1, 512, 8, 6)
    # a torchvision-style file (with classifier keys) loads through init_cfg; the classifier keys are ignored
    state = {k: torch.randn_like(v) for k, v in ours.items()}
    state['classifier.0.weight'] = torch.zeros(3, 3)
    torch.save(state, tmp_path / 'vgg16.pth')
    loaded = DeepLabVGG16(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'vgg16.pth')))
    loaded.init_weights()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key


# ---------------------------------------------------------------------------------------- loss and ignore
def _tiny_model():
    cfg = Config.fromfile(osp.join(REPO_ROOT, TINY_CFG))
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_uncertain_pixels_contribute_no_loss():
    torch.manual_seed(0)
    model = _tiny_model().train()
    inputs = torch.randn(2, 3, 64, 64)
    labels = torch.randint(0, NUM_VOC, (2, 64, 64))
    uncertain = torch.rand(2, 64, 64) < 0.4
    labels[uncertain] = 255
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lb[None]), metainfo=dict(img_shape=(64, 64)))
               for lb in labels]

    model.zero_grad()
    loss = model.loss(inputs, samples)['decode.loss_ce']
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    # Reference: mean cross-entropy over the confident pixels only, by hand.
    model.zero_grad()
    logits = F.interpolate(model.decode_head(model.extract_feat(inputs)), size=(64, 64), mode='bilinear',
                           align_corners=False)
    log_probs = logits.log_softmax(dim=1)
    confident = ~uncertain
    picked = log_probs.gather(1, labels.clamp(max=NUM_VOC - 1)[:, None])[:, 0]
    ref = -picked[confident].mean()
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)
    ref.backward()
    assert grads.keys() == {n for n, p in model.named_parameters() if p.grad is not None}
    for name, grad in grads.items():
        torch.testing.assert_close(grad, dict(model.named_parameters())[name].grad, rtol=1e-4, atol=1e-7)

    # Per pixel: the loss gradient w.r.t. the upsampled logits is exactly 0 at uncertain pixels, non-zero elsewhere.
    up = logits.detach().requires_grad_()
    (g, ) = torch.autograd.grad(model.decode_head.loss_decode(up, labels, ignore_index=255), up)
    assert torch.count_nonzero(g.permute(0, 2, 3, 1)[uncertain]) == 0
    assert (g.abs().sum(dim=1)[confident] > 0).all()


# ------------------------------------------------------------------------------------ data: masks on disk
@pytest.fixture(scope='module')
def pseudo_masks(toy_voc, tmp_path_factory):
    """Pseudo masks = GT with a wrong block; confidence 0 on that block and on ~10 % random pixels.

    Returns (root, dict(pseudo=..., conf=..., confident=...), train ids): ``confident`` holds the pseudo masks with
    255 where the confidence is 0 (the "hard" option), ``conf`` 3-channel 0/255 PNGs like SSC's gen_mask.py.
    """
    root, drawn = toy_voc
    base = tmp_path_factory.mktemp('pseudo')
    dirs = {k: str(base / k) for k in ('pseudo', 'conf', 'confident')}
    for d in dirs.values():
        os.makedirs(d)
    rng = np.random.default_rng(1)
    train_ids = sorted(i for i, d in drawn.items() if d['split'] == 'train')
    for image_id in train_ids:
        gt = read_label_png(osp.join(root, 'SegmentationClassAug', image_id + '.png'))
        h, w = gt.shape
        pseudo = gt.copy()
        block = (slice(h // 4, h // 2), slice(w // 4, w // 2))
        pseudo[block] = (gt[block] + 7) % NUM_VOC
        confident = rng.random((h, w)) > 0.1
        confident[block] = False
        write_label_png(osp.join(dirs['pseudo'], image_id + '.png'), pseudo, voc_palette(256))
        Image.fromarray(np.repeat((confident * 255).astype(np.uint8)[..., None], 3, axis=2)).save(
            osp.join(dirs['conf'], image_id + '.png'))
        write_label_png(osp.join(dirs['confident'], image_id + '.png'), np.where(confident, pseudo, 255),
                        voc_palette(256))
    return root, dirs, train_ids


def test_apply_confidence_mask_matches_hard_masks(pseudo_masks, tmp_path):
    root, dirs, train_ids = pseudo_masks
    assert TRANSFORMS.get('ApplyConfidenceMask') is ApplyConfidenceMask
    load = TRANSFORMS.build(dict(type='LoadAnnotations'))
    apply = TRANSFORMS.build(dict(type='ApplyConfidenceMask', conf_dir=dirs['conf']))
    for image_id in train_ids[:4]:
        results = dict(seg_map_path=osp.join(dirs['pseudo'], image_id + '.png'), reduce_zero_label=False,
                       seg_fields=[], label_map=None)
        out = apply(load(results))['gt_seg_map']
        np.testing.assert_array_equal(out, read_label_png(osp.join(dirs['confident'], image_id + '.png')))
    # 0/1 single-channel masks work the same way
    gt = np.array([[1, 2], [3, 4]], np.uint8)
    Image.fromarray(np.array([[1, 0], [0, 1]], np.uint8)).save(tmp_path / 'a.png')
    out = ApplyConfidenceMask(str(tmp_path)).transform(dict(gt_seg_map=gt, seg_map_path='x/a.png'))
    np.testing.assert_array_equal(out['gt_seg_map'], [[1, 255], [255, 4]])
    with pytest.raises(FileNotFoundError, match='b.png'):
        ApplyConfidenceMask(str(tmp_path)).transform(dict(gt_seg_map=gt, seg_map_path='x/b.png'))
    with pytest.raises(ValueError, match='right after LoadAnnotations'):
        ApplyConfidenceMask(str(tmp_path)).transform(dict(gt_seg_map=np.zeros((3, 2), np.uint8),
                                                          seg_map_path='a.png'))


# ------------------------------------------------------------------------------------------ random crop
def test_random_resized_crop_box_distribution():
    crop = SegRandomResizedCrop(size=64)
    np.random.seed(0)
    boxes = np.array([crop.get_crop_box(400, 400) for _ in range(2000)])
    top, left, h, w = boxes.T
    area = h * w / 400**2
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 400).all() and (left + w <= 400).all()
    assert area.min() > 0.5 - 0.01 and area.max() < 0.75 + 0.01  # rounding of the sides
    assert (w / h).min() > 3 / 4 - 0.01 and (w / h).max() < 4 / 3 + 0.01
    assert abs(area.mean() - 0.625) < 0.01  # U(0.5, 0.75)
    # No box fits a 10×1000 strip: the fallback is the centred box at the widest allowed ratio.
    assert crop.get_crop_box(10, 1000) == (0, (1000 - 13) // 2, 10, 13)


def test_random_resized_crop_resizes_image_bilinear_and_labels_nearest(monkeypatch):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    labels = rng.integers(0, 21, (50, 70), dtype=np.uint8)
    crop = SegRandomResizedCrop(size=(24, 32))
    monkeypatch.setattr(crop, 'get_crop_box', lambda h, w: (5, 10, 30, 40))
    out = crop(dict(img=img, gt_seg_map=labels, seg_fields=['gt_seg_map']))
    assert out['img'].shape == (24, 32, 3) and out['img_shape'] == (24, 32)
    np.testing.assert_array_equal(out['img'], cv2.resize(img[5:35, 10:50], (32, 24),
                                                         interpolation=cv2.INTER_LINEAR))
    rows = (np.arange(24) * 30 / 24).astype(int)  # nearest: source index floor(i · in / out)
    cols = (np.arange(32) * 40 / 32).astype(int)
    np.testing.assert_array_equal(out['gt_seg_map'], labels[5:35, 10:50][rows][:, cols])


# ---------------------------------------------------------------------------------------------- datasets
def _write_image(path, h=12, w=16):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(path)


def test_coco_seg_dataset_lists_the_masks_present(tmp_path):
    for i in range(4):
        _write_image(str(tmp_path / 'train2014' / f'COCO_train2014_{i:012d}.jpg'))
    masks = {}
    for i in (0, 2, 3):  # image 1 has no pseudo mask: it is not used
        masks[i] = np.full((12, 16), i * 20, np.uint8)
        masks[i][0, 0] = 255
        write_label_png(str(tmp_path / 'pseudo' / f'COCO_train2014_{i:012d}.png'), masks[i])
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    dataset = DATASETS.build(dict(type='COCOSegDataset', data_root=str(tmp_path), ann_file='',
                                  data_prefix=dict(img_path='train2014', seg_map_path='pseudo'),
                                  pipeline=pipeline))
    assert isinstance(dataset, COCOSegDataset)
    assert dataset.metainfo['classes'] == COCO_SEG_CLASSES and len(COCO_SEG_CLASSES) == 81
    assert COCO_SEG_CLASSES[1] == 'person' and COCO_SEG_CLASSES[80] == 'toothbrush'
    assert len(dataset.metainfo['palette']) == 81
    assert [osp.basename(d['img_path']) for d in dataset] == [f'COCO_train2014_{i:012d}.jpg' for i in (0, 2, 3)]
    for item, i in zip(dataset, (0, 2, 3)):
        np.testing.assert_array_equal(item['gt_seg_map'], masks[i])
    os.remove(tmp_path / 'train2014' / 'COCO_train2014_000000000002.jpg')
    with pytest.raises(FileNotFoundError, match='COCO_train2014_000000000002.jpg'):
        COCOSegDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train2014', seg_map_path='pseudo'))


def test_class_list_seg_dataset_prepends_background(tmp_path):
    (tmp_path / 'classes.txt').write_text('cat\ndog\n')
    _write_image(str(tmp_path / 'images' / 'a.jpg'))
    _write_image(str(tmp_path / 'images' / 'b.jpg'))
    (tmp_path / 'val.txt').write_text('b\n')
    dataset = ClassListSegDataset(classes=str(tmp_path / 'classes.txt'), data_root=str(tmp_path),
                                  data_prefix=dict(img_path='images'), ann_file='val.txt')
    assert dataset.metainfo['classes'] == ('background', 'cat', 'dog')
    assert [osp.basename(d['img_path']) for d in dataset] == ['b.jpg']
    everything = ClassListSegDataset(classes=['cat', 'dog'], data_root=str(tmp_path),
                                     data_prefix=dict(img_path='images'))
    assert [osp.basename(d['img_path']) for d in everything] == ['a.jpg', 'b.jpg']


# ------------------------------------------------------------------------------------------------ configs
def test_paper_configs():
    voc = Config.fromfile(osp.join(REPO_ROOT, 'configs/ssc/voc_deeplabv2.py'))
    coco = Config.fromfile(osp.join(REPO_ROOT, 'configs/ssc/coco_deeplabv2.py'))
    for cfg, classes, dataset, epochs, batch in ((voc, 21, 'PascalVOCDataset', 100, 16),
                                                 (coco, 81, 'COCOSegDataset', 40, 2)):
        backbone, head = cfg.model.backbone, cfg.model.decode_head
        assert (backbone.type, backbone.depth, backbone.style) == ('ResNet', 101, 'pytorch')
        assert backbone.strides == (1, 2, 1, 1) and backbone.dilations == (1, 1, 2, 4)  # output stride 8
        assert backbone.contract_dilation is False and backbone.init_cfg.type == 'Pretrained'
        assert (head.type, head.num_classes, tuple(head.dilations)) == ('DeepLabV2Head', classes, RATES)
        assert head.loss_decode.avg_non_ignore and cfg.model.auxiliary_head is None
        train, val = cfg.train_dataloader, cfg.val_dataloader
        assert train.dataset.type == val.dataset.type == dataset and train.batch_size == batch
        assert train.dataset.data_prefix.seg_map_path == 'pseudo_masks_confident'
        assert val.dataset.data_prefix.seg_map_path in ('SegmentationClassAug', 'masks/val2014')  # real GT
        assert cfg.val_evaluator.type == 'IoUMetric' and cfg.tta_model.type == 'SegTTAModel'
        assert cfg.train_cfg.max_epochs == epochs and cfg.param_scheduler[0].end == epochs
        assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    for name in ('voc', 'coco'):
        vgg = Config.fromfile(osp.join(REPO_ROOT, f'configs/ssc/{name}_deeplabv2_vgg16.py'))
        assert vgg.model.backbone == dict(type='DeepLabVGG16', init_cfg=dict(
            type='Pretrained', checkpoint='pretrained/vgg16-397923af.pth'))
        assert vgg.model.decode_head.branch_channels == 1024 and vgg.model.decode_head.in_channels == 512


@pytest.mark.parametrize('config', ['voc_deeplabv2.py', 'voc_deeplabv2_vgg16.py'])
def test_paper_models_build_at_stride_8_and_need_their_weight_file(config, tmp_path, monkeypatch):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/ssc', config))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        logits = model.decode_head(model.extract_feat(torch.randn(1, 3, 64, 64)))
    assert logits.shape == (1, NUM_VOC, 8, 8)
    monkeypatch.chdir(tmp_path)  # no pretrained/ folder here: nothing may be downloaded instead
    with pytest.raises(FileNotFoundError, match=cfg.model.backbone.init_cfg.checkpoint):
        model.init_weights()


# ------------------------------------------------------------------------------------- stock tool runs
def _data_options(root, seg_map_path):
    return [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')] + \
        [f'train_dataloader.dataset.data_prefix.seg_map_path={seg_map_path}']


def _miou_from_pngs(pred_dir, root, ids):
    """mIoU (%) over the classes present in GT or prediction, from a confusion matrix (IoUMetric's definition)."""
    conf = np.zeros((NUM_VOC, NUM_VOC), np.int64)
    for image_id in ids:
        gt = read_label_png(osp.join(root, 'SegmentationClassAug', image_id + '.png')).astype(np.int64)
        pred = np.asarray(Image.open(osp.join(pred_dir, image_id + '.png'))).astype(np.int64)
        assert pred.shape == gt.shape  # predictions come back at the original image size
        valid = gt != 255
        conf += np.bincount(gt[valid] * NUM_VOC + pred[valid], minlength=NUM_VOC**2).reshape(NUM_VOC, NUM_VOC)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.diag(conf) / union
    return float(np.nanmean(iou) * 100)


def _reported_miou(output: str) -> float:
    values = re.findall(r'mIoU: ([0-9.]+)', output)
    assert values, output[-3000:]
    return float(values[-1])


@pytest.mark.slow
def test_train_on_confident_pseudo_masks_then_evaluate_and_tta(pseudo_masks, tmp_path):
    root, dirs, _ = pseudo_masks
    val_ids = open(osp.join(root, 'ImageSets/Segmentation/val.txt')).read().split()
    work = tmp_path / 'train'
    val_pred = tmp_path / 'val_pred'
    proc = run_tool(['tools/train.py', TINY_CFG, '--work-dir', str(work), '--cfg-options',
                     *_data_options(root, dirs['confident']), f'val_evaluator.output_dir={val_pred}'])
    assert osp.isfile(work / 'iter_4.pth')
    output = proc.stdout + proc.stderr
    assert 'Iter(train) [4/4]' in output
    # IoUMetric on the real GT, checked against a confusion matrix of the saved val predictions
    assert _reported_miou(output) == pytest.approx(_miou_from_pngs(val_pred, root, val_ids), abs=0.01)

    tta_pred = tmp_path / 'tta_pred'
    proc = run_tool(['tools/test.py', TINY_CFG, str(work / 'iter_4.pth'), '--tta', '--out', str(tta_pred),
                     '--work-dir', str(tmp_path / 'test'), '--cfg-options', *_data_options(root, dirs['confident'])])
    assert sorted(os.listdir(tta_pred)) == sorted(i + '.png' for i in val_ids)
    assert _reported_miou(proc.stdout + proc.stderr) == pytest.approx(_miou_from_pngs(tta_pred, root, val_ids),
                                                                      abs=0.01)


@pytest.mark.slow
def test_two_process_cpu_ddp_keeps_ranks_identical(pseudo_masks, tmp_path):
    root, dirs, _ = pseudo_masks
    proc, weights = dist_train_two_ranks(osp.join(REPO_ROOT, TINY_CFG), str(tmp_path),
                                         cfg_options=_data_options(root, dirs['confident']))
    assert proc.returncode == 0
    assert_same_weights(weights)
    assert any(k.startswith('decode_head.aspp.') for k in weights[0])
