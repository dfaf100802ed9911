"""An embedded demo dataset for SSC, generated from scikit-image's bundled photos: no downloads, exact masks.

Why this exists: SSC targets two failure modes of class activation maps (CAMs) that a generic toy set does not
have. Plain CAMs *under-activate* (they cover only the most discriminative part of an object) and expanded
CAMs *over-activate* (they leak into background that co-occurs with the class). Each scene here is built so
that both happen by construction, and the manifest records where, so the pipeline's CAMs can be measured on
"part vs body" and "on the texture":

* **Under-activation.** Every object is a large plain *body* from one shape and colour family shared by all
  classes (a perturbed ellipse in a low-saturation colour drawn independently of the class), carrying a small
  class-specific *part* (a disk of about ``part_fraction`` = 10 % of the object's area, inside the body, in a
  saturated class colour with a class pattern). The body alone does not tell the class; the part does, so a
  classifier can solve the task from the part alone.
* **Over-activation.** Every class has a background *texture* (brick, grass, gravel, …, tinted). When class
  ``k`` is in an image, a band along one image side is filled with texture ``k`` with probability
  ``cooccurrence_prob``; when it is absent, with probability ``texture_without_class_prob``. The texture is
  therefore predictive of the class, yet it is background in the mask (value 0).

Scenes are composed, in paint order, from a random crop (resized) of a real photograph shipped with
scikit-image (:data:`BACKGROUND_PHOTOS`), the texture bands, then 1 to ``max_objects`` objects, later objects
occluding earlier ones. Every shape is a polygon whose vertices (rounded to 0.01 px) are stored in the
manifest; masks are the polygons rasterised by :func:`skimage.draw.polygon` (pixel centres inside) and
composed in paint order, so they record exactly what is visible and can be recomputed from the manifest
(:func:`scene_layers`). Edges are hard (no anti-aliasing), and the JPEG compression of the images does not touch
the PNG masks.

**Labels.** A class is an image label when its visible mask area is at least ``min_label_fraction`` of the
image (default 0.5 %). An object is only accepted where it, and every object it overlaps, keeps at least
``min_visible_fraction`` (default half) of its area and of its part visible and at least that label area, so
every drawn class is a label and every image has one (an object that cannot be placed after a few tries is
dropped; the first one always fits).

**Determinism.** Image ``i`` of a split depends only on ``(seed, split, i)`` and the scene settings, so the
same seed gives byte-identical files, and changing ``num_val`` leaves the training images unchanged.

Layout written under ``root`` (VOC's, plus the analysis extras)::

    classes.txt                               one class name per line (mask value k+1 = class k)
    JPEGImages/<id>.jpg                       quality 95, no chroma subsampling
    SegmentationClassAug/<id>.png             palette PNG: 0 background, k+1 object of class k
    PartMasks/<id>.png                        k+1 where the part of a class-k object is visible
    TextureMasks/<id>.png                     k+1 where texture k is visible (background in the mask above)
    ImageSets/Segmentation/{train,val,test,train_aug}.txt   (train_aug = train)
    demo_manifest.json                        settings, class styles, and per image what was drawn where

The manifest is written last; a re-run with the same settings over a folder whose manifest and files are all
present returns the manifest without writing anything.
"""
import functools
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt
from skimage.draw import polygon as fill_polygon

from ..fileio import atomic_path, read_image, read_label_png, write_label_png
from .toy_voc import LAYOUT
from ..stage_files import voc_palette

__all__ = ['DEMO_LAYOUT', 'CLASS_STYLES', 'TEXTURES', 'BACKGROUND_PHOTOS', 'SPLITS', 'make_demo_dataset',
           'load_demo_manifest', 'scene_layers', 'render_scene', 'polygon_mask', 'demo_statistics',
           'write_overview', 'PIPELINE_LIST', 'SHOWN_TEST_IMAGES', 'write_pipeline_list']

DEMO_LAYOUT = dict(LAYOUT, part_dir='PartMasks', texture_dir='TextureMasks', classes='classes.txt',
                   manifest='demo_manifest.json')
MANIFEST_FORMAT = 'mmssc-demo-scenes/1'
PIPELINE_LIST = 'ImageSets/Segmentation/train_test.txt'   # configs/pipeline/demo_cpu.py's pseudo_mask_list
SHOWN_TEST_IMAGES = 8   # test images whose comparison overlays the demo writes (tools/demo.py --show-num)
SPLITS = ('train', 'val', 'test')
# A per-split salt for the seed, so the splits never share a scene.
_SPLIT_SALT = dict(train=11, val=23, test=37)

