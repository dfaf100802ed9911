"""`python tools/make_toy_data.py [ROOT]`: write the small VOC-layout toy dataset used by tests and smoke runs."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmssc.datasets.toy_voc import make_toy_voc  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('root', nargs='?', default='data/toy_voc')
    parser.add_argument('--num-train', type=int, default=12)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--saliency', action='store_true',
                        help='also write stand-in saliency maps (a degraded copy of the true foreground, not a '
                        "detector's output) to ROOT/saliency, for I²CRC")
    args = parser.parse_args()
    drawn = make_toy_voc(args.root, args.num_train, args.num_val, seed=args.seed)
    print(f'wrote {len(drawn)} toy images to {args.root}')
    if args.saliency:
        from mmssc.datasets.demo_saliency import write_demo_saliency
        print(f'wrote {write_demo_saliency(args.root, seed=args.seed)} stand-in saliency maps to {args.root}/saliency')


if __name__ == '__main__':
    main()
