"""IRN (docs/method.md, 'IRN'): path index, affinity targets, losses, structure, frozen backbone, data, mean shift, training."""
import os.path as osp
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image

import mmssc  # noqa: F401
import mmssc.datasets.ir_label_dataset  # noqa: F401  (registers IRLabelDataset)
import mmssc.datasets.irn_transforms  # noqa: F401  (registers the IRN transforms)
from conftest import REPO_ROOT, run_tool, toy_ids
from mmssc.datasets.ir_label_dataset import IRLabelDataset
from mmssc.engine.mean_shift_hook import IRNMeanShiftHook
from mmssc.fileio import read_label_png, write_label_png
from mmssc.models.irn import IRNet, irn_loss_terms
from mmssc.models.path_index import PathIndex, affinity_targets, path_of

VOC_IRN = osp.join(REPO_ROOT, 'configs/ssc/voc_irn.py')
SMOKE_IRN = osp.join(REPO_ROOT, 'configs/smoke/tiny_irn_toy_voc.py')
# Until mmssc/{models,datasets,engine}/__init__.py export the IRN modules, configs import them explicitly.
IRN_IMPORTS = ['mmssc', 'mmssc.models.irn', 'mmssc.datasets.ir_label_dataset', 'mmssc.datasets.irn_transforms',
               'mmssc.engine.mean_shift_hook']



def tiny_irn(**kwargs):
    """IRNet on a random-init timm ResNet-18 (fast); same branch layout as the official one."""
    return IRNet(backbone=dict(type='TimmFeatureBackbone', model_name='resnet18', output_stride=16), **kwargs)


# ------------------------------------------------------------------------------------------- path index
def test_direction_and_source_counts():
    # radius 10: (0, 1..9) = 9, plus per y = 1..9 the x with x² + y² < 100 and |x| ≤ 9:
    # 19, 19, 19, 19 (y=1..4), 17 (y=5: |x| ≤ 8), 15, 15 (y=6, 7: |x| ≤ 7), 11 (y=8: |x| ≤ 5), 9 (y=9: |x| ≤ 4) → 152
    index = PathIndex(10)
    assert index.num_directions == 152
    assert index.source_grid((128, 128)) == (119, 110)  # (128 − 9) × (128 − 2·9)
    t = index.tensors((128, 128))
    assert t.src.shape == (119 * 110,) and t.dst.shape == (152, 119 * 110)
    # radius 5 (the random walk): 4 + (9 + 9 + 7 + 5) = 34 forward directions
    assert PathIndex(5).num_directions == 34
    with pytest.raises(ValueError, match='too small for path radius 10'):
        index.source_grid((16, 16))


def test_paths_follow_the_line_rule():
    # δ = (2, 2): (2x − 2y)²/8 < 1 ⇔ |x − y| ≤ 1, so the box minus (0, 2) and (2, 0): 7 pixels
    assert sorted(path_of((2, 2))) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)]
    # δ = (0, 3): the straight segment; δ = (1, −1): (1·x + 1·y)²/2 < 1 ⇔ |x + y| ≤ 1: the whole 2×2 box
    assert sorted(path_of((0, 3))) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert sorted(path_of((1, -1))) == [(0, -1), (0, 0), (1, -1), (1, 0)]
    index = PathIndex(10)
    for offsets in index.path_offsets:
        for path in offsets:
            assert tuple(path[0]) == max(map(tuple, path), key=lambda c: abs(c[0]) + abs(c[1]))  # destination first
            assert (0, 0) in map(tuple, path)
    # directions are grouped by path length, ascending
    lengths = [len(p) for offsets in index.path_offsets for p in offsets]
    assert lengths == sorted(lengths)


