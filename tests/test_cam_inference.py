"""``cams``: multi-scale CAM inference (docs/method.md, 'cams'), the CAM file format, tools/make_cam.py and the
overlays.

References are computed here independently: per-scale forwards of the image and of its flip as two separate
batches of one, explicit (x − mean) / std normalisation, PIL resizes with Python's round, and NumPy normalisation.
"""
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image

from mmssc.stages.cams import image_pyramid, inference_model_cfg, multiscale_cam, multiscale_cams
from mmssc.stages.per_image import load_model
from mmssc.stage_files import read_cam_file, stage_dir, stage_file, write_cam_file
from mmssc.datasets.toy_voc import LAYOUT
from mmssc.fileio import read_image

from conftest import REPO_ROOT, free_port, load_tool, run_tool, toy_ids

TINY_CFG = osp.join(REPO_ROOT, 'configs/smoke/tiny_cam_toy_voc.py')
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
SCALES = (1.0, 0.5, 1.5, 2.0)
TOY_KEYS = [0, 2, 7, 11, 14]  # 0-based classes drawn in the toy set (active in the trained tiny model)


@pytest.fixture(scope='module')
def tiny_model(toy_voc):
    """The smoke config's TinyCAMClassifier, trained briefly on the toy images (full images, labels from masks)."""
    root, drawn = toy_voc
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CFG).model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    batches = {}
    for image_id in toy_ids(root):
        img = read_image(osp.join(root, LAYOUT['img_dir'], image_id + '.jpg'))
        target = torch.zeros(20)
        target[[c - 1 for c in drawn[image_id]['labels']]] = 1
        batches.setdefault(img.shape, []).append((torch.from_numpy(img.transpose(2, 0, 1).copy()), target))
    model.train()
    for _ in range(15):
        for items in batches.values():
            inputs = model.data_preprocessor(dict(inputs=[i for i, _ in items]), True)['inputs']
            logits = model.cam_features(inputs).mean(dim=(2, 3))
            loss = F.multilabel_soft_margin_loss(logits, torch.stack([t for _, t in items]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope='module')
def tiny_checkpoint(tiny_model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save(dict(state_dict=tiny_model.state_dict(), meta=dict()), path)
    return path


def reference_cams(model, image, keys, scales=SCALES, raw=False):
    """The ``cams`` stage written out: per scale, separate forwards of x and flip(x), ReLU, flip-sum, bilinear sums,
    crop, norm.

    ``raw``: return the sums before the normalisation."""
    height, width = image.shape[:2]
    cam_size = (-(-height // 4), -(-width // 4))
    up_size = (-(-height // 16) * 16, -(-width // 16) * 16)
    cam_sum = np.zeros((len(keys),) + cam_size, np.float64)
    high_sum = np.zeros((len(keys), height, width), np.float64)
    for s in scales:
        if s == 1.0:
            scaled = image
        else:
            scaled = np.asarray(Image.fromarray(image).resize((round(width * s), round(height * s)), Image.BICUBIC))
        normalised = (scaled.astype(np.float32) - MEAN) / STD
        x = torch.from_numpy(normalised.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            out = F.relu(model.cam_features(x))[0] + F.relu(model.cam_features(x.flip(-1)))[0].flip(-1)
        out = out[list(keys)][None]
        cam_sum += F.interpolate(out, cam_size, mode='bilinear', align_corners=False)[0].double().numpy()
        high = F.interpolate(out, up_size, mode='bilinear', align_corners=False)[0, :, :height, :width]
        high_sum += high.double().numpy()
    if raw:
        return cam_sum, high_sum
    cam = cam_sum / (cam_sum.max(axis=(1, 2), keepdims=True) + 1e-5)
    high_res = high_sum / (high_sum.max(axis=(1, 2), keepdims=True) + 1e-5)
    return cam, high_res


def random_image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR)).astype(np.int16)
    return np.clip(smooth + rng.integers(-20, 21, (height, width, 3)), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ function
@pytest.mark.parametrize('size', [(37, 53), (96, 128), (61, 40)])
def test_multiscale_cam_equals_the_per_scale_reference(tiny_model, size):
    image = random_image(*size, seed=size[0])
    keys = [2, 7, 14]
    result = multiscale_cam(tiny_model, image, keys)
    cam, high_res = reference_cams(tiny_model, image, keys)
    assert result['keys'].dtype == np.int64 and result['keys'].tolist() == keys
    assert result['cam'].dtype == np.float32 and result['high_res'].dtype == np.float32
    assert result['cam'].shape == (3, -(-size[0] // 4), -(-size[1] // 4))
    assert result['high_res'].shape == (3,) + size
    np.testing.assert_allclose(result['cam'], cam, atol=2e-5)
    np.testing.assert_allclose(result['high_res'], high_res, atol=2e-5)


def test_each_map_is_divided_by_its_own_max_plus_1e5(tiny_model):
    image = random_image(45, 70, seed=3)
    keys = list(range(20))
    result = multiscale_cam(tiny_model, image, keys)
    raw_sums = reference_cams(tiny_model, image, keys, raw=True)
    for maps, raw in zip((result['cam'], result['high_res']), raw_sums):
        assert np.isfinite(maps).all() and maps.min() >= 0
        raw_max = raw.max(axis=(1, 2))
        # peak = M / (M + 1e-5); a class that is never active stays all zero (no 0/0)
        np.testing.assert_allclose(maps.max(axis=(1, 2)), raw_max / (raw_max + 1e-5), rtol=1e-5, atol=1e-7)
        assert ((raw_max == 0) == (maps.max(axis=(1, 2)) == 0)).all()
        assert (raw_max > 0).sum() >= 5  # the toy classes are active


def test_only_the_listed_classes_are_kept_in_their_order(tiny_model):
    image = random_image(40, 48, seed=4)
    both = multiscale_cam(tiny_model, image, [7, 11])
    swapped = multiscale_cam(tiny_model, image, [11, 7])
    np.testing.assert_array_equal(both['high_res'][::-1], swapped['high_res'])
    single = multiscale_cam(tiny_model, image, [11])
    np.testing.assert_array_equal(single['cam'][0], both['cam'][1])  # per-class normalisation


def test_a_symmetric_image_gives_symmetric_cams(tiny_model):
    half = random_image(48, 32, seed=5)
    image = np.concatenate([half, half[:, ::-1]], axis=1)  # 48×64: 64 is a multiple of 16, so no crop asymmetry
    result = multiscale_cam(tiny_model, image, TOY_KEYS)
    assert (result['cam'].max(axis=(1, 2)) > 0).all()
    np.testing.assert_allclose(result['cam'], result['cam'][..., ::-1], atol=1e-6)
    np.testing.assert_allclose(result['high_res'], result['high_res'][..., ::-1], atol=1e-6)


def test_cams_of_the_flipped_image_are_the_flipped_cams(tiny_model):
    image = random_image(48, 80, seed=6)
    direct = multiscale_cam(tiny_model, image, TOY_KEYS)
    assert (direct['cam'].max(axis=(1, 2)) > 0).all()
    flipped = multiscale_cam(tiny_model, np.ascontiguousarray(image[:, ::-1]), TOY_KEYS)
    np.testing.assert_allclose(flipped['cam'], direct['cam'][..., ::-1], atol=1e-6)
    np.testing.assert_allclose(flipped['high_res'], direct['high_res'][..., ::-1], atol=1e-6)


def test_a_batch_of_same_size_images_equals_one_at_a_time(tiny_model):
    images = [random_image(50, 66, seed=s) for s in (7, 8, 9)]
    keys = [[0], [2, 7], [14, 11]]
    batched = multiscale_cams(tiny_model, [image_pyramid(i) for i in images], keys, (50, 66))
    for image, k, result in zip(images, keys, batched):
        single = multiscale_cam(tiny_model, image, k)
        np.testing.assert_allclose(result['high_res'], single['high_res'], atol=1e-5)
        np.testing.assert_allclose(result['cam'], single['cam'], atol=1e-5)


def test_a_single_scale_is_the_flip_sum_without_rescaling(tiny_model):
    image = random_image(32, 48, seed=10)
    result = multiscale_cam(tiny_model, image, [2], scales=(1.0,))
    _, high_res = reference_cams(tiny_model, image, [2], scales=(1.0,))
    np.testing.assert_allclose(result['high_res'], high_res, atol=2e-5)


# ------------------------------------------------------------------------------------------------ file format
def test_cam_file_round_trip_is_byte_deterministic_and_pickle_free(tmp_path):
    rng = np.random.default_rng(0)
    arrays = dict(keys=np.array([4, 11]), cam=rng.random((2, 10, 13), np.float32),
                  high_res=rng.random((2, 37, 50), np.float32))
    first, second = str(tmp_path / 'a.npz'), str(tmp_path / 'b.npz')
    write_cam_file(first, **arrays)
    write_cam_file(second, **arrays)
    assert open(first, 'rb').read() == open(second, 'rb').read()
    with np.load(first, allow_pickle=False) as data:
        assert sorted(data.files) == ['cam', 'high_res', 'keys']
        assert data['keys'].dtype == np.int64
    loaded = read_cam_file(first)
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
    assert os.listdir(tmp_path) == sorted(os.listdir(tmp_path)) and len(os.listdir(tmp_path)) == 2  # no temp files


def test_bad_cam_files_name_themselves(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.npz'):
        read_cam_file(str(tmp_path / 'nothere.npz'))
    broken = tmp_path / 'broken.npz'
    broken.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='broken.npz'):
        read_cam_file(str(broken))
    with pytest.raises(ValueError, match='stride'):
        write_cam_file(str(tmp_path / 'x.npz'), np.array([0]), np.zeros((1, 5, 5)), np.zeros((1, 40, 40)))
    assert not (tmp_path / 'x.npz').exists()


# ------------------------------------------------------------------------------------------------ the tool
def data_root_option(root):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={root}']


def write_list(path, ids):
    with open(path, 'w') as f:
        f.write(''.join(i + '\n' for i in ids))
    return str(path)


def cam_bytes(work_dir):
    folder = stage_dir(work_dir, 'cams')
    return {n: open(osp.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


@pytest.fixture(scope='module')
def full_run(toy_voc, tiny_checkpoint, tmp_path_factory):
    """One uninterrupted make_cam run over the toy train split (in-process), with overlays."""
    root = toy_voc[0]
    work = str(tmp_path_factory.mktemp('cams_full'))
    show = osp.join(work, 'vis', 'cams')
    rc = load_tool('make_cam').main([TINY_CFG, tiny_checkpoint, '--work-dir', work, '--ann-file',
                                     'ImageSets/Segmentation/train.txt', '--workers', '0', '--show-dir', show,
                                     '--show-num', '2', *data_root_option(root)])
    assert rc == 0
    return work


def test_tool_writes_the_cams_of_every_image_with_its_labels(toy_voc, tiny_model, full_run):
    root, drawn = toy_voc
    ids = toy_ids(root)
    assert sorted(os.listdir(stage_dir(full_run, 'cams'))) == sorted(i + '.npz' for i in ids)
    for image_id in ids[:4]:
        saved = read_cam_file(stage_file(full_run, 'cams', image_id))
        keys = [c - 1 for c in drawn[image_id]['labels']]
        assert saved['keys'].tolist() == keys
        cam, high_res = reference_cams(tiny_model, read_image(osp.join(root, LAYOUT['img_dir'], image_id + '.jpg')),
                                       keys)
        np.testing.assert_allclose(saved['cam'], cam, atol=2e-5)
        np.testing.assert_allclose(saved['high_res'], high_res, atol=2e-5)


def test_tool_overlays_show_image_and_cam(toy_voc, full_run):
    root = toy_voc[0]
    shown = sorted(os.listdir(osp.join(full_run, 'vis', 'cams')))
    ids = toy_ids(root)
    assert shown == [i + '.jpg' for i in ids[:2]]
    overlay = np.asarray(Image.open(osp.join(full_run, 'vis', 'cams', shown[0])))
    height, width = read_image(osp.join(root, LAYOUT['img_dir'], ids[0] + '.jpg')).shape[:2]
    from mmssc.visualization import CAPTION_HEIGHT, PANEL_GAP
    assert overlay.shape == (height + CAPTION_HEIGHT, 2 * width + PANEL_GAP, 3)  # image | CAM


def test_interrupted_then_resumed_run_gives_the_same_bytes(toy_voc, tiny_checkpoint, full_run, tmp_path, capsys):
    root = toy_voc[0]
    ids = toy_ids(root)
    work = str(tmp_path / 'work')
    make_cam = load_tool('make_cam')
    # "interrupted" after 5 images, leaving a temporary file as a kill during a write would
    first5 = write_list(tmp_path / 'first5.txt', ids[:5])
    assert make_cam.main([TINY_CFG, tiny_checkpoint, '--work-dir', work, '--ann-file', first5, '--workers', '0',
                          *data_root_option(root)]) == 0
    open(osp.join(stage_dir(work, 'cams'), f'.{ids[5]}.abc123.tmp.npz'), 'wb').write(b'partial')
    capsys.readouterr()
    assert make_cam.main([TINY_CFG, tiny_checkpoint, '--work-dir', work, '--ann-file',
                          'ImageSets/Segmentation/train.txt', '--workers', '1',
                          *data_root_option(root)]) == 0
    assert f'{len(ids)} images, 5 already done, {len(ids) - 5} to do' in capsys.readouterr().out
    resumed = {n: b for n, b in cam_bytes(work).items() if not n.startswith('.')}
    assert resumed == cam_bytes(full_run)


def test_tool_errors_name_the_file_and_leave_nothing_half_written(toy_voc, tiny_checkpoint, tmp_path, capsys):
    make_cam = load_tool('make_cam')
    root = str(tmp_path / 'toy')
    shutil.copytree(toy_voc[0], root)
    work = str(tmp_path / 'work')
    missing = str(tmp_path / 'nope.pth')
    assert make_cam.main([TINY_CFG, missing, '--work-dir', work, *data_root_option(root)]) == 1
    assert f'checkpoint not found: {missing}' in capsys.readouterr().err
    assert not osp.exists(work)

    ids = toy_ids(root)
    bad_image = osp.join(root, LAYOUT['img_dir'], ids[3] + '.jpg')
    open(bad_image, 'wb').write(b'garbage')
    assert make_cam.main([TINY_CFG, tiny_checkpoint, '--work-dir', work, '--ann-file',
                          'ImageSets/Segmentation/train.txt', '--workers', '1', *data_root_option(root)]) == 1
    assert bad_image in capsys.readouterr().err
    written = sorted(os.listdir(stage_dir(work, 'cams')))
    assert written == [i + '.npz' for i in ids[:3]]  # the ones before the bad image, complete; no temp files
    for name in written:
        read_cam_file(osp.join(stage_dir(work, 'cams'), name))

    other_model = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'classifier.weight': torch.zeros(20, 32, 1, 1)}), str(other_model))
    with pytest.raises(ValueError, match='lacks .* weights'):
        load_model(inference_model_cfg(Config.fromfile(TINY_CFG).model), str(other_model), torch.device('cpu'),
                   'cam_features')


@pytest.mark.slow
def test_two_torchrun_processes_split_the_work_and_match_one_process(toy_voc, tiny_checkpoint, full_run, tmp_path):
    root = toy_voc[0]
    work = str(tmp_path / 'ddp')
    proc = run_tool([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                     '--master_port', str(free_port()), 'tools/make_cam.py',
                     TINY_CFG, tiny_checkpoint, '--work-dir', work, '--ann-file', 'ImageSets/Segmentation/train.txt',
                     '--workers', '0', *data_root_option(root)], timeout=300)
    log = proc.stdout + proc.stderr
    n = len(toy_ids(root))
    for rank in (0, 1):
        assert f'[make_cam rank {rank}/2] {n} images, 0 already done, {n} to do, {n // 2} in this process' in log
    assert cam_bytes(work) == cam_bytes(full_run)