# The class-specific distinctive parts: name, saturated colour, pattern, second pattern colour. Parts are the
# only appearance cue that tells the classes apart on the object itself.
CLASS_STYLES = (
    ('red_spot', (215, 35, 35), 'solid', None),
    ('yellow_stripes', (235, 205, 30), 'hstripes', (45, 35, 10)),
    ('green_checks', (40, 175, 60), 'checker', (235, 235, 235)),
    ('blue_bars', (35, 75, 225), 'vstripes', (235, 235, 235)),
    ('magenta_dots', (205, 45, 190), 'dots', (250, 250, 250)),
    ('cyan_ring', (30, 200, 215), 'ring', (20, 20, 20)),
    ('orange_diagonals', (245, 125, 20), 'diagonals', (30, 20, 10)),
    ('purple_spot', (115, 40, 190), 'solid', None),
    ('lime_checks', (150, 225, 40), 'checker', (20, 40, 0)),
    ('pink_stripes', (250, 140, 180), 'hstripes', (90, 20, 40)),
)
# The background texture that co-occurs with each class: name, source (a scikit-image sample or 'ripples',
# a procedural wave pattern), whether the source is turned by 90°, and the tint of grey sources (None keeps
# a colour source's own colours). Only samples bundled with scikit-image are used (no pooch downloads).
TEXTURES = (
    ('brick', 'brick', False, (190, 95, 70)),
    ('grass', 'grass', False, (90, 165, 70)),
    ('gravel', 'gravel', False, (175, 165, 150)),
    ('cells', 'immunohistochemistry', False, None),
    ('stars', 'hubble_deep_field', False, None),
    ('ripples', 'ripples', False, (70, 120, 200)),
    ('paper', 'page', False, (235, 225, 200)),
    ('slate', 'brick', True, (95, 105, 120)),
    ('straw', 'grass', True, (215, 190, 90)),
    ('asphalt', 'gravel', True, (85, 85, 90)),
)
# Real photographs bundled with scikit-image, cropped at random for the scene backgrounds.
BACKGROUND_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera')
BAND_SIDES = ('top', 'bottom', 'left', 'right')

# Shape and appearance ranges, as fractions of the image's shorter side where they are lengths.
_BODY_SEMI_AXIS = (0.16, 0.26)       # long semi-axis of the body ellipse
_BODY_ASPECT = (0.6, 1.0)            # short / long semi-axis
_BODY_WOBBLE = 0.07                  # amplitude of each low-frequency radial harmonic (2, 3, 4 lobes)
_BODY_SATURATION = (0.08, 0.30)      # low: bodies stay plain next to the saturated parts
_BODY_VALUE = (0.45, 0.85)
_BODY_SHADING = 0.15                 # linear light gradient across the body, ± this fraction
_BAND_DEPTH = (0.22, 0.38)           # texture band depth, fraction of the image side it grows from
_BAND_WAVE = 0.04                    # amplitude of the band's wavy inner edge
_PHOTO_CROP = (0.35, 0.9)            # background crop side, fraction of the photo's shorter side
_TEXTURE_CROP = (0.35, 0.7)
_SENSOR_NOISE = 2.0                  # grey levels of Gaussian noise over the whole image
_PLACEMENT_TRIES = 25
_BODY_VERTICES = 40
_PART_VERTICES = 24
JPEG_QUALITY = 95


# ------------------------------------------------------------------------------------------- sources
@functools.lru_cache(maxsize=None)
def _source(name: str) -> np.ndarray:
    """A scikit-image sample (or the procedural ripples) as float32 H×W×3 in [0, 1]; loaded once."""
    if name == 'ripples':
        # Water-like waves: a sine grating whose phase wanders slowly, deterministic (no random numbers).
        yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
        phase = 2 * np.pi * (xx / 13.0 + 0.8 * np.sin(2 * np.pi * yy / 97.0) + 0.3 * np.sin(2 * np.pi * xx / 61.0))
        grey = 0.5 + 0.35 * np.sin(phase) + 0.15 * np.sin(0.37 * phase + yy / 17.0)
        rgb = np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2)
    else:
        import skimage.data
        arr = np.asarray(getattr(skimage.data, name)())
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        rgb = arr[..., :3].astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb, dtype=np.float32)


def _random_box(rng: np.random.Generator, source_hw: Tuple[int, int], out_hw: Tuple[int, int],
                scale: Tuple[float, float]) -> List[int]:
    """A random crop box ``[top, left, height, width]`` of the output's aspect ratio inside the source."""
    sh, sw = source_hw
    oh, ow = out_hw
    side = rng.uniform(*scale) * min(sh, sw)
    h = max(8, int(round(side * min(1.0, oh / ow))))
    w = max(8, int(round(side * min(1.0, ow / oh))))
    h, w = min(h, sh), min(w, sw)
    return [int(rng.integers(0, sh - h + 1)), int(rng.integers(0, sw - w + 1)), h, w]


