"""Random walk (docs/method.md, "irn and pseudo_masks"): the sparse walk of mmssc vs IRN's dense T^256, time and
peak memory.

    python benchmarks/random_walk.py [--device cpu|cuda] [--height 94 --width 125] [--classes 3]
                                     [--repeat 3] [--dense-repeat N] [--dense-squarings 8] [--skip-dense]
                                     [--sizes 188x250 ...]

Default grid: 94×125 = 11,750 stride-4 pixels, a 500×375 VOC image. Inputs are a smooth random boundary map and
K smooth random CAMs (seeded), so the timing does not depend on real data.

* ``dense``: IRN's formulation: the N×N affinity matrix (built directly on the device from the same radius-5 pair
  affinities; IRN builds it on the CPU with ``torch.sparse(...).to_dense()`` and copies it over, which is slower),
  A^β, column normalisation, 8 squarings (T^256), then x·T^256.
* ``sparse``: :func:`mmssc.random_walk.random_walk` (CSR transition, 256 sparse products).

Each method runs in a fresh subprocess; its peak memory is the CUDA allocator's peak on GPUs, else the growth of the
process's peak RSS during the call. Time is the best of ``--repeat`` calls (CUDA synchronised). ``--dense-squarings
k < 8`` times only k of the 8 squarings and extrapolates the rest linearly (stated in the output): on a small CPU
the full dense walk takes many minutes. The outputs of both are compared (max |difference|, argmax agreement of the
pseudo labels at stride 4 with IRN's 0.25 background).
"""
import argparse
import json
import os.path as osp
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.random_walk import local_affinities, random_walk  # noqa: E402


