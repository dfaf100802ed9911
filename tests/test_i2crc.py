"""I²CRC: saliency input, the two relation losses against plain-loop references, the classifier recipe, the
pseudo-label rule and the label refinement (docs/method.md, 'I²CRC')."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmssc.datasets import LoadImageRGB, LoadSaliency, PackClsInputs, RandomCropWithPad, SquareResize
from mmssc.models import ClassAgnosticDistanceLoss, ClassSpecificDistanceLoss, center_loss
from mmssc.models.saliency_prototypes import saliency_prototype


# ----------------------------------------------------------------------------------------------- saliency input
def _write_folder(root, sizes, saliency_sizes=None):
    """Images <id>.png with labels.csv and saliency maps; returns the ids."""
    import os
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'saliency'), exist_ok=True)
    rng = np.random.default_rng(0)
    ids = [f'im{k}' for k in range(len(sizes))]
    for image_id, size, sal_size in zip(ids, sizes, saliency_sizes or sizes):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(osp.join(root, 'images',
                                                                                       image_id + '.png'))
        if sal_size is not None:
            Image.fromarray(rng.integers(0, 255, sal_size, dtype=np.uint8)).save(osp.join(root, 'saliency',
                                                                                         image_id + '.png'))
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        f.write('image,labels\n' + ''.join(f'{i}.png,cat\n' for i in ids))
    return ids


def _dataset(root, pipeline=()):
    from mmssc.datasets import ImageLabelDataset
    return ImageLabelDataset(classes=['cat', 'dog'], label_file='labels.csv', data_root=root, img_suffix='.png',
                             data_prefix=dict(img_path='images', saliency_path='saliency'), pipeline=list(pipeline))


def test_missing_saliency_map_is_one_error_naming_it(tmp_path):
    _write_folder(str(tmp_path), [(8, 8), (8, 8)], [(8, 8), None])
    with pytest.raises(FileNotFoundError, match=r'1 saliency maps missing:\s+\S*saliency/im1\.png'):
        _dataset(str(tmp_path))


def test_saliency_of_another_size_is_one_error_naming_it(tmp_path):
    _write_folder(str(tmp_path), [(8, 10)], [(10, 8)])
    dataset = _dataset(str(tmp_path), [dict(type='LoadImageRGB'), dict(type='LoadSaliency')])
    with pytest.raises(ValueError, match=r'saliency map \S*saliency/im0\.png is 10x8 but its image \S*im0\.png '
                                         r'is 8x10'):
        dataset[0]


def test_saliency_travels_with_the_image_through_flip_crop_and_square_resize(tmp_path):
    from mmseg.datasets.transforms import RandomFlip
    _write_folder(str(tmp_path), [(6, 9)])
    dataset = _dataset(str(tmp_path))
    info = dataset.get_data_info(0)
    results = LoadSaliency()(LoadImageRGB()(dict(info)))
    saliency = results['gt_saliency'].copy()
    assert saliency.dtype == np.uint8 and saliency.shape == (6, 9) and 'gt_saliency' in results['seg_fields']
    results = RandomFlip(prob=1.0, direction='horizontal')(results)
    np.testing.assert_array_equal(results['gt_saliency'], saliency[:, ::-1])
    results = RandomCropWithPad(crop_size=12)(results)  # larger than the image: placed at an offset, padded
    src_y, src_x, len_y, len_x, dst_y, dst_x = results['crop_box']
    padded = np.zeros((12, 12), np.uint8)  # saliency pads with 0 (not salient), not the label's 255
    padded[dst_y:dst_y + len_y, dst_x:dst_x + len_x] = saliency[:, ::-1]
    np.testing.assert_array_equal(results['gt_saliency'], padded)
    packed = PackClsInputs()(results)['data_samples']
    np.testing.assert_array_equal(packed.gt_saliency.data[0].numpy(), padded)
    square = SquareResize(4)(LoadSaliency()(LoadImageRGB()(dict(info))))
    assert square['img'].shape == (4, 4, 3)
    expected = np.asarray(Image.fromarray(saliency.astype(np.int32), mode='I').resize((4, 4), Image.NEAREST))
    np.testing.assert_array_equal(square['gt_saliency'], expected)


# ----------------------------------------------------------------------------------------------- relation losses
def test_prototype_and_center_loss_on_hand_made_values():
    cam_up = torch.tensor([[[[0.0, 2.0]]]])       # 1 image, 1 channel, 1×2 pixels
    weight = torch.tensor([[[1.0, 0.5]]])
    prototype, mass = saliency_prototype(cam_up, weight)
    assert prototype.item() == pytest.approx(1.0 / 1.5, rel=1e-5) and mass.item() == pytest.approx(1.5 + 1e-5)
    # official w² weighting: (1·(0 − 2/3))² + (0.5·(2 − 2/3))² = 8/9, over Σw = 1.5 (w-weighting would give 8/9·1.5)
    assert center_loss(cam_up, weight).item() == pytest.approx((8 / 9) / (1.5 + 1e-5), rel=1e-5)


def _reference_prototype(x, w):
    total, mass = 0.0, 1e-5
    for p in range(len(w)):
        total = total + w[p] * x[p]
        mass = mass + w[p]
    return total / mass, mass


def _reference_losses(cam, labels, saliency):
    """Plain loops in float64 over images, classes and pixels; x̃ by F.interpolate (the upsampling is stock)."""
    n_img, n_cls = labels.shape
    cam_up = F.interpolate(cam, size=saliency.shape[-2:], mode='bilinear', align_corners=False)
    single = [n for n in range(n_img) if float(labels[n].sum()) == 1]
    center = {0.01: [], 0.025: []}
    dist = []
    for n in range(n_img):
        s = saliency[n].reshape(-1)
        for c in range(n_cls):
            x = cam_up[n, c].reshape(-1)
            mu_fg, _ = _reference_prototype(x, s)
            mu_bg, _ = _reference_prototype(x, 1 - s)
            dist.append((mu_bg - mu_fg) * labels[n, c])
            if n in single:
                for weight, w in ((0.01, s), (0.025, 1 - s)):
                    mu, mass = _reference_prototype(x, w)
                    spread = 0.0
                    for p in range(len(w)):
                        spread = spread + (w[p] * (x[p] - mu)) ** 2
                    center[weight].append(spread / mass)
    agnostic = sum(k * sum(v) / len(v) for k, v in center.items()) if single else cam.sum() * 0
    return agnostic, 0.1 * sum(dist) / len(dist)


@pytest.mark.parametrize('labels', [[[1, 0, 0], [0, 1, 1], [0, 0, 1]], [[1, 1, 0], [0, 1, 1], [1, 0, 1]]])
def test_relation_losses_and_gradients_match_plain_loops(labels):
    torch.manual_seed(0)
    labels = torch.tensor(labels, dtype=torch.float64)
    cam = torch.randn(3, 3, 3, 4, dtype=torch.float64)
    saliency = torch.rand(3, 6, 8, dtype=torch.float64)
    ref_cam = cam.clone().requires_grad_()
    ref_agnostic, ref_specific = _reference_losses(ref_cam, labels, saliency)
    for module, reference in ((ClassAgnosticDistanceLoss(), ref_agnostic),
                              (ClassSpecificDistanceLoss(), ref_specific)):
        x = cam.clone().requires_grad_()
        value = module(x, labels, saliency)
        assert value.item() == pytest.approx(float(reference.detach()), rel=1e-10, abs=1e-14)
        value.backward()
        ref_grad, = torch.autograd.grad(reference, ref_cam, retain_graph=True, allow_unused=True)
        ref_grad = torch.zeros_like(cam) if ref_grad is None else ref_grad
        torch.testing.assert_close(x.grad, ref_grad, rtol=1e-9, atol=1e-12)


def test_class_agnostic_loss_uses_single_label_images_only():
    torch.manual_seed(1)
    cam, saliency = torch.randn(3, 2, 2, 2), torch.rand(3, 4, 4)
    multi = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    loss = ClassAgnosticDistanceLoss()
    x = cam.clone().requires_grad_()
    zero = loss(x, multi, saliency)
    assert zero.item() == 0.0 and zero.requires_grad  # no single-label image: 0, still in the graph
    mixed = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    alone = loss(cam[1:2], mixed[1:2], saliency[1:2])
    assert loss(cam, mixed, saliency).item() == pytest.approx(alone.item(), rel=1e-6) and alone.item() > 0
    # the restriction can be lifted: then the multi-label images count too
    assert ClassAgnosticDistanceLoss(single_label_only=False)(cam, multi, saliency).item() > 0


def test_class_specific_loss_on_hand_made_values():
    cam = torch.tensor([[[[4.0, 0.0]], [[1.0, 3.0]]]])   # 2 classes, 1×2 pixels (already at the input size)
    saliency = torch.tensor([[[1.0, 0.0]]])             # pixel 0 salient
    labels = torch.tensor([[1.0, 0.0]])
    # class 0: μ_fg ≈ 4, μ_bg ≈ 0 → gap −4; class 1 unlabelled → 0; mean over the 2 channels, × 0.1
    value = ClassSpecificDistanceLoss()(cam, labels, saliency).item()
    assert value == pytest.approx(0.1 * (-4.0) / 2, rel=1e-4)


def _tiny_i2crc_classifier(**extra):
    from mmssc.models import SSCCAMClassifier
    return SSCCAMClassifier(
        backbone=dict(type='I2CRCVGG16'), num_classes=3, in_channels=512, drs=None,
        classifier=dict(type='I2CRCCamHead', channels=8),
        data_preprocessor=dict(type='ImgDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]),
        relation_losses=[dict(type='ClassAgnosticDistanceLoss'), dict(type='ClassSpecificDistanceLoss')], **extra)


def _samples(labels, saliency=None):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for k, label in enumerate(labels):
        sample = SegDataSample()
        sample.gt_label = torch.tensor(label, dtype=torch.float32)
        if saliency is not None:
            sample.gt_saliency = PixelData(data=saliency[k][None])
        samples.append(sample)
    return samples


def test_classifier_adds_the_relation_losses_on_its_raw_cam():
    torch.manual_seed(0)
    model = _tiny_i2crc_classifier().eval()
    inputs = torch.randn(2, 3, 32, 32)
    saliency = torch.randint(0, 256, (2, 32, 32), dtype=torch.uint8)
    labels = [[1.0, 0, 0], [0, 1.0, 1.0]]
    losses = model.loss(inputs, _samples(labels, saliency))
    cam = model.cam_features(inputs)
    assert cam.shape == (2, 3, 4, 4)  # stride 8
    y, s = torch.tensor(labels), saliency.float() / 255
    assert losses['loss_center'].item() == pytest.approx(ClassAgnosticDistanceLoss()(cam, y, s).item(), rel=1e-5)
    assert losses['loss_dist'].item() == pytest.approx(ClassSpecificDistanceLoss()(cam, y, s).item(), rel=1e-5)
    assert set(losses) == {'loss_cls', 'loss_center', 'loss_dist'}
    with pytest.raises(KeyError, match='LoadSaliency'):
        model.loss(inputs, _samples(labels))


# ----------------------------------------------------------------------------------------------- classifier recipe
def test_official_optimizer_groups_and_schedule():
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs/i2crc/voc_cls.py'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert type(optimizer).__name__ == 'SGD'
    lr = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optimizer.param_groups:
        assert group['nesterov'] and group['momentum'] == 0.9 and group['weight_decay'] == 5e-4
        for p in group['params']:
            name = names[id(p)]
            part = 'extra' if name.startswith('classifier.') else 'backbone'
            lr.setdefault((part, name.rsplit('.', 1)[1]), set()).add(round(group['lr'], 8))
    assert lr == {('backbone', 'weight'): {1e-3}, ('backbone', 'bias'): {2e-3}, ('extra', 'weight'): {1e-2},
                  ('extra', 'bias'): {2e-2}}
    assert cfg.param_scheduler[0]['milestones'] == [5, 10] and cfg.train_cfg.max_epochs == 30
    assert cfg.train_dataloader.batch_size == 5


def test_vgg16_d1_shape_init_and_local_weights(tmp_path):
    from mmseg.registry import MODELS
    from mmssc.models import I2CRCVGG16
    torch.manual_seed(0)
    backbone = I2CRCVGG16()
    assert backbone(torch.zeros(1, 3, 64, 64))[0].shape == (1, 512, 8, 8)  # stride 8
    conv5 = backbone.features[24]
    assert conv5.dilation == (2, 2) and len(backbone.features) == 30  # no pool5
    assert conv5.weight.std().item() == pytest.approx((2 / (9 * 512)) ** 0.5, rel=0.02)
    assert conv5.bias.abs().max() == 0
    state = {k: torch.full_like(v, 0.5) for k, v in backbone.state_dict().items()}
    state['classifier.0.weight'] = torch.zeros(3)  # torchvision's fc layers: unused, not an error
    torch.save(state, str(tmp_path / 'vgg16.pth'))
    loaded = MODELS.build(dict(type='I2CRCVGG16', init_cfg=dict(type='Pretrained',
                                                                checkpoint=str(tmp_path / 'vgg16.pth'))))
    loaded.init_weights()
    assert loaded.features[0].weight.eq(0.5).all() and loaded.features[28].bias.eq(0.5).all()
    with pytest.raises(FileNotFoundError, match='backbone weights not found: .*missing.pth'):
        missing = dict(type='Pretrained', checkpoint=str(tmp_path / 'missing.pth'))
        MODELS.build(dict(type='SSCCAMClassifier', num_classes=3, in_channels=512, drs=None,
                          backbone=dict(type='I2CRCVGG16', init_cfg=missing)))


def test_cam_extraction_quantises_and_resizes_bicubic():
    import cv2
    from mmssc.stages.i2crc_cams import quantised_cams
    features = torch.tensor([[[-1.0, 2.0], [4.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]], [[3.0, 3.0], [3.0, 0.0]]])
    maps = quantised_cams(features, [0, 2], (4, 6))
    assert maps.dtype == np.uint8 and maps.shape == (2, 4, 6)
    q0 = np.array([[0, 127], [255, 63]], np.uint8)  # ReLU, /(4 + 1e-8), ×255, truncated
    np.testing.assert_array_equal(maps[0], cv2.resize(q0, (6, 4), interpolation=cv2.INTER_CUBIC))


# ----------------------------------------------------------------------------------------------- pseudo-label rule
def _rule(cam, saliency, keys=(2,), **settings):
    from mmssc.stages.saliency_labels import SaliencyLabelSettings, saliency_labels
    settings = dict(dict(min_foreground=0.0), **settings)
    return saliency_labels(list(keys), np.asarray(cam, np.float64), np.asarray(saliency, np.uint8),
                           SaliencyLabelSettings(**settings))


def test_saliency_label_rule_branches():
    # one class (label 3); CAM already spans 0..1, so the min-max normalisation keeps it
    cam = [[[0.0, 1.0, 0.6, 0.2, 0.6, 0.95]]]
    sal = [[255, 0, 0, 0, 200, 250]]
    # px0: bg score 0 (< 0.3 floor), class 0 → all zero → argmax background; salient (255 ≥ 32) → 255
    # px1: bg 1.0 and class 1.0 both > 0.9 → conflict 255
    # px2: bg 1.0 vs class 0.6 → background; CAM 0.6 > 0.5 → active → 255
    # px3: bg 1.0, class 0.2 → background, s = 0 < 32, CAM inactive → 0
    # px4: bg 1 − 200/255 = 0.216 → floored to 0, class 0.6 → class 3
    # px5: bg 0.0196 → 0, class 0.95 → class 3 (only one score > 0.9: no conflict)
    np.testing.assert_array_equal(_rule(cam, sal), [[255, 255, 255, 0, 3, 3]])
    # the minimum-foreground rule: 2 of 6 pixels are foreground (33 %): kept at 30 %, dropped at 40 %
    assert (_rule(cam, sal, min_foreground=0.3) != 255).any()
    assert (_rule(cam, sal, min_foreground=0.4) == 255).all()
    # saliency just below / at the unsure threshold on a background pixel
    np.testing.assert_array_equal(_rule([[[0.0, 1.0, 0.1]]], [[31, 0, 32]]), [[0, 255, 255]])
    # min-max normalisation: a CAM on 10..20 behaves as 0..1; two classes, argmax picks the larger
    two = _rule([[[10.0, 20.0, 15.0]], [[0.0, 0.0, 4.0]]], [[0, 255, 255]], keys=(0, 4))
    np.testing.assert_array_equal(two, [[0, 1, 5]])


def test_saliency_labels_default_drops_images_with_under_one_percent_foreground():
    from mmssc.stages.saliency_labels import saliency_labels
    cam = np.zeros((1, 10, 10))
    cam[0, 0, 0] = 1.0
    sal = np.zeros((10, 10), np.uint8)
    sal[0, 0] = 255
    assert saliency_labels([0], cam, sal)[0, 0] == 1  # 1 % foreground: kept
    cam[0, 0, 0], sal[0, 0] = 0.0, 0
    assert (saliency_labels([0], np.pad(cam, ((0, 0), (0, 1), (0, 0))),
                            np.pad(sal, ((0, 1), (0, 0)))) == 255).all()  # no foreground: dropped


# ----------------------------------------------------------------------------------------------- label refinement
def test_label_refinement_branches():
    from mmssc.stages.label_refinement import refine_labels
    # single-class image (label 2 = class 1): step 1 drops the foreign class 3, step 2 does not apply
    g = np.array([[0, 2, 3, 2]], np.uint8)
    i = np.array([[2, 2, 0, 255]], np.uint8)
    np.testing.assert_array_equal(refine_labels(g, i, [1], 0.0), [[0, 2, 255, 2]])
    # multi-class image (classes 1, 2): where G is background and I ≠ 0, I is taken (255 too)
    g = np.array([[0, 0, 0, 2, 3]], np.uint8)
    i = np.array([[3, 255, 0, 0, 0]], np.uint8)
    np.testing.assert_array_equal(refine_labels(g, i, [1, 2], 0.0), [[3, 255, 0, 2, 3]])
    # step 3: class 2 (label 3) missing from the result → every background pixel becomes 255
    g = np.array([[0, 0, 2, 2]], np.uint8)
    i = np.array([[0, 0, 0, 0]], np.uint8)
    np.testing.assert_array_equal(refine_labels(g, i, [1, 2], 0.0), [[255, 255, 2, 2]])
    # step 4: under 1 % foreground (default) → all 255
    g = np.zeros((20, 10), np.uint8)
    g[0, 0] = 2
    assert (refine_labels(g, np.zeros_like(g), [1]) == 255).all()
    g[0, 1] = 2
    assert refine_labels(g, np.zeros_like(g), [1])[0, 0] == 2  # exactly 1 %: kept


# ----------------------------------------------------------------------------------------------- demo saliency
def test_demo_saliency_is_a_degraded_foreground():
    from mmssc.datasets.demo_saliency import SaliencyDegradation, degraded_saliency
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 10:30] = 3
    exact = degraded_saliency(mask, np.random.default_rng(0), SaliencyDegradation(0, 0, 0, 0, 0.1, 0, 0))
    np.testing.assert_array_equal(exact, (mask > 0) * 255)
    rng = np.random.default_rng(0)
    noisy = degraded_saliency(mask, rng, SaliencyDegradation(miss_prob=1, extra_prob=1))
    fg, bg = noisy[mask > 0].astype(float), noisy[mask == 0].astype(float)
    assert fg.mean() > bg.mean() + 100            # still a saliency map of the object ...
    assert (fg < 128).any() and (bg >= 128).any()  # ... with a missed and a false region


@pytest.mark.slow
def test_i2crc_stages_on_the_toy_set(toy_voc, tmp_path):
    """CAM extraction → initial labels → refinement on the toy set with its stand-in saliency (random weights)."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmssc.datasets.demo_saliency import write_demo_saliency
    from mmssc.stage_files import read_cam_file, stage_file
    from mmssc.stages import i2crc_cams, label_refinement, saliency_labels
    from conftest import toy_ids
    root, _ = toy_voc
    assert write_demo_saliency(root) > 0
    cfg = Config(dict(
        custom_imports=dict(imports=['mmssc']), default_scope='mmseg', i2crc_cam_input_size=64,
        model=_tiny_model_cfg(),
        train_dataloader=dict(dataset=dict(data_root=root, data_prefix=dict(saliency_path='saliency'))),
        test_dataloader=dict(dataset=dict(type='VOCClsDataset', data_root=root,
                                          ann_file='ImageSets/Segmentation/train.txt',
                                          data_prefix=dict(img_path='JPEGImages',
                                                           seg_map_path='SegmentationClassAug')))))
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    work = str(tmp_path / 'work')
    ids = toy_ids(root)
    assert i2crc_cams.run(config, checkpoint, work, device='cpu') == len(ids)
    cams = read_cam_file(stage_file(work, 'cams', ids[0]))
    assert cams['high_res'].max() <= 1 and cams['high_res'].max() == pytest.approx(1, abs=0.01)
    assert saliency_labels.run(config, work) == len(ids)
    initial = np.asarray(Image.open(stage_file(work, 'saliency_labels', ids[0])))
    assert initial.shape == cams['high_res'].shape[1:]
    predictions = str(tmp_path / 'round1')
    import shutil
    shutil.copytree(osp.join(root, 'SegmentationClassAug'), predictions)  # a perfect first round
    assert label_refinement.run(config, work, predictions) == len(ids)
    assert saliency_labels.run(config, work) == 0  # finished images are skipped


