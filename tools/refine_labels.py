"""I²CRC's ``refined_labels`` stage: the object-guided label refinement, one ``<work-dir>/refined_labels/<id>.png``
per image from the first-round segmenter's masks, the initial pseudo-labels and the image labels (docs/method.md,
'I²CRC').

    python tools/refine_labels.py CONFIG --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--prediction-dir DIR] [--workers N] [--cfg-options KEY=VALUE ...]

The images and their labels are the classifier config's ``test_dataloader.dataset`` (``--ann-file`` replaces its
list); the first-round masks are ``--prediction-dir/<id>.png`` (default ``W/round1_masks``, written by
tools/make_segmenter_masks.py; any class-index PNGs of the image's size work, e.g. ``tools/test.py --out``), the
initial labels ``W/saliency_labels/<id>.png``. The four steps are in mmssc/stages/label_refinement.py. Missing
inputs are one error naming them, before anything is written; finished images are skipped.
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
    parser.add_argument('--work-dir', required=True,
                        help='pipeline work_dir (reads saliency_labels/, writes refined_labels/)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--prediction-dir', help='first-round masks <id>.png (default: WORK_DIR/round1_masks)')
    parser.add_argument('--workers', type=int, default=0, help='data-loader processes (0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import label_refinement
    from mmssc.stages.per_image import report_failure
    try:
        label_refinement.run(args.config, args.work_dir, args.prediction_dir, args.ann_file, workers=args.workers,
                             cfg_options=args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure('[refine_labels] ', exc, 'refined pseudo-labels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
