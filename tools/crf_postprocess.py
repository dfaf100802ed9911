"""Dense-CRF post-processing of segmentation predictions (docs/method.md, 'segmentation'), optionally scored
against ground truth.

    # from the class probabilities of a trained model (the official recipe, docs/method.md, 'segmentation';
    # --tta: the config's multi-scale + flip views)
    python tools/crf_postprocess.py --images data/VOCdevkit/VOC2012/JPEGImages --out-dir work_dirs/crf \
        --config configs/ssc/voc_deeplabv2.py --checkpoint work_dirs/voc_deeplabv2/epoch_100.pth [--tta] \
        --ids data/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt \
        --gt-dir data/VOCdevkit/VOC2012/SegmentationClassAug
    # from saved logits: <id>.npy, C×h×w float, any resolution (upsampled bilinearly to the image, then softmax)
    python tools/crf_postprocess.py --images ... --logits DIR --out-dir DIR
    # from saved hard predictions (`tools/test.py CFG CKPT --out DIR` writes them): <id>.png class indices
    python tools/crf_postprocess.py --images ... --labels DIR --out-dir DIR [--gt-prob 0.7]

For each image: probabilities P (C×H×W at the image's size) → dense CRF on the real RGB image with the official
parameters (10 iterations, Gaussian σ 1 / w 3, bilateral σ_xy 67 / σ_rgb 3 / w 4; all overridable) → argmax →
``OUT_DIR/<id>.png`` (palette PNG of class indices). Hard predictions carry no probabilities; they are turned into
P_c = gt_prob for the predicted class and (1 - gt_prob)/(C - 1) otherwise (IRN's label unary), an approximation of
the official recipe. The official code feeds the CRF a mean-subtracted image that wraps around in uint8
(docs/method.md, 'segmentation'); this tool uses the real image (see mmssc/crf.py).

Outputs are written atomically and existing ones are skipped, so an interrupted run resumes (``--overwrite`` redoes
them). With ``--gt-dir``, the refined masks are scored with the project's scorer (mmssc.evaluation: background
included, 255 in the ground truth ignored).
Needs pydensecrf (``pip install pydensecrf2``).
"""
import argparse
import functools
import os
import os.path as osp
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

from mmssc.crf import IR_LABEL_GT_PROB, SEG_TEST_CRF, dense_crf, import_densecrf, label_probs  # noqa: E402
from mmssc.fileio import read_image, read_label_png, write_label_png  # noqa: E402

PALETTE = None  # filled lazily: VOC colour map for indices 0..255


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('--images', required=True, help='folder of the RGB images (<id><img-suffix>)')
    parser.add_argument('--out-dir', required=True, help='where the refined <id>.png masks are written')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--labels', help='folder of predicted class-index PNGs <id>.png')
    source.add_argument('--logits', help='folder of logits <id>.npy (C×h×w)')
    source.add_argument('--config', help='model config (with --checkpoint): compute the probabilities')
    parser.add_argument('--checkpoint', help='model checkpoint (with --config)')
    parser.add_argument('--tta', action='store_true', help='with --config: average the softmax over the views '
                        "of the config's tta_pipeline (as SegTTAModel does)")
    parser.add_argument('--device', default='cpu', help='with --config: e.g. cpu or cuda:0')
    parser.add_argument('--ids', help='file of image ids (first token per line); default: every input file')
    parser.add_argument('--img-suffix', default='.jpg')
    parser.add_argument('--classes',
                        help="'voc' (21), 'coco' (81), or a class-list file (background is prepended); default: "
                        "the checkpoint's classes with --config, else 'voc'")
    parser.add_argument('--gt-prob', type=float, default=IR_LABEL_GT_PROB,
                        help='with --labels: confidence given to the predicted label (0.7)')
    parser.add_argument('--gt-dir', help='ground-truth masks <id>.png: report mIoU of the refined masks')
    parser.add_argument('--nproc', type=int, default=1, help='parallel CRF processes (1)')
    parser.add_argument('--overwrite', action='store_true', help='redo outputs that already exist')
    for name, value in SEG_TEST_CRF.items():
        parser.add_argument('--' + name.replace('_', '-'), type=type(value), default=value,
                            help=f'CRF parameter (official: {value})')
    args = parser.parse_args(argv)
    if args.config and not args.checkpoint:
        parser.error('--config needs --checkpoint')
    if args.tta and not args.config:
        parser.error('--tta needs --config/--checkpoint')
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    return args


