"""The ``pseudo_masks`` stage: IRN boundaries → random walk of the CAMs → pseudo masks and confident pseudo masks
(docs/method.md, 'Random walk' and 'Confidence masks'); the computation is :mod:`mmssc.stages.pseudo_masks`.

    python tools/make_pseudo_masks.py IRN_CONFIG IRN_CHECKPOINT --work-dir W [--ann-file LIST]
        [--device cuda] [--workers 2] [--edge-pad-size 512] [--bg-threshold 0.25] [--beta 10] [--exp-times 8]
        [--radius 5] [--confident-fraction 0.5] [--show-dir W/vis/pseudo_masks --show-num 20]
        [--cfg-options KEY=VALUE ...]
    # several processes / GPUs: each takes every WORLD_SIZE-th pending image
    torchrun --nproc_per_node 8 tools/make_pseudo_masks.py IRN_CONFIG IRN_CHECKPOINT --work-dir W

The images are the config's ``infer_dataloader.dataset`` (``--ann-file`` replaces its list, relative to its
``data_root``); their CAMs are ``W/cams/<id>.npz``. Each image gets ``W/pseudo_masks/<id>.png`` (the random walk's
argmax, 0 = background, c+1 = class c) and ``W/pseudo_masks_confident/<id>.png`` (its less confident half per class
set to 255: what the ``segmentation`` stage trains on); the steps are in :mod:`mmssc.stages.pseudo_masks`. Finished
images are skipped and files are written atomically, so an interrupted run resumes; missing CAM files are one error
naming them before anything is written.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, CPU init_dist patch, registrations)

PREFIX = '[make_pseudo_masks] '


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', help='IRN config (model + infer_dataloader)')
    parser.add_argument('checkpoint', help='trained IRN checkpoint')
    parser.add_argument('--work-dir', required=True, help='pipeline work_dir: reads W/cams, writes '
                        'W/pseudo_masks and W/pseudo_masks_confident')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--dataloader', default='infer_dataloader',
                        help='config key whose dataset lists the images (infer_dataloader)')
    parser.add_argument('--device', help='e.g. cpu, cuda, cuda:1 (default: the local GPU if any, else cpu)')
    parser.add_argument('--workers', type=int, default=2, help='data-loader processes reading images and CAMs')
    parser.add_argument('--edge-pad-size', type=int, default=512,
                        help='pad images to at least this size for the boundary map (IRN: 512; 0 = no padding)')
    parser.add_argument('--bg-threshold', type=float, default=0.25, help='background score (official: 0.25)')
    parser.add_argument('--beta', type=float, default=10, help='affinity exponent β (10)')
    parser.add_argument('--exp-times', type=int, default=8, help='T is applied 2^exp_times times (8: T^256)')
    parser.add_argument('--radius', type=int, default=5, help='random-walk neighbourhood radius (5)')
    parser.add_argument('--confident-fraction', type=float, default=0.5,
                        help='share of each predicted class region kept as confident (official: 0.5)')
    parser.add_argument('--show-dir', help='write overlays (image | CAM | IR label | pseudo mask | confidence) here')
    parser.add_argument('--show-num', type=int, default=20, help='how many overlays --show-dir gets (20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    if not 0 <= args.confident_fraction <= 1:
        parser.error('--confident-fraction must lie in [0, 1]')
    if args.exp_times < 0 or args.radius < 2:
        parser.error('--exp-times must be >= 0 and --radius >= 2')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stages import pseudo_masks
    from mmssc.stages.per_image import report_failure
    try:
        walk = pseudo_masks.WalkSettings(args.edge_pad_size, args.bg_threshold, args.beta, args.exp_times,
                                         args.radius, args.confident_fraction)
        pseudo_masks.run(args.config, args.checkpoint, args.work_dir, args.ann_file, args.dataloader, walk,
                         args.workers, args.device, args.show_dir, args.show_num, args.cfg_options)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure(PREFIX, exc, 'pseudo masks')
    return 0


if __name__ == '__main__':
    sys.exit(main())
