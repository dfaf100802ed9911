"""The ``pseudo_masks`` stage: IRN boundaries → random walk of the CAMs → pseudo masks and confident pseudo masks
(docs/method.md, 'Random walk' and 'Confidence masks').

    python tools/make_pseudo_masks.py IRN_CONFIG IRN_CHECKPOINT --work-dir W [--ann-file LIST]
        [--device cuda] [--workers 2] [--edge-pad-size 512] [--bg-threshold 0.25] [--beta 10] [--exp-times 8]
        [--radius 5] [--confident-fraction 0.5] [--show-dir W/vis/pseudo_masks --show-num 20]
        [--cfg-options KEY=VALUE ...]
    # several processes / GPUs: each takes every WORLD_SIZE-th pending image
    torchrun --nproc_per_node 8 tools/make_pseudo_masks.py IRN_CONFIG IRN_CHECKPOINT --work-dir W

The images are the config's ``infer_dataloader.dataset`` (``--ann-file`` replaces its list, relative to its
``data_root``); their CAMs are ``W/cams/<id>.npz`` (stage 2). For each image:

1. boundary map e at stride 4 from the image and its flip (:meth:`mmssc.models.IRNet.boundary_map`; images are
   padded to 512 like IRN, larger ones keep their size instead of failing as IRN's fixed 512 padding does);
2. random walk of the stride-4 CAMs, ×4 bilinear upsampling, division by the global max, background plane 0.25
   (:func:`mmssc.random_walk.random_walk_scores`; sparse, on the GPU when there is one);
3. ``W/pseudo_masks/<id>.png``: the argmax as labels 0 (background) / c+1 (the CAM file's class c), a palette PNG;
4. ``W/pseudo_masks_confident/<id>.png``: the same with the less confident half of every predicted class region
   set to 255 (:mod:`mmssc.confidence_mask`), computed from the scores in memory (IRN/SSC saved ~2 MB of scores per
   image for that). Stage 5 trains on this folder; 255 is ignored by mmseg's losses.

An image is done when both files exist; files are written atomically, so an interrupted run resumes where it
stopped and gives the same files as one uninterrupted run. Missing CAM files, images or the checkpoint are one
error naming the file(s) before anything is written. The checkpoint holds the backbone too, so the backbone's
ImageNet weight file is not needed here.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import mmssc  # noqa: E402,F401  (stack fixes, CPU init_dist patch, registrations)
import mmssc.datasets.ir_label_dataset  # noqa: E402,F401  (registers IRLabelDataset)
import mmssc.models.irn  # noqa: E402,F401  (registers IRNet)

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


class ImageAndCams:
    """Data-loader side: the RGB image and the CAM file of each item (the slow reads run in workers)."""

    def __init__(self, items, work_dir: str):
        self.items, self.work_dir = items, work_dir

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        from mmssc.stage_files import read_cam_file, stage_file, strided_size
        from mmssc.fileio import read_image
        item = self.items[index]
        image = read_image(item['img_path'])
        cam_path = stage_file(self.work_dir, 'cams', item['img_id'])
        cams = read_cam_file(cam_path)
        if cams['cam'].shape[1:] != strided_size(*image.shape[:2]):
            raise ValueError(f'CAM file {cam_path} has a {cams["cam"].shape[1:]} stride-4 map but its image '
                             f'{item["img_path"]} ({image.shape[0]}×{image.shape[1]}) needs '
                             f'{strided_size(*image.shape[:2])}')
        return dict(img_id=item['img_id'], image=image, keys=cams['keys'], cam=cams['cam'])


def _as_is(sample):  # collate_fn: keep NumPy arrays (the default would turn them into tensors)
    return sample


def build_irn(cfg, checkpoint: str, device):
    """``cfg.model`` with the checkpoint's weights (strict; they include the backbone), in eval mode."""
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], checkpoint=None)  # the IRN checkpoint has the backbone
    model = MODELS.build(model_cfg)
    if not callable(getattr(model, 'boundary_map', None)):
        raise ValueError(f'{type(model).__name__} has no boundary_map(image): not an IRN model')
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='current')
    return model.to(device).eval()


