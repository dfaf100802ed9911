"""benchmarks/ablation.py: its Table VII rows are exactly the ablation configs, and its summary statistics."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, load_tool

CONFIGS = osp.join(REPO_ROOT, 'configs', 'ssc')
ROW_CONFIGS = {'baseline': 'voc_cls_baseline.py', 'drs': 'voc_cls_drs.py', 'drs_cdr': 'voc_cls_drs_cdr.py',
               'asm_no_rs': 'voc_cls_asm_no_rs.py', 'full_ssc': 'voc_cls.py'}


def load_ablation():
    return load_tool('ablation', 'benchmarks')


@pytest.mark.parametrize('variant', sorted(ROW_CONFIGS))
def test_each_row_applied_to_the_full_config_is_its_ablation_config(variant):
    ablation = load_ablation()
    assert set(ablation.VARIANTS) == set(ROW_CONFIGS)
    cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py'))
    cfg.merge_from_dict(ablation.VARIANTS[variant][1])
    expected = Config.fromfile(osp.join(CONFIGS, ROW_CONFIGS[variant]))
    assert cfg.model.to_dict() == expected.model.to_dict()
    assert cfg.custom_hooks == expected.custom_hooks


def test_pipeline_config_seeds_both_trained_stages_and_scores_the_training_images(tmp_path):
    ablation = load_ablation()
    cfg = ablation.pipeline_config(str(tmp_path), 'data', 'drs', 2)
    assert cfg.work_dir == osp.join(str(tmp_path), 'drs', 'seed2')
    assert cfg.pseudo_mask_list == cfg.eval_list == 'ImageSets/Segmentation/train.txt'
    assert cfg.cam_sweep == ablation.SWEEP and 0.2 in cfg.cam_sweep   # best threshold, beside the official 0.2
    assert cfg.stage_cfg_options['cam_classifier']['randomness.seed'] == 2
    assert cfg.stage_cfg_options['irn'] == {'randomness.seed': 2}
    assert cfg.stage_cfg_options['cam_classifier']['model.asm_loss'] is None


def test_summary_is_mean_and_sample_std():
    ablation = load_ablation()
    table = ablation.summarise({'baseline': {'seeds': [20.0, 22.0, 24.0], 'pseudo': [10.0]}})
    assert table['baseline']['seeds']['mean'] == pytest.approx(22.0)
    assert table['baseline']['seeds']['std'] == pytest.approx(2.0)        # sample std (n - 1)
    assert table['baseline']['pseudo']['std'] == 0.0
    assert '22.0 ± 2.0' in ablation.format_table(table)


def test_failure_modes_count_body_part_and_texture_pixels(tmp_path):
    """One 4×8 image: object of class 1 on columns 0-3 (part = column 0), texture band on columns 6-7."""
    import numpy as np

    from mmssc.stage_files import write_cam_file
    from mmssc.fileio import write_label_png
    ablation = load_ablation()
    data_root, work_dir = tmp_path / 'data', tmp_path / 'work'
    gt = np.zeros((4, 8), np.uint8)
    gt[:, :4] = 1
    part = np.zeros_like(gt)
    part[:, 0] = 1
    texture = np.zeros_like(gt)
    texture[:, 6:] = 1
    for folder, array in (('SegmentationClassAug', gt), ('PartMasks', part), ('TextureMasks', texture)):
        write_label_png(str(data_root / folder / 'a.png'), array)
    high_res = np.zeros((1, 4, 8), np.float32)
    high_res[0, :, :2] = 0.9          # seeds: the part and one body column ...
    high_res[0, :, 7] = 0.5           # ... and half of the texture
    write_cam_file(str(work_dir / 'cams' / 'a.npz'), [0], np.zeros((1, 1, 2), np.float32), high_res)
    pseudo = gt.copy()
    pseudo[:, 6:] = 1                 # pseudo mask: the whole object and the whole texture
    write_label_png(str(work_dir / 'pseudo_masks' / 'a.png'), pseudo)
    modes = ablation.failure_modes(str(work_dir), str(data_root), ['a'])
    assert modes['seeds'] == pytest.approx(dict(body_recall=100 / 3, part_recall=100.0, texture_leak=50.0))
    assert modes['pseudo'] == pytest.approx(dict(body_recall=100.0, part_recall=100.0, texture_leak=100.0))


def test_the_i2crc_benchmark_runs_the_ablations_full_ssc_row_and_the_two_i2crc_rows(tmp_path):
    """benchmarks/i2crc.py: its SSC row is the ablation's full-SSC run (same config, seeds and images), its other
    rows change only the classifier (SSC + losses) or the method (I²CRC); rows lacking a column show '–'."""
    ablation, i2crc = load_ablation(), load_tool('i2crc', 'benchmarks')
    full = ablation.pipeline_config(str(tmp_path), 'data', 'full_ssc', 1)
    ssc = i2crc.pipeline_config(str(tmp_path), 'data', 'ssc', 1)
    for key in ('cam_config', 'irn_config', 'pseudo_mask_list', 'eval_list', 'stage_args', 'data_root'):
        assert ssc[key] == full[key], key
    assert ssc.stage_cfg_options == full.stage_cfg_options
    losses = i2crc.pipeline_config(str(tmp_path), 'data', 'ssc_i2crc_losses', 1)
    assert losses.cam_config == 'configs/demo/demo_cls_i2crc_losses.py'
    assert losses.stage_cfg_options == full.stage_cfg_options
    method = i2crc.pipeline_config(str(tmp_path), 'data', 'i2crc', 1)
    assert method.method == 'i2crc' and method.cam_config == 'configs/i2crc/demo_cls.py'
    assert method.stage_cfg_options == {'cam_classifier': {'randomness.seed': 1}}
    assert method.pseudo_mask_list == method.eval_list == full.eval_list
    table = ablation.summarise({'i2crc': {'seeds': [30.0, 32.0], 'saliency_labels': [40.0, 40.0]},
                                'ssc': {'seeds': [28.0], 'saliency_labels': [35.0], 'pseudo': [31.0]}})
    text = ablation.format_table(table, {k: v[0] for k, v in i2crc.VARIANTS.items()}, i2crc.COLUMNS,
                                 'CAM classifier')
    assert '| I²CRC (configs/i2crc/demo_cls.py) | 31.0 ± 1.4 | 40.0 ± 0.0 | – | 2 |' in text
    assert '| full SSC (configs/demo/demo_cls.py) | 28.0 ± 0.0 | 35.0 ± 0.0 | 31.0 ± 0.0 | 1 |' in text
