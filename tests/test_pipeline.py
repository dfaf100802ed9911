"""tools/pipeline.py on the toy set: every stage end to end, skipping finished stages, and resuming after a kill."""
import filecmp
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO_ROOT, TESTS_DIR, run_tool, tool_env

pytestmark = pytest.mark.slow  # every test here runs the whole pipeline in subprocesses

PIPELINE = 'configs/pipeline/toy_cpu.py'
PER_IMAGE = ('cams', 'ir_labels', 'pseudo_masks', 'pseudo_masks_confident')


def pipeline_args(work_dir, data_root, *extra):
    return ['tools/pipeline.py', PIPELINE, '--work-dir', work_dir, '--cfg-options', f'data_root={data_root}', *extra]


@pytest.fixture(scope='module')
def finished_run(toy_voc, tmp_path_factory):
    """One uninterrupted run on a copy of the toy set whose superpixels were removed (the pipeline makes them)."""
    data_root = str(tmp_path_factory.mktemp('pipeline_data') / 'toy')
    shutil.copytree(toy_voc[0], data_root)
    shutil.rmtree(osp.join(data_root, 'superpixels'))
    work_dir = str(tmp_path_factory.mktemp('pipeline_a'))
    proc = run_tool(pipeline_args(work_dir, data_root), timeout=1200)
    return data_root, work_dir, proc.stdout + proc.stderr


def train_ids(data_root):
    return open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()


def test_every_stage_runs_and_the_table_reports_them(finished_run):
    data_root, work_dir, log = finished_run
    ids = train_ids(data_root)
    assert all(osp.isfile(osp.join(data_root, 'superpixels', i + '.png')) for i in ids)
    for stage in PER_IMAGE:
        assert sorted(os.listdir(osp.join(work_dir, stage))) == sorted(i + ('.npz' if stage == 'cams' else '.png')
                                                                       for i in ids), stage
    results = json.load(open(osp.join(work_dir, 'pipeline_results.json')))
    for key in ('cams', 'pseudo_masks', 'segmentation'):
        assert 0 <= results[key]['mIoU'] <= 100
    assert 0 <= results['ir_labels']['precision'] <= 100 and 0 < results['ir_labels']['coverage'] <= 100
    times = json.load(open(osp.join(work_dir, 'pipeline_times.json')))
    assert set(times) == {'superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks',
                          'segmentation', 'evaluation'}
    for row in ('| cams | seed mIoU', '| ir_labels | precision', '| pseudo_masks | mIoU', '| segmentation | mIoU'):
        assert row in log
    assert f"mIoU {results['pseudo_masks']['mIoU']:.1f}" in log
    assert os.listdir(osp.join(work_dir, 'vis', 'stages'))       # overlays for people to look at


def test_every_output_is_byte_identical_to_the_recorded_run(finished_run):
    """Refactorings change no output: every file and final weight equals the run recorded before them."""
    from toy_pipeline_outputs import output_hashes, recording_environment
    with open(osp.join(TESTS_DIR, 'toy_pipeline_outputs.json')) as f:
        reference = json.load(f)
    if recording_environment() != reference['environment']:
        pytest.skip(f"hashes were recorded with {reference['environment']}; this machine has "
                    f'{recording_environment()} (float kernels differ between CPU instruction sets)')
    data_root, work_dir, _ = finished_run
    hashes = output_hashes(work_dir, data_root)
    assert sorted(hashes) == sorted(reference['hashes'])          # the same set of outputs
    changed = [name for name, digest in hashes.items() if digest != reference['hashes'][name]]
    assert not changed, f'{len(changed)} outputs differ from the recorded run, e.g. {changed[:5]}'


def test_a_finished_pipeline_skips_every_stage(finished_run):
    data_root, work_dir, _ = finished_run
    before = {name: os.stat(osp.join(work_dir, 'pseudo_masks', name)).st_mtime_ns
              for name in os.listdir(osp.join(work_dir, 'pseudo_masks'))}
    proc = run_tool(pipeline_args(work_dir, data_root, '--stages', 'cam_classifier', 'cams', 'ir_labels', 'irn',
                                  'pseudo_masks', 'segmentation'))
    log = proc.stdout + proc.stderr
    for stage in ('cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'segmentation'):
        assert f'[pipeline] {stage}: complete, skipped' in log
    assert before == {name: os.stat(osp.join(work_dir, 'pseudo_masks', name)).st_mtime_ns for name in before}


def test_a_pipeline_killed_during_a_stage_resumes_to_the_same_files(finished_run, tmp_path):
    data_root, reference, _ = finished_run
    work_dir = str(tmp_path / 'b')
    # cam_classifier reused
    shutil.copytree(osp.join(reference, 'cam_classifier'), osp.join(work_dir, 'cam_classifier'))
    args = [sys.executable] + pipeline_args(work_dir, data_root)
    proc = subprocess.Popen(args, cwd=REPO_ROOT, env=tool_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    cams = osp.join(work_dir, 'cams')
    deadline = time.time() + 600
    def finished(folder):   # not the temporary files of writes in progress (.<id>.<random>.tmp.npz)
        return [n for n in os.listdir(folder) if n.endswith('.npz') and not n.startswith('.')]
    while not (osp.isdir(cams) and finished(cams)) and time.time() < deadline:
        assert proc.poll() is None, 'the pipeline ended before it could be interrupted'
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)                          # the pipeline and its stage process
    proc.wait()
    done = finished(cams)
    assert 0 < len(done) < len(train_ids(data_root))             # killed in the middle of the CAM stage
    assert not osp.isdir(osp.join(work_dir, 'pseudo_masks'))
    # what a kill during a write leaves (whether this kill did depends on its timing): the rerun removes it
    open(osp.join(cams, f'.{train_ids(data_root)[-1]}.k1ll3d.tmp.npz'), 'wb').close()

    run_tool(pipeline_args(work_dir, data_root), timeout=1200)
    for stage in PER_IMAGE:
        names = sorted(os.listdir(osp.join(reference, stage)))
        assert sorted(os.listdir(osp.join(work_dir, stage))) == names, stage   # no temporary files left
        match, mismatch, errors = filecmp.cmpfiles(osp.join(reference, stage), osp.join(work_dir, stage), names,
                                                  shallow=False)
        assert not mismatch and not errors, (stage, mismatch, errors)
    a = json.load(open(osp.join(reference, 'pipeline_results.json')))
    b = json.load(open(osp.join(work_dir, 'pipeline_results.json')))
    assert a == b


def test_rerunning_a_stage_sets_later_outputs_aside(finished_run):
    data_root, work_dir, _ = finished_run
    pseudo = {n: open(osp.join(work_dir, 'pseudo_masks', n), 'rb').read()
              for n in os.listdir(osp.join(work_dir, 'pseudo_masks'))}
    proc = run_tool(pipeline_args(work_dir, data_root, '--force', '--stages', 'pseudo_masks'))
    log = proc.stdout + proc.stderr
    assert 'pseudo_masks: forced rerun; set aside as' in log and 'segmentation: made from earlier' in log
    assert len([n for n in os.listdir(work_dir) if n.startswith('pseudo_masks.stale-')]) == 1
    assert not osp.exists(osp.join(work_dir, 'segmentation'))               # made from the old pseudo masks
    stale = [n for n in os.listdir(work_dir) if n.startswith('segmentation.stale-')]
    assert len(stale) == 1 and os.listdir(osp.join(work_dir, stale[0]))      # kept, not deleted
    # regenerated from scratch, byte for byte the same
    assert {n: open(osp.join(work_dir, 'pseudo_masks', n), 'rb').read() for n in pseudo} == pseudo
