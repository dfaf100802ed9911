"""``ir_labels``: IR labels (docs/method.md, 'ir_labels') and tools/make_ir_label.py.

The reference is the official recipe written out here with pydensecrf driven directly (``unary_from_labels``,
the official pairwise terms, 10 iterations) and NumPy's padded argmax; the synthetic scenes have known answers.
"""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmssc.stage_files import read_cam_file, stage_dir, stage_file, strided_size, write_cam_file
from mmssc.datasets.toy_voc import LAYOUT
from mmssc.fileio import read_image, read_label_png
from mmssc.stages.ir_labels import IRLabelTask, combine_confident, make_ir_label, threshold_cams

from conftest import REPO_ROOT, load_tool, toy_ids

pytest.importorskip('pydensecrf.densecrf', reason='IR labels need pydensecrf (pip install pydensecrf2)')
import pydensecrf.densecrf as dcrf  # noqa: E402
from pydensecrf.utils import unary_from_labels  # noqa: E402

TINY_CFG = osp.join(REPO_ROOT, 'configs/smoke/tiny_cam_toy_voc.py')


def reference_ir_label(img, keys, cams, fg_thres=0.30, bg_thres=0.10):
    """The official cam_to_ir_label + crf_inference_label, from the spec."""
    h, w = img.shape[:2]
    keys_ext = np.pad(np.asarray(keys) + 1, (1, 0), mode='constant')
    n = keys_ext.shape[0]

    def crf(labels):
        d = dcrf.DenseCRF2D(w, h, n)
        d.setUnaryEnergy(unary_from_labels(labels, n, gt_prob=0.7, zero_unsure=False))
        d.addPairwiseGaussian(sxy=3, compat=3)
        d.addPairwiseBilateral(sxy=50, srgb=5, rgbim=np.ascontiguousarray(np.copy(img)), compat=10)
        q = d.inference(10)
        return np.argmax(np.array(q).reshape((n, h, w)), axis=0)

    fg = keys_ext[crf(np.argmax(np.pad(cams, ((1, 0), (0, 0), (0, 0)), constant_values=fg_thres), axis=0))]
    bg = keys_ext[crf(np.argmax(np.pad(cams, ((1, 0), (0, 0), (0, 0)), constant_values=bg_thres), axis=0))]
    conf = fg.copy()
    conf[fg == 0] = 255
    conf[bg + fg == 0] = 0
    return conf.astype(np.uint8)


def blurred_box(shape, rows, cols, peak=1.0, radius=3):
    box = np.zeros(shape, np.float32)
    box[rows[0]:rows[1], cols[0]:cols[1]] = peak
    kernel = np.ones(2 * radius + 1, np.float32) / (2 * radius + 1)
    for axis in (0, 1):
        box = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode='same'), axis, box)
    return box


@pytest.fixture(scope='module')
def scene():
    """A grey image with a red box (class 4), a blue box (class 11) and a green patch no CAM is sure about."""
    rng = np.random.default_rng(0)
    h, w = 64, 80
    img = np.full((h, w, 3), 120, np.float32)
    img[10:30, 10:35] = (200, 40, 40)
    img[35:58, 45:75] = (40, 40, 200)
    img[42:60, 5:25] = (60, 170, 60)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    cams = np.stack([blurred_box((h, w), (10, 30), (10, 35)),
                     blurred_box((h, w), (35, 58), (45, 75), peak=0.9)
                     + blurred_box((h, w), (42, 60), (5, 25), peak=0.2)])  # weak: between 0.10 and 0.30
    cams /= cams.max(axis=(1, 2), keepdims=True) + 1e-5
    return img, np.array([4, 11]), cams.astype(np.float32)


# -------------------------------------------------------------------------------------------------- units
def test_threshold_cams_adds_a_background_plane_and_ties_go_to_background():
    cams = np.array([[[0.5, 0.3, 0.1, 0.30]], [[0.2, 0.6, 0.1, 0.25]]], np.float32)  # K=2, 1×4
    np.testing.assert_array_equal(threshold_cams(cams, np.float32(0.3)), [[1, 2, 0, 0]])
    np.testing.assert_array_equal(threshold_cams(cams, np.float32(0.1)), [[1, 2, 0, 1]])


