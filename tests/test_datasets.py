"""``cam_classifier`` datasets and transforms on the generated toy data (docs/method.md, 'cam_classifier',
'Superpixels')."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.dataset import Compose
from PIL import Image

import mmssc  # noqa: F401
from mmssc.datasets import (COCOClsDataset, ImageLabelDataset, VOC_CLASSES, VOCClsDataset, read_label_file)
from mmssc.datasets.toy_voc import LAYOUT
from mmssc.fileio import read_label_png
from mmssc.stage_files import read_superpixels, write_superpixels

VOC_PREFIX = dict(img_path=LAYOUT['img_dir'], seg_map_path=LAYOUT['mask_dir'],
                  superpixel_path=LAYOUT['superpixel_dir'])


def voc(root, **kwargs):
    kwargs.setdefault('ann_file', 'ImageSets/Segmentation/train.txt')
    kwargs.setdefault('data_prefix', VOC_PREFIX)
    return VOCClsDataset(data_root=root, **kwargs)


def copy_toy(toy_voc, tmp_path):
    root = str(tmp_path / 'voc')
    shutil.copytree(toy_voc[0], root)
    return root


# ---------------------------------------------------------------- labels
def test_voc_labels_from_masks_match_what_was_drawn(toy_voc):
    root, drawn = toy_voc
    ds = voc(root, superpixels='required')
    train_ids = [i for i, d in drawn.items() if d['split'] == 'train']
    assert [ds.get_data_info(k)['img_id'] for k in range(len(ds))] == train_ids
    for k in range(len(ds)):
        info = ds.get_data_info(k)
        expected = np.zeros(20, np.float32)
        expected[[c - 1 for c in drawn[info['img_id']]['labels']]] = 1
        np.testing.assert_array_equal(info['gt_label'], expected)
    assert ds.metainfo['classes'] == VOC_CLASSES


def test_label_file_formats_agree(toy_voc, tmp_path):
    root, drawn = toy_voc
    ids = [i for i, d in drawn.items() if d['split'] == 'train']
    names = {i: [VOC_CLASSES[c - 1] for c in drawn[i]['labels']] for i in ids}
    (tmp_path / 'list.csv').write_text('image,labels\n' + ''.join(f'{i}.jpg,{";".join(n)}\n' for i, n in names.items()))
    (tmp_path / 'hot.csv').write_text('image,' + ','.join(VOC_CLASSES) + '\n' + ''.join(
        i + ',' + ','.join('1' if c in n else '0' for c in VOC_CLASSES) + '\n' for i, n in names.items()))
    (tmp_path / 'map.json').write_text(json.dumps(names))
    (tmp_path / 'list.json').write_text(json.dumps([dict(image=i, labels=n) for i, n in names.items()]))
    expected = {i: sorted(c - 1 for c in drawn[i]['labels']) for i in ids}
    for name in ('list.csv', 'hot.csv', 'map.json', 'list.json'):
        assert read_label_file(str(tmp_path / name), VOC_CLASSES) == expected, name
    ds = voc(root, label_file=str(tmp_path / 'list.csv'))
    by_mask = voc(root)
    for k in range(len(ds)):
        np.testing.assert_array_equal(ds.get_data_info(k)['gt_label'], by_mask.get_data_info(k)['gt_label'])


def test_generic_dataset_on_a_plain_image_folder(toy_voc, tmp_path):
    root, drawn = toy_voc
    (tmp_path / 'images').mkdir()
    chosen = sorted(drawn)[:5]
    for i in chosen:
        shutil.copy(osp.join(root, LAYOUT['img_dir'], i + '.jpg'), tmp_path / 'images')
    (tmp_path / 'classes.txt').write_text('# my classes\n' + '\n'.join(VOC_CLASSES) + '\n')
    (tmp_path / 'labels.json').write_text(json.dumps({i: [c - 1 for c in drawn[i]['labels']] for i in chosen}))
    ds = ImageLabelDataset(data_root=str(tmp_path), classes='classes.txt', label_file='labels.json',
                           data_prefix=dict(img_path='images'))
    assert len(ds) == 5 and ds.metainfo['classes'] == VOC_CLASSES
    assert all(ds.get_data_info(k)['gt_label'].sum() == len(drawn[chosen[k]]['labels']) for k in range(5))


def test_coco_labels_from_instances(tmp_path):
    (tmp_path / 'imgs').mkdir()
    for name in ('a.jpg', 'b.jpg', 'c.jpg'):
        Image.new('RGB', (8, 8)).save(tmp_path / 'imgs' / name)
    instances = dict(
        categories=[dict(id=1, name='person'), dict(id=3, name='car'), dict(id=90, name='toothbrush')],
        images=[dict(id=10, file_name='a.jpg'), dict(id=11, file_name='b.jpg'), dict(id=12, file_name='c.jpg')],
        annotations=[dict(id=k, image_id=image, category_id=cat, segmentation=[[1, 1, 5, 1, 5, 5]], iscrowd=0)
                     for k, (image, cat) in enumerate([(10, 90), (10, 1), (11, 3), (11, 3)])])
    (tmp_path / 'inst.json').write_text(json.dumps(instances))
    ds = COCOClsDataset(data_root=str(tmp_path), instances_file='inst.json', data_prefix=dict(img_path='imgs'))
    classes = ds.metainfo['classes']
    assert len(classes) == 80 and len(ds) == 2          # c.jpg has no annotation: not usable, left out
    a, b = ds.get_data_info(0), ds.get_data_info(1)
    assert a['img_id'] == 'a' and set(np.flatnonzero(a['gt_label'])) == {0, classes.index('toothbrush')}
    assert set(np.flatnonzero(b['gt_label'])) == {classes.index('car')}


# ---------------------------------------------------------------- transforms
def _pipeline(crop, lo, hi):
    return Compose([dict(type='LoadImageRGB'), dict(type='LoadSuperpixels'),
                    dict(type='RandomLongSideResize', min_size=lo, max_size=hi),
                    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                    dict(type='RandomCropWithPad', crop_size=crop),
                    dict(type='RelabelSuperpixels'), dict(type='PackClsInputs')])


def _block_image(tmp_path, h=90, w=140, block=10, seed=0):
    """An image whose colour encodes its superpixel: each block has its own id and its own colour."""
    rng = np.random.default_rng(seed)
    nb_y, nb_x = -(-h // block), -(-w // block)
    ids = rng.permutation(nb_y * nb_x).reshape(nb_y, nb_x) * 300       # ids above 255 too
    ids = np.kron(ids, np.ones((block, block), np.int64))[:h, :w]
    colours = rng.integers(0, 256, (ids.max() + 1, 3))
    img = colours[ids].astype(np.uint8)
    Image.fromarray(img).save(tmp_path / 'img.png')
    write_superpixels(str(tmp_path / 'sp.png'), ids)
    return img, ids, colours


def test_image_and_superpixels_stay_aligned(tmp_path):
    _, _, colours = _block_image(tmp_path)
    info = dict(img_path=str(tmp_path / 'img.png'), superpixel_path=str(tmp_path / 'sp.png'),
                gt_label=np.ones(3, np.float32))
    mean = np.array([123.675, 116.28, 103.53])
    for seed in range(12):
        np.random.seed(seed)
        out = _pipeline(crop=128, lo=64, hi=200)(dict(info))
        img = out['inputs'].numpy().transpose(1, 2, 0)
        sp = out['data_samples'].gt_superpixels.data[0].numpy()
        assert img.shape[:2] == sp.shape == (128, 128)
        assert sorted(np.unique(sp)) == list(range(len(np.unique(sp))))       # relabelled to 0..n-1
        pad = np.all(img == mean.astype(np.float32), axis=-1)
        # the padding is exactly one superpixel id and nothing else carries it
        if pad.any():
            assert len(np.unique(sp[pad])) == 1 and not np.any(sp[~pad] == sp[pad][0])
        # interior pixels (3x3 neighbourhood in one region): colour identifies the region, one-to-one
        interior = np.ones_like(sp, bool)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                interior &= np.roll(sp, (dy, dx), (0, 1)) == sp
        interior[[0, -1], :] = interior[:, [0, -1]] = False
        interior &= ~pad
        colour_of_region = {}
        for region in np.unique(sp[interior]):
            pix = img[interior & (sp == region)]
            nearest = np.abs(colours[None] - pix.mean(0)[None, None]).sum(-1).argmin()
            assert np.abs(pix - colours[nearest]).max() < 40      # bicubic overshoot stays small
            colour_of_region[region] = nearest
        assert len(set(colour_of_region.values())) == len(colour_of_region)


def test_flip_and_crop_are_exact_on_both(tmp_path):
    img, ids, colours = _block_image(tmp_path, h=60, w=50, block=7, seed=1)
    info = dict(img_path=str(tmp_path / 'img.png'), superpixel_path=str(tmp_path / 'sp.png'))
    steps = Compose([dict(type='LoadImageRGB'), dict(type='LoadSuperpixels'),
                     dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                     dict(type='RandomCropWithPad', crop_size=56)])
    flips = set()
    for seed in range(10):
        np.random.seed(seed)
        out = steps(dict(info))
        sp, im = out['gt_superpixels'], out['img']
        real = sp > 0
        assert np.all(sp[~real] == 0) and np.all(im[~real] == np.float32([123.675, 116.28, 103.53]))
        np.testing.assert_array_equal(im[real], colours[sp[real] - 1])   # +1 offset; colour == region exactly
        flips.add(out['flip'])
    assert flips == {True, False}


def test_long_side_is_drawn_from_the_inclusive_range(tmp_path):
    _block_image(tmp_path, h=90, w=140)
    info = dict(img_path=str(tmp_path / 'img.png'), superpixel_path=str(tmp_path / 'sp.png'))
    resize = Compose([dict(type='LoadImageRGB'), dict(type='LoadSuperpixels'),
                      dict(type='RandomLongSideResize', min_size=100, max_size=103)])
    seen = set()
    for seed in range(60):
        np.random.seed(seed)
        out = resize(dict(info))
        h, w = out['img'].shape[:2]
        assert out['gt_superpixels'].shape == (h, w)
        seen.add(max(h, w))
        assert h == round(90 * w / 140) or abs(h - 90 * max(h, w) / 140) <= 0.5
    assert seen == {100, 101, 102, 103}


# ---------------------------------------------------------------- bad input
def test_missing_image_names_the_file(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    victim = osp.join(root, LAYOUT['img_dir'], sorted(toy_voc[1])[0] + '.jpg')
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=victim):
        voc(root)


def test_corrupt_image_names_the_file(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    victim = osp.join(root, LAYOUT['img_dir'], sorted(toy_voc[1])[0] + '.jpg')
    with open(victim, 'wb') as f:
        f.write(b'not a jpeg at all')
    ds = voc(root, superpixels='required', pipeline=[dict(type='LoadImageRGB')])
    with pytest.raises(ValueError, match=victim):
        ds[0]


def test_missing_superpixel_map_when_required(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    victim = osp.join(root, LAYOUT['superpixel_dir'], sorted(toy_voc[1])[1] + '.png')
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=victim):
        voc(root, superpixels='required')
    voc(root)  # superpixels not needed: fine


def test_superpixel_map_of_the_wrong_size(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    victim = osp.join(root, LAYOUT['superpixel_dir'], sorted(toy_voc[1])[0] + '.png')
    write_superpixels(victim, read_superpixels(victim)[:-3])
    ds = voc(root, superpixels='required', pipeline=[dict(type='LoadImageRGB'), dict(type='LoadSuperpixels')])
    with pytest.raises(ValueError, match=victim):
        ds[0]


def test_unknown_class_and_empty_label_and_unlisted_image(toy_voc, tmp_path):
    root, drawn = toy_voc
    ids = [i for i, d in drawn.items() if d['split'] == 'train']
    bad = tmp_path / 'unknown.csv'
    bad.write_text('image,labels\n' + ''.join(f'{i},cat\n' for i in ids[:-1]) + f'{ids[-1]},unicorn\n')
    with pytest.raises(ValueError, match=f"(?s){bad}.*{ids[-1]}.*unicorn"):
        voc(root, label_file=str(bad))
    empty = tmp_path / 'empty.csv'
    empty.write_text('image,labels\n' + ''.join(f'{i},cat\n' for i in ids[:-1]) + f'{ids[-1]},\n')
    with pytest.raises(ValueError, match=f'{ids[-1]}.*empty label set'):
        voc(root, label_file=str(empty))
    short = tmp_path / 'short.csv'
    short.write_text('image,labels\n' + ''.join(f'{i},cat\n' for i in ids[:-1]))
    with pytest.raises(ValueError, match=f'{ids[-1]}.*no entry.*{short}'):
        voc(root, label_file=str(short))


def test_background_only_mask_is_an_empty_label_set(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    first = sorted(toy_voc[1])[0]
    mask_path = osp.join(root, LAYOUT['mask_dir'], first + '.png')
    Image.fromarray(np.zeros_like(read_label_png(mask_path))).save(mask_path)
    with pytest.raises(ValueError, match=f'{first}.*empty label set'):
        voc(root)


def test_wrong_config_values_name_the_key(toy_voc):
    root = toy_voc[0]
    with pytest.raises(ValueError, match='superpixels='):
        voc(root, superpixels='yes')
    with pytest.raises(ValueError, match='superpixel_path'):
        voc(root, superpixels='required', data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'))
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        voc(root, ann_file='nope.txt')


def test_atomic_writes_leave_no_temporary_and_normal_permissions(tmp_path):
    import stat
    from mmssc.fileio import atomic_path
    target = tmp_path / 'out.png'
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            open(tmp, 'w').write('half')
            raise RuntimeError('interrupted')
    assert os.listdir(tmp_path) == []                      # nothing half-written survives
    write_superpixels(str(target), np.arange(12).reshape(3, 4))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~mask


def test_missing_superpixels_are_generated_and_cached_in_generate_mode(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    first = sorted(i for i, d in toy_voc[1].items() if d['split'] == 'train')[0]
    victim = osp.join(root, LAYOUT['superpixel_dir'], first + '.png')
    os.remove(victim)
    ds = voc(root, superpixels='generate', pipeline=[dict(type='LoadImageRGB'), dict(type='LoadSuperpixels')])
    item = ds[0]
    assert osp.isfile(victim)                                     # cached for the next epoch / run
    cached = read_superpixels(victim)
    np.testing.assert_array_equal(item['gt_superpixels'], cached + 1)
    assert cached.shape == item['img'].shape[:2] and len(np.unique(cached)) <= 64


# ---------------------------------------------------------------- label_source: VOC XML annotations vs masks
def voc_xml(*objects, parts=()) -> str:
    """A VOC annotation: (name, difficult) objects; ``parts`` are body-part names inside the first object."""
    body = []
    for n, (name, difficult) in enumerate(objects):
        part = ''.join(f'<part><name>{p}</name><bndbox/></part>' for p in parts) if n == 0 else ''
        body.append(f'<object>\n  <name> {name} </name><pose>Left</pose><truncated>1</truncated>'
                    f'<difficult>{difficult}</difficult>{part}</object>')
    return '<annotation><folder>VOC2012</folder><filename>x.jpg</filename>' + ''.join(body) + '</annotation>'


def write_annotations(root: str, ids, drawn) -> dict:
    """XML for every id: image 0 adds a difficult 'sofa' that no mask shows, image 1 a person with parts, the
    rest their drawn classes. Returns the labels (0-based) each should give."""
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    expected = {}
    for n, image_id in enumerate(ids):
        objects = [(VOC_CLASSES[c - 1], 0) for c in drawn[image_id]['labels']]
        parts = ()
        if n == 0:
            objects.append(('sofa', 1))
        if n == 1:
            objects.insert(0, ('person', 0))
            parts = ('head', 'hand', 'foot')
        with open(osp.join(root, 'Annotations', image_id + '.xml'), 'w') as f:
            f.write(voc_xml(*objects, parts=parts))
        expected[image_id] = sorted({VOC_CLASSES.index(name) for name, _ in objects})
    return expected


def labels_of(ds) -> dict:
    return {ds.get_data_info(k)['img_id']: ds.get_data_info(k)['label_indices'] for k in range(len(ds))}


def test_xml_labels_are_every_class_named_in_the_annotation(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    drawn = toy_voc[1]
    ids = [i for i, d in drawn.items() if d['split'] == 'train']
    expected = write_annotations(root, ids, drawn)
    assert VOC_CLASSES.index('sofa') in expected[ids[0]]  # a class in the XML and not in the mask
    for source in ('xml', 'auto'):  # auto: the Annotations folder exists
        ds = voc(root, label_source=source)
        assert labels_of(ds) == expected, source
        assert ds.describe_labels() == f"XML annotations in {osp.join(root, 'Annotations')}"
    by_mask = labels_of(voc(root, label_source='masks'))
    assert by_mask == {i: sorted(c - 1 for c in drawn[i]['labels']) for i in ids}
    assert by_mask[ids[0]] != expected[ids[0]]


def test_auto_falls_back_to_masks_without_annotations(toy_voc):
    root, drawn = toy_voc
    ds = voc(root)  # the toy set has no Annotations/
    assert ds.label_source == 'auto' and not ds.uses_xml()
    assert ds.describe_labels().startswith('masks in ')


def test_xml_label_errors_name_the_file_or_key(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    drawn = toy_voc[1]
    ids = [i for i, d in drawn.items() if d['split'] == 'train']
    with pytest.raises(FileNotFoundError, match=rf"XML annotations missing:\n  .*Annotations/{ids[0]}\.xml"):
        voc(root, label_source='xml')
    write_annotations(root, ids, drawn)
    bad = osp.join(root, 'Annotations', ids[2] + '.xml')
    with open(bad, 'w') as f:
        f.write('<annotation><object><name>dog</name>')  # truncated file
    with pytest.raises(ValueError, match=rf'cannot parse XML annotation .*{ids[2]}\.xml'):
        voc(root, label_source='xml')
    with open(bad, 'w') as f:
        f.write(voc_xml(('unicorn', 0), parts=('head',)))  # no VOC class at all
    with pytest.raises(ValueError, match=rf"image '{ids[2]}' has an empty label set \(XML annotations in "):
        voc(root, label_source='xml')
    with pytest.raises(ValueError, match=r"label_source='json': expected one of auto, xml, masks"):
        voc(root, label_source='json')
    with pytest.raises(ValueError, match=r"ImageLabelDataset: label_source='xml': expected one of auto, masks"):
        ImageLabelDataset(data_root=root, classes=VOC_CLASSES, label_source='xml',
                          data_prefix=dict(img_path=LAYOUT['img_dir']))


def test_label_file_takes_precedence_over_xml(toy_voc, tmp_path):
    root = copy_toy(toy_voc, tmp_path)
    drawn = toy_voc[1]
    ids = [i for i, d in drawn.items() if d['split'] == 'train']
    from_xml = write_annotations(root, ids, drawn)          # image 0's XML adds 'sofa'
    label_file = tmp_path / 'labels.csv'
    label_file.write_text('image,labels\n' + ''.join(f'{i},dog\n' for i in ids))
    for source in ('xml', 'auto', 'masks'):
        ds = voc(root, label_source=source, label_file=str(label_file))
        assert not ds.uses_xml() and ds.describe_labels() == str(label_file), source
        assert labels_of(ds) == {i: [VOC_CLASSES.index('dog')] for i in ids}, source
    assert labels_of(voc(root, label_source='xml')) == from_xml
