"""BECO co-training (``segmentation``, docs/method.md 'BECO co-training'): one step against the official code's outputs
(tests/golden/beco_losses.npz, tests/golden/README.md section 9), the class-mix, the warm-up, the data inputs,
the photometric augmentation, and stock-tool runs (train, --resume, test, 2-process CPU DDP).
"""
import math
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from PIL import Image

from mmseg.registry import MODELS, TRANSFORMS
from mmssc.datasets.confidence_field import LoadConfidenceMask, PackBECOInputs
from mmssc.fileio import read_label_png, write_label_png
from mmssc.models.beco_loss import beco_losses
from mmssc.models.beco_photometric import gaussian_blur, hsv_to_rgb, photometric_augment, rgb_to_hsv
from mmssc.models.beco_segmentor import BECOSegmentor, BECOSettings, beco_step
from mmssc.models.class_mix import boundary_map, candidate_classes, class_mask, class_mix, pair_order
from mmssc.stage_files import voc_palette

from conftest import REPO_ROOT, TESTS_DIR, run_tool, toy_ids
from ddp_check import assert_same_weights, dist_train_two_ranks

GOLDEN = osp.join(TESTS_DIR, 'golden', 'beco_losses.npz')
SMOKE_CFG = 'configs/smoke/tiny_beco_toy_voc.py'
NUM_VOC = 21


# ------------------------------------------------------------------------------- the official step (golden)
@pytest.fixture(scope='module')
def gold():
    return dict(np.load(GOLDEN))


class StandIn(nn.Module):
    """The fixture's stand-in network: a 1×1 convolution 3 → 21 (logits at input resolution, train = eval)."""

    def __init__(self, weight, bias):
        super().__init__()
        self.conv = nn.Conv2d(3, weight.shape[0], 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(weight)[:, :, None, None])
            self.conv.bias.copy_(torch.from_numpy(bias))

    def forward(self, x):
        return self.conv(x)


def _golden_step(gold, phase):
    """Run :func:`beco_step` on the fixture's batch with the fixture's networks and its drawn classes."""
    networks = [StandIn(gold[f'network{i}_weight'], gold[f'network{i}_bias']) for i in (1, 2)]
    if phase == 'warm':
        source = gold['label']
    else:  # the partner's online label where confident, 255 elsewhere (the fixture's own arrays)
        source = np.where(gold['post_mask_online'][:, 0] == 1, gold['post_labels_online'], 255)
    order = pair_order(4)
    chosen = [np.unique(source[partner][gold[f'{phase}_alpha'][k] == 1]) for k, (_, partner) in enumerate(order)]
    seen = {}

    def draw(k, candidates):
        seen[k] = candidates.tolist()
        return torch.from_numpy(chosen[k])

    settings = BECOSettings(mix_prob=1.0, photometric=False)  # the fixture's settings (README section 9)
    step = beco_step(networks, lambda net, x: net(x), torch.from_numpy(gold['img']), torch.from_numpy(gold['label']),
                     torch.from_numpy(gold['mask']), online=phase == 'post', settings=settings, draw=draw)
    # the draw saw the official candidates (present classes without 0 and 255) and picks ⌈n/2⌉ of them
    for k, (_, partner) in enumerate(order):
        present = sorted(set(np.unique(source[partner]).tolist()) - {0, 255})
        assert seen[k] == present
        assert set(chosen[k].tolist()) <= set(present) and len(chosen[k]) == math.ceil(len(present) / 2)
    return step