def _crop_resized(source: np.ndarray, box: Sequence[int], out_hw: Tuple[int, int], flip: bool) -> np.ndarray:
    top, left, h, w = box
    crop = (source[top:top + h, left:left + w] * 255.0 + 0.5).astype(np.uint8)
    resized = np.asarray(Image.fromarray(crop).resize((out_hw[1], out_hw[0]), Image.BILINEAR), np.float32)
    return resized[:, ::-1] if flip else resized


def _texture_source(texture_index: int) -> np.ndarray:
    _, source, turned, _ = TEXTURES[texture_index]
    image = _source(source)
    return np.ascontiguousarray(np.rot90(image)) if turned else image


def _tinted(grey_or_rgb: np.ndarray, tint: Optional[Sequence[int]]) -> np.ndarray:
    """Grey sources take the texture's tint (brightness modulates it); colour sources keep their colours."""
    if tint is None:
        return grey_or_rgb
    grey = grey_or_rgb.mean(axis=2, keepdims=True) / 255.0
    return np.asarray(tint, np.float32) * (0.45 + 0.9 * grey)


# ------------------------------------------------------------------------------------------- geometry
def _rounded(points: np.ndarray) -> List[List[float]]:
    # Rasterise from the rounded vertices that the manifest stores, so masks can be recomputed exactly.
    return [[round(float(r), 2), round(float(c), 2)] for r, c in points]


def polygon_mask(vertices: Sequence[Sequence[float]], shape: Sequence[int]) -> np.ndarray:
    """Boolean H×W mask of the pixels whose centre lies inside the polygon of ``(row, col)`` vertices.

    Read-only: masks are cached, because placement re-composes the same polygons many times.
    """
    return _polygon_mask(tuple(tuple(float(x) for x in v) for v in vertices), tuple(int(s) for s in shape))


@functools.lru_cache(maxsize=256)
def _polygon_mask(vertices: Tuple[Tuple[float, float], ...], shape: Tuple[int, int]) -> np.ndarray:
    points = np.asarray(vertices, np.float64)
    mask = np.zeros(shape, bool)
    rr, cc = fill_polygon(points[:, 0], points[:, 1], shape)
    mask[rr, cc] = True
    mask.setflags(write=False)
    return mask


def _body_polygon(rng: np.random.Generator, centre, semi_long: float, semi_short: float) -> np.ndarray:
    """A perturbed ellipse: the common body shape family of every class."""
    theta = np.linspace(0, 2 * np.pi, _BODY_VERTICES, endpoint=False)
    wobble = np.ones_like(theta)
    for lobes in (2, 3, 4):
        wobble += rng.uniform(-_BODY_WOBBLE, _BODY_WOBBLE) * np.cos(lobes * theta + rng.uniform(0, 2 * np.pi))
    angle = rng.uniform(0, np.pi)
    x, y = semi_long * np.cos(theta) * wobble, semi_short * np.sin(theta) * wobble
    rows = centre[0] + x * np.sin(angle) + y * np.cos(angle)
    cols = centre[1] + x * np.cos(angle) - y * np.sin(angle)
    return np.stack([rows, cols], axis=1)


def _disk_polygon(centre, radius: float) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, _PART_VERTICES, endpoint=False)
    return np.stack([centre[0] + radius * np.sin(theta), centre[1] + radius * np.cos(theta)], axis=1)


def _band_polygon(rng: np.random.Generator, side: str, hw: Tuple[int, int]) -> np.ndarray:
    """A band along one image side with a wavy inner edge (outer corners lie just outside the image)."""
    h, w = hw
    along, across = (w, h) if side in ('top', 'bottom') else (h, w)
    depth = rng.uniform(*_BAND_DEPTH) * across
    t = np.linspace(-1, along, 33)
    wave = (_BAND_WAVE * min(hw) * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t / along + rng.uniform(0, 2 * np.pi)))
    edge = depth + wave                               # distance of the inner edge from the side
    if side in ('top', 'left'):
        inner, outer = edge - 0.5, -1.0
    else:
        inner, outer = across - 0.5 - edge, across
    points = [(inner[i], t[i]) for i in range(len(t))] + [(outer, along), (outer, -1.0)]
    points = np.asarray(points)
    return points if side in ('top', 'bottom') else points[:, ::-1]