def resolve_classes(spec) -> tuple:
    """Class names with background first: 'voc' (also the default), 'coco' or a one-name-per-line file."""
    from mmssc.datasets.coco_seg import COCO_SEG_CLASSES
    from mmssc.datasets.image_labels import load_class_names
    from mmssc.datasets.voc import VOC_CLASSES
    if spec in (None, 'voc'):
        return ('background', ) + VOC_CLASSES
    if spec == 'coco':
        return COCO_SEG_CLASSES
    names = load_class_names(spec)
    return names if names[0] == 'background' else ('background', ) + names


def list_ids(args) -> list:
    if args.ids:
        with open(args.ids, encoding='utf-8') as f:
            return [line.split()[0] for line in f if line.strip()]
    folder, suffix = ((args.labels, '.png') if args.labels else (args.logits, '.npy') if args.logits
                      else (args.images, args.img_suffix))
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder not found: {folder}')
    return sorted(n[:-len(suffix)] for n in os.listdir(folder) if n.endswith(suffix) and not n.startswith('.'))


def logits_to_probs(logits: np.ndarray, size) -> np.ndarray:
    """The official test's first steps: upsample C×h×w logits bilinearly (align_corners=False) to ``size`` = (H, W),
    softmax."""
    import torch
    import torch.nn.functional as F
    tensor = torch.from_numpy(np.asarray(logits, np.float32))[None]
    if tuple(tensor.shape[2:]) != tuple(size):
        tensor = F.interpolate(tensor, size=tuple(size), mode='bilinear', align_corners=False)
    return tensor[0].softmax(dim=0).numpy()


def load_probs(source: str, path: str, num_classes: int, size, gt_prob: float) -> np.ndarray:
    if source == 'logits':
        if not osp.isfile(path):
            raise FileNotFoundError(f'logits not found: {path}')
        logits = np.load(path)
        if logits.ndim != 3 or logits.shape[0] != num_classes:
            raise ValueError(f'{path}: expected {num_classes}×h×w logits, got shape {logits.shape}')
        return logits_to_probs(logits, size)
    labels = read_label_png(path, 'prediction')
    if labels.shape != tuple(size):
        raise ValueError(f'prediction {path} is {labels.shape[1]}×{labels.shape[0]}, the image is '
                         f'{size[1]}×{size[0]}')
    if labels.max() >= num_classes:
        raise ValueError(f'prediction {path} holds class {labels.max()}, but there are {num_classes} classes')
    return label_probs(labels, num_classes, gt_prob)


def refine_and_write(image_path: str, out_path: str, probs: np.ndarray, crf_params: dict) -> None:
    global PALETTE
    if PALETTE is None:
        from mmssc.stage_files import voc_palette
        PALETTE = voc_palette(256)
    image = read_image(image_path)
    if probs.shape[1:] != image.shape[:2]:
        raise ValueError(f'probabilities {probs.shape[1:]} do not match image {image_path} {image.shape[:2]}')
    marginals = dense_crf(image, probs, **crf_params)
    write_label_png(out_path, marginals.argmax(axis=0).astype(np.uint8), PALETTE)


def file_job(job, source: str, num_classes: int, gt_prob: float, crf_params: dict) -> str:
    """One image from saved labels/logits (runs in a worker process)."""
    image_id, image_path, in_path, out_path = job
    try:
        from PIL import Image
        with Image.open(image_path) as img:
            size = (img.height, img.width)
        probs = load_probs(source, in_path, num_classes, size, gt_prob)
        refine_and_write(image_path, out_path, probs, crf_params)
    except Exception as exc:  # name the image; KeyboardInterrupt passes through
        raise RuntimeError(f'CRF failed for {image_id}: {type(exc).__name__}: {exc}') from exc
    return image_id


