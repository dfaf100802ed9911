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


def test_the_stage_table_names_stage_folders_tools_and_configs():
    from mmssc.runner import KINDS, STAGE_TABLE, STAGES
    from mmssc.stage_files import PER_IMAGE_SUFFIX, STAGE_DIRS
    assert STAGES == ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'segmentation',
                      'evaluation')
    trained = {stage.name for stage in STAGE_TABLE if stage.kind == 'train'}
    for stage in STAGE_TABLE:
        assert stage.kind in KINDS, stage.name
        assert set(stage.outputs) <= set(STAGE_DIRS), stage.name
        if stage.kind != 'evaluation':
            assert osp.isfile(osp.join(REPO_ROOT, stage.tool)), stage.name
            assert stage.config_stage in trained, stage.name
        if stage.kind == 'per_image':
            assert stage.outputs and set(stage.outputs) <= set(PER_IMAGE_SUFFIX), stage.name
        earlier = {folder for row in STAGE_TABLE[:STAGES.index(stage.name)] for folder in row.outputs}
        assert set(stage.train_inputs.values()) <= earlier, stage.name    # made by an earlier stage


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
