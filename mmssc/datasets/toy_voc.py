"""A small VOC-layout dataset for tests and smoke runs: images, masks, superpixels and split lists.

Each image is a smooth random background with 1–``max_objects`` filled rectangles or ellipses, one VOC class
each (drawn from ``classes``, 1-based VOC indices), in a class-specific colour with noise. Later objects occlude
earlier ones; the mask records what is visible, and the labels are exactly the classes visible in the mask.
Superpixels are a regular grid cut along object boundaries, so every region lies inside one object or the
background, with ids spread above 255 so the 24-bit encoding is exercised. Deterministic by ``seed``.

Layout written under ``root``::

    JPEGImages/<id>.jpg  SegmentationClassAug/<id>.png (palette)  superpixels/<id>.png (24-bit ids)
    ImageSets/Segmentation/{train,val,train_aug}.txt
"""
import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image

from ..fileio import atomic_path, write_label_png
from ..stage_files import voc_palette, write_superpixels

LAYOUT = dict(img_dir='JPEGImages', mask_dir='SegmentationClassAug', superpixel_dir='superpixels',
              split_dir='ImageSets/Segmentation')


def _draw_toy_image(rng: np.random.Generator, size: Tuple[int, int], classes: Sequence[int], max_objects: int):
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(60, 200, 3)
    slope = rng.uniform(-60, 60, (2, 3))
    img = base + yy[..., None] * slope[0] + xx[..., None] * slope[1] + rng.normal(0, 6, (h, w, 3))
    mask = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, max_objects + 1)):
        cls = int(rng.choice(classes))
        oh, ow = int(rng.integers(h // 4, h // 2 + 1)), int(rng.integers(w // 4, w // 2 + 1))
        y0, x0 = int(rng.integers(0, h - oh + 1)), int(rng.integers(0, w - ow + 1))
        region = np.zeros((h, w), bool)
        if rng.random() < 0.5:
            region[y0:y0 + oh, x0:x0 + ow] = True
        else:
            cy, cx = y0 + oh / 2, x0 + ow / 2
            region = ((np.mgrid[0:h, 0:w][0] - cy) / (oh / 2)) ** 2 + ((np.mgrid[0:h, 0:w][1] - cx) / (ow / 2)) ** 2 <= 1
        colour = np.array(voc_palette(cls + 1)[cls], float) * 0.7 + 40
        img[region] = colour + rng.normal(0, 10, (int(region.sum()), 3))
        mask[region] = cls
    return np.clip(img, 0, 255).astype(np.uint8), mask


def grid_superpixels(mask: np.ndarray, cell: int = 16, id_stride: int = 97) -> np.ndarray:
    """Grid cells split along mask boundaries, relabelled 0..n-1 and spread by ``id_stride`` (ids > 255)."""
    h, w = mask.shape
    cells = (np.arange(h)[:, None] // cell) * (w // cell + 1) + np.arange(w)[None, :] // cell
    _, regions = np.unique(cells.astype(np.int64) * 256 + mask, return_inverse=True)
    return regions.reshape(h, w).astype(np.int64) * id_stride


def make_toy_voc(root: str, num_train: int = 12, num_val: int = 4, image_size: Tuple[int, int] = (96, 128),
                 classes: Sequence[int] = (1, 3, 8, 12, 15), max_objects: int = 2, seed: int = 0,
                 superpixels: bool = True) -> Dict[str, dict]:
    """Write the toy dataset under ``root``; return ``{image id: dict(labels=sorted VOC indices, split=...)}``.

    Image ids look like VOC's (``2000_000000``); sizes alternate between ``image_size`` and its transpose so
    that both landscape and portrait images occur.
    """
    rng = np.random.default_rng(seed)
    palette = voc_palette(256)
    for key in ('img_dir', 'mask_dir', 'split_dir') + (('superpixel_dir',) if superpixels else ()):
        os.makedirs(osp.join(root, LAYOUT[key]), exist_ok=True)
    drawn, splits = {}, dict(train=[], val=[])
    for index in range(num_train + num_val):
        split = 'train' if index < num_train else 'val'
        image_id = f'2000_{index:06d}'
        size = image_size if index % 2 == 0 else image_size[::-1]
        img, mask = _draw_toy_image(rng, size, classes, max_objects)
        with atomic_path(osp.join(root, LAYOUT['img_dir'], image_id + '.jpg')) as tmp:
            Image.fromarray(img).save(tmp, format='JPEG', quality=95)
        write_label_png(osp.join(root, LAYOUT['mask_dir'], image_id + '.png'), mask, palette)
        if superpixels:
            write_superpixels(osp.join(root, LAYOUT['superpixel_dir'], image_id + '.png'), grid_superpixels(mask))
        labels = sorted(int(v) for v in np.unique(mask) if v != 0)
        drawn[image_id] = dict(labels=labels, split=split)
        splits[split].append(image_id)
    splits['train_aug'] = splits['train']
    for name, ids in splits.items():
        with atomic_path(osp.join(root, LAYOUT['split_dir'], name + '.txt')) as tmp:
            with open(tmp, 'w') as f:
                f.write(''.join(i + '\n' for i in ids))
    return drawn