@pytest.mark.parametrize('phase', ['warm', 'post'])
def test_step_reproduces_the_official_code(gold, phase):
    step = _golden_step(gold, phase)
    g = {k[len(phase) + 1:]: v for k, v in gold.items() if k.startswith(phase + '_')}
    if phase == 'post':
        np.testing.assert_allclose(step.online.mean_logits.numpy(), gold['post_online_logits_mean'], atol=1e-5)
        np.testing.assert_array_equal(step.online.labels.numpy(), gold['post_labels_online'])
        np.testing.assert_array_equal(step.online.confident.numpy(), gold['post_mask_online'][:, 0])
    else:
        assert step.online is None
    # class-mix in the official output order [0←2, 2←0, 1←3, 3←1]
    assert step.mix.order == [(0, 2), (2, 0), (1, 3), (3, 1)]
    np.testing.assert_array_equal(step.mix.alpha.numpy(), g['alpha'])
    np.testing.assert_array_equal(step.images.numpy(), g['mix_img'])
    np.testing.assert_array_equal(step.label.numpy(), g['mix_label'])
    np.testing.assert_array_equal(step.confidence.numpy(), g['mix_mask'])
    # boundary (post: dilate − erode of α; warm: none), its inside and the per-sample flag
    np.testing.assert_array_equal(step.boundary.numpy(), g['mix_bdry'])
    inside = boundary_map(step.mix.alpha)[1].numpy() if phase == 'post' else np.zeros_like(g['mix_inside'])
    np.testing.assert_array_equal(inside, g['mix_inside'])
    isbdry = (step.boundary.flatten(1).amax(1) > 0).long()[:, None, None].expand_as(step.boundary)
    np.testing.assert_array_equal(isbdry.numpy(), g['mix_isbdry'])
    # both networks on the mixed batch, the CE maps before masking, the peer targets
    np.testing.assert_allclose(step.logits1.detach().numpy(), g['logits1'], atol=1e-5)
    np.testing.assert_allclose(step.logits2.detach().numpy(), g['logits2'], atol=1e-5)
    for name in ('ce1', 'ce2', 'cot1', 'cot2'):
        np.testing.assert_allclose(step.maps[name].detach().numpy(), g[f'{name}_map'], atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(step.maps['cot1_target'].numpy(), g['cot1_target'])
    np.testing.assert_array_equal(step.maps['cot2_target'].numpy(), g['cot2_target'])
    for name in ('ce1', 'ce2', 'cot1', 'cot2'):
        np.testing.assert_allclose(step.losses[f'loss_{name}'].item(), g[f'loss_{name}'], rtol=1e-6, err_msg=name)
    total = sum(step.losses.values())
    np.testing.assert_allclose(total.item(), g['loss'], rtol=1e-6)
    # the loss trains both networks: every parameter gets a gradient
    total.backward()


def test_boundary_and_class_mask_standalone_cases(gold):
    alpha = torch.from_numpy(gold['bdry_alpha'])
    for size in (1, 2):
        bdry, inside = boundary_map(alpha, size)
        np.testing.assert_array_equal(bdry.numpy(), gold[f'bdry_size{size}'][0])
        np.testing.assert_array_equal(inside.numpy(), gold[f'inside_size{size}'][0])
        # and OpenCV itself, border rules included
        kernel = np.ones((2 * size + 1,) * 2, np.uint8)
        a = gold['bdry_alpha'].astype(np.uint8)
        np.testing.assert_array_equal(bdry.numpy(), cv2.dilate(a, kernel).astype(int) - cv2.erode(a, kernel))
    for constant in (0, 1):
        bdry, _ = boundary_map(torch.full((6, 7), constant))
        assert not bdry.any()
    out = class_mask(torch.from_numpy(gold['classmask_label']), torch.from_numpy(gold['classmask_classes']))
    np.testing.assert_array_equal(out.numpy(), gold['classmask_out'])


def test_loss_means_over_all_pixels_and_weights_the_boundary():
    torch.manual_seed(0)
    logits1, logits2 = torch.randn(2, 3, 5, 4, 4).unbind(0)
    label = torch.randint(0, 5, (3, 4, 4))
    mask = torch.randint(0, 2, (3, 4, 4))
    bdry = torch.randint(0, 2, (3, 4, 4))
    losses = beco_losses(logits1, logits2, label, mask, bdry)
    ce = -logits1.log_softmax(1).gather(1, label[:, None])[:, 0]
    assert losses['loss_ce1'].item() == pytest.approx((ce * mask * (1 + 0.2 * bdry)).sum().item() / 48, rel=1e-6)
    peer = -logits1.log_softmax(1).gather(1, logits2.argmax(1)[:, None])[:, 0]
    assert losses['loss_cot1'].item() == pytest.approx((peer * (1 - mask)).sum().item() / 48, rel=1e-6)


# ------------------------------------------------------------------------------------------- class-mix
def test_pair_order():
    assert pair_order(4) == [(0, 2), (2, 0), (1, 3), (3, 1)]
    assert pair_order(6) == [(0, 3), (3, 0), (1, 4), (4, 1), (2, 5), (5, 2)]
    assert pair_order(3) == [(0, 1), (1, 0), (2, 2)]  # the odd one out stays unmixed


def test_class_mix_pastes_exactly_the_drawn_classes():
    torch.manual_seed(3)
    source = torch.randint(0, 6, (4, 16, 16))
    source[:, :2] = 255
    image = torch.randn(4, 3, 16, 16)
    result = class_mix(dict(img=image, label=source), source, mix_prob=1.0)
    for k, (base, partner) in enumerate(result.order):
        present = candidate_classes(source[partner])
        assert 0 not in present.tolist() and 255 not in present.tolist()
        drawn = result.classes[k].tolist()
        assert len(drawn) == math.ceil(len(present) / 2) and set(drawn) <= set(present.tolist())
        pasted = torch.isin(source[partner], result.classes[k])
        assert torch.equal(result.alpha[k].bool(), pasted)
        expected_label = torch.where(pasted, source[partner], source[base])
        assert torch.equal(result.fields['label'][k], expected_label)
        assert torch.equal(result.fields['img'][k], torch.where(pasted, image[partner], image[base]))
    # the draw is random: over many batches every class gets pasted sometimes and left out sometimes
    counts = np.zeros(6)
    for _ in range(50):
        for classes in class_mix(dict(label=source), source, mix_prob=1.0).classes:
            counts[classes.numpy()] += 1
    assert counts[0] == 0 and (counts[1:] > 0).all() and (counts[1:] < 200).all()  # 200 draws of 3 of 5
    # mix_prob 0: nothing pasted, every output is its base
    unmixed = class_mix(dict(label=source), source, mix_prob=0.0)
    assert not unmixed.alpha.any() and not unmixed.mixed.any()
    assert torch.equal(unmixed.fields['label'], source[[0, 2, 1, 3]])


def test_online_labels_only_after_the_warm_up():
    """Warm-up: offline labels are mixed; after it, mixed samples take the networks' confident labels."""
    torch.manual_seed(0)
    nets = [nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)]
    for net in nets:  # very confident networks: every pixel's online label is confident
        nn.init.constant_(net.weight, 0.0)
        with torch.no_grad():
            net.bias.copy_(torch.tensor([0.0, 0.0, 20.0, 0.0]))
    images = torch.randn(4, 3, 8, 8)
    offline = torch.ones(4, 8, 8, dtype=torch.long)  # class 1 everywhere, all confident
    confidence = torch.ones(4, 8, 8, dtype=torch.long)
    forward = lambda net, x: net(x)  # noqa: E731
    settings = BECOSettings(mix_prob=1.0, photometric=False)
    warm = beco_step(nets, forward, images, offline, confidence, online=False, settings=settings)
    assert warm.online is None and (warm.label == 1).all() and not warm.boundary.any()
    post = beco_step(nets, forward, images, offline, confidence, online=True, settings=settings)
    assert (post.online.labels == 2).all() and (post.online.confident == 1).all()
    assert (post.label == 2).all()  # every sample was mixed: supervised by the online label
    # unmixed samples keep their offline label after the warm-up
    kept = beco_step(nets, forward, images, offline, confidence, online=True,
                     settings=BECOSettings(mix_prob=0.0, photometric=False))
    assert (kept.label == 1).all() and not kept.boundary.any()


