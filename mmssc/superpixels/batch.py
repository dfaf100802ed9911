"""Generating superpixel PNGs for a whole folder: listing, resuming, parallel workers (docs/method.md, 'Superpixels').

Used by ``tools/make_superpixels.py`` and ``benchmarks/superpixels.py``. An output is written to
``OUT_DIR/<image stem>.png`` in the 24-bit id encoding of the distributed VOC files (``mmssc.fileio``),
atomically, so a run killed at any moment leaves only complete files and a re-run resumes: an existing
output that decodes and respects the region bound counts as finished.
"""
import os
import os.path as osp
import signal
import sys
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Optional, Sequence

import numpy as np
from PIL import Image
from skimage.segmentation import mark_boundaries

from ..fileio import atomic_path, read_image
from ..stage_files import read_superpixels, write_superpixels
from .api import make_superpixels

__all__ = ['IMAGE_EXTENSIONS', 'SuperpixelJob', 'image_root', 'list_images', 'map_finished', 'is_finished',
           'pending_jobs', 'run_job', 'run_jobs', 'install_sigterm_handler']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


@dataclass(frozen=True)
class SuperpixelJob:
    """One image to process: where to read it, where its id map and (optionally) its overlay go."""
    image_path: str
    out_path: str
    show_path: Optional[str] = None
    max_regions: int = 64


def image_root(src: str) -> str:
    """The folder holding the images: ``SRC/JPEGImages`` for a VOC-layout root, else ``SRC`` itself."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'image folder not found: {src}')
    voc_images = osp.join(src, 'JPEGImages')
    return voc_images if osp.isdir(voc_images) else src


def _read_ids(list_file: str) -> list[str]:
    """Image ids from a list file: the stem of the first token of each non-empty line.

    Accepts plain id lists (VOC ``ImageSets``, SSC's ``train_aug.txt``) as well as lines such as
    ``/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png``.
    """
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'image list not found: {list_file}')
    ids = []
    with open(list_file) as handle:
        for line in handle:
            tokens = line.split()
            if tokens:
                ids.append(osp.splitext(osp.basename(tokens[0]))[0])
    return ids


def list_images(src: str, list_file: Optional[str] = None, ext: Optional[str] = None) -> list[tuple[str, str]]:
    """(stem, image path) pairs to process, in a stable order.

    Without ``list_file``: every file of ``ext`` (default: any common image extension) in the image
    folder, sorted by name. With it: the listed ids in list order; an id's file is ``<id><ext>``, or,
    without ``ext``, the first common extension that exists (``.jpg`` if none does, so the missing file
    is then reported by name when it is read).
    """
    root = image_root(src)
    extensions = (ext.lower() if ext.startswith('.') else '.' + ext.lower(),) if ext else IMAGE_EXTENSIONS
    if list_file is None:
        found = {}
        for name in sorted(os.listdir(root)):
            stem, suffix = osp.splitext(name)
            if suffix.lower() in extensions and not name.startswith('.'):
                if stem in found:
                    raise ValueError(f'two images share the stem {stem!r} in {root}: '
                                     f'{osp.basename(found[stem])} and {name}; pass --ext to pick one')
                found[stem] = osp.join(root, name)
        if not found:
            raise FileNotFoundError(f'no images ({", ".join(extensions)}) found in {root}')
        return list(found.items())
    images = []
    for stem in _read_ids(list_file):
        candidates = [osp.join(root, stem + suffix) for suffix in extensions]
        existing = [path for path in candidates if osp.isfile(path)]
        images.append((stem, existing[0] if existing else candidates[0]))
    return images


def map_finished(out_path: str, max_regions: int) -> bool:
    """Whether ``out_path`` holds a complete id map: it decodes and has at most ``max_regions`` ids."""
    if not osp.isfile(out_path):
        return False
    try:
        ids = read_superpixels(out_path)
    except ValueError:
        return False  # truncated or corrupt (e.g. copied in by another tool): generate it again
    return np.unique(ids).size <= max_regions


def is_finished(job: SuperpixelJob) -> bool:
    """Whether the job's id map is complete and its overlay (if asked for) exists."""
    return map_finished(job.out_path, job.max_regions) and (job.show_path is None or osp.isfile(job.show_path))


def _exit_on_sigterm(signum, frame):
    # SystemExit unwinds through ``atomic_path``'s cleanup, so a terminated run leaves no temporary file.
    sys.exit(128 + signum)


def install_sigterm_handler() -> None:
    """Make SIGTERM raise SystemExit in this process, so pending atomic writes clean up."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _init_worker() -> None:
    install_sigterm_handler()


def pending_jobs(jobs: Sequence[SuperpixelJob], workers: int = 1) -> list[SuperpixelJob]:
    """The jobs not finished yet; existing outputs are decoded in parallel, missing ones cost a stat."""
    existing = [job for job in jobs if osp.isfile(job.out_path)]
    if not existing:
        return list(jobs)
    if workers <= 1 or len(existing) < 64:
        finished = [is_finished(job) for job in existing]
    else:
        with Pool(workers, initializer=_init_worker) as pool:
            finished = pool.map(is_finished, existing, chunksize=16)
    done = {job.out_path for job, ok in zip(existing, finished) if ok}
    return [job for job in jobs if job.out_path not in done]


def write_overlay(path: str, image: np.ndarray, ids: np.ndarray) -> None:
    """Atomically write the image with the superpixel boundaries drawn in yellow (format from the suffix)."""
    overlay = mark_boundaries(image, ids, color=(1, 1, 0), mode='thick')
    overlay = np.clip(np.rint(overlay * 255), 0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(overlay).save(tmp)


def run_job(job: SuperpixelJob) -> str:
    """Process one image; returns ``'skipped'`` when it was already finished, else ``'done'``.

    A missing or undecodable image raises ``FileNotFoundError``/``ValueError`` naming the file; any
    other failure is re-raised as ``RuntimeError`` naming the image.
    """
    have_map = map_finished(job.out_path, job.max_regions)
    if have_map and (job.show_path is None or osp.isfile(job.show_path)):
        return 'skipped'
    image = read_image(job.image_path)
    try:
        if have_map:  # only the overlay is missing
            ids = read_superpixels(job.out_path)
        else:
            ids = make_superpixels(image, max_regions=job.max_regions)
            write_superpixels(job.out_path, ids)
        if job.show_path is not None:
            write_overlay(job.show_path, image, ids)
    except Exception as exc:  # KeyboardInterrupt/SystemExit are not Exceptions and pass through
        raise RuntimeError(f'superpixels failed for image {job.image_path}: {type(exc).__name__}: {exc}') from exc
    return 'done'


def run_jobs(jobs: Sequence[SuperpixelJob], workers: int = 1, progress: bool = True, file=None) -> list[str]:
    """Run ``jobs`` with ``workers`` processes, showing an mmengine progress bar (count, rate, ETA).

    The first failure stops the run (remaining workers are terminated) and is raised; outputs already
    written stay, so a re-run resumes after fixing the input.
    """
    from mmengine.utils import ProgressBar
    # sys.stdout is looked up per call: a default bound at import time keeps a stream that may since be closed
    file = file or sys.stdout
    bar = ProgressBar(len(jobs), file=file) if progress and jobs else None
    results = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(run_job(job))
            if bar is not None:
                bar.update()
    else:
        with Pool(min(workers, len(jobs)), initializer=_init_worker) as pool:  # exit terminates workers
            for result in pool.imap_unordered(run_job, jobs):
                results.append(result)
                if bar is not None:
                    bar.update()
    if bar is not None:
        file.write('\n')
    return results