def scene_layers(record: dict) -> Dict[str, np.ndarray]:
    """Recompute a scene's masks from its manifest record, composing the polygons in paint order.

    Returns ``label`` (uint8: 0 background, k+1 visible object of class k), ``part`` (uint8: k+1 where the part
    of a class-k object is visible, else 0), ``texture`` (uint8: k+1 where texture k is visible) and
    ``instance`` (int16: index into ``record['objects']`` of the visible object, −1 for background).
    """
    hw = tuple(record['size'])
    label = np.zeros(hw, np.uint8)
    part = np.zeros(hw, np.uint8)
    texture = np.zeros(hw, np.uint8)
    instance = np.full(hw, -1, np.int16)
    for band in record['textures']:
        texture[polygon_mask(band['polygon'], hw)] = band['class'] + 1
    for index, obj in enumerate(record['objects']):
        body = polygon_mask(obj['body'], hw)
        spot = polygon_mask(obj['part'], hw)
        covered = body | spot
        label[covered] = obj['class'] + 1
        instance[covered] = index
        part[covered] = 0
        part[spot] = obj['class'] + 1
    texture[label > 0] = 0
    return dict(label=label, part=part, texture=texture, instance=instance)


# ------------------------------------------------------------------------------------------- sampling
def _body_colour(rng: np.random.Generator) -> List[int]:
    """A plain, low-saturation colour drawn the same way for every class."""
    hue, sat, val = rng.uniform(0, 1), rng.uniform(*_BODY_SATURATION), rng.uniform(*_BODY_VALUE)
    rgb = np.array([np.clip(abs(((hue * 6 + off) % 6) - 3) - 1, 0, 1) for off in (0, 4, 2)])
    return [int(round(c)) for c in 255 * val * (1 - sat + sat * rgb)]


def _sample_object(rng, cls: int, hw, part_fraction: float) -> dict:
    short = min(hw)
    semi_long = rng.uniform(*_BODY_SEMI_AXIS) * short
    semi_short = semi_long * rng.uniform(*_BODY_ASPECT)
    reach = semi_long * (1 + 3 * _BODY_WOBBLE) + 1
    centre = (rng.uniform(reach, hw[0] - reach), rng.uniform(reach, hw[1] - reach))
    body = _rounded(_body_polygon(rng, centre, semi_long, semi_short))
    body_mask = polygon_mask(body, hw)
    radius = float(np.sqrt(part_fraction * body_mask.sum() / np.pi))
    # The part sits wholly inside the body: its centre is drawn among pixels at least radius + 1.5 px from
    # the body's edge (so the object's area is the body's, and the part is exactly part_fraction of it).
    rows, cols = np.nonzero(body_mask)
    top, left = rows.min() - 1, cols.min() - 1
    window = np.pad(body_mask[top + 1:rows.max() + 1, left + 1:cols.max() + 1], 1)
    depth = distance_transform_edt(window)
    inside = np.argwhere(depth >= radius + 1.5)
    if len(inside) == 0:  # a very thin body: fall back to its deepest points
        inside = np.argwhere(depth == depth.max())
    part_centre = inside[rng.integers(len(inside))] + (top, left)
    part = _rounded(_disk_polygon(part_centre, radius))
    shading = [round(float(v), 3) for v in rng.uniform(-_BODY_SHADING, _BODY_SHADING, 2)]
    return {'class': int(cls), 'body': body, 'part': part, 'body_colour': _body_colour(rng), 'shading': shading,
            'scale': round(float(semi_long), 2)}


def _visible_ok(objects: List[dict], hw, min_visible_fraction: float, min_label_area: int) -> bool:
    """Every object keeps enough of its area and of its part visible after the later ones occlude it."""
    layers = scene_layers(dict(size=list(hw), textures=[], objects=objects))
    for index, obj in enumerate(objects):
        full = polygon_mask(obj['body'], hw) | polygon_mask(obj['part'], hw)
        part_full = polygon_mask(obj['part'], hw)
        visible = int((layers['instance'] == index).sum())
        visible_part = int(((layers['instance'] == index) & part_full).sum())
        if visible < max(min_visible_fraction * full.sum(), min_label_area):
            return False
        if visible_part < min_visible_fraction * part_full.sum():
            return False
    return True


