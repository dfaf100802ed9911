"""tools/convert_coco.py and mmssc.datasets.coco_masks: COCO instances → class-index masks + image labels.

Expected masks are written down from the geometry of hand-made annotations; the RLE strings are produced by an
encoder written here from the format description (5-bit groups, continuation bit 0x20, sign bit 0x10, deltas to
the run two places back from the fourth run on).
"""
import json
import os

import numpy as np
import pytest
from PIL import Image

from mmssc.datasets.coco import COCO_CLASSES, read_coco_instances
from mmssc.datasets.coco_masks import (decode_rle, decode_rle_string, rasterize_polygons, semantic_mask)
from mmssc.datasets.image_labels import read_label_file
from mmssc.fileio import read_label_png, write_label_png

from conftest import load_tool




def encode_rle_string(counts) -> str:
    out = []
    for i, value in enumerate(counts):
        if i > 2:
            value -= counts[i - 2]
        more = True
        while more:
            group = value & 0x1f
            value >>= 5  # arithmetic shift: negative values end at -1
            more = value != -1 if group & 0x10 else value != 0
            out.append(chr(48 + (group | 0x20 if more else group)))
    return ''.join(out)


def column_major_runs(mask: np.ndarray) -> list:
    flat = mask.flatten(order='F').astype(np.int64)
    runs, current, length = [], 0, 0
    for v in flat:
        if v == current:
            length += 1
        else:
            runs.append(length)
            current, length = v, 1
    runs.append(length)
    return runs