def probs_job(job, crf_params: dict) -> str:
    image_id, image_path, probs, out_path = job
    try:
        refine_and_write(image_path, out_path, probs, crf_params)
    except Exception as exc:
        raise RuntimeError(f'CRF failed for {image_id}: {type(exc).__name__}: {exc}') from exc
    return image_id


def evaluate(out_dir: str, gt_dir: str, ids: list, class_names: tuple) -> dict:
    """mIoU of the refined masks with the project's scorer (``class_names`` has background first)."""
    from mmssc.evaluation import evaluate_masks, gt_dir_items
    return evaluate_masks(out_dir, gt_dir_items(gt_dir, ids=ids), class_names[1:], logger='silent',
                          title='refined masks')


def _run(jobs, worker, pool, bar) -> None:
    results = pool.imap_unordered(worker, jobs) if pool is not None else map(worker, jobs)
    for _ in results:
        bar.update()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import_densecrf()  # fail before any work when pydensecrf is missing
        crf_params = {name: getattr(args, name) for name in SEG_TEST_CRF}
        ids = list_ids(args)
        if not ids:
            raise ValueError('no images to process')
        if osp.abspath(args.out_dir) in {osp.abspath(p) for p in (args.images, args.labels, args.logits) if p}:
            raise ValueError(f'--out-dir {args.out_dir} is an input folder; choose another one')
        todo = [i for i in ids if args.overwrite or not osp.isfile(osp.join(args.out_dir, i + '.png'))]
        print(f'{len(ids)} images, {len(ids) - len(todo)} already refined, {len(todo)} to do '
              f'({args.nproc} process(es)) -> {args.out_dir}', flush=True)

        def image_path(image_id):
            return osp.join(args.images, image_id + args.img_suffix)

        def out_path(image_id):
            return osp.join(args.out_dir, image_id + '.png')

        # Workers are forked before a model is loaded: they only run the CRF and file I/O.
        pool = Pool(min(args.nproc, len(todo))) if args.nproc > 1 and len(todo) > 1 else None
        try:
            model_probs = None
            if args.config:
                from mmssc.stages.segmenter_masks import SegmenterProbabilities
                model_probs = SegmenterProbabilities(args.config, args.checkpoint, args.device, args.tta)
            class_names = resolve_classes(args.classes) if args.classes or model_probs is None \
                else model_probs.class_names or resolve_classes('voc')
            from mmengine.utils import ProgressBar
            bar = ProgressBar(len(todo), file=sys.stdout) if todo else None
            start = time.perf_counter()
            if model_probs is not None:
                worker = functools.partial(probs_job, crf_params=crf_params)
                chunk = 2 * args.nproc  # bounded memory: a few probability maps in flight at a time
                for begin in range(0, len(todo), chunk):
                    jobs = []
                    for image_id in todo[begin:begin + chunk]:
                        probs = model_probs(image_path(image_id))
                        if probs.shape[0] != len(class_names):
                            raise ValueError(f'the model predicts {probs.shape[0]} classes, --classes has '
                                             f'{len(class_names)}')
                        jobs.append((image_id, image_path(image_id), probs, out_path(image_id)))
                    _run(jobs, worker, pool, bar)
            elif todo:
                source, folder, suffix = (('labels', args.labels, '.png') if args.labels
                                          else ('logits', args.logits, '.npy'))
                jobs = [(i, image_path(i), osp.join(folder, i + suffix), out_path(i)) for i in todo]
                worker = functools.partial(file_job, source=source, num_classes=len(class_names),
                                           gt_prob=args.gt_prob, crf_params=crf_params)
                _run(jobs, worker, pool, bar)
        finally:
            if pool is not None:
                pool.terminate()  # after success all work is done; after a failure, stop the other workers
        if todo:
            elapsed = time.perf_counter() - start
            print(f'\nrefined {len(todo)} images in {elapsed:.1f}s ({len(todo) / elapsed:.2f} images/s)', flush=True)
        if args.gt_dir:
            from mmssc.evaluation import format_result
            print(format_result(evaluate(args.out_dir, args.gt_dir, ids, class_names), 'after CRF'), flush=True)
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        print('outputs written so far are complete and kept; re-run to resume', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
