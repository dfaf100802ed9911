"""``cam_classifier`` train-step time and peak memory on CPU: baseline vs +DRS / +CDR / +ASM / full SSC.

Each variant runs in its own process (so peak RSS is its own) with the official ResNet-50 classifier of
configs/ssc/voc_cls.py (random weights: speed does not depend on them), a frozen VGG19 loss network built once,
rows with the decoder and loss network under bf16 autocast (``model.cdr_autocast``) and/or run one sample at a
time (``model.cdr_checkpoint_chunk=1``, the configs' default: the loss network's backward done in forward, the
decoder checkpointed; the ``full SSC`` and ``+CDR`` rows set it to None, the official unchunked computation), and
the two optimisers of the config.
Figures: median of the timed steps after warm-up, and the process's peak RSS; ratios are to the baseline measured
in the same run (``--variants`` picks rows; the baseline always runs). The ASM share is the ASM loss's own
forward+backward time at the full-SSC shapes, as a fraction of the full step.

    python benchmarks/stage1_step.py                      # crop 256, batch 2 (time + memory)
    python benchmarks/stage1_step.py --crop 512 --batch 6 --steps 2 --warmup 1   # memory at the official size
"""
import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VARIANTS = {
    'baseline': dict(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None),
    '+DRS': dict(reconstruction_head=None, reconstruction_loss=None, asm_loss=None),
    # the rows measured against the official unchunked computation; the configs' default is the chunked one
    '+CDR': dict(drs=None, asm_loss=None, cdr_checkpoint_chunk=None),
    '+ASM': dict(drs=None, reconstruction_head=None, reconstruction_loss=None),
    'full SSC': dict(cdr_checkpoint_chunk=None),
    'full SSC, bf16 CDR': dict(cdr_autocast=True, cdr_checkpoint_chunk=None),
    'full SSC, chunked CDR': dict(cdr_checkpoint_chunk=1),
    'full SSC, bf16 + chunked CDR': dict(cdr_autocast=True, cdr_checkpoint_chunk=1),
}


def measure(variant: str, crop: int, batch: int, steps: int, warmup: int, threads: int) -> dict:
    """Runs in the child process: build, train ``warmup + steps`` iterations, report times and peak RSS."""
    import torch
    sys.path.insert(0, REPO)
    import mmssc  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from mmseg.structures import SegDataSample
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs/ssc/voc_cls.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.reconstruction_loss.update(checkpoint=None, allow_random_weights=True)
    cfg.model.update(VARIANTS[variant])
    model = MODELS.build(cfg.model).train()
    model.asm_enabled = True
    optim_cfg = cfg.optim_wrapper.copy()
    wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=optim_cfg.pop('constructor'), optim_wrapper_cfg=optim_cfg))(model)

    def batch_data():
        samples = []
        for _ in range(batch):
            s = SegDataSample()
            s.gt_label = (torch.rand(20) < 0.15).float()
            s.gt_label[0] = 1
            # 64 superpixels in 8x8 blocks, like the ≤64 regions of the superpixel stage (docs/method.md, "Superpixels")
            ids = torch.arange(64).view(8, 8).repeat_interleave(crop // 8, 0).repeat_interleave(crop // 8, 1)
            s.gt_superpixels = PixelData(data=ids[None])
            samples.append(s)
        return dict(inputs=[torch.randint(0, 255, (3, crop, crop), dtype=torch.uint8) for _ in range(batch)],
                    data_samples=samples)

    times = []
    for step in range(warmup + steps):
        data = batch_data()
        start = time.perf_counter()
        model.train_step(data, wrappers)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    result = dict(variant=variant, step_s=statistics.median(times),
                  peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    if model.asm_loss is not None:  # the ASM loss alone, forward + backward, at this variant's CAM shape
        cam = torch.randn(batch, 20, crop // 16, crop // 16, requires_grad=True)
        data = batch_data()
        sp = torch.stack([s.gt_superpixels.data[0] for s in data['data_samples']])
        labels = torch.stack([s.gt_label for s in data['data_samples']])
        asm_times = []
        for _ in range(5):
            start = time.perf_counter()
            model.asm_loss(cam, sp, labels).backward()
            asm_times.append(time.perf_counter() - start)
        result['asm_s'] = statistics.median(asm_times)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--crop', type=int, default=256)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--steps', type=int, default=6)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS), default=list(VARIANTS),
                        help='rows to measure (the baseline is always measured first: the ratios need it)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.crop, args.batch, args.steps, args.warmup, args.threads)))
        return
    rows = []
    for variant in ['baseline'] + [v for v in args.variants if v != 'baseline']:
        out = subprocess.run([sys.executable, __file__, '--child', variant, '--crop', str(args.crop), '--batch',
                              str(args.batch), '--steps', str(args.steps), '--warmup', str(args.warmup),
                              '--threads', str(args.threads)], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f'{variant} failed:\n{out.stderr[-3000:]}')
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f'measured {variant}', file=sys.stderr)
    base = rows[0]
    print(f'\ncam_classifier train step on CPU ({args.threads} threads), crop {args.crop}, batch {args.batch}, '
          f'median of {args.steps} steps after {args.warmup} warm-up\n')
    print('| variant | step (s) | × baseline | peak RSS (GB) | × baseline | ASM loss share |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        share = f"{100 * r['asm_s'] / r['step_s']:.1f}%" if 'asm_s' in r else '–'
        print(f"| {r['variant']} | {r['step_s']:.2f} | {r['step_s'] / base['step_s']:.2f} | "
              f"{r['peak_rss_gb']:.2f} | {r['peak_rss_gb'] / base['peak_rss_gb']:.2f} | {share} |")


if __name__ == '__main__':
    main()
