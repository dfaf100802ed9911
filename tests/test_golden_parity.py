"""Parity with the official SSC / IRN code's own outputs on fixed inputs (``tests/golden/``, README there).

Each test feeds a fixture's inputs to mmssc and compares with what the official function returned, at the
tolerance the fixture's noise floor allows (the largest difference between the fp32 official output and an
independent float64 or second fp32 statement of the same computation). Integer and boolean outputs are exact.
The scorer's fixture (``miou.json``) is tested in ``test_golden_scoring.py``.
"""
import os.path as osp
import re

import numpy as np
import pytest
import torch

GOLDEN = osp.join(osp.dirname(osp.abspath(__file__)), 'golden')


def golden(name: str) -> dict:
    with np.load(osp.join(GOLDEN, name)) as data:
        return {key: data[key] for key in data.files}


# ------------------------------------------------------------------------------------------------ ASM
@pytest.mark.parametrize('prefix', ['', 's16_'])
def test_asm_loss_and_gradient(prefix):
    from mmssc.models.asm_loss import ASMLoss
    g = golden('asm_loss.npz')
    cam = torch.from_numpy(g[prefix + 'cam']).requires_grad_()
    loss = ASMLoss()(cam, torch.from_numpy(g['superpixels']), torch.from_numpy(g[prefix + 'labels']))
    loss.backward()
    assert loss.item() == pytest.approx(float(g[prefix + 'loss']), rel=1e-6)
    grad = cam.grad.numpy()
    np.testing.assert_allclose(grad, g[prefix + 'grad_cam'], rtol=0, atol=1e-8)
    assert np.abs(grad).max() > 100 * 1e-8  # the tolerance is far below the gradient itself


@pytest.mark.parametrize('prefix', ['', 's16_'])
def test_asm_intermediate_maps(prefix):
    """M (CAM norm), R (regional norm), Ω before and after the 8×8 erosion and the target T, per positive map."""
    import torch.nn.functional as F

    from mmssc.models.asm_loss import erode_like_opencv, max_normalize, superpixel_mean
    g = golden('asm_loss.npz')
    cam, labels = torch.from_numpy(g[prefix + 'cam']), torch.from_numpy(g[prefix + 'labels'])
    superpixels = torch.from_numpy(g['superpixels'])[:, ::2, ::2].long()
    batch, channels = labels.shape
    size = superpixels.shape[-2:]
    scores = F.interpolate(cam, size=size, mode='bilinear', align_corners=False).flatten(2) * labels[..., None]
    cam_norm = max_normalize(scores)
    regional = max_normalize(superpixel_mean(scores, superpixels.flatten(1)) * labels[..., None])
    np.testing.assert_allclose(cam_norm.view(batch, channels, *size), g[prefix + 'cam_norm'], atol=1e-6)
    np.testing.assert_allclose(regional.view(batch, channels, *size), g[prefix + 'regional_norm'], atol=1e-6)

    pos = g[prefix + 'pos_index']
    np.testing.assert_array_equal(pos, np.argwhere(g[prefix + 'labels'] > 0))  # row-major (b, c)
    m_pos = cam_norm.view(batch, channels, *size)[pos[:, 0], pos[:, 1]]
    r_pos = regional.view(batch, channels, *size)[pos[:, 0], pos[:, 1]]
    pre = m_pos > 0.3
    reliable = erode_like_opencv(pre[None], 8)[0]
    np.testing.assert_array_equal(pre.numpy().astype(np.uint8), g[prefix + 'reliable_pre_erosion'])
    np.testing.assert_array_equal(reliable.numpy().astype(np.uint8), g[prefix + 'reliable_mask'])
    target = torch.maximum(r_pos, m_pos * reliable)
    np.testing.assert_allclose(target, g[prefix + 'target'], atol=1e-6)


