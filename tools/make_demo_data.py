"""`python tools/make_demo_data.py [ROOT]`: write the embedded SSC demo dataset (no downloads).

Scenes of objects with a small class-specific part on a large plain body, composed onto random crops of
scikit-image's bundled photos, with class-correlated background textures; VOC layout with exact masks, a
labelled test split and a manifest of what was drawn where (see mmssc/datasets/demo_scenes.py and
docs/readme/demo_data.md). A re-run over a complete folder with the same settings does nothing.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.datasets.demo_scenes import demo_statistics, make_demo_dataset, write_overview  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', nargs='?', default='data/demo_scenes', help='output folder (VOC layout)')
    parser.add_argument('--num-train', type=int, default=160)
    parser.add_argument('--num-val', type=int, default=30)
    parser.add_argument('--num-test', type=int, default=30)
    parser.add_argument('--image-size', type=int, nargs='+', default=[160],
                        help='one side, or HEIGHT WIDTH (default 160)')
    parser.add_argument('--num-classes', type=int, default=5, help='2 to 10 (default 5)')
    parser.add_argument('--cooccurrence-prob', type=float, default=0.4,
                        help='probability that an image with class k also shows texture k (default 0.4)')
    parser.add_argument('--texture-without-class-prob', type=float, default=0.15,
                        help='probability, per absent class k, that texture k still appears (default 0.15)')
    parser.add_argument('--part-fraction', type=float, default=0.1,
                        help='area of the distinctive part over the object area (default 0.1)')
    parser.add_argument('--max-objects', type=int, default=3, help='objects per image: 1..N (N <= 4)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--saliency', action='store_true',
                        help='also write stand-in saliency maps (a degraded copy of the true foreground, not a '
                        "detector's output) to ROOT/saliency, for I²CRC")
    parser.add_argument('--show-dir', help='also write SHOW_DIR/demo_overview.png, a sheet of samples with masks')
    parser.add_argument('--show-num', type=int, default=8, help='training images on the overview sheet')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = args.image_size[0] if len(args.image_size) == 1 else args.image_size
    start = time.time()
    manifest = make_demo_dataset(args.root, num_train=args.num_train, num_val=args.num_val,
                                 num_test=args.num_test, image_size=size, num_classes=args.num_classes,
                                 cooccurrence_prob=args.cooccurrence_prob,
                                 texture_without_class_prob=args.texture_without_class_prob,
                                 part_fraction=args.part_fraction, max_objects=args.max_objects, seed=args.seed)
    made = 'seconds' in manifest  # absent when a complete folder with the same settings was found
    print(f'{"wrote" if made else "found complete"} demo dataset in {args.root} '
          f'({len(manifest["images"])} images, {len(manifest["classes"])} classes, {time.time() - start:.1f} s)')
    print(json.dumps(demo_statistics(manifest)))
    if args.saliency:
        from mmssc.datasets.demo_saliency import write_demo_saliency
        written = write_demo_saliency(args.root, seed=args.seed)
        print(f'wrote {written} stand-in saliency maps to {osp.join(args.root, "saliency")}')
    if args.show_dir:
        path = write_overview(args.root, osp.join(args.show_dir, 'demo_overview.png'), num=args.show_num)
        print(f'overview: {path}')


if __name__ == '__main__':
    main()
