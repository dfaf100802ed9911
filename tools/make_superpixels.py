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

# Runs from a checkout without installation: make the repository root importable.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmssc  # noqa: E402,F401  (the stack fixes, before anything touches torch's data loader)


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
    from mmssc.stages import superpixels
    from mmssc.stages.per_image import report_failure
    try:
        superpixels.run(args.src, args.out_dir, args.list_file, args.ext, args.max_regions, args.workers,
                        args.show_dir)
    except (OSError, ValueError, RuntimeError) as exc:
        return report_failure('[make_superpixels] ', exc, 'superpixel maps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
