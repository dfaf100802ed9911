"""`python tools/pipeline.py PIPELINE_CONFIG`: every stage of a method in order inside one work_dir (mmssc/runner.py).

    python tools/pipeline.py configs/pipeline/voc.py                   # the whole pipeline, resumable
    python tools/pipeline.py configs/pipeline/voc.py --stages cams ir_labels
    python tools/pipeline.py configs/pipeline/voc.py --gpus 8          # dist_train.sh / torchrun per stage

SSC's stages: superpixels, cam_classifier, cams, ir_labels, irn, pseudo_masks, segmentation, evaluation. I²CRC's
(a config with method = 'i2crc', e.g. configs/pipeline/i2crc_voc.py): cam_classifier, cams, saliency_labels,
segmentation_round1, round1_masks, refined_labels, segmentation, evaluation. A stage whose
outputs are complete is skipped (--force reruns the named ones from scratch); an interrupted run continues where it
stopped. When a stage runs, the outputs of later stages are set aside (renamed *.stale-<time>) and redone.
At the end a table gives the quality of each stage's output and the time each stage took.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmssc  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402

from mmssc.runner import ALL_STAGES, StageRunner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='pipeline config (configs/pipeline/*.py)')
    parser.add_argument('--stages', nargs='+', choices=ALL_STAGES,
                        help="run only these stages (default: every stage of the config's method)")
    parser.add_argument('--gpus', type=int, default=1, help='processes per stage (GPUs; gloo CPU workers without)')
    parser.add_argument('--force', action='store_true', help='rerun the named stages even when complete')
    parser.add_argument('--work-dir', help='override the config\'s work_dir')
    parser.add_argument('--show-num', type=int, default=8, help='overlay images written to work_dir/vis')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override pipeline-config settings')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    try:
        StageRunner(cfg, gpus=args.gpus, show_num=args.show_num).run(args.stages, force=args.force)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        print(f'[pipeline] error: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
