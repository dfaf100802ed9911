"""COCO instance annotations → one semantic class-index mask per image (no pycocotools).

A COCO instance's ``segmentation`` is either

* a list of polygons ``[x1, y1, x2, y2, ...]`` in pixel coordinates: rasterised with PIL, boundary pixels included
  (pycocotools' own rasteriser differs from this by at most a one-pixel rim along the outline); or
* a run-length encoding ``{"size": [h, w], "counts": ...}`` over the pixels in **column-major** order, alternating
  runs of 0s and 1s and starting with 0s. ``counts`` is a list of run lengths ("uncompressed", what the official
  instance files use for crowd regions) or a string in COCO's compact form (:func:`decode_rle_string`).

Mask values: 0 = background, k = k-th class of the class list (COCO: categories in id order, matched by name),
255 = ignore. Where instances overlap, one rule decides (``overlap``):

* ``'later'`` (default): instances are painted in file order, so a later annotation covers an earlier one; this is
  what the usual pycocotools loop (``mask[annToMask(a) > 0] = class``) produces;
* ``'smaller'``: larger instances are painted first, so the smaller instance stays visible (small objects tend to lie
  in front of large ones); ties keep file order.

Crowd regions (``iscrowd=1``, one RLE over a group of objects) follow ``crowd``:

* ``'class'`` (default): painted with their class like any instance (as the usual conversions do);
* ``'ignore'``: painted 255 *under* every non-crowd instance, so precisely annotated objects inside a crowd keep
  their class and only the rest of the crowd region is ignored;
* ``'skip'``: left out (background where nothing else is).
"""
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

OVERLAP_RULES = ('later', 'smaller')
CROWD_RULES = ('class', 'ignore', 'skip')
IGNORE = 255


def decode_rle_string(encoded: str) -> List[int]:
    """Run lengths from COCO's compact RLE string.

    Each run length is written as 5-bit groups, least significant first, each group stored as ``chr(48 + g)`` with
    bit 0x20 set when another group follows; bit 0x10 of the last group is the sign. From the fourth run on, the
    stored value is the difference to the run two places earlier (runs of the same kind are similar in length).
    """
    counts: List[int] = []
    data = encoded.encode('ascii')
    pos = 0
    while pos < len(data):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(data):
                raise ValueError('truncated RLE string')
            group = data[pos] - 48
            value |= (group & 0x1f) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift  # sign-extend
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def decode_rle(rle: dict) -> np.ndarray:
    """A COCO RLE (list or string ``counts``) as a bool H×W mask."""
    height, width = (int(v) for v in rle['size'])
    counts = rle['counts']
    if isinstance(counts, (str, bytes)):
        counts = decode_rle_string(counts.decode('ascii') if isinstance(counts, bytes) else counts)
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any() or counts.sum() != height * width:
        raise ValueError(f'RLE run lengths sum to {counts.sum()}, expected {height}×{width} = {height * width}')
    values = np.arange(len(counts)) % 2 == 1  # runs alternate 0, 1, 0, ...
    return np.repeat(values, counts).reshape((height, width), order='F')


def rasterize_polygons(polygons: Iterable[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Union of polygons (each ``[x1, y1, x2, y2, ...]``) as a bool H×W mask, boundary pixels included."""
    canvas = Image.new('L', (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        if len(polygon) < 6:  # fewer than 3 points: no area
            continue
        points = [(float(polygon[i]), float(polygon[i + 1])) for i in range(0, len(polygon) - 1, 2)]
        draw.polygon(points, fill=1, outline=1)
    return np.asarray(canvas, dtype=bool)


def instance_mask(segmentation, height: int, width: int) -> np.ndarray:
    """The bool H×W mask of one instance's ``segmentation`` (polygons or RLE)."""
    if isinstance(segmentation, list):
        return rasterize_polygons(segmentation, height, width)
    if isinstance(segmentation, dict) and 'counts' in segmentation:
        mask = decode_rle(segmentation)
        if mask.shape != (height, width):
            raise ValueError(f'RLE size {mask.shape} differs from the image size {(height, width)}')
        return mask
    raise ValueError(f'unsupported segmentation format: {type(segmentation).__name__}')


def semantic_mask(instances: Sequence[Tuple[int, object, bool]], height: int, width: int,
                  overlap: str = 'later', crowd: str = 'class') -> np.ndarray:
    """Combine ``(class value 1..K, segmentation, is_crowd)`` instances (file order) into a uint8 H×W mask."""
    if overlap not in OVERLAP_RULES:
        raise ValueError(f'overlap={overlap!r}: expected one of {OVERLAP_RULES}')
    if crowd not in CROWD_RULES:
        raise ValueError(f'crowd={crowd!r}: expected one of {CROWD_RULES}')
    mask = np.zeros((height, width), np.uint8)
    painted: List[Tuple[int, np.ndarray]] = []
    for value, segmentation, is_crowd in instances:
        if is_crowd and crowd == 'skip':
            continue
        region = instance_mask(segmentation, height, width)
        if is_crowd and crowd == 'ignore':
            mask[region] = IGNORE  # below every instance: painted before them
        else:
            painted.append((value, region))
    if overlap == 'smaller':
        painted.sort(key=lambda item: -int(item[1].sum()))  # stable: equal areas keep file order
    for value, region in painted:
        mask[region] = value
    return mask


def group_instances(content: dict, class_names: Sequence[str]) -> Tuple[Dict[int, dict], Dict[int, list]]:
    """``({image id: image entry}, {image id: [(class value, segmentation, is_crowd), ...]})`` from a COCO file.

    Categories are matched to ``class_names`` by name (class value = index + 1); unknown ones are an error.
    """
    try:
        images = {img['id']: img for img in content['images']}
        categories = content['categories']
        annotations = content['annotations']
    except (KeyError, TypeError) as exc:
        raise ValueError(f'not a COCO instances file (missing {exc})') from None
    value_of_category = {}
    for cat in categories:
        if cat['name'] not in class_names:
            raise ValueError(f'category {cat["name"]!r} (id {cat["id"]}) is not in the class list')
        value_of_category[cat['id']] = list(class_names).index(cat['name']) + 1
    per_image: Dict[int, list] = {image_id: [] for image_id in images}
    for ann in annotations:
        if ann['image_id'] not in images:
            raise ValueError(f'annotation {ann.get("id")} refers to unknown image id {ann["image_id"]}')
        if ann['category_id'] not in value_of_category:
            raise ValueError(f'annotation {ann.get("id")} has unknown category_id {ann["category_id"]}')
        per_image[ann['image_id']].append(
            (value_of_category[ann['category_id']], ann['segmentation'], bool(ann.get('iscrowd', 0))))
    return images, per_image