def test_affinity_targets_on_a_hand_made_label_map():
    # radius 2: directions (grouped by path length 2, 2, 4, 4) = (0,1), (1,0), (1,-1), (1,1); on a 3×4 map the
    # sources are rows 0..1 × columns 1..2: (0,1), (0,2), (1,1), (1,2)
    labels = torch.tensor([[0, 0, 1, 1],
                           [0, 255, 1, 1],
                           [2, 2, 1, 1]])
    index = PathIndex(2)
    assert [tuple(d) for d in index.directions] == [(0, 1), (1, 0), (1, -1), (1, 1)]
    bg, fg, neg = affinity_targets(labels[None], index.tensors((3, 4)))
    # pairs by hand (src label → dst label), rows = directions, columns = sources:
    #   (0,1):  0→1 neg    1→1 fg    255 –      1→1 fg
    #   (1,0):  0→255 –    1→1 fg    255 –      1→1 fg
    #   (1,-1): 0→0 bg     1→255 –   255 –      1→2 neg
    #   (1,1):  0→1 neg    1→1 fg    255 –      1→1 fg
    expected_bg = [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    expected_fg = [[0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1]]
    expected_neg = [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    assert bg[0].tolist() == expected_bg and fg[0].tolist() == expected_fg and neg[0].tolist() == expected_neg
    # counts: 1 bg_pos, 6 fg_pos, 3 neg, 6 pairs touching 255

    # losses with a constant boundary probability c and a constant displacement (so D(src) − D(dst) = 0):
    #   a = 1 − c for every pair
    #   L_pos = ½·(−log(a + 1e-5))·1/(1 + 1e-5) + ½·(−log(a + 1e-5))·6/(6 + 1e-5)
    #   L_neg = −log(1 + 1e-5 − a)·3/(3 + 1e-5)
    #   L_dp_fg = Σ_fg (|dy| + |dx|)/(2·6 + 1e-5): fg pairs of (0,1) ×2 → 2, (1,0) ×2 → 2, (1,1) ×2 → 4: 8/(12 + 1e-5)
    #   L_dp_bg = 0
    c = 0.3
    terms = irn_loss_terms(torch.full((1, 3, 4), c), torch.full((1, 2, 3, 4), 0.7), labels[None],
                           index.tensors((3, 4)))
    pos = -np.log(1 - c + 1e-5)
    assert terms['aff_pos'].item() == pytest.approx(0.5 * pos / (1 + 1e-5) + 0.5 * pos * 6 / (6 + 1e-5), rel=1e-6)
    assert terms['aff_neg'].item() == pytest.approx(-np.log(c + 1e-5) * 3 / (3 + 1e-5), rel=1e-6)
    assert terms['disp_fg'].item() == pytest.approx(8 / (12 + 1e-5), rel=1e-6)
    assert terms['disp_bg'].item() == 0


def reference_losses(edge, disp, labels, radius):
    """The IRN losses by plain loops over pixel pairs, with the spec's direction set and path rule."""
    batch, height, width = labels.shape
    r = radius - 1
    directions = [(0, x) for x in range(1, radius)] + [(y, x) for y in range(1, radius)
                                                       for x in range(-r, radius) if x * x + y * y < radius ** 2]
    sums = dict(bg=0.0, fg=0.0, neg=0.0, pos_bg=0.0, pos_fg=0.0, neg_loss=0.0, dp_fg=0.0, dp_bg=0.0)
    for b in range(batch):
        for sy in range(height - r):
            for sx in range(r, width - r):
                for dy, dx in directions:
                    ty, tx = sy + dy, sx + dx
                    la, lb = labels[b, sy, sx], labels[b, ty, tx]
                    if la == 255 or lb == 255:
                        continue
                    path = [(y, x) for y in range(min(sy, ty), max(sy, ty) + 1)
                            for x in range(min(sx, tx), max(sx, tx) + 1)
                            if (dy * (x - sx) - dx * (y - sy)) ** 2 / (dy * dy + dx * dx) < 1]
                    a = 1 - max(edge[b, y, x] for y, x in path)
                    pair = disp[b, :, sy, sx] - disp[b, :, ty, tx]
                    if la == lb:
                        kind = 'bg' if la == 0 else 'fg'
                        sums[kind] += 1
                        sums['pos_' + kind] += -np.log(a + 1e-5)
                        sums['dp_' + kind] += (np.abs(pair - np.array([dy, dx])).sum() if kind == 'fg'
                                               else np.abs(pair).sum())
                    else:
                        sums['neg'] += 1
                        sums['neg_loss'] += -np.log(1 + 1e-5 - a)
    return dict(aff_pos=sums['pos_bg'] / (sums['bg'] + 1e-5) / 2 + sums['pos_fg'] / (sums['fg'] + 1e-5) / 2,
                aff_neg=sums['neg_loss'] / (sums['neg'] + 1e-5),
                disp_fg=sums['dp_fg'] / (2 * sums['fg'] + 1e-5),
                disp_bg=sums['dp_bg'] / (2 * sums['bg'] + 1e-5))


def test_losses_match_a_loop_reference_at_radius_10():
    rng = np.random.default_rng(0)
    labels = rng.choice([0, 0, 1, 2, 255], size=(2, 20, 24))
    labels[:, 4:12, 6:14] = 1  # a block so that long same-label pairs exist
    edge = rng.uniform(0, 1, size=(2, 20, 24))
    disp = rng.normal(0, 3, size=(2, 2, 20, 24))
    index = PathIndex(10).tensors((20, 24))
    terms = irn_loss_terms(torch.from_numpy(edge), torch.from_numpy(disp), torch.from_numpy(labels), index)
    expected = reference_losses(edge, disp, labels, 10)
    for key, value in expected.items():
        assert terms[key].item() == pytest.approx(value, rel=1e-9), key


# ----------------------------------------------------------------------------------------------- model
def test_config_builds_the_official_resnet50_irn():
    cfg = Config.fromfile(VOC_IRN)
    if not osp.isfile(cfg.model.backbone.checkpoint):  # no ImageNet weights here: a clear error naming the file
        with pytest.raises(FileNotFoundError, match=re.escape(cfg.model.backbone.checkpoint)):
            MODELS.build(cfg.model)
    cfg.model.backbone.checkpoint = None  # structure only
    model = MODELS.build(cfg.model)
    convs = lambda seq: [m for m in seq if isinstance(m, nn.Conv2d)]  # noqa: E731
    gns = lambda seq: [m.num_groups for m in seq if isinstance(m, nn.GroupNorm)]  # noqa: E731
    ups = lambda seq: [m.scale_factor for m in seq if isinstance(m, nn.Upsample)] or [1]  # noqa: E731
    edge, disp = model.edge_branch, model.displacement_branch
    # fc_edge1..5: 64/256/512/1024/2048 → 32, GN(4), upsampling ×1, ×1, ×2, ×4, ×4; fc_edge6: 160 → 1 with bias
    assert [(c.in_channels, c.out_channels, c.bias is None) for lv in edge.levels for c in convs(lv)] == \
        [(64, 32, True), (256, 32, True), (512, 32, True), (1024, 32, True), (2048, 32, True)]
    assert [gns(lv) for lv in edge.levels] == [[4]] * 5
    assert [ups(lv) for lv in edge.levels] == [[1], [1], [2.0], [4.0], [4.0]]
    assert (edge.fuse.in_channels, edge.fuse.out_channels, edge.fuse.bias is not None) == (160, 1, True)
    # fc_dp1..5: 64→64 GN8, 256→128 GN16, 512→256 GN16, 1024→256 GN16 ×2, 2048→256 GN16 ×2
    assert [(c.in_channels, c.out_channels) for lv in disp.levels for c in convs(lv)] == \
        [(64, 64), (256, 128), (512, 256), (1024, 256), (2048, 256)]
    assert [gns(lv) for lv in disp.levels] == [[8], [16], [16], [16], [16]]
    assert [ups(lv) for lv in disp.levels] == [[1], [1], [1], [2.0], [2.0]]
    # fc_dp6: 768 → 256 GN16 ×2; fc_dp7: 448 → 256 GN16 ReLU → 2 (no bias)
    assert [(c.in_channels, c.out_channels) for c in convs(disp.coarse_fuse)] == [(768, 256)]
    assert gns(disp.coarse_fuse) == [16] and ups(disp.coarse_fuse) == [2.0]
    assert [(c.in_channels, c.out_channels, c.bias) for c in convs(disp.head)] == [(448, 256, None), (256, 2, None)]
    # parameter counts by hand: edge 64·32 + 256·32 + 512·32 + 1024·32 + 2048·32 + 5·(32+32) GN + 160 + 1
    # = 124,928 + 320 + 161 = 125,409; displacement (weights + GN affine):
    # 4,096+128 | 32,768+256 | 131,072+512 | 262,144+512 | 524,288+512 | 196,608+512 | 114,688+512 + 512 = 1,269,120
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(edge) == 125409 and count(disp) == 1269120
    assert model.mean_shift.running_mean.tolist() == [0.0, 0.0]


def test_backbone_levels_are_irns_stages_and_stay_frozen():
    model = tiny_irn().train()
    net = model.backbone.model
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        x1 = net.maxpool(net.act1(net.bn1(net.conv1(x))))  # IRN's stage1 = conv1, bn1, relu, maxpool
        x2 = net.layer1(x1)
        x3 = net.layer2(x2)
        x4 = net.layer3(x3)
        x5 = net.layer4(x4)
    features = model.backbone_features(x)
    for ours, theirs in zip(features, (x1, x2, x3, x4, x5)):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert [f.shape[-1] for f in features] == [20, 20, 10, 5, 5]  # strides 4, 4, 8, 16, 16
    assert not model.backbone.training and all(not p.requires_grad for p in model.backbone.parameters())

    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    edge_before = model.edge_branch.fuse.weight.clone()
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    labels = torch.randint(0, 3, (2, 16, 20))
    samples = []
    for lab in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=lab[None])
        samples.append(sample)
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_aff_pos', 'loss_aff_neg', 'loss_disp_fg', 'loss_disp_bg'}
    sum(losses.values()).backward()
    optim.step()
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics untouched
    assert not torch.equal(edge_before, model.edge_branch.fuse.weight)


def test_mean_shift_only_in_eval_mode():
    model = tiny_irn()
    model.mean_shift.running_mean.copy_(torch.tensor([0.5, -2.0]))
    x = torch.randn(1, 3, 64, 64)
    _, raw = model.extract(x)
    model.train()
    torch.testing.assert_close(model(x)[1], raw)
    model.eval()
    torch.testing.assert_close(model(x)[1], raw - torch.tensor([0.5, -2.0]).view(1, 2, 1, 1))


def test_boundary_map_is_the_flip_average_on_the_padded_pair():
    model = tiny_irn().eval()
    image = torch.randn(1, 3, 41, 58)
    # by hand: pad the image and its flip to 64×64 (right/bottom, zeros), crop to ⌈41/4⌉×⌈58/4⌉ = 11×15,
    # e = σ(edge₀/2 + flip(edge₁)/2)
    pair = torch.nn.functional.pad(torch.cat([image, image.flip(-1)]), (0, 64 - 58, 0, 64 - 41))
    logits = model.extract(pair)[0][:, 0, :11, :15]
    expected = torch.sigmoid(logits[0] / 2 + logits[1].flip(-1) / 2)
    torch.testing.assert_close(model.boundary_map(image, pad_to=64), expected)
    # an image larger than pad_to keeps its own size (IRN's fixed 512 pad would fail): ⌈41/4⌉×⌈58/4⌉ again
    plain = model.extract(torch.cat([image, image.flip(-1)]))[0][:, 0, :11, :15]
    torch.testing.assert_close(model.boundary_map(image, pad_to=32),
                               torch.sigmoid(plain[0] / 2 + plain[1].flip(-1) / 2))


# ------------------------------------------------------------------------------------------------- data
def write_ir_labels(root, ids, folder):
    """IR labels made from the toy masks: the mask with a 255 band along every object boundary."""
    from scipy.ndimage import binary_dilation
    for image_id in ids:
        mask = read_label_png(osp.join(root, 'SegmentationClassAug', image_id + '.png'))
        edges = np.zeros(mask.shape, bool)
        edges[:, 1:] |= mask[:, 1:] != mask[:, :-1]
        edges[1:, :] |= mask[1:, :] != mask[:-1, :]
        ir = mask.copy()
        ir[binary_dilation(edges, iterations=2)] = 255
        write_label_png(osp.join(folder, image_id + '.png'), ir)


def test_rescale_and_label_downsampling(tmp_path):
    from mmssc.datasets.irn_transforms import RandomRescale, RescaleSegMaps
    img = np.random.default_rng(0).integers(0, 255, (37, 50, 3), dtype=np.uint8)
    label = np.random.default_rng(1).integers(0, 4, (37, 50)).astype(np.uint8)
    np.random.seed(3)
    scale = 0.5 + np.random.random() * 1.0
    np.random.seed(3)
    out = RandomRescale((0.5, 1.5))(dict(img=img.copy(), gt_seg_map=label.copy(), seg_fields=['gt_seg_map']))
    size = (int(np.round(37 * scale)), int(np.round(50 * scale)))
    assert out['img'].shape[:2] == size and out['gt_seg_map'].shape == size
    expected = np.asarray(Image.fromarray(label).resize(size[::-1], Image.NEAREST))
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    # ×0.25 with PIL nearest samples the centre of each 4×4 block: pixel (4i + 2, 4j + 2)
    crop = np.random.default_rng(2).integers(0, 21, (128, 128)).astype(np.uint8)
    down = RescaleSegMaps(0.25)(dict(gt_seg_map=crop, seg_fields=['gt_seg_map']))['gt_seg_map']
    np.testing.assert_array_equal(down, crop[2::4, 2::4])


def test_training_pipeline_and_dataset(toy_voc, tmp_path):
    root = toy_voc[0]
    ids = toy_ids(root)
    write_ir_labels(root, ids, str(tmp_path / 'ir'))
    cfg = Config.fromfile(SMOKE_IRN)
    ds_cfg = cfg.train_dataloader.dataset
    ds = IRLabelDataset(data_root=root, ann_file=ds_cfg.ann_file,
                        data_prefix=dict(img_path='JPEGImages', seg_map_path=str(tmp_path / 'ir')),
                        pipeline=ds_cfg.pipeline)
    assert len(ds) == len(ids) and ds.get_data_info(0)['seg_map_path'] == str(tmp_path / 'ir' / (ids[0] + '.png'))
    np.random.seed(0)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 128, 128)
    labels = item['data_samples'].gt_sem_seg.data
    assert tuple(labels.shape) == (1, 32, 32)  # 128 crop → 32×32 grid
    assert set(labels.unique().tolist()) <= {0, 255} | set(range(1, 21))

    # without ann_file the ids are the IR-label folder's files; without the folder, the image folder's
    listed = IRLabelDataset(data_root=root, data_prefix=dict(img_path='JPEGImages', seg_map_path=str(tmp_path / 'ir')))
    assert [listed.get_data_info(k)['img_id'] for k in range(len(listed))] == sorted(ids)
    images_only = IRLabelDataset(data_root=root, data_prefix=dict(img_path='JPEGImages'))
    assert len(images_only) == len(toy_ids(root, 'train')) + len(toy_ids(root, 'val'))
    assert 'seg_map_path' not in images_only.get_data_info(0)

    # a missing IR label is one error naming the file
    (tmp_path / 'ir' / (ids[3] + '.png')).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(ids[3] + '.png')):
        IRLabelDataset(data_root=root, ann_file=ds_cfg.ann_file,
                       data_prefix=dict(img_path='JPEGImages', seg_map_path=str(tmp_path / 'ir')))
    # an IR label of the wrong size names both files
    write_label_png(str(tmp_path / 'ir' / (ids[3] + '.png')), np.zeros((5, 5), np.uint8))
    bad = IRLabelDataset(data_root=root, ann_file=ds_cfg.ann_file, pipeline=ds_cfg.pipeline,
                         data_prefix=dict(img_path='JPEGImages', seg_map_path=str(tmp_path / 'ir')))
    with pytest.raises(ValueError, match=re.escape(ids[3] + '.png') + '.*5×5'):
        bad[3]


