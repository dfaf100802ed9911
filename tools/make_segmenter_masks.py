"""I²CRC's ``round1_masks`` stage: a trained segmenter's masks of the training images, one
``<work-dir>/round1_masks/<id>.png`` per image (0 background, c+1 class c), refined by the segmentation test's dense
CRF as the official code does (docs/method.md, 'I²CRC').

    python tools/make_segmenter_masks.py CONFIG CHECKPOINT --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--no-crf] [--tta] [--workers N] [--device cuda] [--cfg-options KEY=VALUE ...]
    torchrun --nproc_per_node 8 tools/make_segmenter_masks.py CONFIG CHECKPOINT --work-dir W

The images are the segmenter config's ``test_dataloader.dataset`` with ``--ann-file`` as its list (the training
images); masks are not needed. The probabilities are the model's as mmseg tests it (``test_pipeline``, ``test_cfg``;
``--tta``: the mean over the views of ``tta_pipeline``), at the image's size (mmssc/stages/segmenter_masks.py).
Finished images are skipped; files are written atomically, so an interrupted run resumes where it stopped.
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
    parser.add_argument('config', help='segmenter config (model + test_dataloader)')
    parser.add_argument('checkpoint', help='checkpoint of the trained segmenter')
    parser.add_argument('--work-dir', required=True, help='pipeline work_dir; masks go to WORK_DIR/round1_masks')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--no-crf', action='store_true', help='the argmax of the probabilities, without the CRF')
    parser.add_argument('--tta', action='store_true', help="average the config's tta_pipeline views")
    parser.add_argument('--workers', type=int, default=0, help='data-loader processes reading the images (0)')
    parser.add_argument('--device', help='e.g. cpu, cuda, cuda:1 (default: the local GPU if any, else cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import segmenter_masks
    from mmssc.stages.per_image import report_failure
    try:
        segmenter_masks.run(args.config, args.checkpoint, args.work_dir, args.ann_file, crf=not args.no_crf,
                            tta=args.tta, workers=args.workers, device=args.device, cfg_options=args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
        return report_failure('[make_segmenter_masks] ', exc, 'segmenter masks')
    return 0


if __name__ == '__main__':
    sys.exit(main())