def test_combine_confident_known_answer():
    fg = np.array([[0, 0, 5, 12]])
    bg = np.array([[0, 5, 5, 0]])
    np.testing.assert_array_equal(combine_confident(fg, bg), [[0, 255, 5, 12]])


def test_ir_label_equals_the_official_recipe_with_pydensecrf(scene):
    img, keys, cams = scene
    ours = make_ir_label(img, keys, cams)
    assert ours.dtype == np.uint8 and ours.shape == img.shape[:2]
    np.testing.assert_array_equal(ours, reference_ir_label(img, keys, cams))


def test_ir_label_known_answer_on_the_synthetic_scene(scene):
    img, keys, cams = scene
    ir = make_ir_label(img, keys, cams)
    assert set(np.unique(ir)) <= {0, 5, 12, 255}
    assert (ir[12:28, 12:33] == 5).all()     # inside the red box: confident class 4
    assert (ir[37:56, 47:73] == 12).all()    # inside the blue box: confident class 11
    assert (ir[44:58, 7:23] == 255).all()    # the weakly activated patch: uncertain
    assert (ir[0:6, 40:80] == 0).all() and (ir[60:64, 30:40] == 0).all()  # far background: confident background
    # the CRF follows the colour edges: no foreground leaks into the grey area around the boxes
    assert (ir[31:34, 10:35] != 5).all() and (ir[10:30, 36:40] != 5).all()


def test_thresholds_are_0_30_and_0_10(scene):
    img, keys, cams = scene
    np.testing.assert_array_equal(make_ir_label(img, keys, cams, 0.30, 0.10), make_ir_label(img, keys, cams))
    lenient = make_ir_label(img, keys, cams, fg_threshold=0.15, bg_threshold=0.10)
    assert (lenient[44:58, 7:23] == 12).all()  # the 0.2 patch becomes foreground with a lower fg threshold


def test_crf_receives_the_section_4_parameters(scene, monkeypatch):
    import mmssc.stages.ir_labels as ir_label_module
    calls = []
    real = ir_label_module.dense_crf

    def spy(image, probs, **params):
        calls.append((image, probs, params))
        return real(image, probs, **params)

    monkeypatch.setattr(ir_label_module, 'dense_crf', spy)
    img, keys, cams = scene
    make_ir_label(img, keys, cams)
    assert len(calls) == 2  # the foreground and the background pass
    for image, probs, params in calls:
        assert params == dict(n_iters=10, pos_w=3.0, pos_xy_std=3.0, bi_w=10.0, bi_xy_std=50.0, bi_rgb_std=5.0)
        np.testing.assert_array_equal(image, img)  # the raw RGB image, not a normalised one
        assert probs.shape == (3,) + img.shape[:2]
        np.testing.assert_allclose(np.unique(probs), [0.15, 0.7], rtol=1e-6)  # gt_prob 0.7, (1 − 0.7) / K elsewhere


def test_mismatched_cam_and_image_sizes_are_refused(scene):
    img, keys, cams = scene
    with pytest.raises(ValueError, match='64x80'):
        make_ir_label(img[:40], keys, cams)


# -------------------------------------------------------------------------------------------------- the tool

