"""mmssc.runner without running a stage: the stage table, the commands it builds and the paper's pipeline configs."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT

HEADLINE = {'voc': ('configs/ssc/voc_cls.py', 'configs/ssc/voc_irn.py', 'configs/ssc/voc_beco.py'),
            'coco': ('configs/ssc/coco_cls.py', 'configs/ssc/coco_irn.py', 'configs/ssc/coco_beco.py')}


def headline_runner(name, work_dir, **kwargs):
    from mmssc.runner import StageRunner
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pipeline', f'{name}.py'))
    cfg.work_dir = work_dir
    return cfg, StageRunner(cfg, log=lambda message: None, **kwargs)


def test_the_stage_tables_name_stage_folders_tools_and_configs():
    from mmssc.runner import I2CRC_STAGE_TABLE, KINDS, STAGE_TABLE, STAGE_TABLES, STAGES
    from mmssc.stage_files import PER_IMAGE_SUFFIX, STAGE_DIRS
    assert STAGES == ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'segmentation',
                      'evaluation')
    assert tuple(stage.name for stage in I2CRC_STAGE_TABLE) == (
        'cam_classifier', 'cams', 'saliency_labels', 'segmentation_round1', 'round1_masks', 'refined_labels',
        'segmentation', 'evaluation')
    assert STAGE_TABLES == dict(ssc=STAGE_TABLE, i2crc=I2CRC_STAGE_TABLE)
    for table in STAGE_TABLES.values():
        names = [stage.name for stage in table]
        assert len(set(names)) == len(names) and names[-1] == 'evaluation'
        trained = {stage.name for stage in table if stage.kind == 'train'}
        for index, stage in enumerate(table):
            assert stage.kind in KINDS, stage.name
            assert set(stage.outputs) <= set(STAGE_DIRS), stage.name
            assert stage.score in ('', 'cams', 'ir_labels', 'labels', 'masks', 'segmenter'), stage.name
            assert (stage.score == 'segmenter') <= (stage.kind == 'train'), stage.name
            if stage.kind != 'evaluation':
                assert osp.isfile(osp.join(REPO_ROOT, stage.tool)), stage.name
                assert stage.config_stage in trained, stage.name
            if stage.kind == 'per_image':
                assert stage.outputs and set(stage.outputs) <= set(PER_IMAGE_SUFFIX), stage.name
            earlier = {folder for row in table[:index] for folder in row.outputs}
            assert set(stage.train_inputs.values()) <= earlier, stage.name    # made by an earlier stage


def test_i2crc_voc_runs_its_stages_on_the_official_lists(tmp_path):
    """The I²CRC pipeline: its tools, the checkpoints they load and the folders each round trains on."""
    work_dir = str(tmp_path / 'work')
    cfg, runner = headline_runner('i2crc_voc', work_dir, gpus=8)
    assert cfg.method == 'i2crc' and runner.stages[2] == 'saliency_labels'
    assert (cfg.cam_config, cfg.seg_config) == ('configs/i2crc/voc_cls.py', 'configs/ssc/voc_deeplabv2.py')
    cams = runner.command('cams')
    assert cams[1:3] == ['-m', 'torch.distributed.run']
    assert cams[cams.index('tools/make_i2crc_cam.py') + 2] == osp.join(work_dir, 'cam_classifier', 'epoch_30.pth')
    assert cams[cams.index('--ann-file') + 1] == 'ImageSets/Segmentation/train_aug.txt'
    assert runner.command('saliency_labels')[1] == 'tools/make_saliency_labels.py'    # CPU work: one process
    round1, final = runner.command('segmentation_round1'), runner.command('segmentation')
    assert round1[:4] == final[:4] == ['bash', 'tools/dist_train.sh', 'configs/ssc/voc_deeplabv2.py', '8']
    seg_map = 'train_dataloader.dataset.data_prefix.seg_map_path='
    assert seg_map + osp.abspath(osp.join(work_dir, 'saliency_labels')) in round1
    assert seg_map + osp.abspath(osp.join(work_dir, 'refined_labels')) in final
    assert round1[round1.index('--work-dir') + 1] == osp.join(work_dir, 'segmentation_round1')
    masks = runner.command('round1_masks')
    checkpoint = runner.checkpoint('segmentation_round1')
    assert checkpoint.startswith(osp.join(work_dir, 'segmentation_round1', ''))
    assert masks[masks.index('tools/make_segmenter_masks.py') + 1:][:2] == ['configs/ssc/voc_deeplabv2.py',
                                                                         checkpoint]
    assert 'test_dataloader.dataset.data_root=data/VOCdevkit/VOC2012' in masks      # the segmenter's dataset
    refine = runner.command('refined_labels')
    assert refine[1:3] == ['tools/refine_labels.py', 'configs/i2crc/voc_cls.py']
    with pytest.raises(KeyError, match='irn'):
        runner.command('irn')                     # not a stage of this method


def test_an_unknown_method_or_stage_is_one_error_naming_it(tmp_path):
    from mmssc.runner import StageRunner
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'pipeline', 'i2crc_voc.py'))
    cfg.method = 'i3crc'
    with pytest.raises(KeyError, match="method 'i3crc' is unknown; methods are ssc, i2crc"):
        StageRunner(cfg)
    cfg.method = 'i2crc'
    cfg.stage_args = dict(pseudo_masks=['--radius', '2'])
    with pytest.raises(KeyError, match=r"unknown stages \['pseudo_masks'\]"):
        StageRunner(cfg)


@pytest.mark.parametrize('name', sorted(HEADLINE))
def test_the_headline_configs_load_without_the_data(name, tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg, runner = headline_runner(name, work_dir)
    assert (cfg.cam_config, cfg.irn_config, cfg.seg_config) == HEADLINE[name]
    for stage in ('cam_classifier', 'irn', 'segmentation'):
        assert osp.isfile(osp.join(REPO_ROOT, runner.config_path(stage)))
    assert not osp.exists(work_dir)                                  # constructing writes nothing
    assert runner.image_list_path() == cfg.get('pseudo_mask_list', osp.join(work_dir, 'image_list.txt'))
    assert not osp.exists(work_dir)                                  # nor does asking for the image list


def test_voc_runs_the_official_lists_and_checkpoints(tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg, runner = headline_runner('voc', work_dir, gpus=8)
    assert cfg.data_root == 'data/VOCdevkit/VOC2012'
    assert cfg.pseudo_mask_list == 'ImageSets/Segmentation/train_aug.txt'
    assert cfg.eval_list == 'ImageSets/Segmentation/train.txt'
    cams = runner.command('cams')
    assert cams[1:3] == ['-m', 'torch.distributed.run']               # --gpus 8: torchrun
    assert cams[cams.index('tools/make_cam.py') + 2] == osp.join(work_dir, 'cam_classifier', 'epoch_10.pth')
    assert cams[cams.index('--ann-file') + 1] == 'ImageSets/Segmentation/train_aug.txt'
    assert runner.command('ir_labels')[1] == 'tools/make_ir_label.py'  # CPU work: one process with --workers
    assert runner.command('irn')[:4] == ['bash', 'tools/dist_train.sh', 'configs/ssc/voc_irn.py', '8']
    assert ('train_dataloader.dataset.data_prefix.seg_map_path=' + osp.abspath(osp.join(work_dir, 'ir_labels'))
            in runner.command('irn'))
    pseudo = runner.command('pseudo_masks')
    assert pseudo[pseudo.index('tools/make_pseudo_masks.py') + 2] == osp.join(work_dir, 'irn', 'epoch_3.pth')
    # BECO (the default segmenter) reads the pseudo masks; their confidence comes from the sibling folder
    assert ('train_dataloader.dataset.data_prefix.seg_map_path='
            + osp.abspath(osp.join(work_dir, 'pseudo_masks')) in runner.command('segmentation'))


def test_coco_lists_the_annotated_train2014_images(tmp_path):
    cfg, runner = headline_runner('coco', str(tmp_path / 'work'))
    assert cfg.data_root == 'data/coco' and 'pseudo_mask_list' not in cfg
    options = runner.stage_options('cams')       # the CAM tools' test split is moved from val2014 to train2014
    assert options['test_dataloader.dataset.data_prefix.img_path'] == 'train2014'
    assert options['test_dataloader.dataset.instances_file'] == 'annotations/instances_train2014.json'
    stage1 = runner.configs['cam_classifier']
    assert stage1.val_dataloader.dataset.data_prefix.img_path == 'val2014'   # its mAP stays on val2014
    irn = runner.configs['irn']
    assert irn.train_dataloader.dataset.data_prefix.img_path == 'train2014'
    assert irn.custom_hooks[0].dataloader.dataset.data_root == 'data/coco'
    assert irn.infer_dataloader.dataset.data_prefix.img_path == 'train2014'


def test_interrupted_writes_are_atomic_paths_temporaries_only(tmp_path):
    # what a writer killed inside atomic_path leaves is listed; finished files and other hidden files are not
    import os
    import tempfile
    from mmssc.fileio import atomic_path, interrupted_writes
    with atomic_path(str(tmp_path / 'done.png')) as tmp:
        open(tmp, 'wb').close()
    fd, leftover = tempfile.mkstemp(prefix='.cut.', suffix='.tmp.png', dir=str(tmp_path))   # atomic_path's name
    os.close(fd)
    (tmp_path / '.gitkeep').write_text('')
    assert interrupted_writes(str(tmp_path)) == [leftover]
    assert interrupted_writes(str(tmp_path / 'missing')) == []