def test_mean_shift_hook_averages_batch_means(toy_voc):
    root = toy_voc[0]
    cfg = Config.fromfile(SMOKE_IRN)
    cfg.mean_shift_dataloader.dataset.data_root = root
    model = tiny_irn(data_preprocessor=cfg.model.data_preprocessor)
    model.mean_shift.running_mean.fill_(5.0)  # the hook averages the raw output, whatever is stored
    hook = IRNMeanShiftHook(dataloader=cfg.mean_shift_dataloader)
    runner = SimpleNamespace(model=model, seed=0, logger=MMLogger.get_current_instance())
    mean = hook.store_mean_shift(runner)
    # by hand: 12 train images, batch 4, drop_last → 3 batches; top-left 128 crop padded with the mean colour
    ids = toy_ids(root)
    batch_means = []
    model.eval()
    with torch.no_grad():
        for start in range(0, 12, 4):
            crops = []
            for image_id in ids[start:start + 4]:
                img = np.asarray(Image.open(osp.join(root, 'JPEGImages', image_id + '.jpg')).convert('RGB'))
                crop = np.empty((128, 128, 3), np.float32)
                crop[...] = [123.675, 116.28, 103.53]
                crop[:img.shape[0], :img.shape[1]] = img[:128, :128]
                crops.append((crop - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375])
            inputs = torch.from_numpy(np.stack(crops).transpose(0, 3, 1, 2)).float()
            batch_means.append(model.extract(inputs)[1].double().mean(dim=(0, 2, 3)))
    expected = torch.stack(batch_means).mean(0).float()
    torch.testing.assert_close(mean, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.mean_shift.running_mean, expected, rtol=1e-5, atol=1e-6)
    assert not model.training  # left as it was