# ------------------------------------------------------------------------------------------------ CDR decoder
def official_to_mmssc_key(key: str) -> str:
    """Official ``net/decoder.py`` state_dict names → :class:`ReconstructionHead` names."""
    part = {'conv': '1', 'norm': '2'}
    rules = [
        (r'^main\.0\.(conv|norm)\.(\w+)$', lambda m: f'head.{part[m[1]]}.{m[2]}'),
        (r'^main\.1\.model\.0\.model\.(\d)\.(conv|norm)\.(\w+)$', lambda m: f'res.body.{m[1]}.{part[m[2]]}.{m[3]}'),
        (r'^upsample_4\.4\.(\w+)$', lambda m: f'out.{m[1]}'),
        (r'^upsample_(\d)\.0\.weight$', lambda m: f'up.{int(m[1]) - 1}.0.weight'),
        (r'^upsample_(\d)\.3\.(conv|norm)\.(\w+)$', lambda m: f'up.{int(m[1]) - 1}.3.{part[m[2]]}.{m[3]}'),
    ]
    for pattern, rename in rules:
        match = re.match(pattern, key)
        if match:
            return rename(match)
    raise KeyError(f'no mmssc name for the official decoder key {key!r}')


def test_decoder_output_with_the_official_weights():
    """The CDR decoder with the official weights (keys renamed): same parameter count, same output."""
    from mmssc.models.reconstruction_head import ReconstructionHead
    g = golden('decoder.npz')
    official = {key: value for key, value in g.items() if '.' in key}
    head = ReconstructionHead()
    assert sum(p.numel() for p in head.parameters()) == int(g['num_params'])
    state = {official_to_mmssc_key(key): torch.from_numpy(value) for key, value in official.items()}
    assert len(state) == len(official) == 33  # no two official keys share an mmssc name
    head.load_state_dict(state, strict=True)  # every parameter mapped, shapes equal
    with torch.no_grad():
        for mode in (True, False):  # no running statistics: train and eval agree
            out = head.train(mode)(torch.from_numpy(g['input'])).numpy()
            np.testing.assert_allclose(out, g['output'], rtol=0, atol=5e-6)


# ------------------------------------------------------------------------------------------------ PathIndex
@pytest.mark.parametrize('prefix', ['r10_', 'r5_'])
def test_path_index(prefix):
    from mmssc.models.path_index import PathIndex
    g = golden('path_index.npz')
    index = PathIndex(int(g[prefix + 'radius']))
    tensors = index.tensors(tuple(g[prefix + 'default_size']))
    assert index.radius_floor == int(g[prefix + 'radius_floor'])
    assert len(index.path_offsets) == len(tensors.paths) == int(g[prefix + 'num_path_groups'])
    for group, (offsets, paths) in enumerate(zip(index.path_offsets, tensors.paths)):
        np.testing.assert_array_equal(offsets, g[f'{prefix}search_paths_{group}'])
        np.testing.assert_array_equal(paths.numpy(), g[f'{prefix}path_indices_{group}'])
    np.testing.assert_array_equal(index.directions, g[prefix + 'search_dst'])
    np.testing.assert_array_equal(tensors.src.numpy(), g[prefix + 'src_indices'])
    np.testing.assert_array_equal(tensors.dst.numpy(), g[prefix + 'dst_indices'])


# ------------------------------------------------------------------------------------------------ IRN
def test_label_reduction_and_affinity_labels():
    from mmssc.datasets.irn_transforms import RescaleSegMaps
    from mmssc.models.path_index import PathIndex, affinity_targets
    g = golden('affinity_labels.npz')
    for full, reduced in zip(g['label_full'], g['label_reduced']):
        out = RescaleSegMaps(0.25).transform(dict(gt_seg_map=full, seg_fields=['gt_seg_map']))['gt_seg_map']
        np.testing.assert_array_equal(out, reduced)
    index = PathIndex(10).tensors((32, 32))
    np.testing.assert_array_equal(index.dst.numpy(), g['dst_indices'])
    targets = affinity_targets(torch.from_numpy(g['label_reduced']).long(), index)
    for target, name in zip(targets, ('bg_pos_label', 'fg_pos_label', 'neg_label')):
        np.testing.assert_array_equal(target.numpy(), g[name])


