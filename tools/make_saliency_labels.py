"""I²CRC's ``saliency_labels`` stage: the saliency-guided initial pseudo-labels, one
``<work-dir>/saliency_labels/<id>.png`` per image from its CAM file and its saliency map (docs/method.md, 'I²CRC').

    python tools/make_saliency_labels.py CONFIG --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--saliency-dir DIR] [--workers N] [--cfg-options KEY=VALUE ...]

The images and their labels are the config's ``test_dataloader.dataset`` (``--ann-file`` replaces its list); the
CAMs are ``W/cams/<id>.npz``; the saliency maps are ``--saliency-dir/<id>.png`` (default: the config's
``train_dataloader.dataset.data_prefix.saliency_path`` under its data_root), grayscale 0..255 of the image's size.
The rule and its official constants (0.3 / 0.9 / 0.5 / 32 / 1 %) are in mmssc/stages/saliency_labels.py. A missing
CAM file or saliency map is one error naming them, before anything is written; finished images are skipped.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', help='config of the classifier (its test_dataloader lists the images)')
    parser.add_argument('--work-dir', required=True, help='pipeline work_dir (reads cams/, writes saliency_labels/)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--saliency-dir', help="folder of <id>.png saliency maps (default: the config's "
                        'saliency_path)')
    parser.add_argument('--workers', type=int, default=0, help='data-loader processes (0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import saliency_labels
    from mmssc.stages.per_image import report_failure
    try:
        saliency_labels.run(args.config, args.work_dir, args.ann_file, args.saliency_dir, workers=args.workers,
                            cfg_options=args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure('[make_saliency_labels] ', exc, 'initial pseudo-labels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