def test_segmentor_needs_the_epoch_and_follows_the_warm_up():
    cfg = Config.fromfile(osp.join(REPO_ROOT, SMOKE_CFG))
    model = MODELS.build(cfg.model)
    assert isinstance(model, BECOSegmentor) and model.settings.warm_up_epochs == 1
    with pytest.raises(RuntimeError, match='BECOWarmupHook'):
        model.online
    model.set_epoch(0)
    assert not model.online
    model.set_epoch(1)
    assert model.online
    with pytest.raises(KeyError, match='unknown key'):
        BECOSettings.from_config(dict(warm_up=2))
    with pytest.raises(ValueError, match='mix_prob'):
        BECOSettings.from_config(dict(mix_prob=2))


# ------------------------------------------------------------------------------------------ the segmentor
def _tiny_segmentor(**test_cfg):
    cfg = Config.fromfile(osp.join(REPO_ROOT, SMOKE_CFG))
    cfg.model.test_cfg.update(test_cfg)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def test_two_networks_with_their_own_heads_and_prediction_is_their_mean_logits():
    torch.manual_seed(0)
    model = _tiny_segmentor()
    head1, head2 = (dict(net.decode_head.named_parameters()) for net in model.networks)
    assert not torch.equal(head1['aspp.0.weight'], head2['aspp.0.weight'])  # each head has its own random init
    params = {id(p) for p in model.parameters()}
    assert params == {id(p) for net in model.networks for p in net.parameters()}  # one optimiser trains both
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = sum(F.interpolate(net.decode_head(net.extract_feat(images)), size=(64, 64), mode='bilinear',
                                     align_corners=False) for net in model.networks) / 2
        samples = model.predict(images)
    got = torch.stack([s.seg_logits.data for s in samples])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(torch.stack([s.pred_sem_seg.data[0] for s in samples]), expected.argmax(1))


