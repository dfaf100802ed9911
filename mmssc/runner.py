"""Every SSC stage in order inside one work_dir, each skipped when its outputs are complete (docs/stages.md, 'One
command: the pipeline runner').

A pipeline config (``configs/pipeline/*.py``) names the work_dir, the data root, the image lists and one config
per trained stage::

    work_dir = 'work_dirs/ssc_voc'
    data_root = 'data/VOCdevkit/VOC2012'
    pseudo_mask_list = 'ImageSets/Segmentation/train_aug.txt'   # images that get CAMs / pseudo masks
    eval_list = 'ImageSets/Segmentation/train.txt'              # with ground truth: seeds and pseudo masks
    # own data: no pseudo_mask_list (= the cam_classifier config's test_dataloader images, written once to
    # <work_dir>/image_list.txt) and eval_mask_dir = 'masks' (every one of those images with a ground-truth
    # mask there is scored); configs/pipeline/own_data.py
    classes_file = 'classes.txt'   # optional: one foreground class name per line (under data_root); its count
                                   # sets the class count of the classifier (n) and the segmenter (n + 1)
    cam_sweep = (0.1, 0.2, 0.3)    # optional: more background thresholds for the seeds (best one reported too)
    cam_config = 'configs/ssc/voc_cls.py'
    irn_config = 'configs/ssc/voc_irn.py'
    seg_config = 'configs/ssc/voc_deeplabv2.py'
    stage_args = dict(cams=['--scales', '1.0', '0.5'], ...)          # optional extra tool arguments per stage
    stage_cfg_options = dict(cam_classifier={'train_cfg.max_epochs': 5}, ...)   # optional overrides per stage

Two methods, one table each (the pipeline config's ``method``): ``'ssc'`` (the default), :data:`STAGE_TABLE`,
and ``'i2crc'``, :data:`I2CRC_STAGE_TABLE` (cam_classifier → cams → saliency_labels → segmentation_round1 →
round1_masks → refined_labels → segmentation → evaluation; docs/stages.md, 'I²CRC'). An I²CRC pipeline config
names ``cam_config`` and ``seg_config`` (both segmentation rounds train it; a plain segmenter) and no
``irn_config``. Each row says what a stage is: its kind (``data``: superpixels next to the images;
``train``: ``tools/train.py``, done when the final checkpoint exists; ``per_image``: a ``tools/make_*.py`` tool,
done when every image has each of its output files; ``evaluation``: always runs, it only reads), the tool, the
config it reads, the work_dir folders it writes (:mod:`mmssc.stage_files`) and its stage-specific inputs. Each
stage is the documented tool run in a process of its own (forked from a server that imported the packages once,
:mod:`mmssc.tool_launcher`), with ``--cfg-options`` pointing every dataloader of its config at
``data_root`` and its input folders at the work_dir. With ``gpus > 1`` training goes through
``tools/dist_train.sh`` and the distributed per-image stages through ``torchrun``, exactly as a user would launch
them.

Completion: an interrupted training stage is continued with ``--resume``; the per-image tools write atomically and
skip finished images, so an interrupted stage resumes where it stopped. Outputs of later stages were made from
the earlier ones, so whenever a stage runs, the outputs of every later stage that exist are set aside (renamed
``<folder>.stale-<time>``, never deleted) and those stages run again. Stage times are kept in
``<work_dir>/pipeline_times.json`` so the final table shows them even for stages finished in an earlier run.
"""
import json
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .fileio import atomic_path, interrupted_writes
from .stage_files import PER_IMAGE_SUFFIX, STAGE_DIRS, dataset_items, pending_ids, stage_dir
from .tool_launcher import run_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'infer_dataloader')
TIMES_FILE = 'pipeline_times.json'
RESULTS_FILE = 'pipeline_results.json'
IMAGE_LIST_FILE = 'image_list.txt'
DIST_TRAIN = 'tools/dist_train.sh'
KINDS = ('data', 'train', 'per_image', 'evaluation')
PIPELINE_INPUTS_KEY = 'pipeline_inputs'  # a stage config's own {config key: work_dir folder}


def _pct(value) -> str:
    """Results are already in percent."""
    return '–' if value is None else f'{float(value):.1f}'


