"""The ``superpixels`` stage: ≤ N-region superpixels (Felzenszwalb + selective-search merging, :mod:`mmssc.superpixels`)
for a folder of images, one ``OUT_DIR/<image stem>.png`` each (docs/method.md, 'Superpixels').

Outputs use the 24-bit id encoding of the distributed VOC files (:mod:`mmssc.stage_files`) and are written
atomically, so a run killed at any moment leaves only complete files and a re-run resumes: an existing output that
decodes and respects the region bound counts as finished. ``tools/make_superpixels.py`` is its command line.
"""
import os
import os.path as osp
import signal
import sys
from typing import Dict, List, Optional

import numpy as np
from PIL import Image
from skimage.segmentation import mark_boundaries

from ..fileio import atomic_path, read_image
from ..stage_files import read_superpixels, write_superpixels
from ..superpixels import make_superpixels
from .per_image import PerImageTask, run_per_image

__all__ = ['IMAGE_EXTENSIONS', 'image_root', 'list_images', 'map_finished', 'write_overlay', 'SuperpixelTask',
           'install_sigterm_handler', 'run']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


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


def write_overlay(path: str, image: np.ndarray, ids: np.ndarray) -> None:
    """Atomically write the image with the superpixel boundaries drawn in yellow (format from the suffix)."""
    overlay = mark_boundaries(image, ids, color=(1, 1, 0), mode='thick')
    overlay = np.clip(np.rint(overlay * 255), 0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(overlay).save(tmp)


class SuperpixelTask(PerImageTask):
    """Workers read each image and generate its map (the slow part); this process writes the map and overlay."""
    name, what = 'superpixels', 'superpixel maps'

    def __init__(self, out_dir: str, show_dir: Optional[str] = None, max_regions: int = 64):
        self.out_dir, self.show_dir, self.max_regions = out_dir, show_dir, max_regions

    def outputs(self, item: dict) -> Dict[str, str]:
        paths = dict(superpixels=osp.join(self.out_dir, item['img_id'] + '.png'))
        if self.show_dir:
            paths['overlay'] = osp.join(self.show_dir, item['img_id'] + '.jpg')
        return paths

    def is_done(self, item: dict) -> bool:
        paths = self.outputs(item)
        return map_finished(paths['superpixels'], self.max_regions) and \
            ('overlay' not in paths or osp.isfile(paths['overlay']))

    def load(self, unit: List[dict]) -> dict:
        item = unit[0]
        image = read_image(item['img_path'])
        map_path = self.outputs(item)['superpixels']
        have_map = map_finished(map_path, self.max_regions)  # then only the overlay is missing
        try:
            ids = read_superpixels(map_path) if have_map else make_superpixels(image, max_regions=self.max_regions)
        except Exception as exc:  # KeyboardInterrupt/SystemExit are not Exceptions and pass through
            raise RuntimeError(f'superpixels failed for image {item["img_path"]}: {type(exc).__name__}: {exc}') \
                from exc
        return dict(results=[(item, dict(image=image, ids=ids, new=not have_map))])

    def write(self, item: dict, result: dict) -> None:
        paths = self.outputs(item)
        if result['new']:
            write_superpixels(paths['superpixels'], result['ids'])
        if 'overlay' in paths:
            write_overlay(paths['overlay'], result['image'], result['ids'])


def _exit_on_sigterm(signum, frame):
    # SystemExit unwinds through ``atomic_path``'s cleanup, so a terminated run leaves no temporary file.
    sys.exit(128 + signum)


def install_sigterm_handler() -> None:
    """Make SIGTERM raise SystemExit in this process, so pending atomic writes clean up."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def run(src: str, out_dir: str, list_file: Optional[str] = None, ext: Optional[str] = None, max_regions: int = 64,
        workers: int = 1, show_dir: Optional[str] = None) -> int:
    """Superpixels of every image of ``src`` (or of the ids in ``list_file``) into ``out_dir``; finished maps are
    skipped. ``workers`` processes generate maps (1: in this process); ``show_dir`` gets boundary overlays.
    Returns the number of images written."""
    install_sigterm_handler()
    if osp.abspath(out_dir) == osp.abspath(image_root(src)):
        raise ValueError(f'OUT_DIR {out_dir} is the image folder itself; PNG images there would be overwritten')
    items = [dict(img_id=stem, img_path=path) for stem, path in list_images(src, list_file, ext)]
    return run_per_image(SuperpixelTask(out_dir, show_dir, max_regions), items, workers if workers > 1 else 0,
                         prefix='[make_superpixels] ', where=f'{out_dir} with {workers} worker(s)')