def _sample_scene(rng: np.random.Generator, image_id: str, split: str, cfg: dict) -> dict:
    hw = tuple(cfg['image_size'])
    num_classes = cfg['num_classes']
    min_label_area = int(np.ceil(cfg['min_label_fraction'] * hw[0] * hw[1]))

    photo = BACKGROUND_PHOTOS[int(rng.integers(len(BACKGROUND_PHOTOS)))]
    background = dict(photo=photo, box=_random_box(rng, _source(photo).shape[:2], hw, _PHOTO_CROP),
                      flip=bool(rng.random() < 0.5))

    objects: List[dict] = []
    for _ in range(int(rng.integers(1, cfg['max_objects'] + 1))):
        cls = int(rng.integers(num_classes))
        for _ in range(_PLACEMENT_TRIES):
            candidate = _sample_object(rng, cls, hw, cfg['part_fraction'])
            if _visible_ok(objects + [candidate], hw, cfg['min_visible_fraction'], min_label_area):
                objects.append(candidate)
                break
    present = sorted({obj['class'] for obj in objects})

    # Texture k joins class k with probability cooccurrence_prob, and appears without it with probability
    # texture_without_class_prob; one band per image side, so at most four (max_objects <= 4 keeps every
    # with-class texture).
    wanted = [(k, True) for k in present if rng.random() < cfg['cooccurrence_prob']]
    wanted += [(k, False) for k in range(num_classes)
               if k not in present and rng.random() < cfg['texture_without_class_prob']]
    wanted = wanted[:len(BAND_SIDES)]
    sides = [BAND_SIDES[i] for i in rng.permutation(len(BAND_SIDES))[:len(wanted)]]
    textures = []
    for (k, with_class), side in zip(wanted, sides):
        source_hw = _texture_source(k).shape[:2]
        textures.append({'class': k, 'texture': TEXTURES[k][0], 'with_class': with_class, 'side': side,
                         'polygon': _rounded(_band_polygon(rng, side, hw)),
                         'box': _random_box(rng, source_hw, hw, _TEXTURE_CROP), 'flip': bool(rng.random() < 0.5)})

    record = {'id': image_id, 'split': split, 'size': list(hw), 'background': background, 'textures': textures,
              'objects': objects, 'noise_seed': int(rng.integers(2**31))}
    layers = scene_layers(record)
    areas = np.bincount(layers['label'].ravel(), minlength=num_classes + 1)
    record['labels'] = [k for k in range(num_classes) if areas[k + 1] >= min_label_area]
    if record['labels'] != present:  # guaranteed by the placement rule; a failure here is a generator bug
        raise RuntimeError(f'{image_id}: labels {record["labels"]} differ from the drawn classes {present}')
    for index, obj in enumerate(objects):
        full = polygon_mask(obj['body'], hw) | polygon_mask(obj['part'], hw)
        part_full = polygon_mask(obj['part'], hw)
        visible = layers['instance'] == index
        obj.update(area=int(full.sum()), part_area=int(part_full.sum()), visible_area=int(visible.sum()),
                   visible_part_area=int((visible & part_full).sum()))
    for band in textures:
        band['visible_area'] = int((layers['texture'] == band['class'] + 1).sum())
    return record


