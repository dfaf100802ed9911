"""`python tools/demo.py`: the project's first run on a new machine, CPU only, no downloads.

For now (until the embedded SSC demo of the pipeline lands) it generates the toy VOC-layout dataset, trains the
tiny CAM classifier on it through the stock Runner (images + superpixels + the stage-1 transforms), and evaluates
it with tools/test.py's code path. Everything goes under ``--work-dir`` (default work_dirs/demo).
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmssc  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmssc.datasets.toy_voc import make_toy_voc  # noqa: E402

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'smoke', 'tiny_cam_toy_voc.py')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    start = time.time()
    data_root = osp.join(args.work_dir, 'data', 'toy_voc')
    if not osp.isfile(osp.join(data_root, 'ImageSets', 'Segmentation', 'train_aug.txt')):
        make_toy_voc(data_root, seed=args.seed)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = args.work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    print(f'\ndemo finished in {time.time() - start:.1f} s: tiny CAM classifier on the toy set, '
          f"test mAP {metrics['cls/mAP']:.1f}%  (work_dir: {args.work_dir})")


if __name__ == '__main__':
    main()
