"""tools/make_pseudo_masks.py (docs/method.md, 'Random walk', 'Confidence masks'): wiring, file formats, errors, resuming, torchrun sharding."""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image
from scipy.ndimage import gaussian_filter

from conftest import REPO_ROOT, free_port, load_tool, run_tool, tool_env, toy_ids
from test_confidence_mask import plain_confidence
from mmssc.stage_files import stage_dir, stage_file, strided_size, voc_palette, write_cam_file
from mmssc.fileio import read_image, read_label_png
import mmssc.models.irn  # noqa: F401  (registers IRNet)
from mmssc.random_walk import random_walk_scores

SMOKE_IRN = osp.join(REPO_ROOT, 'configs/smoke/tiny_irn_toy_voc.py')
STAGES = ('pseudo_masks', 'pseudo_masks_confident')


def write_fake_cams(root, ids, work_dir, seed=0):
    """CAM files shaped like the ``cams`` stage's: blurred class masks plus noise, each divided by its max + 1e-5."""
    rng = np.random.default_rng(seed)
    for image_id in ids:
        mask = read_label_png(osp.join(root, 'SegmentationClassAug', image_id + '.png'))
        keys = np.array([c - 1 for c in np.unique(mask) if 0 < c < 255], np.int64)
        h4, w4 = strided_size(*mask.shape)
        high_res = np.stack([gaussian_filter((mask == k + 1).astype(np.float64), 6) for k in keys])
        high_res = np.clip(high_res + rng.normal(0, 0.05, high_res.shape), 0, None)
        cam = high_res[:, ::4, ::4][:, :h4, :w4]
        norm = lambda a: (a / (a.max(axis=(1, 2), keepdims=True) + 1e-5)).astype(np.float32)  # noqa: E731
        write_cam_file(stage_file(work_dir, 'cams', image_id), keys, norm(cam), norm(high_res))


def data_root_option(root):
    # toy images are at most 128 px: padding the boundary-map input to 128 exercises the same code as IRN's 512
    return ['--edge-pad-size', '128', '--cfg-options', f'infer_dataloader.dataset.data_root={root}']


def output_bytes(work_dir):
    files = {}
    for stage in STAGES:
        folder = stage_dir(work_dir, stage)
        for name in sorted(os.listdir(folder)):
            files[f'{stage}/{name}'] = open(osp.join(folder, name), 'rb').read()
    return files