def test_irn_affinity_displacement_and_loss_terms_with_gradients():
    from mmssc.models.irn import irn_loss_terms
    from mmssc.models.path_index import PathIndex, affinity_from_edges, pair_displacements
    g = golden('affinity_labels.npz')
    index = PathIndex(10).tensors((32, 32))
    edge_logit = torch.from_numpy(g['edge_logit']).requires_grad_()
    displacement = torch.from_numpy(g['displacement']).requires_grad_()
    edge = torch.sigmoid(edge_logit[:, 0])
    np.testing.assert_allclose(affinity_from_edges(edge, index).detach(), g['affinity'], rtol=0, atol=1e-7)
    np.testing.assert_allclose(pair_displacements(displacement, index).detach(), g['pair_displacement'],
                               rtol=0, atol=1e-7)
    np.testing.assert_array_equal(index.directions.t().float().view(1, 2, -1, 1).numpy(), g['disp_target'])

    terms = irn_loss_terms(edge, displacement, torch.from_numpy(g['label_reduced']).long(), index)
    for ours, official in (('aff_pos', 'pos_aff_loss'), ('aff_neg', 'neg_aff_loss'), ('disp_fg', 'dp_fg_loss'),
                           ('disp_bg', 'dp_bg_loss')):
        assert terms[ours].item() == pytest.approx(float(g[official]), rel=1e-6), ours
    total = sum(value / 2 for value in terms.values())  # IRNet.loss: each term halved, summed by mmengine
    assert total.item() == pytest.approx(float(g['total_loss']), rel=1e-6)
    total.backward()
    np.testing.assert_allclose(edge_logit.grad, g['grad_edge_logit'], rtol=0, atol=1e-7)
    np.testing.assert_allclose(displacement.grad, g['grad_displacement'], rtol=0, atol=1e-7)


# ------------------------------------------------------------------------------------------------ random walk
# The fixture's suggested bounds for rw and for the score (8 squarings amplify fp32 rounding about 256-fold).
RW_ATOL = {'case1_': 1e-4, 'case2_': 5e-6}
# The official fp32 walk itself is 1.3e-5 (case 1) and 4.7e-7 (case 2) from float64: a float64 walk must land
# that close to it.
RW_FLOAT64_ATOL = {'case1_': 2e-5, 'case2_': 1e-6}


@pytest.mark.parametrize('prefix', ['case1_', 'case2_'])
def test_random_walk_and_pseudo_labels(prefix):
    """rw, the full-resolution score (×4 up, crop, global max, 0.25 plane) and the label map.

    Deliberate difference: mmssc applies the sparse T 256 times instead of squaring a dense T 8 times, the same
    maths with another rounding order. It is checked in float64 (where only the official fp32 noise remains) and,
    as the stage runs it, in fp32 at the fixture's suggested bounds.
    """
    from mmssc.random_walk import random_walk, random_walk_scores
    from mmssc.stage_files import class_of_plane
    g = golden('random_walk.npz')
    cams, edge = torch.from_numpy(g[prefix + 'cams']), torch.from_numpy(g[prefix + 'edge'][0])
    official_rw = g[prefix + 'rw'][:, 0]
    size = tuple(g[prefix + 'orig_size'])
    rw64 = random_walk(cams.double(), edge.double(), radius=5, beta=10, exp_times=8).numpy()
    np.testing.assert_allclose(rw64, official_rw, rtol=0, atol=RW_FLOAT64_ATOL[prefix])

    rw = random_walk(cams, edge, radius=5, beta=10, exp_times=8)
    np.testing.assert_allclose(rw.numpy(), official_rw, rtol=0, atol=RW_ATOL[prefix])
    scores = random_walk_scores(cams, edge, size, bg_threshold=0.25, radius=5, beta=10, exp_times=8)
    assert scores.shape == g[prefix + 'score'].shape
    np.testing.assert_allclose(scores.numpy(), g[prefix + 'score'], rtol=0, atol=RW_ATOL[prefix])

    keys = class_of_plane(g[prefix + 'cam_keys'])
    np.testing.assert_array_equal(keys, g[prefix + 'keys'])
    labels = keys[scores.argmax(dim=0).numpy()]
    top2 = np.sort(g[prefix + 'score'], axis=0)[-2:]
    decided = top2[1] - top2[0] >= 1e-4  # only where the official top-1 − top-2 gap is at least 1e-4
    assert (~decided).sum() == {'case1_': 8, 'case2_': 0}[prefix]
    np.testing.assert_array_equal(labels[decided], g[prefix + 'label'][decided])