def test_multi_scale_max_test_mode():
    torch.manual_seed(0)
    scales = (0.5, 1.5)
    model = _tiny_segmentor(mode='multi_scale_max', scales=scales)
    images = torch.randn(1, 3, 64, 64)

    def pre_logits(x):
        return sum(net.decode_head(net.extract_feat(x)) for net in model.networks) / 2

    with torch.no_grad():
        base = pre_logits(images)  # stride 8: 8×8
        views = [base] + [F.interpolate(pre_logits(F.interpolate(images, size=(int(64 * s),) * 2, mode='bilinear',
                                                                 align_corners=False)),
                                        size=base.shape[2:], mode='bilinear', align_corners=False) for s in scales]
        expected = F.interpolate(torch.stack(views).amax(0), size=(64, 64), mode='bilinear', align_corners=False)
        got = model.predict(images)[0].seg_logits.data
        whole = _tiny_segmentor().predict(images)[0].seg_logits.data
    torch.testing.assert_close(got[None], expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got, whole)  # the mode changes the prediction
    with pytest.raises(ValueError, match='test_cfg.mode'):
        _tiny_segmentor(mode='nonsense').predict(images)


def test_training_step_logs_the_warm_up_and_trains_both_networks():
    torch.manual_seed(0)
    model = _tiny_segmentor().train()
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    samples = []
    for _ in range(4):
        sample = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 3, (1, 64, 64))),
                               metainfo=dict(img_shape=(64, 64)))
        sample.gt_confidence = PixelData(data=torch.randint(0, 2, (1, 64, 64)))
        samples.append(sample)
    images = torch.randn(4, 3, 64, 64)
    model.set_epoch(0)
    losses = model.loss(images, samples)
    assert set(losses) == {'loss_ce1', 'loss_ce2', 'loss_cot1', 'loss_cot2', 'beco_online'}
    assert losses['beco_online'].item() == 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    # every parameter of both networks is in the graph (DDP without find_unused_parameters needs that); the
    # residual branches start at zero (zero-init last BN), so only some gradients are non-zero at step 0
    assert all(p.grad is not None for p in model.parameters())
    for net in model.networks:
        assert all(p.grad.abs().sum() > 0 for p in net.decode_head.parameters())
    model.set_epoch(1)
    assert model.loss(images, samples)['beco_online'].item() == 1
    del samples[0].gt_confidence
    with pytest.raises(KeyError, match='LoadConfidenceMask'):
        model.loss(images, samples)


# ---------------------------------------------------------------------------------- photometric augmentation
def test_photometric_pieces_match_their_definitions():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (2, 3, 20, 24)).float()
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(x)), x, rtol=0, atol=1e-3)
    # HSV agrees with OpenCV's (H in 2-degree units, S and V 0..255) up to OpenCV's 8-bit rounding
    image = x[0].permute(1, 2, 0).numpy().astype(np.uint8)
    cv_hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float64)
    ours = rgb_to_hsv(x[:1])[0].permute(1, 2, 0).numpy() * [0.5, 255, 1]
    hue_gap = np.abs(cv_hsv[..., 0] - ours[..., 0])
    assert np.minimum(hue_gap, 180 - hue_gap).max() <= 1 and np.abs(cv_hsv[..., 1:] - ours[..., 1:]).max() <= 1
    for kernel in (3, 5):  # OpenCV's kernel, sigma and reflect-101 borders
        expected = cv2.GaussianBlur(image, (kernel, kernel), 0).astype(np.float64)
        got = gaussian_blur(x[:1], kernel)[0].permute(1, 2, 0).numpy()
        assert np.abs(got - expected).max() <= 1


def test_photometric_augment_probabilities_and_ranges():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(400, 3, 8, 8) * 155 + 50
    out = photometric_augment(images, generator=generator)
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 255
    assert torch.equal(out, out.round())
    changed = (out != images.round()).flatten(1).any(1).float().mean().item()
    assert changed > 0.85  # P(unchanged) = 0.2 · 0.8 · 0.5 = 0.08, blur alone changes little on smooth images
    gray = (out[:, 0] == out[:, 1]).flatten(1).all(1) & (out[:, 1] == out[:, 2]).flatten(1).all(1)
    assert 0.12 < gray.float().mean().item() < 0.28  # ToGray p 0.2
    # the official BGR swap: a gray image of a pure red patch uses the blue weight
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 200
    swapped = photometric_augment(red, color_prob=0, gray_prob=1, blur_prob=0)
    plain = photometric_augment(red, color_prob=0, gray_prob=1, blur_prob=0, swap_channels=False)
    assert swapped[0, 0, 0, 0].item() == round(0.114 * 200) and plain[0, 0, 0, 0].item() == round(0.299 * 200)