@pytest.fixture(scope='module')
def irn_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    cfg = Config.fromfile(SMOKE_IRN)
    model = MODELS.build(cfg.model)
    model.mean_shift.running_mean.copy_(torch.tensor([0.3, -0.1]))
    path = str(tmp_path_factory.mktemp('irn') / 'irn.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.eval()


@pytest.fixture(scope='module')
def cam_work_dir(toy_voc, tmp_path_factory):
    root = toy_voc[0]
    work = str(tmp_path_factory.mktemp('pipeline'))
    write_fake_cams(root, toy_ids(root, 'train_aug'), work)
    return work


@pytest.fixture(scope='module')
def full_run(toy_voc, irn_checkpoint, cam_work_dir, tmp_path_factory):
    """One uninterrupted run over train_aug (in-process), with overlays."""
    work = str(tmp_path_factory.mktemp('full'))
    shutil.copytree(stage_dir(cam_work_dir, 'cams'), stage_dir(work, 'cams'))
    rc = load_tool('make_pseudo_masks').main([SMOKE_IRN, irn_checkpoint[0], '--work-dir', work, '--workers', '0',
                                              '--show-dir', osp.join(work, 'vis', 'pseudo_masks'), '--show-num', '2',
                                              *data_root_option(toy_voc[0])])
    assert rc == 0
    return work


def test_masks_are_the_random_walk_argmax_and_its_confident_half(toy_voc, irn_checkpoint, full_run):
    root = toy_voc[0]
    ids = toy_ids(root, 'train_aug')
    for stage in STAGES:
        assert sorted(os.listdir(stage_dir(full_run, stage))) == sorted(i + '.png' for i in ids)
    model = irn_checkpoint[1]
    palette = np.asarray(voc_palette(256), np.uint8).ravel().tolist()
    for image_id in ids[:3]:
        image = read_image(osp.join(root, 'JPEGImages', image_id + '.jpg'))
        cams = np.load(stage_file(full_run, 'cams', image_id))
        # recompute the random walk from its (separately tested) parts: boundary map, walk scores, argmax → labels
        inputs = model.data_preprocessor(dict(inputs=[torch.tensor(image).permute(2, 0, 1)]), False)['inputs']
        edge = model.boundary_map(inputs, pad_to=128)
        scores = random_walk_scores(torch.from_numpy(cams['cam']), edge, image.shape[:2]).numpy()
        plane_labels = np.concatenate([[0], cams['keys'] + 1])
        expected = plane_labels[scores.argmax(axis=0)]
        saved = Image.open(stage_file(full_run, 'pseudo_masks', image_id))
        assert saved.mode == 'P' and saved.getpalette()[:len(palette)] == palette
        mask = np.asarray(saved)
        np.testing.assert_array_equal(mask, expected)
        assert set(np.unique(mask)) <= set(plane_labels.tolist())
        # confidence rule: per predicted class, the ⌊n/2⌋ pixels of largest top-1 − top-2 margin keep their label, others 255
        confident = read_label_png(stage_file(full_run, 'pseudo_masks_confident', image_id))
        np.testing.assert_array_equal(confident, np.where(plain_confidence(scores, 0.5), mask, 255))
        for value in np.unique(mask):
            assert (confident == value).sum() == (mask == value).sum() // 2


def test_overlays_are_written(full_run, toy_voc):
    shown = sorted(os.listdir(osp.join(full_run, 'vis', 'pseudo_masks')))
    assert shown == [i + '.jpg' for i in toy_ids(toy_voc[0], 'train_aug')[:2]]


def test_resumed_runs_give_the_same_bytes(toy_voc, irn_checkpoint, full_run, tmp_path, capsys):
    root = toy_voc[0]
    ids = toy_ids(root, 'train_aug')
    work = str(tmp_path / 'work')
    shutil.copytree(full_run, work)
    shutil.rmtree(osp.join(work, 'vis'))
    # as an interruption leaves it: some images without any mask, one with only its plain mask, a temp file
    for image_id in ids[4:7]:
        for stage in STAGES:
            os.remove(stage_file(work, stage, image_id))
    os.remove(stage_file(work, 'pseudo_masks_confident', ids[9]))
    open(osp.join(stage_dir(work, 'pseudo_masks'), f'.{ids[4]}.x1y2.tmp.png'), 'wb').write(b'partial')
    kept = {i: os.stat(stage_file(work, 'pseudo_masks', i)).st_mtime_ns for i in ids[:4]}
    capsys.readouterr()
    tool = load_tool('make_pseudo_masks')
    assert tool.main([SMOKE_IRN, irn_checkpoint[0], '--work-dir', work, '--workers', '1',
                      *data_root_option(root)]) == 0
    out = capsys.readouterr().out
    assert f'{len(ids)} images, {len(ids) - 4} already done, 4 to do' in out
    assert '4/4,' in out and 'ETA' in out            # the progress bar: counts, rate, ETA
    resumed = {k: v for k, v in output_bytes(work).items() if '/.' not in k}
    assert resumed == output_bytes(full_run)
    assert all(os.stat(stage_file(work, 'pseudo_masks', i)).st_mtime_ns == t for i, t in kept.items())


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_bytes(toy_voc, irn_checkpoint, cam_work_dir, full_run, tmp_path):
    root = toy_voc[0]
    work = str(tmp_path / 'work')
    shutil.copytree(stage_dir(cam_work_dir, 'cams'), stage_dir(work, 'cams'))
    args = [sys.executable, 'tools/make_pseudo_masks.py', SMOKE_IRN, irn_checkpoint[0], '--work-dir', work,
            '--workers', '0', *data_root_option(root)]
    proc = subprocess.Popen(args, cwd=REPO_ROOT, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = stage_file(work, 'pseudo_masks_confident', toy_ids(root, 'train_aug')[0])
    deadline = time.time() + 240
    while not osp.exists(first) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(os.listdir(stage_dir(work, 'pseudo_masks_confident')))
    print(f'killed after {written} images')
    assert 1 <= written  # it was stopped part-way (or had just finished on a very fast machine)
    run_tool(args)
    assert {k: v for k, v in output_bytes(work).items() if '/.' not in k} == output_bytes(full_run)


def test_errors_name_the_file_and_write_nothing(toy_voc, irn_checkpoint, cam_work_dir, tmp_path, capsys):
    root = toy_voc[0]
    tool = load_tool('make_pseudo_masks')
    work = str(tmp_path / 'work')
    missing_ckpt = str(tmp_path / 'nope.pth')
    assert tool.main([SMOKE_IRN, missing_ckpt, '--work-dir', work, *data_root_option(root)]) == 1
    assert f'checkpoint not found: {missing_ckpt}' in capsys.readouterr().err

    shutil.copytree(stage_dir(cam_work_dir, 'cams'), stage_dir(work, 'cams'))
    gone = stage_file(work, 'cams', toy_ids(root, 'train_aug')[5])
    os.remove(gone)
    assert tool.main([SMOKE_IRN, irn_checkpoint[0], '--work-dir', work, '--workers', '0',
                      *data_root_option(root)]) == 1
    err = capsys.readouterr().err
    assert '1 CAM files missing' in err and gone in err
    assert not any(osp.exists(stage_dir(work, s)) for s in STAGES)  # checked before anything is written

    # a CAM file of the wrong size for its image names both
    image_id = toy_ids(root, 'train_aug')[5]
    write_cam_file(gone, np.array([0]), np.ones((1, 3, 3), np.float32), np.ones((1, 12, 12), np.float32))
    assert tool.main([SMOKE_IRN, irn_checkpoint[0], '--work-dir', work, '--workers', '0',
                      *data_root_option(root)]) == 1
    err = capsys.readouterr().err
    assert gone in err and image_id + '.jpg' in err
    # the images before it are complete, nothing else (no temporary files)
    assert sorted(os.listdir(stage_dir(work, 'pseudo_masks_confident'))) == \
        sorted(i + '.png' for i in toy_ids(root, 'train_aug')[:5])


@pytest.mark.slow
def test_two_torchrun_processes_split_the_work(toy_voc, irn_checkpoint, cam_work_dir, full_run, tmp_path):
    root = toy_voc[0]
    work = str(tmp_path / 'ddp')
    shutil.copytree(stage_dir(cam_work_dir, 'cams'), stage_dir(work, 'cams'))
    proc = run_tool([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                     str(free_port()), 'tools/make_pseudo_masks.py', SMOKE_IRN, irn_checkpoint[0], '--work-dir', work,
                     '--workers', '0', *data_root_option(root)], timeout=300)
    log = proc.stdout + proc.stderr
    n = len(toy_ids(root, 'train_aug'))
    for rank in (0, 1):
        assert f'[make_pseudo_masks rank {rank}/2] {n} images, 0 already done, {n} to do, {n // 2} in this' in log
    assert output_bytes(work) == output_bytes(full_run)
