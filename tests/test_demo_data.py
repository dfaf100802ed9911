"""The embedded demo dataset (mmssc/datasets/demo_scenes.py): determinism, exact masks, labels, and the two
CAM failure modes SSC targets (small discriminative part on a plain body; class-correlated background texture)
being present by construction."""
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion
from skimage.draw import polygon2mask

from mmssc.datasets import ImageLabelDataset
from mmssc.datasets.demo_scenes import (CLASS_STYLES, DEMO_LAYOUT, SPLITS, demo_statistics, load_demo_manifest,
                                        make_demo_dataset, render_scene)
from mmssc.fileio import read_image, read_label_png

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = dict(num_train=3, num_val=2, num_test=2, image_size=96)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """A 40/10/10 set at the default image size and settings: (root, manifest)."""
    root = str(tmp_path_factory.mktemp('demo'))
    return root, make_demo_dataset(root, num_train=40, num_val=10, num_test=10, seed=0)


def all_files(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                found[osp.relpath(path, root)] = f.read()
    return found


def png(root, key, image_id):
    return read_label_png(osp.join(root, DEMO_LAYOUT[key], image_id + '.png'))


# ------------------------------------------------------------------------------------- files and determinism
def files_of_new_set(folder, **settings):
    make_demo_dataset(str(folder), **settings)
    return all_files(str(folder))


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = files_of_new_set(tmp_path / 'a', seed=5, **TINY)
    second = files_of_new_set(tmp_path / 'b', seed=5, **TINY)
    assert first.keys() == second.keys() and len(first) > 4 * 7
    assert [k for k in first if first[k] != second[k]] == []

    other = files_of_new_set(tmp_path / 'c', seed=6, **TINY)
    jpegs = [k for k in first if k.endswith('.jpg')]
    assert all(first[k] != other[k] for k in jpegs)

    # A training image depends only on (seed, split, index): fewer val images leave the train images alone.
    fewer_val = files_of_new_set(tmp_path / 'd', seed=5, **dict(TINY, num_val=1))
    train_jpegs = [k for k in jpegs if '_train_' in k]
    assert train_jpegs and all(first[k] == fewer_val[k] for k in train_jpegs)


def test_rerun_over_a_complete_folder_is_skipped(tmp_path):
    root = str(tmp_path / 'demo')
    made = make_demo_dataset(root, seed=1, **TINY)
    files = all_files(root)
    stamps = {k: os.stat(osp.join(root, k)).st_mtime_ns for k in files}
    again = make_demo_dataset(root, seed=1, **TINY)
    assert 'seconds' not in again  # found, not generated
    assert again['images'] == made['images']
    assert {k: os.stat(osp.join(root, k)).st_mtime_ns for k in files} == stamps

    with pytest.raises(ValueError, match='other settings'):
        make_demo_dataset(root, seed=2, **TINY)

    # An incomplete folder (a mask lost) is regenerated, identically.
    victim = osp.join(DEMO_LAYOUT['mask_dir'], made['splits']['val'][0] + '.png')
    os.remove(osp.join(root, victim))
    assert 'seconds' in make_demo_dataset(root, seed=1, **TINY)
    assert all_files(root) == files


def test_splits_and_class_list(demo):
    root, manifest = demo
    names = [ln.rstrip('\n') for ln in open(osp.join(root, DEMO_LAYOUT['classes']), encoding='utf-8')]
    assert names == manifest['classes'] == [style[0] for style in CLASS_STYLES[:5]]
    listed = {}
    for split in SPLITS + ('train_aug',):
        with open(osp.join(root, DEMO_LAYOUT['split_dir'], split + '.txt'), encoding='utf-8') as f:
            listed[split] = f.read().split()
    assert listed['train_aug'] == listed['train']
    assert {s: len(listed[s]) for s in SPLITS} == dict(train=40, val=10, test=10)
    for split in SPLITS:
        assert listed[split] == manifest['splits'][split]
        assert all(manifest['images'][i]['split'] == split for i in listed[split])
    every = listed['train'] + listed['val'] + listed['test']
    assert len(set(every)) == len(every) == len(manifest['images'])
    for image_id in every:
        assert Image.open(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg')).size == (160, 160)
    assert load_demo_manifest(root)['images'] == manifest['images']


def test_invalid_settings_are_refused(tmp_path):
    for bad in (dict(num_classes=11), dict(num_classes=1), dict(cooccurrence_prob=1.5), dict(num_test=0),
                dict(max_objects=5), dict(part_fraction=0.8), dict(image_size=(32, 96))):
        with pytest.raises(ValueError):
            make_demo_dataset(str(tmp_path / 'bad'), **dict(TINY, **bad))
    assert not osp.exists(tmp_path / 'bad' / DEMO_LAYOUT['manifest'])


# ------------------------------------------------------------------------------------- masks and labels
def test_masks_are_the_manifest_polygons_composed_in_paint_order(demo):
    """Recompute every mask from the raw polygons in the manifest (skimage's polygon2mask) and compare."""
    root, manifest = demo
    for image_id, record in manifest['images'].items():
        hw = tuple(record['size'])
        label, part, texture = (np.zeros(hw, np.uint8) for _ in range(3))
        for band in record['textures']:  # painted first, then covered by every object
            texture[polygon2mask(hw, band['polygon'])] = band['class'] + 1
        for obj in record['objects']:  # later objects occlude earlier ones, parts included
            body, spot = polygon2mask(hw, obj['body']), polygon2mask(hw, obj['part'])
            label[body | spot] = obj['class'] + 1
            part[body | spot] = 0
            part[spot] = obj['class'] + 1
        texture[label > 0] = 0
        np.testing.assert_array_equal(png(root, 'mask_dir', image_id), label, err_msg=image_id)
        np.testing.assert_array_equal(png(root, 'part_dir', image_id), part, err_msg=image_id)
        np.testing.assert_array_equal(png(root, 'texture_dir', image_id), texture, err_msg=image_id)
        for band in record['textures']:
            assert band['visible_area'] == int((texture == band['class'] + 1).sum())
    # The masks are palette PNGs (VOC style), so viewers show class colours.
    first = next(iter(manifest['images']))
    assert Image.open(osp.join(root, DEMO_LAYOUT['mask_dir'], first + '.png')).mode == 'P'


def test_objects_change_exactly_their_masked_pixels_and_the_jpeg_is_the_scene(demo):
    root, manifest = demo
    for image_id in manifest['splits']['val']:
        record = manifest['images'][image_id]
        label = png(root, 'mask_dir', image_id)
        painted = render_scene(record)
        without_objects = render_scene(dict(record, objects=[]))  # same photo, textures and sensor noise
        changed = np.any(painted != without_objects, axis=2)
        assert not (changed & (label == 0)).any(), f'{image_id}: objects painted outside their mask'
        assert (~changed & (label > 0)).sum() <= 0.02 * (label > 0).sum(), image_id
        on_disk = read_image(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg')).astype(np.float32)
        assert np.abs(on_disk - painted).mean() < 3.0, f'{image_id}: the JPEG is not the rendered scene'


def test_labels_from_the_masks_equal_the_manifest(demo):
    root, manifest = demo
    min_area = manifest['config']['min_label_fraction'] * 160 * 160
    for split in SPLITS:
        dataset = ImageLabelDataset(classes=osp.join(root, DEMO_LAYOUT['classes']), data_root=root,
                                    ann_file=f'{DEMO_LAYOUT["split_dir"]}/{split}.txt',
                                    data_prefix=dict(img_path=DEMO_LAYOUT['img_dir'],
                                                     seg_map_path=DEMO_LAYOUT['mask_dir']))
        assert [dataset.get_data_info(k)['img_id'] for k in range(len(dataset))] == manifest['splits'][split]
        for k in range(len(dataset)):
            info = dataset.get_data_info(k)
            record = manifest['images'][info['img_id']]
            assert sorted(info['label_indices']) == record['labels'] != []
            assert record['labels'] == sorted({obj['class'] for obj in record['objects']})
            mask = png(root, 'mask_dir', info['img_id'])
            assert all((mask == c + 1).sum() >= min_area for c in record['labels'])
    assert any(len(r['labels']) > 1 for r in manifest['images'].values())  # multi-label images exist


# ------------------------------------------------------------------------------------- under-activation
def test_each_part_is_a_small_piece_inside_a_large_body(demo):
    _, manifest = demo
    for record in manifest['images'].values():
        hw = tuple(record['size'])
        for obj in record['objects']:
            body, spot = polygon2mask(hw, obj['body']), polygon2mask(hw, obj['part'])
            assert not (spot & ~body).any()  # the part lies on the body
            assert obj['area'] == body.sum() and obj['part_area'] == spot.sum()
            assert 0.07 <= obj['part_area'] / obj['area'] <= 0.13
            assert obj['area'] >= 0.03 * hw[0] * hw[1]  # a large object, not a speck
            assert obj['visible_area'] >= 0.5 * obj['area'] and obj['visible_part_area'] >= 0.5 * obj['part_area']


def _object_colours(root, manifest, split):
    """Mean JPEG colour of each visible object's part and of its body without the part, away from edges."""
    rows = []
    for image_id in manifest['splits'][split]:
        record = manifest['images'][image_id]
        image = read_image(osp.join(root, DEMO_LAYOUT['img_dir'], image_id + '.jpg')).astype(np.float32)
        hw = tuple(record['size'])
        label, part = png(root, 'mask_dir', image_id), png(root, 'part_dir', image_id)
        taken = np.zeros(hw, bool)
        for obj in reversed(record['objects']):  # top-most first: each pixel belongs to the object on top
            full = (polygon2mask(hw, obj['body']) | polygon2mask(hw, obj['part'])) & ~taken
            taken |= full
            on_part = binary_erosion(full & (part > 0))
            on_body = binary_erosion(full & (part == 0) & (label > 0))
            if on_part.sum() >= 10 and on_body.sum() >= 50:
                rows.append((obj['class'], image[on_part].mean(0), image[on_body].mean(0)))
    classes = np.array([r[0] for r in rows])
    return classes, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def _nearest_centroid_accuracy(train_x, train_y, test_x, test_y, num_classes):
    centroids = np.stack([train_x[train_y == k].mean(0) for k in range(num_classes)])
    predicted = np.argmin(((test_x[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    return float((predicted == test_y).mean())


def test_only_the_part_tells_the_class(demo):
    """Under-activation by construction: the part's colour identifies the class, the body's does not."""
    root, manifest = demo
    train_y, train_part, train_body = _object_colours(root, manifest, 'train')
    held = [_object_colours(root, manifest, s) for s in ('val', 'test')]
    test_y = np.concatenate([h[0] for h in held])
    test_part, test_body = np.concatenate([h[1] for h in held]), np.concatenate([h[2] for h in held])
    assert len(test_y) >= 20 and set(train_y) == set(range(5))
    assert _nearest_centroid_accuracy(train_part, train_y, test_part, test_y, 5) >= 0.95
    assert _nearest_centroid_accuracy(train_body, train_y, test_body, test_y, 5) <= 0.2 + 0.25


# ------------------------------------------------------------------------------------- over-activation
def test_textures_cooccur_with_their_class_and_are_background(demo):
    """Over-activation by construction: texture k appears with class k at the configured rate, more often than
    without it, and is labelled background."""
    root, manifest = demo
    stats = demo_statistics(manifest)
    p, q = manifest['config']['cooccurrence_prob'], manifest['config']['texture_without_class_prob']
    assert (p, q) == (0.4, 0.15)  # the defaults: a moderate cue that also appears without its class
    pairs = sum(len(r['labels']) for r in manifest['images'].values())
    absent = sum(5 - len(r['labels']) for r in manifest['images'].values())
    with_class = sum(len({b['class'] for b in r['textures']} & set(r['labels'])) for r in manifest['images'].values())
    without = sum(len({b['class'] for b in r['textures']} - set(r['labels'])) for r in manifest['images'].values())
    assert pairs >= 80
    assert abs(with_class / pairs - p) <= 3 * (p * (1 - p) / pairs) ** 0.5       # within 3 sd of the setting
    # without the class: at most q (a fourth band is dropped when all four sides are taken), and not far below
    assert q - 3 * (q * (1 - q) / absent) ** 0.5 - 0.03 <= without / absent <= q + 3 * (q * (1 - q) / absent) ** 0.5
    assert stats['texture_given_class'] == round(with_class / pairs, 3)
    assert stats['texture_without_class'] == round(without / absent, 3)
    # a texture predicts its class better than the base rate, yet far from always
    base_rate = pairs / (pairs + absent)
    assert base_rate + 0.15 <= stats['class_given_texture'] <= 0.85
    shown = 0
    for image_id, record in manifest['images'].items():
        texture, label = png(root, 'texture_dir', image_id), png(root, 'mask_dir', image_id)
        assert not (label[texture > 0]).any()  # a texture is background in the ground truth
        for band in record['textures']:
            assert band['with_class'] == (band['class'] in record['labels'])
            assert band['texture'] == manifest['class_styles'][band['class']]['texture']
            shown += band['visible_area'] >= 0.05 * 160 * 160
    assert shown >= 0.9 * sum(len(r['textures']) for r in manifest['images'].values())  # bands stay visible


def test_cooccurrence_probability_is_obeyed_at_its_extremes(tmp_path):
    always = make_demo_dataset(str(tmp_path / 'always'), cooccurrence_prob=1.0, texture_without_class_prob=0.0,
                               **dict(TINY, num_train=8))
    for record in always['images'].values():
        assert sorted(b['class'] for b in record['textures']) == record['labels']
    never = make_demo_dataset(str(tmp_path / 'never'), cooccurrence_prob=0.0, texture_without_class_prob=0.0,
                              **dict(TINY, num_train=8))
    assert all(record['textures'] == [] for record in never['images'].values())
    for image_id in never['images']:
        assert not png(str(tmp_path / 'never'), 'texture_dir', image_id).any()


# ------------------------------------------------------------------------------------- tool
def test_cli_writes_the_dataset_and_an_overview(tmp_path, monkeypatch, capsys):
    root, show = str(tmp_path / 'demo'), str(tmp_path / 'show')
    argv = ['make_demo_data.py', root, '--num-train', '4', '--num-val', '1', '--num-test', '1',
            '--image-size', '96', '128', '--num-classes', '6', '--show-dir', show, '--show-num', '3']
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'make_demo_data.py'), run_name='__main__')
    out = capsys.readouterr().out
    assert 'wrote demo dataset' in out and 'texture_given_class' in out
    manifest = load_demo_manifest(root)
    assert manifest['config']['image_size'] == [96, 128] and len(manifest['classes']) == 6
    sheet = Image.open(osp.join(show, 'demo_overview.png'))
    assert sheet.width > 3 * 128 and sheet.height > 3 * 96
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'make_demo_data.py'), run_name='__main__')
    assert 'found complete' in capsys.readouterr().out


def test_the_demo_pipeline_list_is_every_training_image_and_the_shown_test_images(tmp_path):
    from mmssc.datasets.demo_scenes import PIPELINE_LIST, write_pipeline_list
    splits = dict(train=['t0', 't1', 't2'], val=['v0'], test=['s0', 's1', 's2', 's3'])
    assert write_pipeline_list(str(tmp_path), splits, 2) == ['t0', 't1', 't2', 's0', 's1']
    assert (tmp_path / PIPELINE_LIST).read_text().split() == ['t0', 't1', 't2', 's0', 's1']
    # no overlays: the training images only; more than there are: every test image
    assert write_pipeline_list(str(tmp_path), splits, 0) == ['t0', 't1', 't2']
    assert write_pipeline_list(str(tmp_path), splits, 10)[3:] == splits['test']
    assert (tmp_path / PIPELINE_LIST).read_text().split() == ['t0', 't1', 't2', 's0', 's1', 's2', 's3']
    assert sorted(p.name for p in (tmp_path / PIPELINE_LIST).parent.iterdir()) == ['train_test.txt']  # no temp left
