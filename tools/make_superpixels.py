"""Generate ≤N-region superpixels (Felzenszwalb + selective-search merging) for a folder of images.

    python tools/make_superpixels.py SRC OUT_DIR [--max-regions 64] [--workers N] [--list IDS.txt]
                                     [--show-dir DIR] [--ext .jpg]

SRC is a folder of images, or a VOC-layout root whose ``JPEGImages/`` holds them. Each image gets
``OUT_DIR/<stem>.png`` in the 24-bit id encoding of the distributed VOC superpixels (docs/method.md,
'Superpixels'), so generated and downloaded maps load through the same code. Outputs are written
atomically and a re-run skips every output that already decodes, so an interrupted run resumes.
"""
import argparse
import os.path as osp
import sys
import time

# Runs from a checkout without installation: make the repository root importable.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.superpixels.batch import (SuperpixelJob, image_root, install_sigterm_handler,  # noqa: E402
                                     list_images, pending_jobs, run_jobs)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='folder of images, or a VOC root containing JPEGImages/')
    parser.add_argument('out_dir', help='where <image stem>.png id maps are written')
    parser.add_argument('--max-regions', type=int, default=64, help='upper bound on regions per image (64)')
    parser.add_argument('--workers', type=int, default=1, help='parallel processes (1)')
    parser.add_argument('--list', dest='list_file', help='file of image ids (first token per line) to process')
    parser.add_argument('--show-dir', help='also write boundary overlays <stem>.jpg here')
    parser.add_argument('--ext', help='image extension, e.g. .jpg (default: any common image extension)')
    args = parser.parse_args(argv)
    if args.max_regions < 1:
        parser.error('--max-regions must be at least 1')
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    install_sigterm_handler()
    try:
        if osp.abspath(args.out_dir) == osp.abspath(image_root(args.src)):
            raise ValueError(f'OUT_DIR {args.out_dir} is the image folder itself; PNG images there would '
                             'be overwritten')
        images = list_images(args.src, args.list_file, args.ext)
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    jobs = [SuperpixelJob(image_path=path,
                          out_path=osp.join(args.out_dir, stem + '.png'),
                          show_path=osp.join(args.show_dir, stem + '.jpg') if args.show_dir else None,
                          max_regions=args.max_regions)
            for stem, path in images]
    todo = pending_jobs(jobs, args.workers)
    print(f'{len(jobs)} images, {len(jobs) - len(todo)} already done, {len(todo)} to generate '
          f'with {args.workers} worker(s) -> {args.out_dir}', flush=True)
    start = time.perf_counter()
    try:
        run_jobs(todo, args.workers)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f'\nerror: {exc}', file=sys.stderr)
        print('the maps written so far are complete and kept; fix or drop that image and re-run to resume',
              file=sys.stderr)
        return 1
    if todo:
        elapsed = time.perf_counter() - start
        print(f'generated {len(todo)} maps in {elapsed:.1f}s ({len(todo) / elapsed:.2f} images/s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