def rect_polygon(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def rect_mask(h, w, x0, y0, x1, y1):
    m = np.zeros((h, w), bool)
    m[y0:y1 + 1, x0:x1 + 1] = True
    return m


# -------------------------------------------------------------------------------------------- decoding
def test_rle_string_decoding():
    assert decode_rle_string('325') == [3, 2, 5]
    assert decode_rle_string('3252') == [3, 2, 5, 4]  # 4th run stored as 4 - 2
    assert decode_rle_string('365K') == [3, 6, 5, 1]  # 1 - 6 = -5: 'K' = 48 + (-5 & 31)
    assert decode_rle_string('Xo0') == [1000]  # 8 + 31·32, three groups
    rng = np.random.default_rng(0)
    for _ in range(20):
        counts = [int(c) for c in rng.integers(0, 5000, rng.integers(1, 30))]
        assert decode_rle_string(encode_rle_string(counts)) == counts
    with pytest.raises(ValueError, match='truncated'):
        decode_rle_string('X')


def test_rle_masks_are_column_major():
    rng = np.random.default_rng(1)
    mask = rng.random((7, 9)) < 0.4
    runs = column_major_runs(mask)
    np.testing.assert_array_equal(decode_rle(dict(size=[7, 9], counts=runs)), mask)
    np.testing.assert_array_equal(decode_rle(dict(size=[7, 9], counts=encode_rle_string(runs))), mask)
    with pytest.raises(ValueError, match='sum to'):
        decode_rle(dict(size=[7, 9], counts=[3, 4]))


def test_polygon_rasterization():
    np.testing.assert_array_equal(rasterize_polygons([rect_polygon(2, 1, 6, 4)], 8, 10), rect_mask(8, 10, 2, 1, 6, 4))
    # A triangle: pixels whose centre lies clearly inside are set, pixels entirely outside are not.
    tri = [2.0, 2.0, 30.0, 4.0, 10.0, 25.0]
    mask = rasterize_polygons([tri], 32, 32)
    yy, xx = np.mgrid[0:32, 0:32]
    a, b, c = np.array(tri).reshape(3, 2)

    def signed(p, q):  # > 0 on the inner side of edge p→q for this (clockwise in image coordinates) triangle
        return (q[0] - p[0]) * (yy - p[1]) - (q[1] - p[1]) * (xx - p[0])
    dist = np.minimum.reduce([signed(p, q) / np.hypot(*(q - p)) for p, q in ((a, b), (b, c), (c, a))])
    assert mask[dist > 1.0].all()
    assert not mask[dist < -1.5].any()
    assert rasterize_polygons([[1, 1, 5, 5]], 8, 8).sum() == 0  # two points: no area


def test_overlap_and_crowd_rules():
    h, w = 20, 20
    big = (1, [rect_polygon(0, 0, 15, 15)], False)
    small = (2, [rect_polygon(4, 4, 7, 7)], False)
    crowd_region = rect_mask(h, w, 10, 10, 19, 19)
    crowd = (3, dict(size=[h, w], counts=column_major_runs(crowd_region)), True)
    big_m, small_m = rect_mask(h, w, 0, 0, 15, 15), rect_mask(h, w, 4, 4, 7, 7)

    later = semantic_mask([small, big], h, w, overlap='later', crowd='class')
    np.testing.assert_array_equal(later, np.where(big_m, 1, 0))  # the later, larger box hides the small one
    smaller = semantic_mask([small, big], h, w, overlap='smaller', crowd='class')
    np.testing.assert_array_equal(smaller, np.where(small_m, 2, np.where(big_m, 1, 0)))

    as_class = semantic_mask([big, crowd], h, w, overlap='later', crowd='class')
    np.testing.assert_array_equal(as_class, np.where(crowd_region, 3, np.where(big_m, 1, 0)))
    ignored = semantic_mask([big, crowd], h, w, overlap='later', crowd='ignore')
    np.testing.assert_array_equal(ignored, np.where(big_m, 1, np.where(crowd_region, 255, 0)))  # instance on top
    skipped = semantic_mask([big, crowd], h, w, overlap='later', crowd='skip')
    np.testing.assert_array_equal(skipped, np.where(big_m, 1, 0))


# ---------------------------------------------------------------------------------------------- the tool
@pytest.fixture
def instances_file(tmp_path):
    # COCO category ids have gaps; classes are matched by name: person = 1, car = 3, toothbrush = 80.
    categories = [dict(id=1, name='person'), dict(id=3, name='car'), dict(id=90, name='toothbrush')]
    images = [dict(id=9, file_name='COCO_val2014_000000000009.jpg', height=12, width=16),
              dict(id=25, file_name='COCO_val2014_000000000025.jpg', height=10, width=8),
              dict(id=30, file_name='COCO_val2014_000000000030.jpg', height=6, width=6)]  # no annotation
    crowd_region = rect_mask(10, 8, 0, 5, 7, 9)
    annotations = [
        dict(id=1, image_id=9, category_id=1, iscrowd=0, segmentation=[rect_polygon(1, 1, 5, 5)]),
        dict(id=2, image_id=9, category_id=90, iscrowd=0,
             segmentation=[rect_polygon(8, 2, 10, 4), rect_polygon(12, 8, 14, 10)]),  # two parts
        dict(id=3, image_id=25, category_id=3, iscrowd=0, segmentation=[rect_polygon(1, 6, 3, 8)]),
        dict(id=4, image_id=25, category_id=1, iscrowd=1,
             segmentation=dict(size=[10, 8], counts=column_major_runs(crowd_region))),
    ]
    path = tmp_path / 'instances_val2014.json'
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    expected = {
        'COCO_val2014_000000000009': np.where(rect_mask(12, 16, 1, 1, 5, 5), 1, np.where(
            rect_mask(12, 16, 8, 2, 10, 4) | rect_mask(12, 16, 12, 8, 14, 10), 80, 0)),
        # the crowd (person, painted later) covers the car under the default rules; with --crowd ignore the car
        # stays on top of the ignored crowd region
        'COCO_val2014_000000000025': np.where(crowd_region, 1, 0),
        'COCO_val2014_000000000030': np.zeros((6, 6)),
    }
    ignore_25 = np.where(rect_mask(10, 8, 1, 6, 3, 8), 3, np.where(crowd_region, 255, 0))
    return str(path), expected, ignore_25


def test_convert_tool_writes_masks_list_and_labels(instances_file, tmp_path, capsys):
    path, expected, ignore_25 = instances_file
    out = tmp_path / 'masks' / 'val2014'
    tool = load_tool('convert_coco')
    assert tool.main([path, str(out)]) == 0
    assert '3 images, 0 masks already written, 3 to convert' in capsys.readouterr().out
    assert sorted(os.listdir(out)) == sorted(k + '.png' for k in expected)  # no temporary files left
    for stem, mask in expected.items():
        assert Image.open(out / (stem + '.png')).mode == 'P'
        np.testing.assert_array_equal(read_label_png(str(out / (stem + '.png'))), mask)
    assert (tmp_path / 'masks' / 'val2014.txt').read_text().split() == sorted(expected)
    labels = read_label_file(str(tmp_path / 'masks' / 'val2014_labels.csv'), COCO_CLASSES)
    assert labels == {'COCO_val2014_000000000009': [0, 79], 'COCO_val2014_000000000025': [0, 2]}
    assert labels == read_coco_instances(path)  # the same image labels cam_classifier reads from the JSON

    # --crowd ignore; --overwrite redoes existing masks; 2 worker processes
    assert tool.main([path, str(out), '--crowd', 'ignore', '--overwrite', '--nproc', '2']) == 0
    np.testing.assert_array_equal(read_label_png(str(out / 'COCO_val2014_000000000025.png')), ignore_25)


def test_convert_tool_resumes_and_reports_bad_files(instances_file, tmp_path, capsys):
    path, expected, _ = instances_file
    out = tmp_path / 'masks'
    tool = load_tool('convert_coco')
    sentinel = np.full((12, 16), 7, np.uint8)  # an existing output is kept, not recomputed
    write_label_png(str(out / 'COCO_val2014_000000000009.png'), sentinel)
    assert tool.main([path, str(out)]) == 0
    assert '1 masks already written, 2 to convert' in capsys.readouterr().out
    np.testing.assert_array_equal(read_label_png(str(out / 'COCO_val2014_000000000009.png')), sentinel)
    np.testing.assert_array_equal(read_label_png(str(out / 'COCO_val2014_000000000025.png')),
                                  expected['COCO_val2014_000000000025'])

    content = json.load(open(path))
    content['categories'][1]['name'] = 'spaceship'
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(content))
    assert tool.main([str(bad), str(tmp_path / 'bad_out')]) == 1
    assert "'spaceship'" in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'missing.json'), str(tmp_path / 'x')]) == 1
    assert 'missing.json' in capsys.readouterr().err
