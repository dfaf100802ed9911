"""Side-by-side overlays of the per-image stage outputs, for people to look at (``vis/<stage>/<id>.jpg``).

One row of panels per image, each with a caption, for whichever outputs exist in the pipeline work_dir
(:mod:`mmssc.stage_files`):

    image | CAM heat-map | IR label | pseudo mask | confidence

* CAM heat-map: max over the image's classes of ``high_res`` (values in [0, 1]) as a jet colour map, blended
  half-and-half with the image.
* IR label, pseudo mask: class colours (VOC palette; 0 = background keeps the image, 255 = uncertain/ignored
  in VOC's void colour) blended with the image.
* confidence: the confident pseudo mask (``pseudo_masks_confident``): confident pixels in their class colour,
  the uncertain ones (255) in the void colour.

Tools call :func:`write_stage_overlays` after their stage, so each overlay shows everything computed so far.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .fileio import atomic_path, read_image, read_label_png
from .stage_files import stage_file

CAPTION_HEIGHT = 14
PANEL_GAP = 4
LABEL_ALPHA = 0.55
HEAT_ALPHA = 0.5
_BACKGROUND_RGB = (255, 255, 255)

__all__ = ['jet_colormap', 'heatmap_overlay', 'label_overlay', 'compose_panels', 'stage_panels',
           'write_stage_overlays']


def _palette() -> np.ndarray:
    from .stage_files import voc_palette  # VOC's map also covers COCO's 81 indices and 255 (void)
    return np.asarray(voc_palette(256), np.uint8)


def jet_colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (clipped) to uint8 RGB with the classic piecewise-linear 'jet' map.

    R = clip(1.5 − |4v − 3|), G = clip(1.5 − |4v − 2|), B = clip(1.5 − |4v − 1|), each clipped to [0, 1].
    """
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], np.float32)
    rgb = np.clip(1.5 - np.abs(4.0 * v - centres), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def _blend(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    mixed = image.astype(np.float32) * (1.0 - alpha) + colour.astype(np.float32) * alpha
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def heatmap_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = HEAT_ALPHA) -> np.ndarray:
    """The image blended with the jet colours of ``heat`` (H×W, values in [0, 1])."""
    if heat.shape != image.shape[:2]:
        raise ValueError(f'heat map is {heat.shape} but the image is {image.shape[:2]}')
    return _blend(image, jet_colormap(heat), np.float32(alpha))


def label_overlay(image: np.ndarray, labels: np.ndarray, alpha: float = LABEL_ALPHA) -> np.ndarray:
    """The image with every non-zero label painted in its palette colour (0 = background left as is)."""
    if labels.shape != image.shape[:2]:
        raise ValueError(f'label map is {labels.shape} but the image is {image.shape[:2]}')
    colour = _palette()[labels.astype(np.int64)]
    weight = np.where(labels[..., None] > 0, np.float32(alpha), np.float32(0))
    return _blend(image, colour, weight)


def compose_panels(panels: Sequence[Tuple[str, np.ndarray]]) -> np.ndarray:
    """Place equally tall RGB panels side by side, each under a one-line caption, on a white canvas."""
    if not panels:
        raise ValueError('no panels to compose')
    height = max(p.shape[0] for _, p in panels)
    width = sum(p.shape[1] for _, p in panels) + PANEL_GAP * (len(panels) - 1)
    canvas = Image.new('RGB', (width, height + CAPTION_HEIGHT), _BACKGROUND_RGB)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for caption, panel in panels:
        draw.text((x + 2, 1), caption, fill=(0, 0, 0))
        canvas.paste(Image.fromarray(np.ascontiguousarray(panel)), (x, CAPTION_HEIGHT))
        x += panel.shape[1] + PANEL_GAP
    return np.asarray(canvas)


def stage_panels(work_dir: str, image_id: str, image: np.ndarray) -> List[Tuple[str, np.ndarray]]:
    """The panels of one image for the stage outputs that exist in ``work_dir`` (the image always first)."""
    from .stage_files import read_cam_file
    panels = [('image', image)]
    cam_path = stage_file(work_dir, 'cams', image_id)
    if osp.isfile(cam_path):
        high_res = read_cam_file(cam_path)['high_res']
        panels.append(('CAM', heatmap_overlay(image, high_res.max(axis=0))))
    for stage, caption in (('ir_labels', 'IR label'), ('pseudo_masks', 'pseudo mask'),
                           ('pseudo_masks_confident', 'confidence'),  # I²CRC's:
                           ('saliency_labels', 'initial label'), ('round1_masks', 'round 1'),
                           ('refined_labels', 'refined label')):
        path = stage_file(work_dir, stage, image_id)
        if osp.isfile(path):
            panels.append((caption, label_overlay(image, read_label_png(path, caption))))
    return panels


def write_stage_overlays(work_dir: str, items: Sequence[dict], out_dir: str,
                         num: Optional[int] = None) -> List[str]:
    """Write ``out_dir/<id>.jpg`` overlays for the first ``num`` items (all when None); return the paths.

    ``items`` carry ``img_id`` and ``img_path`` (as from :func:`mmssc.stage_files.dataset_items`). Written
    atomically; existing overlays are redrawn, so they show the latest stage outputs.
    """
    paths = []
    for item in list(items)[:num]:
        image = read_image(item['img_path'])
        overlay = compose_panels(stage_panels(work_dir, item['img_id'], image))
        path = osp.join(out_dir, item['img_id'] + '.jpg')
        with atomic_path(path) as tmp:
            Image.fromarray(overlay).save(tmp, format='JPEG', quality=90)
        paths.append(path)
    return paths