def pseudo_masks_of(model, sample: dict, device, args):
    """(pseudo mask, confident pseudo mask) as uint8 H×W arrays for one image (module docstring, steps 1–4)."""
    import torch

    from mmssc.confidence_mask import apply_confidence, confident_per_class, top2_margin
    from mmssc.random_walk import random_walk_scores
    from mmssc.stage_files import class_of_plane

    image = torch.tensor(sample['image']).permute(2, 0, 1).contiguous()  # a copy: PIL arrays are read-only
    inputs = model.data_preprocessor(dict(inputs=[image]), False)['inputs'].to(device)
    edge = model.boundary_map(inputs, pad_to=args.edge_pad_size)
    cams = torch.from_numpy(sample['cam']).to(device=device, dtype=torch.float32)
    height, width = sample['image'].shape[:2]
    scores = random_walk_scores(cams, edge, (height, width), bg_threshold=args.bg_threshold, radius=args.radius,
                                beta=args.beta, exp_times=args.exp_times)
    planes = scores.argmax(dim=0)
    labels = torch.from_numpy(class_of_plane(sample['keys'])).to(device)[planes]
    confident = confident_per_class(top2_margin(scores), planes, args.confident_fraction)
    confident_labels = apply_confidence(labels, confident)
    return labels.to(torch.uint8).cpu().numpy(), confident_labels.to(torch.uint8).cpu().numpy()


def _eta(seconds: float) -> str:
    seconds = int(round(seconds))
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m' if seconds >= 3600 else \
        f'{seconds // 60}m{seconds % 60:02d}s'


def run(model, items, work_dir: str, device, args, progress: bool = True, prefix: str = PREFIX) -> int:
    """Write both masks of every item (the pending ones: nothing is skipped here); return the count."""
    import torch
    from mmssc.stage_files import stage_file, voc_palette
    from mmssc.fileio import write_label_png

    palette = voc_palette(256)
    loader = torch.utils.data.DataLoader(ImageAndCams(items, work_dir), batch_size=None, shuffle=False,
                                         num_workers=args.workers, collate_fn=_as_is)
    start, last_report, done = time.perf_counter(), 0.0, 0
    with torch.no_grad():
        for sample in loader:
            labels, confident = pseudo_masks_of(model, sample, device, args)
            write_label_png(stage_file(work_dir, 'pseudo_masks', sample['img_id']), labels, palette)
            write_label_png(stage_file(work_dir, 'pseudo_masks_confident', sample['img_id']), confident, palette)
            done += 1
            elapsed = time.perf_counter() - start
            if progress and (done == len(items) or elapsed - last_report >= 10 or done == 1):
                last_report = elapsed
                rate = done / elapsed
                print(f'{prefix}{done}/{len(items)} images, {rate:.2f} images/s, '
                      f'ETA {_eta((len(items) - done) / rate)}', flush=True)
    return done




def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.dist import barrier

    from mmssc.stage_files import dataset_items, pending_ids, stage_dir, stage_file
    from mmssc.fileio import raise_missing_files
    from mmssc.stage_tool import (load_config, pick_device, report_failure, start_distributed,
                                  this_rank_share)

    rank, world, distributed = start_distributed()
    prefix = f'[make_pseudo_masks rank {rank}/{world}] ' if distributed else PREFIX
    try:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
        cfg = load_config(args.config, args.cfg_options)
        items, _ = dataset_items(cfg, args.ann_file, dataloader=args.dataloader)
        ids = [it['img_id'] for it in items]
        not_done = set(pending_ids(args.work_dir, 'pseudo_masks', ids)) | \
            set(pending_ids(args.work_dir, 'pseudo_masks_confident', ids))
        pending = [it for it in items if it['img_id'] in not_done]
        raise_missing_files([stage_file(args.work_dir, 'cams', it['img_id']) for it in pending], 'CAM files',
                            '\nmake them with tools/make_cam.py')
        device = pick_device(args.device, distributed)
        model = build_irn(cfg, args.checkpoint, device)
        todo = this_rank_share(pending, rank, world, distributed)
        print(f'{prefix}{len(items)} images, {len(items) - len(pending)} already done, {len(pending)} to do, '
              f'{len(todo)} in this process on {device} -> {stage_dir(args.work_dir, "pseudo_masks")}', flush=True)
        start = time.perf_counter()
        written = run(model, todo, args.work_dir, device, args, progress=True, prefix=prefix)
        if written:
            elapsed = time.perf_counter() - start
            print(f'{prefix}wrote {written} pseudo masks in {elapsed:.1f}s ({written / elapsed:.2f} images/s)',
                  flush=True)
        if distributed:
            barrier()
        if rank == 0 and args.show_dir and args.show_num > 0:
            from mmssc.visualization import write_stage_overlays
            shown = write_stage_overlays(args.work_dir, items, args.show_dir, args.show_num)
            print(f'{prefix}{len(shown)} overlays -> {args.show_dir}', flush=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return report_failure(prefix, exc, 'pseudo masks')
    return 0


if __name__ == '__main__':
    sys.exit(main())
