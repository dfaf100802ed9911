"""I²CRC's ``cams`` stage: one square view per image through the trained I²CRC classifier, one
``<work-dir>/cams/<id>.npz`` per image in the CAM contract's format (docs/method.md, 'I²CRC').

    python tools/make_i2crc_cam.py CONFIG CHECKPOINT --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--input-size 256] [--workers N] [--device cuda] [--show-dir W/vis/cams --show-num 20]
        [--cfg-options KEY=VALUE ...]
    torchrun --nproc_per_node 8 tools/make_i2crc_cam.py CONFIG CHECKPOINT --work-dir W

The images are the config's ``test_dataloader.dataset`` (``--ann-file`` replaces its list, relative to its
``data_root``). For each image: resized to the square input (the config's ``i2crc_cam_input_size``, officially
256), ReLU of the labelled classes' maps, each divided by its max, quantised to uint8 and resized back with bicubic
interpolation, as the official test script (mmssc/stages/i2crc_cams.py). Finished images are skipped; files are
written atomically, so an interrupted run resumes where it stopped.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, CPU init_dist patch, registrations)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', help='config of the I²CRC classifier (model + test_dataloader)')
    parser.add_argument('checkpoint', help='checkpoint of the trained classifier')
    parser.add_argument('--work-dir', help='pipeline work_dir; CAMs go to WORK_DIR/cams '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--input-size', type=int, help="square input side (default: the config's "
                        'i2crc_cam_input_size, else the official 256)')
    parser.add_argument('--workers', type=int, default=0, help='data-loader processes reading the images (0)')
    parser.add_argument('--device', help='e.g. cpu, cuda, cuda:1 (default: the local GPU if any, else cpu)')
    parser.add_argument('--show-dir', help='write image | CAM overlays for the first --show-num images here')
    parser.add_argument('--show-num', type=int, default=20, help='how many overlays --show-dir gets (20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.input_size is not None and args.input_size < 8:
        parser.error('--input-size must be at least 8')
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import i2crc_cams
    from mmssc.stages.per_image import report_failure
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    try:
        i2crc_cams.run(args.config, args.checkpoint, work_dir, args.ann_file, args.input_size, args.workers,
                       args.device, args.show_dir, args.show_num, args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure('[make_i2crc_cam] ', exc, 'CAM files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