# ------------------------------------------------------------------------------------------------ data inputs
def _write_masks(folder, image_id, label, confident, palette=True):
    """W/pseudo_masks/<id>.png and W/pseudo_masks_confident/<id>.png as the pseudo_masks stage writes them."""
    write_label_png(osp.join(folder, 'pseudo_masks', image_id + '.png'), label, voc_palette(256) if palette else None)
    write_label_png(osp.join(folder, 'pseudo_masks_confident', image_id + '.png'), np.where(confident, label, 255),
                    voc_palette(256) if palette else None)


def _load(path):
    load = TRANSFORMS.build(dict(type='LoadAnnotations'))
    return load(dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[], label_map=None))


def test_confidence_is_read_next_to_the_label_and_moves_with_it(tmp_path):
    rng = np.random.default_rng(0)
    label = rng.integers(0, 21, (30, 40)).astype(np.uint8)
    confident = rng.random((30, 40)) > 0.5
    _write_masks(str(tmp_path), 'a', label, confident)
    results = _load(str(tmp_path / 'pseudo_masks' / 'a.png'))
    results = LoadConfidenceMask()(results)  # default: pseudo_masks_confident next to pseudo_masks, 255 = uncertain
    np.testing.assert_array_equal(results['gt_confidence'], confident)
    assert results['seg_fields'] == ['gt_seg_map', 'gt_confidence']
    # the crop and the flip move the confidence with the label
    results['img'] = rng.integers(0, 255, (30, 40, 3)).astype(np.uint8)
    results = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0, direction='horizontal'))(results)
    np.testing.assert_array_equal(results['gt_confidence'], confident[:, ::-1])
    crop = TRANSFORMS.build(dict(type='SegRandomResizedCrop', size=(16, 16)))
    results = crop(results)
    assert results['gt_confidence'].shape == (16, 16)
    packed = PackBECOInputs()(results)
    sample = packed['data_samples']
    assert sample.gt_confidence.data.shape == (1, 16, 16) and sample.gt_confidence.data.dtype == torch.int64
    assert torch.equal(sample.gt_confidence.data[0], torch.from_numpy(results['gt_confidence']).long())
    assert torch.equal(sample.gt_sem_seg.data[0], torch.from_numpy(results['gt_seg_map']).long())


def test_crop_keeps_label_and_confidence_aligned(tmp_path):
    """Confidence = (label is even): after any crop the packed pair must still satisfy it pixel by pixel."""
    rng = np.random.default_rng(1)
    label = rng.integers(0, 21, (50, 60)).astype(np.uint8)
    _write_masks(str(tmp_path), 'b', label, label % 2 == 0)
    crop = TRANSFORMS.build(dict(type='SegRandomResizedCrop', size=(24, 24)))
    for _ in range(5):
        results = LoadConfidenceMask()(_load(str(tmp_path / 'pseudo_masks' / 'b.png')))
        results['img'] = np.zeros((50, 60, 3), np.uint8)
        results = crop(results)
        np.testing.assert_array_equal(results['gt_confidence'], results['gt_seg_map'] % 2 == 0)


