"""Score CAM seeds or a pseudo-mask folder against ground truth: per-class IoU, mIoU, foreground precision/recall.

    # CAM seeds at the official fixed background threshold 0.2 (docs/method.md, 'Evaluation'), plus a sweep reporting
    # the best
    python tools/eval_masks.py CONFIG --cams W/cams --ann-file ImageSets/Segmentation/train.txt [--sweep]
    # pseudo masks (IRN random walk, confident masks: 255 counts as background, docs/method.md, 'Evaluation')
    python tools/eval_masks.py CONFIG --masks W/pseudo_masks --ann-file ImageSets/Segmentation/train.txt
    # without a config: ground-truth folder + id list; --classes voc (default), coco, or a class-list file
    python tools/eval_masks.py --gt-dir data/VOCdevkit/VOC2012/SegmentationClass --ids train.txt --masks DIR

The images and their ground truth are the config's ``test_dataloader.dataset`` (``--ann-file`` replaces its
split list; the official seed and pseudo-mask numbers use VOC ``train``, 1,464 images). The IoU computation is
mmseg's ``IoUMetric`` (mmssc/evaluation/mask_metrics.py). ``--sweep`` tries background thresholds (default
0.05..0.60 by 0.05; ``--sweep 0.1 0.15 ...`` for others) and reports the best separately from the faithful 0.2.
``--out result.json`` saves everything (NaN → null).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, registrations)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    from mmssc.evaluation.mask_metrics import OFFICIAL_CAM_THRESHOLD
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', nargs='?', help='config whose test_dataloader.dataset lists images + ground truth')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--cams', help='folder of CAM files <id>.npz (tools/make_cam.py)')
    source.add_argument('--masks', help='folder of class-index PNGs <id>.png')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--gt-dir', help='without CONFIG: ground-truth masks <id>.png')
    parser.add_argument('--ids', help='with --gt-dir: file of image ids (first token per line); default: all masks')
    parser.add_argument('--classes', default='voc',
                        help="with --gt-dir: 'voc', 'coco' or a foreground class-list file (background is added)")
    parser.add_argument('--threshold', type=float, default=OFFICIAL_CAM_THRESHOLD,
                        help='with --cams: background threshold (official: 0.2)')
    parser.add_argument('--sweep', type=float, nargs='*',
                        help='with --cams: also sweep these thresholds (none given: 0.05..0.60 by 0.05)')
    parser.add_argument('--out', help='write the result as JSON here')
    args = parser.parse_args(argv)
    if bool(args.config) == bool(args.gt_dir):
        parser.error('give either CONFIG or --gt-dir')
    if args.gt_dir and (args.ann_file or args.cfg_options):
        parser.error('--ann-file and --cfg-options need CONFIG')
    if args.ids and not args.gt_dir:
        parser.error('--ids goes with --gt-dir (with CONFIG use --ann-file)')
    if args.sweep is not None and not args.cams:
        parser.error('--sweep needs --cams')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import evaluation
    try:
        evaluation.run(args.cams, args.masks, args.config, args.ann_file, args.cfg_options, args.gt_dir, args.ids,
                       args.classes, args.threshold, args.sweep, args.out)
    except (OSError, ValueError, KeyError) as exc:
        print(f'[eval_masks] error: {exc}', file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