def make_inputs(height: int, width: int, classes: int, device, seed: int = 0):
    """A smooth boundary map in [0, 1] (sparse strong ridges) and K smooth non-negative CAMs, max-normalised."""
    gen = torch.Generator().manual_seed(seed)

    def smooth(channels, sigma_px):
        noise = torch.randn(1, channels, height, width, generator=gen, dtype=torch.float64)
        size = int(4 * sigma_px) | 1
        x = torch.arange(size, dtype=torch.float64) - size // 2
        kernel = torch.exp(-x ** 2 / (2 * sigma_px ** 2))
        kernel = kernel / kernel.sum()
        out = F.conv2d(F.pad(noise, (size // 2,) * 4, mode='reflect'),
                       kernel.view(1, 1, 1, -1).expand(channels, 1, 1, size), groups=channels)
        out = F.conv2d(out, kernel.view(1, 1, -1, 1).expand(channels, 1, size, 1), groups=channels)
        return out[0]

    field = smooth(1, 3)[0]
    edge = torch.exp(-(field / field.std()) ** 2 * 8)  # ridges where the field crosses 0
    cams = smooth(classes, 6)
    cams = (cams / cams.std() + 0.5).clamp(min=0)
    cams = cams / cams.amax(dim=(1, 2), keepdim=True).clamp(min=1e-6)
    return cams.float().to(device), edge.float().to(device)


def dense_random_walk(cams, edge, radius=5, beta=10, exp_times=8, squarings=None):
    """IRN's dense formulation; with ``squarings < exp_times`` only that many squarings run (for timing)."""
    height, width = edge.shape
    n = height * width
    affinity, valid = local_affinities(edge, radius)          # the same pair affinities as IRN's edge_to_affinity
    from mmssc.models.path_index import PathIndex
    directions = torch.as_tensor(PathIndex(radius).directions, device=edge.device)
    src = torch.arange(n, device=edge.device).expand(len(directions), n)
    dst = src + (directions[:, 0] * width + directions[:, 1])[:, None]
    dense = torch.zeros(n, n, device=edge.device, dtype=edge.dtype)
    dense[src[valid], dst[valid]] = affinity[valid]
    dense = dense + dense.t()
    dense.diagonal().fill_(1)
    transition = dense.pow(beta)
    del dense
    transition = transition / transition.sum(dim=0, keepdim=True)
    for _ in range(exp_times if squarings is None else squarings):
        transition = transition @ transition
    x = (cams * (1 - edge)).reshape(len(cams), n)
    return (x @ transition).reshape(cams.shape)


def measure(method: str, args) -> dict:
    device = torch.device(args.device)
    cams, edge = make_inputs(args.height, args.width, args.classes, device)
    squarings = None if method == 'sparse' else args.dense_squarings

    def call():
        if method == 'sparse':
            return random_walk(cams, edge)
        return dense_random_walk(cams, edge, squarings=squarings)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == 'cuda' or method == 'sparse':  # a CPU dense walk takes minutes: no warm-up call for it
        call()  # warm-up (CUDA context, cuBLAS/cuSPARSE handles, allocator); counted in the peak, not in the time
        sync()
    times = []
    repeat = args.dense_repeat if method == 'dense' and args.dense_repeat else args.repeat
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        out = call()
        sync()
        times.append(time.perf_counter() - start)
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    best = min(times)
    result = dict(method=method, seconds=best, peak_bytes=int(peak), n=args.height * args.width)
    if method == 'dense' and squarings is not None and squarings < 8:
        # time of k squarings measured; the other 8 − k cost the same each: extrapolate from a 0-squaring run
        without = min(_time(lambda: dense_random_walk(cams, edge, squarings=0), sync) for _ in range(repeat))
        result.update(seconds=without + (best - without) * 8 / squarings, extrapolated_from=squarings)
    if args.save:
        np.save(args.save, out.float().cpu().numpy())
    return result


def _time(fn, sync):
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def run_child(method: str, args, save=None) -> dict:
    cmd = [sys.executable, osp.abspath(__file__), '--child', method, '--device', args.device, '--height',
           str(args.height), '--width', str(args.width), '--classes', str(args.classes), '--repeat',
           str(args.repeat), '--dense-squarings', str(args.dense_squarings),
           '--dense-repeat', str(args.dense_repeat)]
    if save:
        cmd += ['--save', save]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--height', type=int, default=94)
    parser.add_argument('--width', type=int, default=125)
    parser.add_argument('--classes', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--dense-squarings', type=int, default=8)
    parser.add_argument('--dense-repeat', type=int, default=0, help='timed dense calls (default: --repeat)')
    parser.add_argument('--skip-dense', action='store_true')
    parser.add_argument('--sizes', nargs='*', default=[], help='extra HxW grids for the sparse walk only')
    parser.add_argument('--child', choices=['dense', 'sparse'], help=argparse.SUPPRESS)
    parser.add_argument('--save', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    import tempfile
    device_name = (torch.cuda.get_device_name() if args.device.startswith('cuda')
                   else f'CPU ({torch.get_num_threads()} threads)')
    print(f'device: {device_name}; torch {torch.__version__}; grid {args.height}×{args.width} '
          f'(N = {args.height * args.width}), K = {args.classes}')
    with tempfile.TemporaryDirectory() as tmp:
        sparse = run_child('sparse', args, save=osp.join(tmp, 'sparse.npy'))
        rows = [sparse]
        if not args.skip_dense:
            dense = run_child('dense', args, save=osp.join(tmp, 'dense.npy') if args.dense_squarings == 8 else None)
            rows.append(dense)
        print('| method | N | time (s) | peak memory (MiB) |')
        print('|---|---|---|---|')
        for row in rows:
            note = (f' (extrapolated from {row["extrapolated_from"]} of 8 squarings)' if 'extrapolated_from' in row
                    else '')
            print(f'| {row["method"]} | {row["n"]} | {row["seconds"]:.4g}{note} | {row["peak_bytes"] / 2**20:.1f} |')
        if not args.skip_dense:
            print(f'speed-up: {dense["seconds"] / sparse["seconds"]:.1f}×, memory: '
                  f'{dense["peak_bytes"] / max(sparse["peak_bytes"], 1):.0f}× less')
            if args.dense_squarings == 8:
                a, b = np.load(osp.join(tmp, 'sparse.npy')), np.load(osp.join(tmp, 'dense.npy'))
                pa = np.concatenate([np.full((1,) + a.shape[1:], 0.25), a / a.max()]).argmax(0)
                pb = np.concatenate([np.full((1,) + b.shape[1:], 0.25), b / b.max()]).argmax(0)
                print(f'max |sparse − dense| = {np.abs(a - b).max():.2e} (values up to {b.max():.3f}); '
                      f'pseudo-label agreement at stride 4: {(pa == pb).mean() * 100:.3f} %')
    for size in args.sizes:
        h, w = (int(v) for v in size.lower().split('x'))
        row = run_child('sparse', argparse.Namespace(**{**vars(args), 'height': h, 'width': w}))
        print(f'| sparse | {row["n"]} | {row["seconds"]:.4g} | {row["peak_bytes"] / 2**20:.1f} |')


if __name__ == '__main__':
    main()