def test_binary_confidence_folder_and_clear_errors(tmp_path):
    label = np.array([[1, 2], [3, 4]], np.uint8)
    _write_masks(str(tmp_path), 'c', label, np.ones((2, 2), bool))
    os.makedirs(tmp_path / 'mask_irn')
    Image.fromarray(np.array([[1, 0], [0, 1]], np.uint8)).save(tmp_path / 'mask_irn' / 'c.png')
    rgb = np.repeat(np.array([[255, 0], [0, 0]], np.uint8)[..., None], 3, axis=2)  # the official 3-channel 0/255
    Image.fromarray(rgb).save(tmp_path / 'mask_irn' / 'd.png')
    binary = LoadConfidenceMask(conf_dir=str(tmp_path / 'mask_irn'), conf_format='binary')
    out = binary(_load(str(tmp_path / 'pseudo_masks' / 'c.png')))
    np.testing.assert_array_equal(out['gt_confidence'], [[1, 0], [0, 1]])
    write_label_png(str(tmp_path / 'pseudo_masks' / 'd.png'), label)
    np.testing.assert_array_equal(binary(_load(str(tmp_path / 'pseudo_masks' / 'd.png')))['gt_confidence'],
                                  [[1, 0], [0, 0]])
    # a missing confidence file names it
    write_label_png(str(tmp_path / 'pseudo_masks' / 'e.png'), label)
    with pytest.raises(FileNotFoundError, match=re.escape(osp.join('pseudo_masks_confident', 'e.png'))):
        LoadConfidenceMask()(_load(str(tmp_path / 'pseudo_masks' / 'e.png')))
    # a binary mask with another value
    Image.fromarray(np.array([[1, 7], [0, 1]], np.uint8)).save(tmp_path / 'mask_irn' / 'c.png')
    with pytest.raises(ValueError, match=r'mask_irn/c.png has values \[0, 1, 7\]'):
        binary(_load(str(tmp_path / 'pseudo_masks' / 'c.png')))
    # an 'ignore_label' file that is not the label with 255 at uncertain pixels
    write_label_png(str(tmp_path / 'pseudo_masks_confident' / 'c.png'), np.array([[1, 2], [9, 255]], np.uint8))
    with pytest.raises(ValueError, match='differs from the label map .* at 1 confident'):
        LoadConfidenceMask()(_load(str(tmp_path / 'pseudo_masks' / 'c.png')))
    with pytest.raises(ValueError, match='conf_format'):
        LoadConfidenceMask(conf_format='soft')
    with pytest.raises(KeyError, match='LoadConfidenceMask'):
        PackBECOInputs()(dict(img=np.zeros((2, 2, 3), np.uint8), gt_seg_map=label))


# ------------------------------------------------------------------------------- configs and the runner
def test_paper_configs_hold_the_official_settings():
    voc = Config.fromfile(osp.join(REPO_ROOT, 'configs/ssc/voc_beco.py'))
    coco = Config.fromfile(osp.join(REPO_ROOT, 'configs/ssc/coco_beco.py'))
    for cfg, classes, epochs, batch in ((voc, 21, 100, 16), (coco, 81, 40, 2)):
        model = cfg.model
        assert model.type == 'BECOSegmentor' and model.decode_head.num_classes == classes
        assert model.backbone.strides == (1, 2, 1, 1) and model.backbone.dilations == (1, 1, 2, 4)  # OS 8
        settings = BECOSettings.from_config(model.beco)
        assert settings == BECOSettings()  # the official values are the defaults
        assert (settings.warm_up_epochs, settings.online_threshold, settings.mix_prob, settings.boundary_size,
                settings.boundary_weight, settings.uncertain_boundary_weight) == (2, 0.95, 0.5, 1, 0.2, 0.0)
        assert cfg.custom_hooks == [dict(type='BECOWarmupHook')]
        assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
        assert 'paramwise_cfg' not in cfg.optim_wrapper  # lr 0.01 for every parameter of both networks
        assert cfg.param_scheduler == [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=epochs,
                                            by_epoch=True, convert_to_iter_based=True)]
        assert cfg.train_cfg.max_epochs == epochs and cfg.train_dataloader.batch_size == batch
        train = cfg.train_dataloader.dataset
        assert train.data_prefix.seg_map_path == 'pseudo_masks'
        steps = {t['type']: t for t in train.pipeline}
        assert list(steps) == ['LoadImageFromFile', 'LoadAnnotations', 'LoadConfidenceMask', 'SegRandomResizedCrop',
                               'RandomFlip', 'PackBECOInputs']
        assert steps['SegRandomResizedCrop']['scale'] == (0.5, 0.75) and steps['SegRandomResizedCrop']['size'] == (
            512, 512)
        assert steps['LoadConfidenceMask']['conf_dir'] == 'pseudo_masks_confident'
        assert cfg.pipeline_inputs == {'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks'}
        assert cfg.randomness.seed == 3223
    for path in ('configs/own_data/beco.py', 'configs/demo/demo_beco.py'):
        cfg = Config.fromfile(osp.join(REPO_ROOT, path))
        assert cfg.model.type == 'BECOSegmentor' and cfg.custom_hooks == [dict(type='BECOWarmupHook')]
        assert cfg.train_dataloader.dataset.pipeline[-1]['type'] == 'PackBECOInputs'
    demo, plain = (Config.fromfile(osp.join(REPO_ROOT, f'configs/demo/demo_{n}.py')) for n in ('beco', 'deeplabv2'))
    assert demo.train_cfg == plain.train_cfg and demo.optim_wrapper == plain.optim_wrapper
    assert demo.train_dataloader.batch_size == plain.train_dataloader.batch_size