def _miou_summary(result: dict) -> str:
    return f"mIoU {_pct(result.get('mIoU'))}"


def _seed_summary(result: dict) -> str:
    return f"seed mIoU {_pct(result.get('mIoU'))} (background threshold 0.2)"


def _test_split_summary(result: dict) -> str:
    return f"mIoU {_pct(result.get('mIoU'))} (test split)"


def _ir_label_summary(result: dict) -> str:
    return f"precision {_pct(result.get('precision'))}, coverage {_pct(result.get('coverage'))}"


def _label_summary(result: dict) -> str:
    """Labels with ignored pixels (I²CRC's): mIoU with 255 as background, and the labelled pixels' quality."""
    return f"{_miou_summary(result)} (255 as background); {_ir_label_summary(result.get('labelled', {}))}"


@dataclass(frozen=True)
class Stage:
    """One row of :data:`STAGE_TABLE`: everything the runner needs to know about a stage.

    name: the stage name (``--stages``, ``stage_args`` / ``stage_cfg_options`` keys, results and times keys).
    kind: one of :data:`KINDS`; the runner has one completion check and one command builder per kind.
    tool: the script it runs, relative to the repository.
    config_key: ``train`` rows: the pipeline-config key naming the stage config.
    config_of: other rows: the training stage whose config (as that stage's ``stage_cfg_options`` changed it)
        the tool reads.
    loads_checkpoint: ``per_image``: the tool takes the final checkpoint of ``config_of``.
    distributed: ``per_image``: launched through torchrun with ``gpus > 1`` (the IR-label tool is CPU work with
        its own ``--workers``).
    outputs: the work_dir folders it writes (:data:`mmssc.stage_files.STAGE_DIRS` names): set aside when an earlier
        stage reruns; a ``per_image`` stage is complete when every image has its file in each of them.
    data_prefix_key: ``data``: the ``cam_classifier`` training dataset's ``data_prefix`` entry naming the folder
        (next to the images, part of the data: never set aside) that gets one file per training image.
    train_inputs: ``train``: config keys pointed at work_dir folders (absolute paths) of earlier stages; the
        defaults, which a stage config's ``pipeline_inputs`` updates (:meth:`StageRunner.train_inputs`).
    class_count_keys: config keys set from the names in the pipeline config's ``classes_file``: the count plus
        the value (1 for a segmenter's background class).
    overlays: write the per-stage overlays (``vis/stages``) after it.
    score: how the evaluation scores its output on the images with ground truth: ``cams`` (seeds), ``ir_labels``
        (precision and coverage of the labelled pixels), ``labels`` (both: mIoU with 255 as background, and
        precision/coverage), ``masks`` (mIoU), ``segmenter`` (a training stage: its checkpoint on its config's own
        test split); '' none.
    summary: formats its entry of the results in the final table (None: no result column).
    """
    name: str
    kind: str
    tool: str = ''
    config_key: str = ''
    config_of: str = ''
    loads_checkpoint: bool = False
    distributed: bool = False
    outputs: Tuple[str, ...] = ()
    data_prefix_key: str = ''
    train_inputs: Mapping[str, str] = field(default_factory=dict)
    class_count_keys: Mapping[str, int] = field(default_factory=dict)
    overlays: bool = False
    score: str = ''
    summary: Optional[Callable[[dict], str]] = None

    @property
    def config_stage(self) -> str:
        """The training stage whose config this stage reads."""
        return self.name if self.kind == 'train' else self.config_of