def write_synthetic_cams(root, work_dir, ids):
    """CAM files whose maps are blurred ground-truth class masks, slightly weakened at the edges."""
    for image_id in ids:
        mask = read_label_png(osp.join(root, LAYOUT['mask_dir'], image_id + '.png'))
        classes = [int(c) for c in np.unique(mask) if c not in (0, 255)]
        maps = []
        for c in classes:
            blurred = np.asarray(Image.fromarray((mask == c).astype(np.uint8) * 255).resize(
                (mask.shape[1] // 4, mask.shape[0] // 4), Image.BILINEAR).resize(
                (mask.shape[1], mask.shape[0]), Image.BILINEAR), np.float32) / 255
            maps.append(blurred / (blurred.max() + 1e-5))
        high_res = np.stack(maps)
        h4, w4 = strided_size(*mask.shape)
        write_cam_file(stage_file(work_dir, 'cams', image_id), np.array(classes) - 1,
                       high_res[:, ::4, ::4][:, :h4, :w4], high_res)


def png_bytes(work_dir):
    folder = stage_dir(work_dir, 'ir_labels')
    return {n: open(osp.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


def data_root_option(root):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={root}']


@pytest.fixture(scope='module')
def full_run(toy_voc, tmp_path_factory):
    root = toy_voc[0]
    work = str(tmp_path_factory.mktemp('ir_full'))
    write_synthetic_cams(root, work, toy_ids(root))
    rc = load_tool('make_ir_label').main([TINY_CFG, '--work-dir', work, '--ann-file',
                                          'ImageSets/Segmentation/train.txt', '--workers', '2',
                                          '--show-dir', osp.join(work, 'vis'), '--show-num', '1',
                                          *data_root_option(root)])
    assert rc == 0
    return work


def test_tool_output_is_the_recipe_applied_to_each_image(toy_voc, full_run):
    root = toy_voc[0]
    ids = toy_ids(root)
    assert sorted(os.listdir(stage_dir(full_run, 'ir_labels'))) == sorted(i + '.png' for i in ids)
    for image_id in ids[:3]:
        img = read_image(osp.join(root, LAYOUT['img_dir'], image_id + '.jpg'))
        cams = read_cam_file(stage_file(full_run, 'cams', image_id))
        saved = Image.open(stage_file(full_run, 'ir_labels', image_id))
        assert saved.mode == 'P'
        np.testing.assert_array_equal(np.asarray(saved), reference_ir_label(img, cams['keys'], cams['high_res']))
    gt = read_label_png(osp.join(root, LAYOUT['mask_dir'], ids[0] + '.png'))
    ir = read_label_png(stage_file(full_run, 'ir_labels', ids[0]))
    confident = ir != 255
    assert confident.mean() > 0.5 and (ir[confident] == gt[confident]).mean() > 0.95  # the CAMs were near-GT


def test_tool_overlay_has_image_cam_and_ir_label_panels(toy_voc, full_run):
    from mmssc.visualization import CAPTION_HEIGHT, PANEL_GAP
    image_id = toy_ids(toy_voc[0])[0]
    overlay = np.asarray(Image.open(osp.join(full_run, 'vis', image_id + '.jpg')))
    h, w = read_label_png(stage_file(full_run, 'ir_labels', image_id)).shape
    assert overlay.shape == (h + CAPTION_HEIGHT, 3 * w + 2 * PANEL_GAP, 3)


def test_interrupted_then_resumed_run_gives_the_same_bytes(toy_voc, full_run, tmp_path, capsys):
    root = toy_voc[0]
    ids = toy_ids(root)
    work = str(tmp_path / 'work')
    write_synthetic_cams(root, work, ids)
    tool = load_tool('make_ir_label')
    first5 = tmp_path / 'first5.txt'
    first5.write_text(''.join(i + '\n' for i in ids[:5]))
    assert tool.main([TINY_CFG, '--work-dir', work, '--ann-file', str(first5), '--workers', '1',
                      *data_root_option(root)]) == 0
    open(osp.join(stage_dir(work, 'ir_labels'), f'.{ids[5]}.xyz.tmp.png'), 'wb').write(b'partial')
    capsys.readouterr()
    # the rest, config-free this time: ids from the CAM files, images from the folder
    assert tool.main(['--img-dir', osp.join(root, LAYOUT['img_dir']), '--work-dir', work, '--workers', '2']) == 0
    assert f'{len(ids)} images, 5 already done, {len(ids) - 5} to do' in capsys.readouterr().out
    resumed = {n: b for n, b in png_bytes(work).items() if not n.startswith('.')}
    assert resumed == png_bytes(full_run)


def test_a_missing_cam_file_is_named_and_nothing_is_written(toy_voc, tmp_path, capsys):
    root = toy_voc[0]
    ids = toy_ids(root)
    work = str(tmp_path / 'work')
    write_synthetic_cams(root, work, ids)
    gone = stage_file(work, 'cams', ids[7])
    os.remove(gone)
    rc = load_tool('make_ir_label').main([TINY_CFG, '--work-dir', work, '--ann-file',
                                          'ImageSets/Segmentation/train.txt', *data_root_option(root)])
    assert rc == 1
    assert gone in capsys.readouterr().err
    assert not osp.exists(stage_dir(work, 'ir_labels'))


def test_worker_task_errors_name_the_files(toy_voc, tmp_path):
    root = toy_voc[0]
    image_id = toy_ids(root)[0]
    item = dict(img_id=image_id, img_path=osp.join(root, LAYOUT['img_dir'], image_id + '.jpg'))
    task = IRLabelTask(str(tmp_path))
    cam_path = stage_file(str(tmp_path), 'cams', image_id)
    with pytest.raises(FileNotFoundError, match=cam_path):
        task.load([item])
    write_cam_file(cam_path, [0], np.zeros((1, 3, 3)), np.zeros((1, 10, 10)))  # the image is 64x80
    with pytest.raises(ValueError, match=cam_path):
        task.load([item])
    assert not osp.exists(task.outputs(item)['ir_labels'])


def test_overlay_shows_every_stage_output_that_exists(toy_voc, full_run, tmp_path):
    from mmssc.fileio import write_label_png
    from mmssc.stage_files import voc_palette
    from mmssc.visualization import CAPTION_HEIGHT, PANEL_GAP, LABEL_ALPHA, stage_panels, write_stage_overlays
    root = toy_voc[0]
    image_id = toy_ids(root)[0]
    item = dict(img_id=image_id, img_path=osp.join(root, LAYOUT['img_dir'], image_id + '.jpg'))
    img = read_image(item['img_path'])
    mask = read_label_png(osp.join(root, LAYOUT['mask_dir'], image_id + '.png'))
    confident = mask.copy()
    confident[:, : mask.shape[1] // 2] = 255  # left half uncertain
    write_label_png(stage_file(full_run, 'pseudo_masks', image_id), mask, voc_palette(256))
    write_label_png(stage_file(full_run, 'pseudo_masks_confident', image_id), confident, voc_palette(256))
    captions = [c for c, _ in stage_panels(full_run, image_id, img)]
    assert captions == ['image', 'CAM', 'IR label', 'pseudo mask', 'confidence']
    panels = dict(stage_panels(full_run, image_id, img))
    background = mask == 0
    np.testing.assert_array_equal(panels['pseudo mask'][background], img[background])  # background left as is
    void = np.array(voc_palette(256)[255], np.float32)
    expected = np.clip(img[:, 0].astype(np.float32) * (1 - LABEL_ALPHA) + void * LABEL_ALPHA + 0.5, 0, 255)
    np.testing.assert_array_equal(panels['confidence'][:, 0], expected.astype(np.uint8))  # 255 in the void colour
    path, = write_stage_overlays(full_run, [item], str(tmp_path))
    h, w = mask.shape
    assert np.asarray(Image.open(path)).shape == (h + CAPTION_HEIGHT, 5 * w + 4 * PANEL_GAP, 3)


def test_the_stage_runs_from_python_as_from_its_tool(toy_voc, full_run, tmp_path, capsys):
    from mmssc.stages import ir_labels
    root = toy_voc[0]
    work = str(tmp_path / 'work')
    write_synthetic_cams(root, work, toy_ids(root))
    written = ir_labels.run(work, TINY_CFG, 'ImageSets/Segmentation/train.txt', workers=1,
                            cfg_options={'test_dataloader.dataset.data_root': root})
    assert written == len(toy_ids(root))
    assert png_bytes(work) == png_bytes(full_run)
    assert ir_labels.run(work, TINY_CFG, 'ImageSets/Segmentation/train.txt', workers=1,
                         cfg_options={'test_dataloader.dataset.data_root': root}) == 0   # finished: skipped


def test_every_stage_module_has_one_typed_run():
    import importlib
    import inspect
    for name in ('superpixels', 'cams', 'ir_labels', 'pseudo_masks', 'evaluation'):
        run = importlib.import_module(f'mmssc.stages.{name}').run
        parameters = inspect.signature(run).parameters.values()
        assert all(p.annotation is not inspect.Parameter.empty for p in parameters), name