def _runner(tmp_path, **cfg_changes):
    from mmssc.runner import StageRunner
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/pipeline/voc.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(cfg_changes)
    return StageRunner(cfg, log=lambda message: None)


def _option(command, key):
    return [a.split('=', 1)[1] for a in command if a.startswith(key + '=')]


def test_the_segmentation_stage_reads_what_its_config_declares(tmp_path):
    key = 'train_dataloader.dataset.data_prefix.seg_map_path'
    beco = _runner(tmp_path)  # configs/pipeline/voc.py: BECO by default
    assert _option(beco.command('segmentation'), key) == [osp.abspath(str(tmp_path / 'work' / 'pseudo_masks'))]
    plain = _runner(tmp_path, seg_config='configs/ssc/voc_deeplabv2.py')  # plain configs: exactly as before
    assert _option(plain.command('segmentation'), key) == [
        osp.abspath(str(tmp_path / 'work' / 'pseudo_masks_confident'))]
    assert _option(plain.command('irn'), key) == [osp.abspath(str(tmp_path / 'work' / 'ir_labels'))]
    bad = tmp_path / 'bad_seg.py'
    bad.write_text(f"_base_ = [{osp.join(REPO_ROOT, 'configs/ssc/voc_beco.py')!r}]\n"
                   f"pipeline_inputs = {{{key!r}: 'pseudo_mask'}}\n")
    with pytest.raises(KeyError, match="pipeline_inputs.*'pseudo_mask' is not a work_dir folder"):
        _runner(tmp_path, seg_config=str(bad)).command('segmentation')


# ------------------------------------------------------------------------------------- stock tool runs (CPU)
@pytest.fixture(scope='module')
def toy_work(toy_voc, tmp_path_factory):
    """A pipeline work_dir with pseudo_masks/ and pseudo_masks_confident/ for the toy training images."""
    root, _ = toy_voc
    work = str(tmp_path_factory.mktemp('beco_work'))
    rng = np.random.default_rng(2)
    for image_id in toy_ids(root):
        gt = read_label_png(osp.join(root, 'SegmentationClassAug', image_id + '.png'))
        _write_masks(work, image_id, np.where(gt == 255, 0, gt), rng.random(gt.shape) > 0.3)
    return root, work