# ------------------------------------------------------------------------------------------- rendering
def _part_pattern(style_index: int, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """The class's part colours (N×3 float) at pixel offsets ``(u, v)`` from the part's centre."""
    _, colour, pattern, alt = CLASS_STYLES[style_index]
    period = max(3.0, radius / 2.5)
    if pattern == 'solid':
        first = np.ones(u.shape, bool)
    elif pattern == 'hstripes':
        first = np.floor(u / period) % 2 == 0
    elif pattern == 'vstripes':
        first = np.floor(v / period) % 2 == 0
    elif pattern == 'diagonals':
        first = np.floor((u + v) / (1.4 * period)) % 2 == 0
    elif pattern == 'checker':
        first = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    elif pattern == 'dots':
        first = ((u % (2 * period)) - period) ** 2 + ((v % (2 * period)) - period) ** 2 > (0.55 * period) ** 2
    elif pattern == 'ring':
        first = u ** 2 + v ** 2 > (0.5 * radius) ** 2
    else:
        raise ValueError(f'unknown part pattern {pattern!r}')
    second = np.asarray(alt if alt is not None else colour, np.float32)
    return np.where(first[..., None], np.asarray(colour, np.float32), second)


def render_scene(record: dict) -> np.ndarray:
    """Paint a scene from its manifest record as uint8 H×W×3 (before JPEG): photo, textures, objects.

    Every layer is painted through the same polygon masks that :func:`scene_layers` composes, so the objects
    change exactly the pixels their masks claim.
    """
    hw = tuple(record['size'])
    bg = record['background']
    image = _crop_resized(_source(bg['photo']), bg['box'], hw, bg['flip'])
    for band in record['textures']:
        fill = _tinted(_crop_resized(_texture_source(band['class']), band['box'], hw, band['flip']),
                       TEXTURES[band['class']][3])
        region = polygon_mask(band['polygon'], hw)
        image[region] = fill[region]
    for obj in record['objects']:
        rows, cols = np.nonzero(polygon_mask(obj['body'], hw) | polygon_mask(obj['part'], hw))
        light = 1 + (obj['shading'][0] * (rows - rows.mean()) + obj['shading'][1] * (cols - cols.mean())) / obj['scale']
        image[rows, cols] = np.asarray(obj['body_colour'], np.float32) * light[:, None]
        part_vertices = np.asarray(obj['part'])
        part_centre = part_vertices.mean(axis=0)
        radius = float(np.abs(part_vertices[:, 0] - part_centre[0]).max())
        rows, cols = np.nonzero(polygon_mask(obj['part'], hw))
        image[rows, cols] = _part_pattern(obj['class'], rows - part_centre[0], cols - part_centre[1], radius)
    noise = np.random.default_rng(record['noise_seed']).normal(0, _SENSOR_NOISE, image.shape)
    return np.clip(image + noise + 0.5, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------- writing
def _config(num_train, num_val, num_test, image_size, num_classes, cooccurrence_prob, texture_without_class_prob,
            part_fraction, max_objects, min_visible_fraction, min_label_fraction, seed) -> dict:
    hw = [int(image_size), int(image_size)] if np.isscalar(image_size) else [int(s) for s in image_size]
    if len(hw) != 2 or min(hw) < 48:
        raise ValueError(f'image_size={image_size!r}: give one side or (height, width), each at least 48 px')
    if not 2 <= num_classes <= len(CLASS_STYLES):
        raise ValueError(f'num_classes={num_classes}: between 2 and {len(CLASS_STYLES)} classes are defined')
    if not 1 <= max_objects <= len(BAND_SIDES):
        raise ValueError(f'max_objects={max_objects}: between 1 and {len(BAND_SIDES)} (one texture band per side)')
    for name, value in (('cooccurrence_prob', cooccurrence_prob),
                        ('texture_without_class_prob', texture_without_class_prob),
                        ('min_visible_fraction', min_visible_fraction), ('min_label_fraction', min_label_fraction)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'{name}={value}: must lie in [0, 1]')
    if not 0.01 <= part_fraction <= 0.5:
        raise ValueError(f'part_fraction={part_fraction}: must lie in [0.01, 0.5] (a small part of the object)')
    counts = dict(train=int(num_train), val=int(num_val), test=int(num_test))
    if min(counts.values()) < 1:
        raise ValueError(f'every split needs at least one image, got {counts}')
    return dict(num_images=counts, image_size=hw, num_classes=int(num_classes),
                cooccurrence_prob=float(cooccurrence_prob),
                texture_without_class_prob=float(texture_without_class_prob),
                part_fraction=float(part_fraction), max_objects=int(max_objects),
                min_visible_fraction=float(min_visible_fraction), min_label_fraction=float(min_label_fraction),
                seed=int(seed))


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)


def _expected_files(root: str, ids: Sequence[str]) -> List[str]:
    paths = [osp.join(root, DEMO_LAYOUT['classes'])]
    paths += [osp.join(root, DEMO_LAYOUT['split_dir'], s + '.txt') for s in SPLITS + ('train_aug',)]
    for image_id in ids:
        paths.append(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg'))
        paths += [osp.join(root, DEMO_LAYOUT[key], image_id + '.png')
                  for key in ('mask_dir', 'part_dir', 'texture_dir')]
    return paths


def load_demo_manifest(root: str) -> dict:
    """Read ``root/demo_manifest.json`` (the record of what :func:`make_demo_dataset` drew)."""
    path = osp.join(root, DEMO_LAYOUT['manifest'])
    if not osp.isfile(path):
        raise FileNotFoundError(f'demo manifest not found: {path} (make the data with tools/make_demo_data.py)')
    with open(path, encoding='utf-8') as f:
        manifest = json.load(f)
    if manifest.get('format') != MANIFEST_FORMAT:
        raise ValueError(f'{path} is not a {MANIFEST_FORMAT} manifest (format {manifest.get("format")!r})')
    return manifest


def write_pipeline_list(root: str, splits: Dict[str, List[str]], shown_test_images: int) -> List[str]:
    """Write ``PIPELINE_LIST``: the images the demo pipeline makes CAMs, IR labels and pseudo masks for. Every
    training image (they are scored, and the segmenter learns from their pseudo masks) and the first
    ``shown_test_images`` test images, whose comparison overlays show a CAM and a pseudo mask; the other test
    images are only predicted by the segmenter. Returns the ids."""
    ids = list(splits['train']) + list(splits['test'][:max(0, shown_test_images)])
    with atomic_path(osp.join(root, PIPELINE_LIST)) as tmp:
        with open(tmp, 'w') as f:
            f.write(''.join(i + '\n' for i in ids))
    return ids


def make_demo_dataset(root: str, num_train: int = 160, num_val: int = 30, num_test: int = 30,
                      image_size: Union[int, Sequence[int]] = 160, num_classes: int = 5,
                      cooccurrence_prob: float = 0.4, texture_without_class_prob: float = 0.15,
                      part_fraction: float = 0.1, max_objects: int = 3, min_visible_fraction: float = 0.5,
                      min_label_fraction: float = 0.005, seed: int = 0) -> dict:
    """Write the demo dataset under ``root`` (layout in the module docstring) and return its manifest.

    Args:
        num_train, num_val, num_test: images per split (each at least 1; ``test`` is labelled too).
        image_size: one side, or ``(height, width)``.
        num_classes: 2 to 10 classes, named after their parts (:data:`CLASS_STYLES`); class k's texture is
            ``TEXTURES[k]``.
        cooccurrence_prob: probability that an image containing class k also shows texture k (0.4: the texture
            is a cue for its class, but a weaker one than the object's part, which is always there).
        texture_without_class_prob: probability, per absent class k, that texture k still appears (0.15, so a
            texture alone does not prove its class either).
        part_fraction: area of the distinctive part as a fraction of the object.
        max_objects: objects per image are drawn uniformly from 1..max_objects (at most 4).
        min_visible_fraction: share of an object's area, and of its part, that occlusion must leave visible.
        min_label_fraction: visible area, as a fraction of the image, that makes a class an image label.
        seed: image i of a split depends only on (seed, split, i) and the settings above.

    The manifest holds ``format``, ``config`` (the settings), ``classes``, ``class_styles`` (part colour and
    pattern, texture per class), ``splits`` (ids per split) and ``images`` (id → record: ``labels``,
    ``background`` photo crop, ``textures`` with band polygon, side, ``with_class`` and visible area,
    ``objects`` with class, body and part polygons, colours, full and visible areas). A folder already holding
    a complete dataset with the same settings is returned as is; one with other settings is an error.
    """
    cfg = _config(num_train, num_val, num_test, image_size, num_classes, cooccurrence_prob,
                  texture_without_class_prob, part_fraction, max_objects, min_visible_fraction, min_label_fraction,
                  seed)
    manifest_path = osp.join(root, DEMO_LAYOUT['manifest'])
    if osp.isfile(manifest_path):
        existing = load_demo_manifest(root)
        if existing['config'] != cfg:
            raise ValueError(f'{root} already holds a demo dataset made with other settings '
                             f'({existing["config"]}); delete the folder or choose another one')
        if all(osp.isfile(p) for p in _expected_files(root, list(existing['images']))):
            return existing

    start = time.time()
    classes = [CLASS_STYLES[k][0] for k in range(num_classes)]
    palette = voc_palette(256)
    splits: Dict[str, List[str]] = {}
    images: Dict[str, dict] = {}
    for split in SPLITS:
        splits[split] = []
        for index in range(cfg['num_images'][split]):
            image_id = f'demo_{split}_{index:05d}'
            rng = np.random.default_rng([cfg['seed'], _SPLIT_SALT[split], index])
            record = _sample_scene(rng, image_id, split, cfg)
            layers = scene_layers(record)
            with atomic_path(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg')) as tmp:
                Image.fromarray(render_scene(record)).save(tmp, format='JPEG', quality=JPEG_QUALITY, subsampling=0)
            for key, layer in (('mask_dir', 'label'), ('part_dir', 'part'), ('texture_dir', 'texture')):
                write_label_png(osp.join(root, DEMO_LAYOUT[key], image_id + '.png'), layers[layer], palette)
            splits[split].append(image_id)
            images[image_id] = record

    _write_text(osp.join(root, DEMO_LAYOUT['classes']), ''.join(name + '\n' for name in classes))
    for name, ids in list(splits.items()) + [('train_aug', splits['train'])]:
        _write_text(osp.join(root, DEMO_LAYOUT['split_dir'], name + '.txt'), ''.join(i + '\n' for i in ids))
    styles = [dict(name=CLASS_STYLES[k][0], part_colour=list(CLASS_STYLES[k][1]), part_pattern=CLASS_STYLES[k][2],
                   texture=TEXTURES[k][0]) for k in range(num_classes)]
    manifest = dict(format=MANIFEST_FORMAT, config=cfg, classes=classes, class_styles=styles, splits=splits,
                    images=images)
    # Written last and atomically: its presence marks a complete folder. Sorted keys keep it byte-stable.
    _write_text(manifest_path, json.dumps(manifest, sort_keys=True, separators=(',', ':')))
    manifest['seconds'] = round(time.time() - start, 2)  # not stored: timing would break byte identity
    return manifest


def demo_statistics(manifest: dict) -> dict:
    """How strongly the two failure modes are present in a generated set, from its manifest.

    ``texture_given_class``: share of (image, labelled class k) pairs whose image shows texture k (the
    configured ``cooccurrence_prob`` in expectation); ``texture_without_class``: share of (image, absent class k)
    pairs showing texture k; ``class_given_texture``: share of drawn textures whose class is labelled (how
    predictive a texture is); ``part_fraction``: min / mean / max of part area over object area;
    ``texture_area``: mean visible texture area per image as a fraction of the image.
    """
    num_classes = manifest['config']['num_classes']
    with_pairs = with_hits = without_pairs = without_hits = 0
    fractions, texture_share = [], []
    for record in manifest['images'].values():
        shown = {band['class'] for band in record['textures']}
        labels = set(record['labels'])
        with_pairs += len(labels)
        with_hits += len(labels & shown)
        without_pairs += num_classes - len(labels)
        without_hits += len(shown - labels)
        fractions += [obj['part_area'] / obj['area'] for obj in record['objects']]
        texture_share.append(sum(b['visible_area'] for b in record['textures']) / np.prod(record['size']))
    drawn = with_hits + without_hits
    return dict(images={split: len(ids) for split, ids in manifest['splits'].items()},
                objects_per_image=round(float(np.mean([len(r['objects']) for r in manifest['images'].values()])), 3),
                texture_given_class=round(with_hits / max(with_pairs, 1), 3),
                texture_without_class=round(without_hits / max(without_pairs, 1), 3),
                class_given_texture=round(with_hits / max(drawn, 1), 3),
                part_fraction=[round(float(f), 3) for f in (min(fractions), np.mean(fractions), max(fractions))],
                texture_area=round(float(np.mean(texture_share)), 3))


# ------------------------------------------------------------------------------------------- overview
def write_overview(root: str, path: str, num: int = 6, split: str = 'train') -> str:
    """Write a PNG sheet of the first ``num`` images of ``split``, one row each, for people to check by eye.

    Panels: the JPEG; the ground-truth mask over it (class colours); the parts (class colours, opaque) and the
    texture bands (texture's class colour, half transparent) over a darkened copy; and a caption with the
    labels and textures drawn.
    """
    from ..visualization import compose_panels, label_overlay
    manifest = load_demo_manifest(root)
    palette = np.asarray(voc_palette(256), np.float32)
    rows = []
    for image_id in manifest['splits'][split][:num]:
        record = manifest['images'][image_id]
        image = read_image(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg'))
        mask = read_label_png(osp.join(root, DEMO_LAYOUT['mask_dir'], image_id + '.png'))
        part = read_label_png(osp.join(root, DEMO_LAYOUT['part_dir'], image_id + '.png'))
        texture = read_label_png(osp.join(root, DEMO_LAYOUT['texture_dir'], image_id + '.png'))
        cues = image.astype(np.float32) * 0.35
        cues = np.where(texture[..., None] > 0, 0.5 * cues + 0.5 * palette[texture], cues)
        cues = np.where(part[..., None] > 0, palette[part], cues)
        labels = ','.join(manifest['classes'][k] for k in record['labels'])
        bands = ','.join(b['texture'] + ('' if b['with_class'] else '(alone)') for b in record['textures']) or '-'
        rows.append(compose_panels([(image_id[5:], image), ('mask', label_overlay(image, mask)),
                                    ('parts+textures', np.clip(cues, 0, 255).astype(np.uint8)),
                                    ('', _caption_panel(image.shape[:2], [labels, 'tex: ' + bands]))]))
    width = max(r.shape[1] for r in rows)
    sheet = np.full((sum(r.shape[0] + 4 for r in rows), width, 3), 255, np.uint8)
    y = 0
    for r in rows:
        sheet[y:y + r.shape[0], :r.shape[1]] = r
        y += r.shape[0] + 4
    with atomic_path(path) as tmp:
        Image.fromarray(sheet).save(tmp, format='PNG')
    return path


def _caption_panel(hw, lines: Sequence[str]) -> np.ndarray:
    from PIL import ImageDraw
    panel = Image.new('RGB', (hw[1] * 2, hw[0]), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    y = 4
    for line in lines:
        for start in range(0, len(line), 40):  # wrap long lists
            draw.text((4, y), line[start:start + 40], fill=(0, 0, 0))
            y += 12
    return np.asarray(panel)
