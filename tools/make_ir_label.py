"""The ``ir_labels`` stage: IR labels from the CAMs with the dense CRF, one ``<work-dir>/ir_labels/<id>.png`` per image
(docs/method.md, 'ir_labels').

    python tools/make_ir_label.py CONFIG --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--workers N] [--fg-threshold 0.30] [--bg-threshold 0.10] [--show-dir W/vis/ir_labels --show-num 20]
        [--cfg-options KEY=VALUE ...]
    # without a config: every CAM file in W/cams, images from a folder
    python tools/make_ir_label.py --img-dir data/VOCdevkit/VOC2012/JPEGImages --work-dir W

Reads ``W/cams/<id>.npz`` (tools/make_cam.py) and the raw image; writes a palette PNG with 0 = confident
background, c+1 = confident class c, 255 = uncertain (formats: mmssc/stage_files.py; method: mmssc/stages/ir_labels.py).
The images are the config's ``test_dataloader.dataset`` (the same list as make_cam; ``--ann-file`` replaces it).
The two dense CRFs per image are CPU work, run by ``--workers`` processes (default: half the CPUs, as the
official code). Every CAM file must exist before anything is written; outputs are written atomically and existing
ones are skipped, so an interrupted run resumes.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, registrations)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    from mmssc.stages.ir_labels import CONF_BG_THRESHOLD, CONF_FG_THRESHOLD
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', nargs='?', help='config whose test_dataloader.dataset lists the images')
    parser.add_argument('--img-dir', help='without CONFIG: folder of the images, <id><--img-suffix>')
    parser.add_argument('--img-suffix', default='.jpg', help='with --img-dir (.jpg)')
    parser.add_argument('--work-dir', required=True, help='pipeline work_dir (reads cams/, writes ir_labels/)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help='CRF processes (half the CPUs)')
    parser.add_argument('--fg-threshold', type=float, default=CONF_FG_THRESHOLD,
                        help='background plane of the foreground pass (0.30)')
    parser.add_argument('--bg-threshold', type=float, default=CONF_BG_THRESHOLD,
                        help='background plane of the background pass (0.10)')
    parser.add_argument('--show-dir', help='write image | CAM | IR label overlays for the first --show-num images')
    parser.add_argument('--show-num', type=int, default=20, help='how many overlays --show-dir gets (20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if bool(args.config) == bool(args.img_dir):
        parser.error('give either CONFIG or --img-dir')
    if args.img_dir and (args.ann_file or args.cfg_options):
        parser.error('--ann-file and --cfg-options need CONFIG')
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    if not args.bg_threshold <= args.fg_threshold:
        parser.error('--bg-threshold must not exceed --fg-threshold (the background pass is the lenient one)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import ir_labels
    from mmssc.stages.per_image import report_failure
    try:
        ir_labels.run(args.work_dir, args.config, args.ann_file, args.img_dir, args.img_suffix, args.workers,
                      args.fg_threshold, args.bg_threshold, args.show_dir, args.show_num, args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure('[make_ir_label] ', exc, 'IR labels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