STAGE_TABLE: Tuple[Stage, ...] = (
    Stage('superpixels', 'data', tool='tools/make_superpixels.py', config_of='cam_classifier',
          data_prefix_key='superpixel_path'),
    Stage('cam_classifier', 'train', tool='tools/train.py', config_key='cam_config',
          outputs=('cam_classifier',),
          class_count_keys={'model.num_classes': 0, 'model.reconstruction_head.num_classes': 0}),
    Stage('cams', 'per_image', tool='tools/make_cam.py', config_of='cam_classifier',
          loads_checkpoint=True, distributed=True, outputs=('cams',), score='cams', summary=_seed_summary),
    Stage('ir_labels', 'per_image', tool='tools/make_ir_label.py', config_of='cam_classifier',
          outputs=('ir_labels',), score='ir_labels', summary=_ir_label_summary),
    Stage('irn', 'train', tool='tools/train.py', config_key='irn_config', outputs=('irn',),
          train_inputs={'train_dataloader.dataset.data_prefix.seg_map_path': 'ir_labels'}),
    Stage('pseudo_masks', 'per_image', tool='tools/make_pseudo_masks.py', config_of='irn',
          loads_checkpoint=True, distributed=True, outputs=('pseudo_masks', 'pseudo_masks_confident'),
          overlays=True, score='masks', summary=_miou_summary),
    Stage('segmentation', 'train', tool='tools/train.py', config_key='seg_config',
          outputs=('segmentation',), score='segmenter', summary=_test_split_summary,
          train_inputs={'train_dataloader.dataset.data_prefix.seg_map_path': 'pseudo_masks_confident'},
          class_count_keys={'model.decode_head.num_classes': 1}),
    Stage('evaluation', 'evaluation'),
)
_SEGMENTER_CLASSES = {'model.decode_head.num_classes': 1}
I2CRC_STAGE_TABLE: Tuple[Stage, ...] = (
    Stage('cam_classifier', 'train', tool='tools/train.py', config_key='cam_config',
          outputs=('cam_classifier',), class_count_keys={'model.num_classes': 0}),
    Stage('cams', 'per_image', tool='tools/make_i2crc_cam.py', config_of='cam_classifier',
          loads_checkpoint=True, distributed=True, outputs=('cams',), score='cams', summary=_seed_summary),
    Stage('saliency_labels', 'per_image', tool='tools/make_saliency_labels.py', config_of='cam_classifier',
          outputs=('saliency_labels',), score='labels', summary=_label_summary),
    Stage('segmentation_round1', 'train', tool='tools/train.py', config_key='seg_config',
          outputs=('segmentation_round1',), score='segmenter', summary=_test_split_summary,
          train_inputs={'train_dataloader.dataset.data_prefix.seg_map_path': 'saliency_labels'},
          class_count_keys=_SEGMENTER_CLASSES),
    Stage('round1_masks', 'per_image', tool='tools/make_segmenter_masks.py', config_of='segmentation_round1',
          loads_checkpoint=True, distributed=True, outputs=('round1_masks',), score='masks',
          summary=_miou_summary),
    Stage('refined_labels', 'per_image', tool='tools/refine_labels.py', config_of='cam_classifier',
          outputs=('refined_labels',), overlays=True, score='labels', summary=_label_summary),
    Stage('segmentation', 'train', tool='tools/train.py', config_key='seg_config',
          outputs=('segmentation',), score='segmenter', summary=_test_split_summary,
          train_inputs={'train_dataloader.dataset.data_prefix.seg_map_path': 'refined_labels'},
          class_count_keys=_SEGMENTER_CLASSES),
    Stage('evaluation', 'evaluation'),
)
STAGE_TABLES = dict(ssc=STAGE_TABLE, i2crc=I2CRC_STAGE_TABLE)   # the pipeline config's `method` picks one
STAGES = tuple(stage.name for stage in STAGE_TABLE)
ALL_STAGES = tuple(dict.fromkeys(stage.name for table in STAGE_TABLES.values() for stage in table))


def stage_table(method: str) -> Tuple[Stage, ...]:
    if method not in STAGE_TABLES:
        raise KeyError(f'pipeline config: method {method!r} is unknown; methods are {", ".join(STAGE_TABLES)}')
    return STAGE_TABLES[method]


def stage_named(name: str, table: Sequence[Stage] = STAGE_TABLE) -> Stage:
    for stage in table:
        if stage.name == name:
            return stage
    raise KeyError(f'unknown stage {name!r}; stages are {", ".join(stage.name for stage in table)}')


def _cfg_options_args(options: Dict[str, object]) -> List[str]:
    return ['--cfg-options'] + [f'{key}={value}' for key, value in options.items()] if options else []