def test_random_walk_dense_affinity():
    """Case 1's dense affinity A (A_ii = 1, both directions of every radius-5 pair, 0 elsewhere) is bit-exact."""
    from mmssc.models.path_index import PathIndex
    from mmssc.random_walk import local_affinities
    g = golden('random_walk.npz')
    edge = torch.from_numpy(g['case1_edge'][0])
    height, width = edge.shape
    affinity, valid = local_affinities(edge, radius=5)  # [D, N] forward pairs
    directions = torch.as_tensor(PathIndex(5).directions)
    src = torch.arange(height * width).expand(len(directions), -1)
    dst = src + (directions[:, 0] * width + directions[:, 1])[:, None]
    dense = torch.eye(height * width)
    dense[src[valid], dst[valid]] = affinity[valid]
    dense[dst[valid], src[valid]] = affinity[valid]
    np.testing.assert_array_equal(dense.numpy(), g['case1_dense_aff'])


# ------------------------------------------------------------------------------------------------ IR labels
def test_ir_label_with_two_dense_crfs():
    """Both thresholded argmax maps and both dense CRFs (pydensecrf, the official library) exactly, then the label."""
    pytest.importorskip('pydensecrf.densecrf')
    from mmssc.stages.ir_labels import (CONF_BG_THRESHOLD, CONF_FG_THRESHOLD, crf_label_refine, make_ir_label,
                                threshold_cams)
    g = golden('ir_label.npz')
    keys = g['keys']
    for pass_name, threshold in (('fg', g['conf_fg_thres']), ('bg', g['conf_bg_thres'])):
        planes = threshold_cams(g['cams'], threshold)
        np.testing.assert_array_equal(planes, g[f'{pass_name}_argmax'])
        refined = crf_label_refine(g['image'], planes, len(keys))
        np.testing.assert_array_equal(refined, g[f'{pass_name}_crf'])  # the same CRF library: exact
    # SSC's thresholds are mmssc's defaults
    assert np.float32(CONF_FG_THRESHOLD) == g['conf_fg_thres'] and np.float32(CONF_BG_THRESHOLD) == g['conf_bg_thres']
    ir_label = make_ir_label(g['image'], g['cam_keys'], g['cams'])
    np.testing.assert_array_equal(ir_label, g['ir_label'])
    values, counts = np.unique(ir_label, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == {0: 2333, 1: 84, 15: 1361, 255: 1342}


# ------------------------------------------------------------------------------------------------ confidence
def test_confidence_mask_with_ties():
    """gen_mask.py: top-1 − top-2 margin (entries equal to the top-1 zeroed first), the confident half per class."""
    from PIL import Image

    from mmssc.confidence_mask import apply_confidence, confident_per_class, top2_margin
    g = golden('confidence_mask.npz')
    scores = torch.from_numpy(g['score'])
    planes = scores.argmax(dim=0)
    np.testing.assert_array_equal(g['keys'][planes.numpy()], g['pred'])
    margin = top2_margin(scores).numpy()
    for row, col in g['tie_pixels']:  # planes 1 and 2 tie at the top: the margin runs to the next distinct value
        column = g['score'][:, row, col]
        assert column[1] == column[2] == column.max()
        assert margin[row, col] == column.max() - np.unique(column)[-2] > 0
    # the official statement, elementwise, on every pixel
    top1 = g['score'].max(axis=0)
    np.testing.assert_array_equal(margin, top1 - np.where(g['score'] == top1, 0, g['score']).max(axis=0))

    expected = g['mask'].astype(bool)
    # the official mask as its PNG is read back for segmentation training (PIL convert('1'): 0/255 → 0/1)
    np.testing.assert_array_equal(np.asarray(Image.fromarray(g['mask_png']).convert('1')), expected)
    mask = confident_per_class(torch.from_numpy(margin), torch.from_numpy(g['pred']), float(g['thd'])).numpy()
    np.testing.assert_array_equal(mask, expected)
    # tools/make_pseudo_masks.py groups by plane index instead of label value: the same regions
    np.testing.assert_array_equal(confident_per_class(torch.from_numpy(margin), planes, 0.5).numpy(), expected)
    per_class = {int(v): (int((g['pred'] == v).sum()), int(mask[g['pred'] == v].sum())) for v in np.unique(g['pred'])}
    assert per_class == {0: (126, 63), 3: (637, 318), 8: (868, 434), 15: (369, 184)}
    # Deliberate difference: mmssc writes no separate 0/1 mask but the pseudo label with the unconfident pixels
    # set to 255 (ignored by the segmentation losses); it carries the same information.
    confident_labels = apply_confidence(torch.from_numpy(g['pred']), torch.from_numpy(mask)).numpy()
    np.testing.assert_array_equal(confident_labels, np.where(expected, g['pred'], 255))
