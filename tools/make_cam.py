"""The ``cams`` stage: multi-scale CAMs of a trained CAM classifier, one ``<work-dir>/cams/<id>.npz`` per image
(docs/method.md, 'cams').

    python tools/make_cam.py CONFIG CHECKPOINT --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--scales 1.0 0.5 1.5 2.0] [--batch-size 1] [--workers N] [--device cuda] [--amp]
        [--show-dir W/vis/cams --show-num 20] [--cfg-options KEY=VALUE ...]
    # several processes / GPUs: each takes every WORLD_SIZE-th pending image
    torchrun --nproc_per_node 8 tools/make_cam.py CONFIG CHECKPOINT --work-dir W

The images are the config's ``test_dataloader.dataset`` (``--ann-file`` replaces its split list, relative to its
``data_root``; ``--cfg-options test_dataloader.dataset.data_root=...`` moves it). The model is ``cfg.model``
without its training-only parts (reconstruction head and losses: their weight files are not needed), with every
weight from the checkpoint; it must expose ``cam_features(inputs)``. For each image: PIL-bicubic
rescales, image + flip as one batch, ReLU, flip-sum, bilinear sums at stride 4 and full resolution, the classes of
the image's labels, each map divided by its max + 1e-5 (file format: mmssc/stage_files.py). Using the image
labels here is the standard WSSS protocol: CAMs are made for the training images only, whose image labels are the
supervision.

Images whose file exists are skipped; files are written atomically, so an interrupted run resumes where it
stopped. Under torchrun (RANK/WORLD_SIZE set) the processes first agree on the pending list, then split it
(gloo on CPU, NCCL on GPUs).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, CPU init_dist patch, registrations)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    from mmssc.stages.cams import DEFAULT_SCALES
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', help='config of the CAM classifier (model + test_dataloader)')
    parser.add_argument('checkpoint', help='checkpoint of the trained classifier')
    parser.add_argument('--work-dir', help='pipeline work_dir; CAMs go to WORK_DIR/cams '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (e.g. "
                        'ImageSets/Segmentation/train_aug.txt, relative to data_root)')
    parser.add_argument('--scales', type=float, nargs='+', default=list(DEFAULT_SCALES),
                        help='image scales, summed (official: 1.0 0.5 1.5 2.0)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images of equal size per forward (1; more is faster on GPUs)')
    parser.add_argument('--workers', type=int,
                        help='data-loader processes reading/rescaling images (default: 2 on a GPU; 0 on a CPU, where '
                        'the network dominates and an extra process only competes for the cores)')
    parser.add_argument('--device', help='e.g. cpu, cuda, cuda:1 (default: the local GPU if any, else cpu)')
    parser.add_argument('--amp', action='store_true', help='autocast the network (fp16 on CUDA, bf16 on CPU)')
    parser.add_argument('--show-dir', help='write image | CAM overlays for the first --show-num images here')
    parser.add_argument('--show-num', type=int, default=20, help='how many overlays --show-dir gets (20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error('--batch-size must be at least 1')
    if args.workers is not None and args.workers < 0:
        parser.error('--workers must be >= 0')
    if any(s <= 0 for s in args.scales):
        parser.error('--scales must be positive')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import cams
    from mmssc.stages.per_image import report_failure
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    try:
        cams.run(args.config, args.checkpoint, work_dir, args.ann_file, args.scales, args.batch_size, args.workers,
                 args.device, args.amp, args.show_dir, args.show_num, args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure('[make_cam] ', exc, 'CAM files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
