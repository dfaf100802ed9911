"""Every SSC stage in order inside one work_dir, each skipped when its outputs are complete.

A pipeline config (``configs/pipeline/*.py``) names the work_dir, the data root, the image lists and one config
per trained stage::

    work_dir = 'work_dirs/ssc_voc'
    data_root = 'data/VOCdevkit/VOC2012'
    pseudo_mask_list = 'ImageSets/Segmentation/train_aug.txt'   # images that get CAMs / pseudo masks
    eval_list = 'ImageSets/Segmentation/train.txt'              # with ground truth: seeds and pseudo masks
    # own data: no pseudo_mask_list (= the stage-1 test_dataloader's images) and eval_mask_dir = 'masks'
    # (every one of those images with a ground-truth mask there is scored); configs/pipeline/own_data.py
    cam_sweep = (0.1, 0.2, 0.3)    # optional: more background thresholds for the seeds (best one reported too)
    cam_config = 'configs/ssc/voc_cls.py'
    irn_config = 'configs/ssc/voc_irn.py'
    seg_config = 'configs/ssc/voc_deeplabv2.py'
    stage_args = dict(cams=['--scales', '1.0', '0.5'], ...)          # optional extra tool arguments per stage
    stage_cfg_options = dict(cam_classifier={'train_cfg.max_epochs': 5}, ...)   # optional overrides per stage

Each stage is the documented tool run in a subprocess (``tools/train.py``, ``make_cam.py`` ...), with
``--cfg-options`` pointing every dataloader of its config at ``data_root`` and its input folders at the
work_dir (the folders of :mod:`mmssc.stage_files`). With ``gpus > 1`` training goes through
``tools/dist_train.sh`` and the per-image stages through ``torchrun``, exactly as a user would launch them.

Completion: a training stage is done when its final checkpoint exists (an interrupted one is continued with
``--resume``); a per-image stage when every image has its output file (the tools write atomically and skip
finished images, so an interrupted stage resumes where it stopped). Outputs of later stages were made from the
earlier ones, so whenever a stage runs, the outputs of every later stage that exist are set aside (renamed
``<folder>.stale-<time>``, never deleted) and those stages run again. Stage times are kept in
``<work_dir>/pipeline_times.json`` so the final table shows them even for stages finished in an earlier run.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from .fileio import atomic_path

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STAGES = ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'segmentation',
          'evaluation')
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'infer_dataloader')
TIMES_FILE = 'pipeline_times.json'
RESULTS_FILE = 'pipeline_results.json'
IMAGE_LIST_FILE = 'image_list.txt'


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


class Pipeline:
    """Runs the stages of a pipeline config; see the module docstring."""

    def __init__(self, cfg, gpus: int = 1, python: str = sys.executable, show_num: int = 8,
                 log=print):
        for key in ('work_dir', 'data_root', 'cam_config', 'irn_config', 'seg_config'):
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
        unknown = (set(self.stage_args) | set(self.stage_cfg_options)) - set(STAGES)
        if unknown:
            raise KeyError(f'pipeline config: unknown stages {sorted(unknown)}; stages are {", ".join(STAGES)}')
        self.configs = {name: self._load(cfg[key]) for name, key in
                        (('cam_classifier', 'cam_config'), ('irn', 'irn_config'), ('segmentation', 'seg_config'))}
        os.makedirs(self.work_dir, exist_ok=True)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _load(path: str):
        from mmengine.config import Config
        if not osp.isfile(path):
            raise FileNotFoundError(f'pipeline config: stage config not found: {path}')
        return Config.fromfile(path)

    def _dir(self, stage: str) -> str:
        from .stage_files import stage_dir
        return stage_dir(self.work_dir, stage)

    def _options(self, stage: str, config_stage: str, extra: Optional[Dict[str, object]] = None) -> Dict[str, object]:
        options = data_root_options(self.configs[config_stage], self.data_root)
        options.update(extra or {})
        if config_stage != stage:  # a per-image stage uses the config as its training stage changed it (model ...)
            options.update(self.stage_cfg_options.get(config_stage, {}))
        options.update(self.stage_cfg_options.get(stage, {}))
        return options

    def _checkpoint(self, stage: str) -> str:
        cfg = self.configs[stage].copy()
        cfg.merge_from_dict(self.stage_cfg_options.get(stage, {}))
        return final_checkpoint(cfg, self._dir(stage))

    def _run(self, args: Sequence[str], stage: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]),
                   PYTHON=self.python)
        self.log(f'[pipeline] {stage}: ' + ' '.join(args))
        proc = subprocess.run(list(args), cwd=REPO_ROOT, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f'stage {stage} failed (exit {proc.returncode}); fix the error above and re-run '
                               'the pipeline: finished stages and images are kept')

    def _train(self, stage: str, extra: Optional[Dict[str, object]] = None) -> None:
        work_dir = self._dir(stage)
        config = self.cfg[{'cam_classifier': 'cam_config', 'irn': 'irn_config', 'segmentation': 'seg_config'}[stage]]
        tool = (['bash', 'tools/dist_train.sh', config, str(self.gpus)] if self.gpus > 1
                else [self.python, 'tools/train.py', config])
        resume = ['--resume'] if osp.isfile(osp.join(work_dir, 'last_checkpoint')) else []
        self._run(tool + ['--work-dir', work_dir] + resume + self.stage_args.get(stage, []) +
                  _cfg_options_args(self._options(stage, stage, extra)), stage)

    def _per_image(self, tool: str, stage: str, positional: Sequence[str], config_stage: str,
                   extra: Optional[Dict[str, object]] = None) -> None:
        launcher = ([self.python, '-m', 'torch.distributed.run', f'--nproc_per_node={self.gpus}',
                     '--master_port', str(_free_port())] if self.gpus > 1 else [self.python])
        self._run(launcher + [tool, *positional, '--work-dir', self.work_dir,
                              '--ann-file', self.image_list] + self.stage_args.get(stage, []) +
                  _cfg_options_args(self._options(stage, config_stage, extra)), stage)

    def items(self, ann_file: str) -> tuple:
        """``(items, class names)`` of an image list of the stage-1 dataset (with the pipeline's data_root)."""
        from .stage_files import dataset_items
        return dataset_items(self.configs['cam_classifier'].copy(), ann_file,
                             cfg_options=data_root_options(self.configs['cam_classifier'], self.data_root))

    @property
    def image_list(self) -> str:
        """The list of images that get CAMs, IR labels and pseudo masks: ``pseudo_mask_list`` (relative to
        data_root), or without one every image of the stage-1 config's ``test_dataloader`` (for your own data:
        the images of its label file), written once to ``<work_dir>/image_list.txt``."""
        if self.cfg.get('pseudo_mask_list'):
            return self.cfg.pseudo_mask_list
        path = osp.abspath(osp.join(self.work_dir, IMAGE_LIST_FILE))
        if not osp.isfile(path):
            ids = self._pseudo_ids = [item['img_id'] for item in self.items(None)[0]]
            with atomic_path(path) as tmp:
                with open(tmp, 'w') as f:
                    f.write(''.join(i + '\n' for i in ids))
            self.log(f'[pipeline] no pseudo_mask_list: {len(ids)} images of the stage-1 test_dataloader, '
                     f'listed in {path}')
        return path

    def eval_items(self) -> tuple:
        """``(items, classes)`` scored against ground truth: ``eval_list`` with the stage-1 dataset's masks, or, with
        ``eval_mask_dir`` (relative to data_root), every image of the pseudo-mask list that has a mask there."""
        mask_dir = self.cfg.get('eval_mask_dir')
        if mask_dir:
            mask_dir = mask_dir if osp.isabs(mask_dir) else osp.join(self.data_root, mask_dir)
            if not osp.isdir(mask_dir):
                raise FileNotFoundError(f'pipeline config: eval_mask_dir not found: {mask_dir}')
            items, classes = self.items(self.cfg.get('eval_list') or self.image_list)
            scored = [dict(item, seg_map_path=osp.join(mask_dir, item['img_id'] + '.png')) for item in items]
            scored = [item for item in scored if osp.isfile(item['seg_map_path'])]
            where = f'in eval_mask_dir {mask_dir}'
        else:
            items, classes = self.items(self.cfg.eval_list)
            listed = set(self._ids())
            scored = [item for item in items if item['img_id'] in listed]
            where = f'in eval_list {self.cfg.eval_list}'
        if not scored:
            raise FileNotFoundError(f'pipeline config: no image of the pseudo-mask list has a ground-truth mask '
                                    f'{where}')
        return scored, classes

    def _ids(self) -> List[str]:
        if not hasattr(self, '_pseudo_ids'):
            self._pseudo_ids = [item['img_id'] for item in self.items(self.image_list)[0]]
        return self._pseudo_ids

    def _superpixel_dir(self) -> str:
        dataset = self.configs['cam_classifier'].train_dataloader.dataset
        folder = dataset.data_prefix.get('superpixel_path')
        if not folder:
            raise KeyError(f"{self.cfg.cam_config}: train_dataloader.dataset.data_prefix has no superpixel_path")
        return folder if osp.isabs(folder) else osp.join(self.data_root, folder)

    # ------------------------------------------------------------------ stages: done? / run
    def is_done(self, stage: str) -> bool:
        from .stage_files import pending_ids
        if stage == 'superpixels':
            folder = self._superpixel_dir()
            return all(osp.isfile(osp.join(folder, i + '.png')) for i in self._training_ids())
        if stage in ('cam_classifier', 'irn', 'segmentation'):
            return osp.isfile(self._checkpoint(stage))
        if stage in ('cams', 'ir_labels'):
            return not pending_ids(self.work_dir, stage, self._ids())
        if stage == 'pseudo_masks':
            return not (pending_ids(self.work_dir, 'pseudo_masks', self._ids()) or
                        pending_ids(self.work_dir, 'pseudo_masks_confident', self._ids()))
        return False  # evaluation always runs (it only reads)

    def _training_ids(self) -> List[str]:
        dataset = self.configs['cam_classifier'].train_dataloader.dataset
        return [item['img_id'] for item in self.items(dataset.get('ann_file') or self.image_list)[0]]

    def run_stage(self, stage: str) -> None:
        if stage == 'superpixels':
            dataset = self.configs['cam_classifier'].train_dataloader.dataset
            ann = dataset.get('ann_file') or self.image_list
            self._run([self.python, 'tools/make_superpixels.py', osp.join(self.data_root, dataset.data_prefix.img_path),
                       self._superpixel_dir(), '--list', osp.join(self.data_root, ann),
                       '--workers', str(max(1, (os.cpu_count() or 2)))] + self.stage_args.get(stage, []), stage)
        elif stage == 'cam_classifier':
            self._train(stage)
        elif stage == 'cams':
            self._per_image('tools/make_cam.py', stage,
                            [self.cfg.cam_config, self._checkpoint('cam_classifier')], 'cam_classifier')
        elif stage == 'ir_labels':
            self._run([self.python, 'tools/make_ir_label.py', self.cfg.cam_config, '--work-dir', self.work_dir,
                       '--ann-file', self.image_list] + self.stage_args.get(stage, []) +
                      _cfg_options_args(self._options(stage, 'cam_classifier')), stage)
        elif stage == 'irn':
            self._train(stage, {'train_dataloader.dataset.data_prefix.seg_map_path':
                                osp.abspath(self._dir('ir_labels'))})
        elif stage == 'pseudo_masks':
            self._per_image('tools/make_pseudo_masks.py', stage, [self.cfg.irn_config, self._checkpoint('irn')], 'irn')
            self._overlays()
        elif stage == 'segmentation':
            self._train(stage, {'train_dataloader.dataset.data_prefix.seg_map_path':
                                osp.abspath(self._dir('pseudo_masks_confident'))})
        elif stage == 'evaluation':
            self.evaluate()
        else:
            raise KeyError(f'unknown stage {stage!r}; stages are {", ".join(STAGES)}')

    def _overlays(self) -> None:
        from .visualization import write_stage_overlays
        items = self.items(self.image_list)[0]
        write_stage_overlays(self.work_dir, items, osp.join(self._dir('vis'), 'stages'), self.show_num)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict:
        """Seeds, IR labels and pseudo masks on ``eval_list``; the segmenter (once trained) on its own test split."""
        from .evaluation.mask_metrics import evaluate_cams, evaluate_masks, ir_label_quality
        results = {}
        if self.cfg.get('eval_list') or self.cfg.get('eval_mask_dir'):
            items, classes = self.eval_items()
            # optional `cam_sweep`: background thresholds also scored (result keys `sweep`, `best`)
            results['cams'] = evaluate_cams(self._dir('cams'), items, classes, sweep=self.cfg.get('cam_sweep'))
            results['ir_labels'] = ir_label_quality(self._dir('ir_labels'), items)
            results['pseudo_masks'] = evaluate_masks(self._dir('pseudo_masks'), items, classes)
        if osp.isfile(self._checkpoint('segmentation')):
            results['segmentation'] = self._test_segmenter()
        else:  # e.g. a run of the stages up to the pseudo masks only (benchmarks/ablation.py)
            self.log('[pipeline] evaluation: no trained segmenter yet, segmentation not evaluated')
        with atomic_path(osp.join(self.work_dir, RESULTS_FILE)) as tmp:
            with open(tmp, 'w') as f:
                json.dump(results, f, indent=1, default=float)
        return results

    def _test_segmenter(self) -> dict:
        """Stock ``tools/test.py`` writes the predictions; they are scored like the pseudo masks."""
        from .stage_files import dataset_items
        from .evaluation.mask_metrics import evaluate_masks
        out_dir = osp.join(self._dir('segmentation'), 'test_predictions')
        self._run([self.python, 'tools/test.py', self.cfg.seg_config, self._checkpoint('segmentation'),
                   '--work-dir', osp.join(self._dir('segmentation'), 'test'), '--out', out_dir] +
                  _cfg_options_args(self._options('segmentation', 'segmentation')), 'segmentation test')
        cfg = self.configs['segmentation'].copy()
        cfg.merge_from_dict(self._options('segmentation', 'segmentation'))
        items, classes = dataset_items(cfg, dataloader='test_dataloader')
        return evaluate_masks(out_dir, items, classes, title='segmenter predictions')

    # ------------------------------------------------------------------ the whole run
    def _output_paths(self, stage: str) -> List[str]:
        if stage in ('cam_classifier', 'irn', 'segmentation', 'cams', 'ir_labels'):
            return [self._dir(stage)]
        if stage == 'pseudo_masks':
            return [self._dir('pseudo_masks'), self._dir('pseudo_masks_confident')]
        return []  # superpixels belong to the data; evaluation only reads

    def set_aside_outputs(self, stage: str, include_stage: bool = False) -> None:
        """Rename the existing outputs of every stage after ``stage`` (made from its old outputs), and of ``stage``
        itself with ``include_stage`` (a forced rerun)."""
        stamp = time.strftime('%Y%m%d-%H%M%S')
        results = osp.join(self.work_dir, RESULTS_FILE)
        if osp.exists(results):
            os.replace(results, f'{results}.stale-{stamp}')
        first = STAGES.index(stage) + (0 if include_stage else 1)
        for later in STAGES[first:]:
            for path in self._output_paths(later):
                if osp.exists(path):
                    os.replace(path, f'{path}.stale-{stamp}')
                    why = 'forced rerun' if later == stage else f'made from earlier {stage} outputs'
                    self.log(f'[pipeline] {later}: {why}; set aside as {path}.stale-{stamp}')
                    times = self._load_times()
                    times.pop(later, None)
                    self._save_times(times)

    def run(self, stages: Sequence[str] = STAGES, force: bool = False) -> dict:
        for stage in stages:
            if stage not in STAGES:
                raise KeyError(f'unknown stage {stage!r}; stages are {", ".join(STAGES)}')
            if not force and self.is_done(stage):
                self.log(f'[pipeline] {stage}: complete, skipped')
                continue
            if stage != 'evaluation':
                self.set_aside_outputs(stage, include_stage=force)
            start = time.perf_counter()
            self.run_stage(stage)
            times = self._load_times()
            # resumed stages add up their parts; evaluation reruns every time, so it keeps its latest time
            previous = 0.0 if stage == 'evaluation' else times.get(stage, 0.0)
            times[stage] = previous + time.perf_counter() - start
            self._save_times(times)
        times = self._load_times()
        results = self._load_results()
        self.log(format_table(results, times))
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


def _pct(value) -> str:
    """Results are already in percent."""
    return '–' if value is None else f'{float(value):.1f}'


def format_table(results: dict, times: dict) -> str:
    """The run's summary: quality of every stage's output and the time each stage took."""
    cams, ir, pseudo, seg = (results.get(k, {}) for k in ('cams', 'ir_labels', 'pseudo_masks', 'segmentation'))
    rows = [
        ('superpixels', '', times.get('superpixels')),
        ('CAM classifier (stage 1)', '', times.get('cam_classifier')),
        ('CAM seeds (bg 0.2)', f"mIoU {_pct(cams.get('mIoU'))}" if cams else '', times.get('cams')),
        ('IR labels', f"precision {_pct(ir.get('precision'))}, coverage {_pct(ir.get('coverage'))}" if ir else '',
         times.get('ir_labels')),
        ('IRN', '', times.get('irn')),
        ('pseudo masks', f"mIoU {_pct(pseudo.get('mIoU'))}" if pseudo else '', times.get('pseudo_masks')),
        ('segmentation (test split)', f"mIoU {_pct(seg.get('mIoU'))}" if seg else '', times.get('segmentation')),
        ('evaluation', '', times.get('evaluation')),
    ]
    lines = ['| stage | result | time (s) |', '|---|---|---|']
    lines += [f"| {name} | {result} | {'' if t is None else f'{t:.0f}'} |" for name, result, t in rows]
    return '\n'.join(lines)