def data_root_options(cfg, data_root: str) -> Dict[str, str]:
    """``--cfg-options`` that point every dataset of ``cfg`` (dataloaders and hook dataloaders) at ``data_root``."""
    options = {f'{key}.dataset.data_root': data_root for key in DATALOADER_KEYS if key in cfg}
    for index, hook in enumerate(cfg.get('custom_hooks', [])):
        if isinstance(hook, dict) and 'dataloader' in hook:
            options[f'custom_hooks.{index}.dataloader.dataset.data_root'] = data_root
    return options


def final_checkpoint(cfg, work_dir: str) -> str:
    """The checkpoint a finished run of ``cfg`` leaves: ``epoch_<max_epochs>.pth`` or ``iter_<max_iters>.pth``."""
    train_cfg = cfg.train_cfg
    if 'max_epochs' in train_cfg:
        return osp.join(work_dir, f"epoch_{train_cfg['max_epochs']}.pth")
    return osp.join(work_dir, f"iter_{train_cfg['max_iters']}.pth")


class StageRunner:
    """Runs the stages of a pipeline config in a work_dir; see the module docstring."""

    def __init__(self, cfg, gpus: int = 1, python: str = sys.executable, show_num: int = 8,
                 log=print):
        self.method = cfg.get('method', 'ssc')
        self.table = stage_table(self.method)
        self.stages = tuple(stage.name for stage in self.table)
        config_keys = list(dict.fromkeys(stage.config_key for stage in self.table if stage.kind == 'train'))
        for key in ['work_dir', 'data_root'] + config_keys:
            if key not in cfg:
                raise KeyError(f'pipeline config: `{key}` is missing')
        self.cfg = cfg
        self.work_dir = cfg.work_dir
        self.data_root = cfg.data_root
        self.gpus = gpus
        self.python = python
        self.show_num = show_num
        self.log = log
        self.stage_args = dict(cfg.get('stage_args', {}))
        self.stage_cfg_options = dict(cfg.get('stage_cfg_options', {}))
        unknown = (set(self.stage_args) | set(self.stage_cfg_options)) - set(self.stages)
        if unknown:
            raise KeyError(f'pipeline config: unknown stages {sorted(unknown)}; stages are {", ".join(self.stages)}')
        self.configs = {stage.name: self._load(cfg[stage.config_key]) for stage in self.table
                        if stage.kind == 'train'}
        self._class_count: Optional[int] = None
        self._image_ids: Optional[List[str]] = None

    # ------------------------------------------------------------------ configs and their options
    @staticmethod
    def _load(path: str):
        from mmengine.config import Config
        if not osp.isfile(path):
            raise FileNotFoundError(f'pipeline config: stage config not found: {path}')
        return Config.fromfile(path)

    def stage(self, name: str) -> Stage:
        """The row of stage ``name`` in this pipeline's table (an unknown name is a KeyError listing them)."""
        return stage_named(name, self.table)

    def config_path(self, name: str) -> str:
        """The stage config that stage ``name`` reads (its own, or its training stage's)."""
        return self.cfg[self.stage(self.stage(name).config_stage).config_key]

    def class_count(self) -> Optional[int]:
        """The number of names in ``<data_root>/<classes_file>``; None without ``classes_file``."""
        classes_file = self.cfg.get('classes_file')
        if not classes_file:
            return None
        if self._class_count is None:
            from .datasets.image_labels import load_class_names
            path = classes_file if osp.isabs(classes_file) else osp.join(self.data_root, classes_file)
            if not osp.isfile(path):
                raise FileNotFoundError(f'pipeline config: classes_file not found: {path} (one foreground class '
                                        'name per line; it sets the class count of every stage)')
            self._class_count = len(load_class_names(path))
        return self._class_count

    def stage_options(self, name: str, with_inputs: bool = False) -> Dict[str, object]:
        """The ``--cfg-options`` of stage ``name``: its config's dataloaders at ``data_root``, the class count of
        ``classes_file``, with ``with_inputs`` the folders a training stage reads, then ``stage_cfg_options``: a
        per-image stage first gets its training stage's (it uses that config as training changed it: model ...)."""
        stage = self.stage(name)
        if not stage.config_stage:
            raise KeyError(f'stage {name} reads no stage config')
        source = self.stage(stage.config_stage)
        options = data_root_options(self.configs[source.name], self.data_root)
        count = self.class_count() if source.class_count_keys else None
        if count is not None:
            options.update({key: count + extra for key, extra in source.class_count_keys.items()})
        if with_inputs:
            options.update({key: osp.abspath(stage_dir(self.work_dir, folder))
                            for key, folder in self.train_inputs(name).items()})
        if source.name != name:
            options.update(self.stage_cfg_options.get(source.name, {}))
        options.update(self.stage_cfg_options.get(name, {}))
        return options

    def train_inputs(self, name: str) -> Dict[str, str]:
        """Config key → work_dir folder for training stage ``name``: the table's ``train_inputs``, updated by its
        stage config's own ``pipeline_inputs`` (BECO configs read the label from ``pseudo_masks``)."""
        inputs = dict(self.stage(name).train_inputs)
        declared = self.configs[name].get(PIPELINE_INPUTS_KEY) or {}
        for key, folder in declared.items():
            if folder not in STAGE_DIRS:
                raise KeyError(f'{self.config_path(name)}: {PIPELINE_INPUTS_KEY}[{key!r}] = {folder!r} is not a '
                               f'work_dir folder; known: {", ".join(STAGE_DIRS)}')
        inputs.update(declared)
        return inputs

    def checkpoint(self, name: str) -> str:
        """The final checkpoint of training stage ``name`` (its schedule as ``stage_cfg_options`` set it)."""
        cfg = self.configs[name].copy()
        cfg.merge_from_dict(self.stage_cfg_options.get(name, {}))
        return final_checkpoint(cfg, stage_dir(self.work_dir, name))

    # ------------------------------------------------------------------ the images
    def items(self, ann_file: Optional[str]) -> tuple:
        """``(items, class names)`` of an image list of the ``cam_classifier`` dataset, as the per-image stages see
        it (the pipeline's data_root and the cam_classifier's ``stage_cfg_options``, which may move its test
        split)."""
        options = data_root_options(self.configs['cam_classifier'], self.data_root)
        options.update(self.stage_cfg_options.get('cam_classifier', {}))
        return dataset_items(self.configs['cam_classifier'].copy(), ann_file, cfg_options=options)

    def image_list_path(self) -> str:
        """The list of images that get CAMs, IR labels and pseudo masks: ``pseudo_mask_list`` (relative to
        data_root), or without one ``<work_dir>/image_list.txt``, which :meth:`write_image_list` writes."""
        if self.cfg.get('pseudo_mask_list'):
            return self.cfg.pseudo_mask_list
        return osp.abspath(osp.join(self.work_dir, IMAGE_LIST_FILE))

    def _image_list_exists(self) -> bool:
        return bool(self.cfg.get('pseudo_mask_list')) or osp.isfile(self.image_list_path())

    def write_image_list(self) -> None:
        """Without ``pseudo_mask_list``: list every image of the ``cam_classifier`` config's ``test_dataloader`` (for
        your own data: the images of its label file) once in ``<work_dir>/image_list.txt``; an existing list is kept,
        so the images of a run do not change under it."""
        if self._image_list_exists():
            return
        path = self.image_list_path()
        ids = self._image_ids = [item['img_id'] for item in self.items(None)[0]]
        with atomic_path(path) as tmp:
            with open(tmp, 'w') as f:
                f.write(''.join(i + '\n' for i in ids))
        self.log(f'[pipeline] no pseudo_mask_list: {len(ids)} images of the cam_classifier test_dataloader, '
                 f'listed in {path}')

    def _listed_items(self) -> tuple:
        """``(items, classes)`` of the image list (before it is written: the images it will list)."""
        return self.items(self.image_list_path() if self._image_list_exists() else None)

    def image_ids(self) -> List[str]:
        if self._image_ids is None:
            self._image_ids = [item['img_id'] for item in self._listed_items()[0]]
        return self._image_ids

    def eval_items(self) -> tuple:
        """``(items, classes)`` scored against ground truth: ``eval_list`` with the ``cam_classifier`` dataset's
        masks, or, with ``eval_mask_dir`` (relative to data_root), every image of the pseudo-mask list that has a
        mask there."""
        mask_dir = self.cfg.get('eval_mask_dir')
        if mask_dir:
            mask_dir = mask_dir if osp.isabs(mask_dir) else osp.join(self.data_root, mask_dir)
            if not osp.isdir(mask_dir):
                raise FileNotFoundError(f'pipeline config: eval_mask_dir not found: {mask_dir}')
            items, classes = self.items(self.cfg.eval_list) if self.cfg.get('eval_list') else self._listed_items()
            scored = [dict(item, seg_map_path=osp.join(mask_dir, item['img_id'] + '.png')) for item in items]
            scored = [item for item in scored if osp.isfile(item['seg_map_path'])]
            where = f'in eval_mask_dir {mask_dir}'
        else:
            items, classes = self.items(self.cfg.eval_list)
            listed = set(self.image_ids())
            scored = [item for item in items if item['img_id'] in listed]
            where = f'in eval_list {self.cfg.eval_list}'
        if not scored:
            raise FileNotFoundError(f'pipeline config: no image of the pseudo-mask list has a ground-truth mask '
                                    f'{where}')
        return scored, classes

    # ------------------------------------------------------------------ per kind: the data stage
    def _training_dataset(self, stage: Stage):
        return self.configs[stage.config_stage].train_dataloader.dataset

    def _data_dir(self, stage: Stage) -> str:
        folder = self._training_dataset(stage).data_prefix.get(stage.data_prefix_key)
        if not folder:
            raise KeyError(f'{self.config_path(stage.name)}: train_dataloader.dataset.data_prefix has no '
                           f'{stage.data_prefix_key}')
        return folder if osp.isabs(folder) else osp.join(self.data_root, folder)

    def _training_list(self, stage: Stage) -> str:
        return self._training_dataset(stage).get('ann_file') or self.image_list_path()

    def _data_done(self, stage: Stage) -> bool:
        folder, suffix = self._data_dir(stage), PER_IMAGE_SUFFIX[stage.name]
        ids = [item['img_id'] for item in self.items(self._training_list(stage))[0]]
        return all(osp.isfile(osp.join(folder, i + suffix)) for i in ids)

    def _data_command(self, stage: Stage) -> List[str]:
        images = osp.join(self.data_root, self._training_dataset(stage).data_prefix.img_path)
        return [self.python, stage.tool, images, self._data_dir(stage),
                '--list', osp.join(self.data_root, self._training_list(stage)),
                '--workers', str(max(1, (os.cpu_count() or 2)))] + self.stage_args.get(stage.name, [])

    # ------------------------------------------------------------------ per kind: training stages
    def _train_done(self, stage: Stage) -> bool:
        return osp.isfile(self.checkpoint(stage.name))

    def _train_command(self, stage: Stage) -> List[str]:
        work_dir = stage_dir(self.work_dir, stage.name)
        config = self.config_path(stage.name)
        launcher = (['bash', DIST_TRAIN, config, str(self.gpus)] if self.gpus > 1
                    else [self.python, stage.tool, config])
        resume = ['--resume'] if osp.isfile(osp.join(work_dir, 'last_checkpoint')) else []
        return (launcher + ['--work-dir', work_dir] + resume + self.stage_args.get(stage.name, []) +
                _cfg_options_args(self.stage_options(stage.name, with_inputs=True)))

    # ------------------------------------------------------------------ per kind: per-image stages
    def _per_image_done(self, stage: Stage) -> bool:
        return not any(pending_ids(self.work_dir, folder, self.image_ids()) for folder in stage.outputs)

    def _per_image_command(self, stage: Stage) -> List[str]:
        launcher = ([self.python, '-m', 'torch.distributed.run', f'--nproc_per_node={self.gpus}',
                     '--master_port', str(_free_port())] if stage.distributed and self.gpus > 1 else [self.python])
        positional = [self.config_path(stage.name)]
        if stage.loads_checkpoint:
            positional.append(self.checkpoint(stage.config_stage))
        return (launcher + [stage.tool, *positional, '--work-dir', self.work_dir,
                            '--ann-file', self.image_list_path()] + self.stage_args.get(stage.name, []) +
                _cfg_options_args(self.stage_options(stage.name)))

    # ------------------------------------------------------------------ stages: done? / run
    def is_done(self, name: str) -> bool:
        stage = self.stage(name)
        done = {'data': self._data_done, 'train': self._train_done, 'per_image': self._per_image_done,
                'evaluation': lambda stage: False}[stage.kind]  # evaluation always runs (it only reads)
        return done(stage)

    def command(self, name: str) -> List[str]:
        """The command line stage ``name`` runs (the evaluation runs in this process and has none)."""
        stage = self.stage(name)
        if stage.kind == 'evaluation':
            raise KeyError(f'stage {name} runs in the runner itself and has no command')
        build = {'data': self._data_command, 'train': self._train_command,
                 'per_image': self._per_image_command}[stage.kind]
        return build(stage)

    def run_stage(self, name: str) -> None:
        """Run one stage (after :meth:`prepare`, which :meth:`run` calls)."""
        stage = self.stage(name)
        if stage.kind == 'evaluation':
            self.evaluate()
        else:
            self._remove_interrupted_writes(stage)
            self._run(self.command(name), name)
        if stage.overlays:
            self._write_overlays()

    def _remove_interrupted_writes(self, stage: Stage) -> None:
        """Delete the temporary files a killed run of a per-image stage left in its output folders (its finished
        files are kept and skipped); no writer of this pipeline is active between two stages."""
        if stage.kind == 'data':
            folders = [self._data_dir(stage)]
        elif stage.kind == 'per_image':
            folders = [stage_dir(self.work_dir, folder) for folder in stage.outputs]
        else:
            return
        leftovers = [path for folder in folders for path in interrupted_writes(folder)]
        for path in leftovers:
            os.remove(path)
        if leftovers:
            self.log(f'[pipeline] {stage.name}: removed {len(leftovers)} unfinished file(s) of an interrupted run')

    def _run(self, args: Sequence[str], stage: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]),
                   PYTHON=self.python)
        self.log(f'[pipeline] {stage}: ' + ' '.join(args))
        returncode = run_tool(args, cwd=REPO_ROOT, env=env)
        if returncode != 0:
            raise RuntimeError(f'stage {stage} failed (exit {returncode}); fix the error above and re-run '
                               'the pipeline: finished stages and images are kept')

    def _write_overlays(self) -> None:
        from .visualization import write_stage_overlays
        write_stage_overlays(self.work_dir, self._listed_items()[0],
                             osp.join(stage_dir(self.work_dir, 'vis'), 'stages'), self.show_num)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict:
        """Every scored stage of the table (its ``score``): the per-image outputs on ``eval_list`` (or
        ``eval_mask_dir``), those of a stage that has not run yet are left out; each trained segmenter on its own
        test split once its final checkpoint exists."""
        from .evaluation.mask_metrics import evaluate_cams, evaluate_masks, ir_label_quality
        results = {}
        scored = [stage for stage in self.table if stage.score]
        items = classes = None
        if self.cfg.get('eval_list') or self.cfg.get('eval_mask_dir'):
            items, classes = self.eval_items()
        for stage in scored:
            if stage.score == 'segmenter':
                if osp.isfile(self.checkpoint(stage.name)):
                    results[stage.name] = self._test_segmenter(stage.name)
                else:  # e.g. a run of the stages up to the pseudo masks only (benchmarks/ablation.py)
                    self.log(f'[pipeline] evaluation: no trained {stage.name} yet, not evaluated')
                continue
            folder = stage_dir(self.work_dir, stage.outputs[0])
            if items is None or not osp.isdir(folder):
                continue
            if stage.score == 'cams':  # optional `cam_sweep`: more background thresholds (keys `sweep`, `best`)
                results[stage.name] = evaluate_cams(folder, items, classes, sweep=self.cfg.get('cam_sweep'))
            elif stage.score == 'ir_labels':
                results[stage.name] = ir_label_quality(folder, items)
            elif stage.score == 'masks':
                results[stage.name] = evaluate_masks(folder, items, classes, title=stage.name)
            else:  # 'labels'
                results[stage.name] = dict(evaluate_masks(folder, items, classes, title=stage.name),
                                           labelled=ir_label_quality(folder, items))
        with atomic_path(osp.join(self.work_dir, RESULTS_FILE)) as tmp:
            with open(tmp, 'w') as f:
                json.dump(results, f, indent=1, default=float)
        return results

    def _test_segmenter(self, name: str = 'segmentation') -> dict:
        """Stock ``tools/test.py`` writes the predictions of training stage ``name`` on its config's test split;
        they are scored like the pseudo masks."""
        from .evaluation.mask_metrics import evaluate_masks
        seg_dir = stage_dir(self.work_dir, name)
        out_dir = osp.join(seg_dir, 'test_predictions')
        options = self.stage_options(name)
        self._run([self.python, 'tools/test.py', self.config_path(name), self.checkpoint(name),
                   '--work-dir', osp.join(seg_dir, 'test'), '--out', out_dir] + _cfg_options_args(options),
                  f'{name} test')
        cfg = self.configs[name].copy()
        cfg.merge_from_dict(options)
        items, classes = dataset_items(cfg, dataloader='test_dataloader')
        return evaluate_masks(out_dir, items, classes, title=f'{name} predictions')

    # ------------------------------------------------------------------ the whole run
    def prepare(self) -> None:
        """What every run needs before its first stage: a readable ``classes_file`` (checked first, so a missing
        one is the run's only error), the work_dir and the image list."""
        self.class_count()
        os.makedirs(self.work_dir, exist_ok=True)
        self.write_image_list()

    def set_aside_outputs(self, name: str, include_stage: bool = False) -> None:
        """Rename the existing outputs of every stage after ``name`` (made from its old outputs), and of ``name``
        itself with ``include_stage`` (a forced rerun)."""
        stamp = time.strftime('%Y%m%d-%H%M%S')
        results = osp.join(self.work_dir, RESULTS_FILE)
        if osp.exists(results):
            os.replace(results, f'{results}.stale-{stamp}')
        first = self.stages.index(name) + (0 if include_stage else 1)
        for later in self.table[first:]:
            for folder in later.outputs:
                path = stage_dir(self.work_dir, folder)
                if osp.exists(path):
                    os.replace(path, f'{path}.stale-{stamp}')
                    why = 'forced rerun' if later.name == name else f'made from earlier {name} outputs'
                    self.log(f'[pipeline] {later.name}: {why}; set aside as {path}.stale-{stamp}')
                    times = self._load_times()
                    times.pop(later.name, None)
                    self._save_times(times)

    def run(self, stages: Optional[Sequence[str]] = None, force: bool = False) -> dict:
        """Run ``stages`` (default: all of this method's) in order, skipping complete ones unless ``force``."""
        stages = self.stages if stages is None else stages
        for name in stages:
            self.stage(name)  # an unknown name fails before anything runs
        self.prepare()
        for name in stages:
            if not force and self.is_done(name):
                self.log(f'[pipeline] {name}: complete, skipped')
                continue
            evaluation = self.stage(name).kind == 'evaluation'
            if not evaluation:
                self.set_aside_outputs(name, include_stage=force)
            start = time.perf_counter()
            self.run_stage(name)
            times = self._load_times()
            # resumed stages add up their parts; evaluation reruns every time, so it keeps its latest time
            previous = 0.0 if evaluation else times.get(name, 0.0)
            times[name] = previous + time.perf_counter() - start
            self._save_times(times)
        times = self._load_times()
        results = self._load_results()
        self.log(format_table(results, times, self.table))
        return dict(results=results, times=times)

    def _load_times(self) -> dict:
        path = osp.join(self.work_dir, TIMES_FILE)
        return json.load(open(path)) if osp.isfile(path) else {}

    def _save_times(self, times: dict) -> None:
        with atomic_path(osp.join(self.work_dir, TIMES_FILE)) as tmp:
            with open(tmp, 'w') as f:
                json.dump(times, f, indent=1)

    def _load_results(self) -> dict:
        path = osp.join(self.work_dir, RESULTS_FILE)
        return json.load(open(path)) if osp.isfile(path) else {}


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def format_table(results: dict, times: dict, table: Sequence[Stage] = STAGE_TABLE) -> str:
    """The run's summary: quality of every stage's output and the time each stage took."""
    lines = ['| stage | result | time (s) |', '|---|---|---|']
    for stage in table:
        result = results.get(stage.name, {})
        summary = stage.summary(result) if stage.summary and result else ''
        t = times.get(stage.name)
        lines.append(f"| {stage.name} | {summary} | {'' if t is None else f'{t:.0f}'} |")
    return '\n'.join(lines)
