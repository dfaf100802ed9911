"""Stand-in saliency maps for the demo and the tests: a degraded copy of the true foreground.

I²CRC needs the maps of a salient-object detector (docs/method.md, 'I²CRC'). None can run offline here, so the
demo scenes and the toy set get maps made from their ground-truth masks and then spoiled the way a detector's
maps are imperfect: some object regions missed, some background regions marked salient, soft blurred borders and
pixel noise. They are **not** detector output; real use needs maps from a detector the user runs
(docs/stages.md, 'I²CRC').

Per image (a generator seeded by ``seed`` and the image id, so a map does not depend on the others):

1. f = 1 on the foreground (mask labels 1..254), 0 elsewhere;
2. each of up to ``max_missed`` disks, drawn with probability ``miss_prob``, centred on a random foreground pixel,
   radius ``region_radius``·max(H, W), is cleared (a missed region);
3. each of up to ``max_extra`` disks, drawn with probability ``extra_prob``, anywhere, is set (a false region);
4. Gaussian blur with σ = ``blur_sigma``·max(H, W), plus Gaussian noise of std ``noise_std``, clipped to [0, 1];
5. saved as uint8 round(255·f) PNG.
"""
import os
import os.path as osp
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from ..fileio import atomic_path, read_label_png

__all__ = ['SaliencyDegradation', 'degraded_saliency', 'write_demo_saliency']


@dataclass(frozen=True)
class SaliencyDegradation:
    miss_prob: float = 0.3
    max_missed: int = 1
    extra_prob: float = 0.3
    max_extra: int = 1
    region_radius: float = 0.12
    blur_sigma: float = 0.02
    noise_std: float = 0.05


def _disk(shape, centre, radius) -> np.ndarray:
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def degraded_saliency(mask: np.ndarray, rng: np.random.Generator,
                      settings: SaliencyDegradation = SaliencyDegradation()) -> np.ndarray:
    """A uint8 H×W stand-in saliency map from a class mask (module docstring)."""
    mask = np.asarray(mask)
    foreground = ((mask > 0) & (mask < 255)).astype(np.float32)
    side = max(mask.shape)
    radius = settings.region_radius * side
    for _ in range(settings.max_missed):
        points = np.argwhere(foreground > 0)
        if len(points) and rng.random() < settings.miss_prob:
            foreground[_disk(mask.shape, points[rng.integers(len(points))], radius)] = 0
    for _ in range(settings.max_extra):
        if rng.random() < settings.extra_prob:
            centre = (rng.integers(mask.shape[0]), rng.integers(mask.shape[1]))
            foreground[_disk(mask.shape, centre, radius)] = 1
    sigma = settings.blur_sigma * side
    soft = cv2.GaussianBlur(foreground, (0, 0), sigma) if sigma > 0 else foreground
    soft = soft + rng.normal(0, settings.noise_std, soft.shape).astype(np.float32)
    return np.round(255 * np.clip(soft, 0, 1)).astype(np.uint8)


def write_demo_saliency(root: str, out_dir: str = 'saliency', mask_dir: str = 'SegmentationClassAug',
                        ids: Optional[Sequence[str]] = None, seed: int = 0,
                        settings: SaliencyDegradation = SaliencyDegradation()) -> int:
    """Write ``<root>/<out_dir>/<id>.png`` for every mask ``<root>/<mask_dir>/<id>.png`` (or ``ids``); existing
    maps are kept. Works for the demo scenes and the toy set (same layout). Returns the number written."""
    masks = osp.join(root, mask_dir)
    out = osp.join(root, out_dir)
    os.makedirs(out, exist_ok=True)
    ids = sorted(n[:-4] for n in os.listdir(masks) if n.endswith('.png')) if ids is None else list(ids)
    written = 0
    for image_id in ids:
        path = osp.join(out, image_id + '.png')
        if osp.isfile(path):
            continue
        rng = np.random.default_rng([seed, zlib.crc32(image_id.encode())])
        saliency = degraded_saliency(read_label_png(osp.join(masks, image_id + '.png'), 'mask'), rng, settings)
        with atomic_path(path) as tmp:
            Image.fromarray(saliency, mode='L').save(tmp, format='PNG')
        written += 1
    return written