@pytest.mark.slow
def test_train_tool_two_lrs_and_mean_shift_in_checkpoint(toy_voc, tmp_path):
    root = toy_voc[0]
    ir = tmp_path / 'ir_labels'
    write_ir_labels(root, toy_ids(root), str(ir))
    cfg_path = tmp_path / 'irn_cfg.py'
    cfg_path.write_text(f'_base_ = [{SMOKE_IRN!r}]\ncustom_imports = dict(imports={IRN_IMPORTS!r}, '
                        'allow_failed_imports=False)\n')
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', str(cfg_path), '--work-dir', str(work), '--cfg-options',
                     f'train_dataloader.dataset.data_root={root}',
                     f'train_dataloader.dataset.data_prefix.seg_map_path={ir}',
                     f'custom_hooks.0.dataloader.dataset.data_root={root}'])
    log = proc.stdout + proc.stderr
    losses = [float(v) for v in re.findall(r' loss: ([0-9.]+)', log)]
    assert len(losses) == 6 and all(np.isfinite(losses))  # 12 images / batch 4 = 3 iterations × 2 epochs
    assert 'IRN mean shift' in log
    final = torch.load(str(work / 'epoch_2.pth'), map_location='cpu', weights_only=False)
    first = torch.load(str(work / 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert torch.count_nonzero(first['state_dict']['mean_shift.running_mean']) == 0  # only the last one has it
    stored = final['state_dict']['mean_shift.running_mean']
    assert torch.count_nonzero(stored) == 2
    # the statistic is the hook's mean for the saved weights
    cfg = Config.fromfile(str(cfg_path))
    cfg.mean_shift_dataloader.dataset.data_root = root
    model = MODELS.build(cfg.model)
    model.load_state_dict(final['state_dict'])
    recomputed = IRNMeanShiftHook(cfg.mean_shift_dataloader).store_mean_shift(
        SimpleNamespace(model=model, seed=0, logger=MMLogger.get_current_instance()))
    torch.testing.assert_close(recomputed, stored, rtol=1e-4, atol=1e-5)
    # two learning-rate groups: boundary branch 0.1, displacement branch 1.0 (×10), decayed by poly
    groups = final['optimizer']['param_groups']
    names = [n for n, p in model.named_parameters() if p.requires_grad]  # the frozen backbone is left out
    assert sum(len(g['params']) for g in groups) == len(names)
    lr_of = {}
    for group in groups:
        for i in group['params']:
            lr_of[names[i]] = group['initial_lr']
    assert all(lr_of[n] == pytest.approx(1.0) for n in names if n.startswith('displacement_branch'))
    assert all(lr_of[n] == pytest.approx(0.1) for n in names if n.startswith('edge_branch'))
    assert all(g['momentum'] == 1e-4 and g['weight_decay'] == 1e-4 for g in groups)


@pytest.mark.slow
def test_two_process_cpu_ddp_keeps_ranks_identical(toy_voc, tmp_path):
    from conftest import free_port
    root = toy_voc[0]
    ir = tmp_path / 'ir_labels'
    write_ir_labels(root, toy_ids(root), str(ir))
    work = tmp_path / 'ddp'
    work.mkdir()
    cfg_path = work / 'irn_ddp_cfg.py'  # the smoke config plus the test hook that dumps every rank's weights
    hooks = [dict(type='IRNMeanShiftHook', dataloader=Config.fromfile(SMOKE_IRN).mean_shift_dataloader.to_dict()),
             dict(type='RankWeightsDumpHook')]
    cfg_path.write_text(f'_base_ = [{SMOKE_IRN!r}]\ncustom_imports = dict(imports={IRN_IMPORTS + ["ddp_probe"]!r}, '
                        f'allow_failed_imports=False)\ncustom_hooks = {hooks!r}\n')
    proc = run_tool(['bash', 'tools/dist_train.sh', str(cfg_path), '2', '--work-dir', str(work), '--cfg-options',
                     f'train_dataloader.dataset.data_root={root}',
                     f'train_dataloader.dataset.data_prefix.seg_map_path={ir}',
                     f'custom_hooks.0.dataloader.dataset.data_root={root}'], PORT=free_port())
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    # 12 images on 2 ranks, batch 4, drop_last: 6 per rank → 1 iteration per epoch
    assert 'Epoch(train) [2][1/1]' in log
    weights = [torch.load(str(work / f'rank{r}_weights.pth')) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    final = torch.load(str(work / 'epoch_2.pth'), map_location='cpu', weights_only=False)['state_dict']
    assert torch.count_nonzero(final['mean_shift.running_mean']) == 2  # all-reduced over the ranks' batches
