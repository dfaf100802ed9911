"""Convert COCO instance annotations into the class-index mask PNGs mmseg reads, plus an image-label file.

    python tools/convert_coco.py data/coco/annotations/instances_val2014.json data/coco/masks/val2014
    python tools/convert_coco.py data/coco/annotations/instances_train2014.json data/coco/masks/train2014 --nproc 8

Writes, for the N images of the file:

* ``OUT_DIR/<image stem>.png``: 0 = background, k = COCO_CLASSES[k-1] (categories in id order, matched by name),
  255 = ignore (palette PNG; mmssc.datasets.coco_masks documents the overlap and crowd rules, ``--overlap`` and
  ``--crowd`` choose them). Images without annotations get an all-background mask.
* ``--list`` (default ``OUT_DIR.txt``): every image stem, one per line (an ``ann_file`` for COCOSegDataset).
* ``--labels-csv`` (default ``OUT_DIR_labels.csv``): ``image,labels`` with the classes of each annotated image
  separated by ``;`` (the list form read by mmssc.datasets.image_labels; the same labels as reading the JSON with
  COCOClsDataset). Images without annotations are left out, since image-level training cannot use them.

Masks are written atomically and existing ones are skipped, so an interrupted run resumes (``--overwrite`` redoes
them); the list and the CSV are rewritten each run. No pycocotools: polygons are rasterised with PIL and RLE is
decoded directly.
"""
import argparse
import csv
import functools
import json
import os.path as osp
import sys
import time
from multiprocessing import Pool

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

from mmssc.datasets.coco import COCO_CLASSES  # noqa: E402
from mmssc.datasets.coco_masks import CROWD_RULES, OVERLAP_RULES, group_instances, semantic_mask  # noqa: E402
from mmssc.datasets.image_labels import image_id_of, load_class_names  # noqa: E402
from mmssc.stage_files import voc_palette  # noqa: E402
from mmssc.fileio import atomic_path, write_label_png  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('instances', help='COCO instances JSON (e.g. annotations/instances_train2014.json)')
    parser.add_argument('out_dir', help='folder for the <image stem>.png masks')
    parser.add_argument('--list', dest='list_file', help='image-list output (default: OUT_DIR.txt)')
    parser.add_argument('--labels-csv', help='image-label CSV output (default: OUT_DIR_labels.csv)')
    parser.add_argument('--overlap', choices=OVERLAP_RULES, default='later',
                        help='which instance wins where instances overlap (default: later)')
    parser.add_argument('--crowd', choices=CROWD_RULES, default='class',
                        help='crowd regions: their class, 255, or left out (default: class)')
    parser.add_argument('--classes', help='class-list file (one name per line); default: the 80 COCO classes')
    parser.add_argument('--nproc', type=int, default=1, help='parallel processes (1)')
    parser.add_argument('--overwrite', action='store_true', help='redo masks that already exist')
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    stem = osp.normpath(args.out_dir)
    args.list_file = args.list_file or stem + '.txt'
    args.labels_csv = args.labels_csv or stem + '_labels.csv'
    return args


def convert_one(job, overlap: str, crowd: str, palette) -> str:
    out_path, height, width, instances, file_name = job
    try:
        write_label_png(out_path, semantic_mask(instances, height, width, overlap, crowd), palette)
    except Exception as exc:  # name the image; KeyboardInterrupt passes through
        raise RuntimeError(f'{file_name}: {type(exc).__name__}: {exc}') from exc
    return out_path


def write_outputs(images: dict, per_image: dict, class_names, list_file: str, labels_csv: str) -> int:
    """Write the image list and the label CSV; return the number of labelled images."""
    stems = sorted(image_id_of(img['file_name']) for img in images.values())
    with atomic_path(list_file) as tmp, open(tmp, 'w', encoding='utf-8') as f:
        f.write(''.join(s + '\n' for s in stems))
    rows = []
    for image_id, img in images.items():
        values = sorted({value for value, _, _ in per_image[image_id]})
        if values:
            rows.append((image_id_of(img['file_name']), ';'.join(class_names[v - 1] for v in values)))
    with atomic_path(labels_csv) as tmp, open(tmp, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'labels'])
        writer.writerows(sorted(rows))
    return len(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        class_names = load_class_names(args.classes) if args.classes else COCO_CLASSES
        if not osp.isfile(args.instances):
            raise FileNotFoundError(f'instances file not found: {args.instances}')
        print(f'reading {args.instances} ...', flush=True)
        with open(args.instances, encoding='utf-8') as f:
            content = json.load(f)
        try:
            images, per_image = group_instances(content, class_names)
        except ValueError as exc:
            raise ValueError(f'{args.instances}: {exc}') from None
        del content
        jobs = []
        for image_id, img in images.items():
            out_path = osp.join(args.out_dir, image_id_of(img['file_name']) + '.png')
            if args.overwrite or not osp.isfile(out_path):
                jobs.append((out_path, int(img['height']), int(img['width']), per_image[image_id], img['file_name']))
        print(f'{len(images)} images, {len(images) - len(jobs)} masks already written, {len(jobs)} to convert '
              f'(overlap={args.overlap}, crowd={args.crowd}, {args.nproc} process(es)) -> {args.out_dir}', flush=True)
        worker = functools.partial(convert_one, overlap=args.overlap, crowd=args.crowd,
                                   palette=voc_palette(256))
        start = time.perf_counter()
        if jobs:
            from mmengine.utils import ProgressBar
            bar = ProgressBar(len(jobs), file=sys.stdout)
            if args.nproc <= 1:
                for job in jobs:
                    worker(job)
                    bar.update()
            else:
                with Pool(min(args.nproc, len(jobs))) as pool:
                    for _ in pool.imap_unordered(worker, jobs, chunksize=16):
                        bar.update()
            elapsed = time.perf_counter() - start
            print(f'\nwrote {len(jobs)} masks in {elapsed:.1f}s ({len(jobs) / max(elapsed, 1e-9):.1f} images/s)')
        labelled = write_outputs(images, per_image, class_names, args.list_file, args.labels_csv)
        print(f'image list: {args.list_file} ({len(images)} images); labels: {args.labels_csv} '
              f'({labelled} images with at least one class)', flush=True)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        print('masks written so far are complete and kept; re-run to resume', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
