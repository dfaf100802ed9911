"""tools/train.py, --resume, tools/test.py and 2-process CPU DDP through tools/dist_train.sh."""
import glob
import os
import os.path as osp
import re

import pytest
import torch

from conftest import REPO_ROOT, run_tool
from ddp_check import assert_same_weights, dist_train_two_ranks

SMOKE = osp.join(REPO_ROOT, 'configs/smoke/tiny_cam_toy_voc.py')


def data_options(root):
    return [f'{key}.dataset.data_root={root}' for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


@pytest.mark.slow
def test_train_resume_and_test(toy_voc, tmp_path):
    root = toy_voc[0]
    work = str(tmp_path / 'work')
    first = run_tool(['tools/train.py', SMOKE, '--work-dir', work, '--cfg-options',
                      'train_cfg.max_epochs=2', *data_options(root)])
    losses = [float(x) for x in re.findall(r'loss_cls: ([0-9.]+)', first.stdout + first.stderr)]
    assert len(losses) == 6 and all(map(torch.isfinite, torch.tensor(losses)))
    epoch2 = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu', weights_only=False)

    second = run_tool(['tools/train.py', SMOKE, '--work-dir', work, '--resume', '--cfg-options',
                       'train_cfg.max_epochs=4', *data_options(root)])
    log = second.stdout + second.stderr
    assert 'resumed epoch: 2, iter: 6' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [3]' in log
    epoch4 = torch.load(osp.join(work, 'epoch_4.pth'), map_location='cpu', weights_only=False)
    assert epoch4['meta']['epoch'] == 4 and epoch4['meta']['iter'] == 12
    # the weights went on from epoch 2's, not from a fresh start
    assert not torch.equal(epoch2['state_dict']['classifier.weight'], epoch4['state_dict']['classifier.weight'])

    tested = run_tool(['tools/test.py', SMOKE, osp.join(work, 'epoch_4.pth'), '--work-dir', work,
                       '--cfg-options', *data_options(root)])
    val_maps = re.findall(r'cls/mAP: ([0-9.]+)', second.stdout + second.stderr)
    test_map = re.findall(r'cls/mAP: ([0-9.]+)', tested.stdout + tested.stderr)
    assert test_map and test_map[-1] == val_maps[-1]   # the same checkpoint and data give the same metric


@pytest.mark.slow
def test_two_process_cpu_ddp(toy_voc, tmp_path):
    work = str(tmp_path / 'ddp')
    os.makedirs(work)
    proc, weights = dist_train_two_ranks(SMOKE, work, cfg_options=['train_cfg.max_epochs=2', *data_options(toy_voc[0])])
    assert proc.returncode == 0
    assert_same_weights(weights)
    initial = torch.load(sorted(glob.glob(osp.join(work, 'epoch_1.pth')))[0], weights_only=False)['state_dict']
    assert not torch.equal(initial['classifier.weight'], weights[0]['classifier.weight'])  # it did train
    # both ranks really took part: 12 images, batch 4, drop_last -> 6 per rank = 1 iteration per epoch (3 alone)
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'Epoch(train) [1][1/1]' in log