def _data_options(root, work):
    return [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')] + \
        [f"train_dataloader.dataset.data_prefix.seg_map_path={osp.join(work, 'pseudo_masks')}"]


def _online_flags(output):
    """(epoch, beco_online) of every logged training iteration."""
    return [(int(e), float(v)) for e, v in re.findall(r'Epoch\(train\)\s+\[(\d+)\]\[\d+/\d+\].*?beco_online: ([0-9.]+)',
                                                      output)]


@pytest.mark.slow
def test_train_resume_restores_both_networks_and_the_warm_up(toy_work, tmp_path):
    root, work = toy_work
    config = tmp_path / 'probed.py'
    config.write_text(f"_base_ = [{osp.join(REPO_ROOT, SMOKE_CFG)!r}]\n"
                      "custom_imports = dict(imports=['mmssc', 'beco_probe'], allow_failed_imports=False)\n"
                      "custom_hooks = [dict(type='BECOWarmupHook'), dict(type='BECOStateProbeHook')]\n")
    run_dir = tmp_path / 'train'
    first = run_tool(['tools/train.py', str(config), '--work-dir', str(run_dir), '--cfg-options',
                      *_data_options(root, work), 'train_cfg.max_epochs=1'])
    assert _online_flags(first.stdout + first.stderr) == [(1, 0.0)] * 3  # epoch 1 is the warm-up
    checkpoint = torch.load(run_dir / 'epoch_1.pth', map_location='cpu', weights_only=False)
    second = run_tool(['tools/train.py', str(config), '--work-dir', str(run_dir), '--resume', '--cfg-options',
                       *_data_options(root, work)])
    output = second.stdout + second.stderr
    assert 'resumed epoch: 1' in output
    assert _online_flags(output) == [(2, 1.0)] * 3  # the resumed epoch 2 is past the warm-up: online labels
    probe = torch.load(run_dir / 'probe_start_epoch1.pth', weights_only=False)
    assert probe['epoch'] == 1 and probe['online']
    saved = checkpoint['state_dict']
    assert any(k.startswith('network1.') for k in saved) and any(k.startswith('network2.') for k in saved)
    assert probe['state'].keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(probe['state'][key], value), key  # both networks restored exactly
    assert not torch.equal(saved['network1.decode_head.aspp.0.weight'], saved['network2.decode_head.aspp.0.weight'])
    # the trained model works with the stock test tool: mean logits, mmseg's TTA and the official multi-scale max
    for extra in ([], ['--tta'], ['--cfg-options', 'model.test_cfg.mode=multi_scale_max']):
        options = extra[1:] if extra[:1] == ['--cfg-options'] else []
        args = ['tools/test.py', SMOKE_CFG, str(run_dir / 'epoch_2.pth'), '--work-dir', str(tmp_path / 'test'),
                '--out', str(tmp_path / 'pred')] + (extra if not options else []) + \
            ['--cfg-options', *_data_options(root, work), *options]
        proc = run_tool(args)
        assert re.search(r'mIoU: [0-9.]+', proc.stdout + proc.stderr)
        assert len(os.listdir(tmp_path / 'pred')) == len(toy_ids(root, 'val'))


@pytest.mark.slow
def test_two_process_cpu_ddp_keeps_both_networks_identical_on_both_ranks(toy_work, tmp_path):
    root, work = toy_work
    proc, weights = dist_train_two_ranks(osp.join(REPO_ROOT, SMOKE_CFG), str(tmp_path),
                                         cfg_options=_data_options(root, work),
                                         config_hooks=[dict(type='BECOWarmupHook')])
    assert proc.returncode == 0
    flags = _online_flags(proc.stdout + proc.stderr)
    assert (1, 0.0) in flags and (2, 1.0) in flags  # both phases ran (online labels in the second epoch)
    assert any(k.startswith('network1.') for k in weights[0]) and any(k.startswith('network2.') for k in weights[0])
    assert_same_weights(weights)


@pytest.mark.slow
def test_the_pipeline_runner_trains_beco_as_its_segmentation_stage(toy_work, tmp_path):
    from mmssc.runner import StageRunner
    root, work = toy_work
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/pipeline/toy_cpu.py'))
    cfg.merge_from_dict(dict(work_dir=work, data_root=root, seg_config=SMOKE_CFG))
    runner = StageRunner(cfg, log=lambda message: None)
    runner.run_stage('segmentation')
    assert osp.isfile(osp.join(work, 'segmentation', 'epoch_2.pth'))
    state = torch.load(osp.join(work, 'segmentation', 'epoch_2.pth'), weights_only=False)
    assert state['meta']['epoch'] == 2 and any(k.startswith('network2.') for k in state['state_dict'])


@pytest.mark.parametrize('config', ['configs/demo/demo_deeplabv2.py', 'configs/demo/demo_beco.py'])
def test_the_beco_benchmark_sets_the_whole_demo_schedule_to_its_max_iters(config):
    # benchmarks/beco.py demo --max-iters N: every iteration-tied value of the demo segmenters follows N, and the
    # runner then expects iter_N.pth; without the option the config's own length stays
    from conftest import load_tool
    from mmssc.runner import final_checkpoint
    beco_benchmark = load_tool('beco', 'benchmarks')
    own = Config.fromfile(osp.join(REPO_ROOT, config))
    assert beco_benchmark.schedule_options(None) == {}
    cfg = own.copy()
    cfg.merge_from_dict(beco_benchmark.schedule_options(2 * own.train_cfg.max_iters))
    longer = 2 * own.train_cfg.max_iters
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == longer
    assert [s['end'] for s in cfg.param_scheduler] == [longer]
    assert cfg.default_hooks.checkpoint.interval == longer
    assert final_checkpoint(cfg, 'w') == osp.join('w', f'iter_{longer}.pth')
    # nothing else in the config depends on the length: the demo's own values all equal its max_iters
    assert own.param_scheduler[0]['end'] == own.default_hooks.checkpoint.interval == own.train_cfg.max_iters
    with pytest.raises(ValueError, match='max-iters'):
        beco_benchmark.schedule_options(0)


def test_the_beco_benchmark_refuses_a_bad_max_iters_before_running_anything(tmp_path):
    from conftest import load_tool
    beco_benchmark = load_tool('beco', 'benchmarks')
    with pytest.raises(SystemExit) as exit_info:
        beco_benchmark.main(['demo', '--max-iters', '0', '--work-dir', str(tmp_path / 'w')])
    assert exit_info.value.code == 2 and not (tmp_path / 'w').exists()