def _tiny_model_cfg():
    return dict(type='SSCCAMClassifier', num_classes=20, in_channels=512, drs=None, norm_eval=False,
                backbone=dict(type='I2CRCVGG16'), classifier=dict(type='I2CRCCamHead', channels=16),
                data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                                       std=[58.395, 57.12, 57.375], bgr_to_rgb=False))


# ----------------------------------------------------------------------------------------------- the I²CRC pipeline
TINY_SEG_CFG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs/smoke/tiny_deeplabv2_toy_voc.py')


def test_segmenter_masks_are_the_argmax_of_its_probabilities_with_and_without_the_crf(toy_voc, tmp_path):
    """round1_masks: the model as mmseg tests it → (dense CRF) → argmax, one label PNG per listed image."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from mmssc.crf import dense_crf
    from mmssc.fileio import read_image, read_label_png
    from mmssc.stage_files import stage_file
    from mmssc.stages import segmenter_masks
    from conftest import toy_ids
    pytest.importorskip('pydensecrf.densecrf')
    root, _ = toy_voc
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_SEG_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    options = {'test_dataloader.dataset.data_root': root}
    ids = toy_ids(root)[:3]
    listed = tmp_path / 'list.txt'
    listed.write_text(''.join(i + '\n' for i in ids))
    with_crf, without = str(tmp_path / 'crf'), str(tmp_path / 'plain')
    assert segmenter_masks.run(TINY_SEG_CFG, checkpoint, with_crf, str(listed), cfg_options=options) == len(ids)
    assert segmenter_masks.run(TINY_SEG_CFG, checkpoint, without, str(listed), crf=False, cfg_options=options) == 3
    assert segmenter_masks.run(TINY_SEG_CFG, checkpoint, without, str(listed), crf=False, cfg_options=options) == 0
    probabilities = segmenter_masks.SegmenterProbabilities(Config.fromfile(TINY_SEG_CFG), checkpoint)
    for image_id in ids:
        path = osp.join(root, 'JPEGImages', image_id + '.jpg')
        probs = probabilities(path)
        image = read_image(path)
        assert probs.shape == (21, *image.shape[:2])
        np.testing.assert_allclose(probs.sum(0), 1, atol=1e-5)
        np.testing.assert_array_equal(read_label_png(stage_file(without, 'round1_masks', image_id)), probs.argmax(0))
        np.testing.assert_array_equal(read_label_png(stage_file(with_crf, 'round1_masks', image_id)),
                                      dense_crf(image, probs).argmax(0))


def test_the_demo_config_with_i2crc_losses_is_full_ssc_plus_the_losses_and_the_saliency():
    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    ssc = Config.fromfile(osp.join(repo, 'configs/demo/demo_cls.py'))
    both = Config.fromfile(osp.join(repo, 'configs/demo/demo_cls_i2crc_losses.py'))
    official = Config.fromfile(osp.join(repo, 'configs/ssc/voc_cls_i2crc_losses.py'))
    assert both.model.relation_losses == official.model.relation_losses
    assert 'relation_losses' not in ssc.model or not ssc.model.relation_losses
    without_losses = dict(both.model)
    without_losses.pop('relation_losses')
    assert without_losses == {k: v for k, v in ssc.model.items() if k != 'relation_losses'}
    assert [t for t in both.train_pipeline if t['type'] != 'LoadSaliency'] == ssc.train_pipeline
    assert both.train_dataloader.dataset.pipeline == both.train_pipeline
    assert both.train_dataloader.dataset.data_prefix == dict(ssc.train_dataloader.dataset.data_prefix,
                                                             saliency_path='saliency')


def test_the_stage_tools_name_missing_inputs_and_write_nothing(toy_voc, tmp_path, capsys):
    """tools/make_saliency_labels.py and tools/refine_labels.py: one error line naming the missing files."""
    from conftest import load_tool
    root, _ = toy_voc
    config = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs/smoke/tiny_i2crc_toy_voc.py')
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={root}',
               f'train_dataloader.dataset.data_root={root}']
    work = str(tmp_path / 'work')
    labels = load_tool('make_saliency_labels')
    assert labels.main([config, '--work-dir', work, *options]) == 1           # no CAM files yet
    err = capsys.readouterr().err
    assert err.startswith('[make_saliency_labels] error:') and 'CAM files' in err
    assert osp.join(work, 'cams', '') in err                                    # names the missing files
    assert not osp.exists(osp.join(work, 'saliency_labels'))
    refine = load_tool('refine_labels')
    assert refine.main([config, '--work-dir', work, *options]) == 1            # no first-round masks
    err = capsys.readouterr().err
    assert 'first-round predictions' in err and osp.join(work, 'round1_masks', '') in err
    assert not osp.exists(osp.join(work, 'refined_labels'))
    with pytest.raises(SystemExit):
        load_tool('make_segmenter_masks').parse_args([config])                  # --work-dir and a checkpoint needed


@pytest.mark.slow
def test_the_whole_i2crc_method_runs_from_one_pipeline_config(toy_voc, tmp_path):
    """configs/pipeline/i2crc_toy_cpu.py end to end on the toy set with stand-in saliency: every stage writes
    every image's file, the table scores each one, and a second run skips everything."""
    import json
    import os
    import shutil
    from conftest import run_tool, toy_ids
    from mmssc.datasets.demo_saliency import write_demo_saliency
    data_root = str(tmp_path / 'toy')
    shutil.copytree(toy_voc[0], data_root)
    write_demo_saliency(data_root)
    work_dir = str(tmp_path / 'run')
    args = ['tools/pipeline.py', 'configs/pipeline/i2crc_toy_cpu.py', '--work-dir', work_dir,
            '--cfg-options', f'data_root={data_root}']
    log = run_tool(args, timeout=1200)
    log = log.stdout + log.stderr
    ids = toy_ids(data_root)
    for folder, suffix in (('cams', '.npz'), ('saliency_labels', '.png'), ('round1_masks', '.png'),
                           ('refined_labels', '.png')):
        assert sorted(os.listdir(osp.join(work_dir, folder))) == sorted(i + suffix for i in ids), folder
    for checkpoint in ('cam_classifier/epoch_2.pth', 'segmentation_round1/iter_4.pth', 'segmentation/iter_4.pth'):
        assert osp.isfile(osp.join(work_dir, checkpoint)), checkpoint
    results = json.load(open(osp.join(work_dir, 'pipeline_results.json')))
    assert set(results) == {'cams', 'saliency_labels', 'segmentation_round1', 'round1_masks', 'refined_labels',
                            'segmentation'}
    for key in results:
        assert 0 <= results[key]['mIoU'] <= 100, key
    for key in ('saliency_labels', 'refined_labels'):
        assert 0 <= results[key]['labelled']['precision'] <= 100 and 0 <= results[key]['labelled']['coverage'] <= 100
    for row in ('| cams | seed mIoU', '| saliency_labels | mIoU', '| segmentation_round1 | mIoU',
                '| round1_masks | mIoU', '| refined_labels | mIoU', '| segmentation | mIoU'):
        assert row in log, row
    assert sorted(os.listdir(osp.join(work_dir, 'vis', 'stages')))               # overlays for people to look at
    again = run_tool(args, timeout=600)
    assert again.stdout.count('complete, skipped') == 7                            # every stage but the evaluation


@pytest.mark.parametrize('pipeline', ['configs/pipeline/demo_cpu.py', 'configs/pipeline/i2crc_demo.py'])
def test_the_demo_segmenters_schedules_are_consistent_with_their_length(pipeline):
    # a pipeline that changes a segmenter's length through stage_cfg_options must move every iteration-tied value
    # with it (poly schedule end, validation, the checkpoint the runner waits for), or a stage would never finish
    from mmengine.config import Config
    from mmssc.runner import StageRunner, final_checkpoint
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), pipeline))
    runner = StageRunner(cfg, log=lambda message: None)
    for stage in (s for s in runner.stages if s.startswith('segmentation')):
        seg = runner.configs[stage].copy()
        seg.merge_from_dict(runner.stage_cfg_options.get(stage, {}))
        length = seg.train_cfg.max_iters
        assert seg.train_cfg.val_interval == seg.default_hooks.checkpoint.interval == length, stage
        assert [s['end'] for s in seg.param_scheduler] == [length], stage
        assert runner.checkpoint(stage) == final_checkpoint(seg, osp.join(cfg.work_dir, stage))
