"""The ``ir_labels`` stage: IR labels from the CAMs with the dense CRF, one ``<work-dir>/ir_labels/<id>.png`` per image
(docs/method.md, 'Stage 3: IR labels').

    python tools/make_ir_label.py CONFIG --work-dir W [--ann-file ImageSets/Segmentation/train_aug.txt]
        [--workers N] [--fg-threshold 0.30] [--bg-threshold 0.10] [--show-dir W/vis/ir_labels --show-num 20]
        [--cfg-options KEY=VALUE ...]
    # without a config: every CAM file in W/cams, images from a folder
    python tools/make_ir_label.py --img-dir data/VOCdevkit/VOC2012/JPEGImages --work-dir W

Reads ``W/cams/<id>.npz`` (tools/make_cam.py) and the raw image; writes a palette PNG with 0 = confident
background, c+1 = confident class c, 255 = uncertain (formats: mmssc/stage_files.py; method: mmssc/ir_label.py).
The images are the config's ``test_dataloader.dataset`` (the same list as make_cam; ``--ann-file`` replaces it).
The two dense CRFs per image are CPU work, run by ``--workers`` processes (default: half the CPUs, as the
official code). Every CAM file must exist before anything is written; outputs are written atomically and existing
ones are skipped, so an interrupted run resumes.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, registrations)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    from mmssc.ir_label import CONF_BG_THRESHOLD, CONF_FG_THRESHOLD
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', nargs='?', help='config whose test_dataloader.dataset lists the images')
    parser.add_argument('--img-dir', help='without CONFIG: folder of the images, <id><--img-suffix>')
    parser.add_argument('--img-suffix', default='.jpg', help='with --img-dir (.jpg)')
    parser.add_argument('--work-dir', required=True, help='pipeline work_dir (reads cams/, writes ir_labels/)')
    parser.add_argument('--ann-file', help="image list replacing the dataset's ann_file (relative to data_root)")
    parser.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help='CRF processes (half the CPUs)')
    parser.add_argument('--fg-threshold', type=float, default=CONF_FG_THRESHOLD,
                        help='background plane of the foreground pass (0.30)')
    parser.add_argument('--bg-threshold', type=float, default=CONF_BG_THRESHOLD,
                        help='background plane of the background pass (0.10)')
    parser.add_argument('--show-dir', help='write image | CAM | IR label overlays for the first --show-num images')
    parser.add_argument('--show-num', type=int, default=20, help='how many overlays --show-dir gets (20)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if bool(args.config) == bool(args.img_dir):
        parser.error('give either CONFIG or --img-dir')
    if args.img_dir and (args.ann_file or args.cfg_options):
        parser.error('--ann-file and --cfg-options need CONFIG')
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    if not args.bg_threshold <= args.fg_threshold:
        parser.error('--bg-threshold must not exceed --fg-threshold (the background pass is the lenient one)')
    return args


def list_items(args) -> list:
    """The images to label: the config's dataset, or every CAM file's id with its image in --img-dir."""
    from mmssc.stage_files import dataset_items, stage_dir
    if args.config:
        return dataset_items(args.config, args.ann_file, args.cfg_options)[0]
    cam_dir = stage_dir(args.work_dir, 'cams')
    if not osp.isdir(cam_dir):
        raise FileNotFoundError(f'CAM folder not found: {cam_dir} (run tools/make_cam.py first)')
    ids = sorted(n[:-len('.npz')] for n in os.listdir(cam_dir) if n.endswith('.npz') and not n.startswith('.'))
    if not ids:
        raise FileNotFoundError(f'no CAM files in {cam_dir}')
    items = [dict(img_id=i, img_path=osp.join(args.img_dir, i + args.img_suffix)) for i in ids]
    missing = [i['img_path'] for i in items if not osp.isfile(i['img_path'])]
    if missing:
        raise FileNotFoundError(f'{len(missing)} images missing, first: {missing[0]}')
    return items


def run_jobs(jobs: list, workers: int) -> None:
    """Run the IR-label jobs in ``workers`` processes with a progress bar (counts, rate, ETA)."""
    from mmengine.utils import ProgressBar
    from mmssc.ir_label import make_ir_label_file
    bar = ProgressBar(len(jobs))
    if workers == 1:
        for job in jobs:
            make_ir_label_file(job)
            bar.update()
    else:
        # fork is cheap and safe here: the parent has run no threads-holding torch work
        context = multiprocessing.get_context('fork' if sys.platform.startswith('linux') else 'spawn')
        with context.Pool(workers) as pool:
            for _ in pool.imap_unordered(make_ir_label_file, jobs):
                bar.update()
    bar.file.write('\n')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmssc.stage_files import pending_ids, stage_dir, stage_file
    from mmssc.visualization import write_stage_overlays
    try:
        items = list_items(args)
        pending = set(pending_ids(args.work_dir, 'ir_labels', [i['img_id'] for i in items]))
        jobs = [dict(img_id=i['img_id'], img_path=i['img_path'],
                     cam_path=stage_file(args.work_dir, 'cams', i['img_id']),
                     out_path=stage_file(args.work_dir, 'ir_labels', i['img_id']),
                     fg_threshold=args.fg_threshold, bg_threshold=args.bg_threshold)
                for i in items if i['img_id'] in pending]
        missing = [j['cam_path'] for j in jobs if not osp.isfile(j['cam_path'])]
        if missing:
            raise FileNotFoundError(f'{len(missing)} CAM files missing, first: {missing[0]} '
                                    '(run tools/make_cam.py on the same image list first)')
        print(f'[make_ir_label] {len(items)} images, {len(items) - len(jobs)} already done, {len(jobs)} to do with '
              f'{args.workers} worker(s) -> {stage_dir(args.work_dir, "ir_labels")}', flush=True)
        start = time.perf_counter()
        if jobs:
            run_jobs(jobs, min(args.workers, len(jobs)))
            elapsed = time.perf_counter() - start
            print(f'[make_ir_label] wrote {len(jobs)} IR labels in {elapsed:.1f}s '
                  f'({len(jobs) / elapsed:.2f} images/s)', flush=True)
        if args.show_dir and args.show_num > 0:
            shown = write_stage_overlays(args.work_dir, items, args.show_dir, args.show_num)
            print(f'[make_ir_label] {len(shown)} overlays -> {args.show_dir}', flush=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        print(f'[make_ir_label] error: {exc}', file=sys.stderr, flush=True)
        print('[make_ir_label] IR labels written so far are complete and kept; re-run to resume', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
