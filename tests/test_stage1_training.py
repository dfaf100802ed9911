"""SSC ``cam_classifier`` training through the tools: loss falls, losses finite, ASM from the warm-up epoch on, --resume
keeps the gate, and 2-process CPU DDP with two optimisers keeps the ranks identical."""
import os
import os.path as osp
import re

import pytest

from conftest import REPO_ROOT, run_tool
from ddp_check import assert_same_weights, dist_train_two_ranks

TINY = osp.join(REPO_ROOT, 'configs/ssc/toy_cls_tiny_cpu.py')


def data_options(root):
    return [f'{key}.dataset.data_root={root}' for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def iterations(log: str):
    """[(epoch, {loss name: value})] for every logged training iteration."""
    rows = []
    for line in log.splitlines():
        match = re.search(r'Epoch\(train\)\s+\[(\d+)\]\[\d+/\d+\]', line)
        if match:
            rows.append((int(match.group(1)), {k: float(v) for k, v in re.findall(r'(loss\w*): ([-0-9.e]+)', line)}))
    return rows


@pytest.mark.slow
def test_tiny_ssc_training_warm_up_and_resume(toy_voc, tmp_path):
    work = str(tmp_path / 'work')
    first = run_tool(['tools/train.py', TINY, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2',
                      *data_options(toy_voc[0])])
    second = run_tool(['tools/train.py', TINY, '--work-dir', work, '--resume', '--cfg-options',
                       'train_cfg.max_epochs=3', *data_options(toy_voc[0])])
    assert 'resumed epoch: 2' in second.stdout + second.stderr
    rows = iterations(first.stdout + first.stderr) + iterations(second.stdout + second.stderr)
    assert [epoch for epoch, _ in rows] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for epoch, losses in rows:
        assert all(map(lambda v: v == v and abs(v) < 1e6, losses.values())), losses   # finite
        # ASM from epoch index 2 on (the log counts from 1), also right after --resume
        assert ('loss_asm' in losses) == (epoch >= 3), (epoch, losses)
        assert {'loss_cls', 'loss_rec'} <= set(losses)
    cls = [losses['loss_cls'] for _, losses in rows]
    assert sum(cls[-3:]) < sum(cls[:3])


@pytest.mark.slow
@pytest.mark.parametrize('cdr_options', [[], ['model.cdr_checkpoint_chunk=None']], ids=['chunked_cdr', 'whole'])
def test_tiny_ssc_two_process_ddp(toy_voc, tmp_path, cdr_options):
    work = str(tmp_path / 'ddp')
    os.makedirs(work)
    proc, weights = dist_train_two_ranks(
        TINY, work, config_hooks=[dict(type='ASMWarmupHook', start_epoch=0)],
        cfg_options=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', *data_options(toy_voc[0]),
                     *cdr_options])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and 'loss_asm' in log and 'loss_rec' in log
    assert_same_weights(weights)
    assert any(k.startswith('reconstruction_head') for k in weights[0])
