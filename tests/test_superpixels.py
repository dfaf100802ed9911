"""Superpixel generation (docs/method.md, 'Superpixels'): region bound, coverage, determinism, connectivity, the ICD
feature path, the 24-bit PNG id encoding , caching, and the CLI (resume, atomicity, errors).

Real photos are scikit-image's bundled samples, resized to VOC's typical 500×375.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from skimage import data, transform
from skimage.measure import label as connected_components

from mmssc.stage_files import read_superpixels, write_superpixels
from mmssc.superpixels import load_or_make_superpixels, make_superpixels, selective_merge
from mmssc.superpixels.regions import adjacent_pairs, contiguous_labels, felzenszwalb_regions
from mmssc.superpixels.similarity import FeatureSimilarity, SelectiveSearchSimilarity, region_mean_features

from conftest import REPO_ROOT, load_tool  # noqa: E402

TOOL = osp.join(REPO_ROOT, 'tools', 'make_superpixels.py')
PHOTOS = ('astronaut', 'chelsea', 'coffee')


def _photo(name: str, height: int = 375, width: int = 500) -> np.ndarray:
    resized = transform.resize(getattr(data, name)(), (height, width), anti_aliasing=True)
    return np.rint(resized * 255).astype(np.uint8)


_PHOTO_CACHE: dict = {}
_RESULT_CACHE: dict = {}


def photo(name: str) -> np.ndarray:
    if name not in _PHOTO_CACHE:
        _PHOTO_CACHE[name] = _photo(name)
    return _PHOTO_CACHE[name]


def superpixels_of(name: str, max_regions: int):
    """make_superpixels(photo, max_regions) with its MergeInfo, computed once per test session."""
    key = (name, max_regions)
    if key not in _RESULT_CACHE:
        _RESULT_CACHE[key] = make_superpixels(photo(name), max_regions=max_regions, return_info=True)
    return _RESULT_CACHE[key]


def assert_contiguous_cover(ids: np.ndarray, shape, max_regions: int) -> int:
    """Every pixel has an id, ids are exactly 0..n-1, and n ≤ max_regions; returns n."""
    assert ids.shape == tuple(shape)
    assert ids.dtype == np.int64
    present = np.unique(ids)
    n = present.size
    np.testing.assert_array_equal(present, np.arange(n))
    assert 1 <= n <= max_regions
    return n


# --------------------------------------------------------------------------------------------- API

@pytest.mark.parametrize('name', PHOTOS)
@pytest.mark.parametrize('max_regions', [64, 16])
def test_region_bound_and_full_coverage_on_photos(name, max_regions):
    ids, info = superpixels_of(name, max_regions)
    n = assert_contiguous_cover(ids, photo(name).shape[:2], max_regions)
    # Felzenszwalb over-segments these photos, so greedy merging stops exactly at the bound.
    assert info.initial_regions > max_regions
    assert n == max_regions == info.final_regions
    assert info.adjacent_merges + info.global_merges == info.initial_regions - n


def test_deterministic():
    first = superpixels_of('chelsea', 64)[0]
    second = make_superpixels(photo('chelsea').copy(), max_regions=64)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize('name', PHOTOS)
def test_adjacent_merging_keeps_regions_connected(name):
    initial, n_initial = felzenszwalb_regions(photo(name), sigma=0.8, scale=75, min_size=75)
    # Premise: each Felzenszwalb region is one 8-connected piece (its graph is the 8-neighbourhood).
    assert all(connected_components(initial == k, connectivity=2).max() == 1 for k in range(n_initial))
    ids, info = superpixels_of(name, 64)
    assert info.global_merges == 0  # a photo's region graph is connected: no fallback needed
    for region in range(ids.max() + 1):
        assert connected_components(ids == region, connectivity=2).max() == 1, f'region {region} is split'


def test_merging_coarsens_the_initial_segmentation():
    """Final regions are unions of Felzenszwalb regions: no initial region is split."""
    image = photo('coffee')
    initial, _ = felzenszwalb_regions(image, sigma=0.8, scale=75, min_size=75)
    ids = superpixels_of('coffee', 64)[0]
    pairs = np.unique(initial.ravel() * 64 + ids.ravel())
    assert np.unique(pairs // 64).size == pairs.size  # each initial label maps to exactly one final id


def _voronoi_labels(height, width, n_cells, seed):
    """A label map of n_cells convex (hence connected) cells around random seeds."""
    rng = np.random.default_rng(seed)
    seeds = rng.random((n_cells, 2)) * (height, width)
    yy, xx = np.mgrid[:height, :width]
    distance = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    labels, n = contiguous_labels(distance.argmin(axis=-1))
    return labels, n


def _brute_force_merge(labels, n_regions, model, max_regions, adjacent_only):
    """Reference: rescore every candidate pair at every step and merge the best (ties: smallest pair)."""
    current = labels.copy()
    while np.unique(current).size > max_regions:
        if adjacent_only:
            first, second = adjacent_pairs(current, n_regions)
        else:
            alive = np.unique(current)
            first, second = (alive[index] for index in np.triu_indices(alive.size, 1))
        best = int(np.argmax(model.similarity(first, second)))
        keep, drop = int(first[best]), int(second[best])
        model.merge(keep, drop)
        current[current == drop] = keep
    return current


def _same_partition(a, b):
    pairs = np.unique(a.ravel().astype(np.int64) * (b.max() + 1) + b.ravel())
    return pairs.size == np.unique(a).size == np.unique(b).size


@pytest.mark.parametrize('adjacent_only', [True, False])
@pytest.mark.parametrize('use_features', [False, True])
def test_greedy_merge_matches_brute_force(adjacent_only, use_features):
    """The heap / best-partner bookkeeping merges exactly the pairs an exhaustive search would."""
    labels, n_regions = _voronoi_labels(48, 64, 40, seed=4)
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (48, 64, 3)).astype(np.uint8)
    features = rng.random((12, 16, 8)).astype(np.float32)

    def model():
        if use_features:
            return FeatureSimilarity(features, labels, n_regions)
        return SelectiveSearchSimilarity(image, labels, n_regions)
    lookup, info = selective_merge.greedy_merge(labels, n_regions, model(), 6, adjacent_only=adjacent_only)
    reference = _brute_force_merge(labels, n_regions, model(), 6, adjacent_only)
    assert (info.global_merges == 0) == adjacent_only
    assert _same_partition(lookup[labels], reference)


def test_global_fallback_keeps_the_bound(monkeypatch):
    """With no adjacent pair available, merging falls back to global pairs and still reaches N."""
    empty = np.zeros(0, np.int64)
    monkeypatch.setattr(selective_merge, 'adjacent_pairs', lambda labels, n: (empty, empty))
    ids, info = make_superpixels(photo('astronaut'), max_regions=20, return_info=True)
    assert_contiguous_cover(ids, photo('astronaut').shape[:2], 20)
    assert info.adjacent_merges == 0 and info.global_merges == info.initial_regions - 20


def test_small_image_with_few_regions_is_only_relabelled():
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 15:] = (200, 30, 30)
    ids, info = make_superpixels(image, max_regions=64, return_info=True)
    assert info.initial_regions < 64
    assert_contiguous_cover(ids, image.shape[:2], 64)
    assert ids.max() + 1 == info.initial_regions and info.adjacent_merges == info.global_merges == 0


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match='H×W×3 uint8'):
        make_superpixels(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='H×W×3 uint8'):
        make_superpixels(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match='max_regions'):
        make_superpixels(np.zeros((10, 10, 3), np.uint8), max_regions=0)


# ---------------------------------------------------------------------------- ICD's feature path

def test_feature_similarity_merges_globally_by_feature():
    """ICD's rule: cosine of mean features decides, with no adjacency constraint (docs/method.md, 'Superpixels').

    A 4×4 grid of blocks whose features form a checkerboard: same-feature blocks never share an edge,
    yet with N = 2 they must end up as the two checkerboard colours (cosine 1 within, 0 across, which
    outweighs any size term).
    """
    height, width, blocks = 60, 80, 4
    block_row = (np.arange(height) * blocks // height)[:, None]
    block_col = (np.arange(width) * blocks // width)[None, :]
    labels = block_row * blocks + block_col
    checker = (block_row + block_col) % 2
    features = np.stack([checker, 1 - checker], axis=-1).astype(np.float32)
    model = FeatureSimilarity(features, labels, blocks * blocks)
    lookup, info = selective_merge.greedy_merge(labels, blocks * blocks, model, 2, adjacent_only=False)
    ids = lookup[labels]
    assert info.global_merges == blocks * blocks - 2 and info.adjacent_merges == 0
    assert np.array_equal(ids, checker) or np.array_equal(ids, 1 - checker)


def test_feature_path_bound_and_determinism_on_a_photo():
    image = photo('chelsea')
    features = np.random.default_rng(1).random((24, 32, 16)).astype(np.float32)
    first = make_superpixels(image, max_regions=32, features=features)
    second = make_superpixels(image, max_regions=32, features=features)
    assert assert_contiguous_cover(first, image.shape[:2], 32) == 32
    np.testing.assert_array_equal(first, second)


def test_feature_path_premerges_adjacent_regions_above_the_matrix_limit(monkeypatch):
    """Global merging holds an m×m matrix, so above the limit adjacent pairs are merged down to it first."""
    monkeypatch.setattr(selective_merge, 'GLOBAL_MATRIX_LIMIT', 40)
    image = photo('coffee')
    features = np.random.default_rng(6).random((12, 16, 4)).astype(np.float32)
    ids, info = make_superpixels(image, max_regions=10, features=features, return_info=True)
    assert info.initial_regions > 40
    assert info.adjacent_merges == info.initial_regions - 40 and info.global_merges == 30
    assert assert_contiguous_cover(ids, image.shape[:2], 10) == 10


def test_region_mean_features_equal_means_of_the_resized_map():
    cv2 = pytest.importorskip('cv2')
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 7, (23, 31))
    features = rng.random((5, 8, 3)).astype(np.float32)
    resized = cv2.resize(features, (31, 23), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    expected = np.stack([resized[labels == k].mean(axis=0) for k in range(7)])
    np.testing.assert_allclose(region_mean_features(features, labels, 7), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------- PNG encoding, caching

def test_png_id_encoding_round_trip_above_8_and_16_bits(tmp_path):
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 2**24, (17, 19))
    ids.ravel()[:8] = [0, 1, 255, 256, 65535, 65536, 65537, 2**24 - 1]
    path = str(tmp_path / 'ids.png')
    write_superpixels(path, ids)
    np.testing.assert_array_equal(read_superpixels(path), ids)
    with Image.open(path) as stored:  # the distributed files' format: 3×8-bit RGB, R the low byte
        assert stored.mode == 'RGB'
        np.testing.assert_array_equal(np.asarray(stored)[..., 0], ids & 255)


def test_generated_superpixels_round_trip(tmp_path):
    ids = superpixels_of('astronaut', 64)[0]
    path = str(tmp_path / 'astronaut.png')
    write_superpixels(path, ids)
    np.testing.assert_array_equal(read_superpixels(path), ids)


def test_load_or_make_generates_caches_then_reads(tmp_path, monkeypatch):
    image = _photo('chelsea', 120, 160)
    path = str(tmp_path / 'cache' / 'chelsea.png')
    made = load_or_make_superpixels(image, path, max_regions=16)
    assert osp.isfile(path)
    assert_contiguous_cover(made, image.shape[:2], 16)
    np.testing.assert_array_equal(read_superpixels(path), made)

    def must_not_generate(*args, **kwargs):
        raise AssertionError('a cached map must be read, not regenerated')
    monkeypatch.setattr('mmssc.superpixels.api.make_superpixels', must_not_generate)
    np.testing.assert_array_equal(load_or_make_superpixels(image, path, max_regions=16), made)
    with pytest.raises(ValueError, match='chelsea.png'):
        load_or_make_superpixels(image[:100], path)


def test_load_or_make_without_cache_writes_nothing(tmp_path):
    image = _photo('coffee', 90, 120)
    path = str(tmp_path / 'coffee.png')
    ids = load_or_make_superpixels(image, path, max_regions=8, cache=False)
    assert not osp.exists(path)
    assert_contiguous_cover(ids, image.shape[:2], 8)
    np.testing.assert_array_equal(load_or_make_superpixels(image, None, max_regions=8), ids)


# -------------------------------------------------------------------------------------------- CLI



def _image_folder(folder, names=PHOTOS, height=150, width=200):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        Image.fromarray(_photo(name, height, width)).save(osp.join(folder, f'{name}.jpg'), quality=95)
    return str(folder)


def _entries(folder):
    return sorted(os.listdir(folder)) if osp.isdir(folder) else []


@pytest.mark.slow
def test_cli_end_to_end_resume_and_overlays(tmp_path):
    src = _image_folder(tmp_path / 'images')
    out, show = str(tmp_path / 'out'), str(tmp_path / 'show')
    # Run from another directory, as a user would, without the repo on PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, TOOL, src, out, '--max-regions', '32', '--workers', '2',
                           '--show-dir', show], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert _entries(out) == [f'{name}.png' for name in sorted(PHOTOS)]
    assert _entries(show) == [f'{name}.jpg' for name in sorted(PHOTOS)]
    for name in PHOTOS:
        ids = read_superpixels(osp.join(out, f'{name}.png'))
        assert_contiguous_cover(ids, (150, 200), 32)
        with Image.open(osp.join(show, f'{name}.jpg')) as overlay:
            assert overlay.size == (200, 150)

    mtimes = {name: os.stat(osp.join(out, name)).st_mtime_ns for name in _entries(out)}
    time.sleep(0.01)
    assert load_tool('make_superpixels').main([src, out, '--max-regions', '32', '--show-dir', show]) == 0
    assert {name: os.stat(osp.join(out, name)).st_mtime_ns for name in _entries(out)} == mtimes


def test_cli_voc_layout_with_id_list(tmp_path, capsys):
    root = tmp_path / 'VOC2012'
    _image_folder(root / 'JPEGImages', names=('chelsea', 'coffee'), height=90, width=120)
    id_list = tmp_path / 'train.txt'
    id_list.write_text('coffee\n\n')
    out = str(tmp_path / 'out')
    assert load_tool('make_superpixels').main([str(root), out, '--list', str(id_list), '--max-regions', '8']) == 0
    assert _entries(out) == ['coffee.png']
    assert_contiguous_cover(read_superpixels(osp.join(out, 'coffee.png')), (90, 120), 8)

    id_list.write_text('coffee\nmissing_id\n')
    assert load_tool('make_superpixels').main([str(root), out, '--list', str(id_list)]) == 1
    assert osp.join('JPEGImages', 'missing_id.jpg') in capsys.readouterr().err


def test_cli_regenerates_a_corrupt_output(tmp_path):
    src = _image_folder(tmp_path / 'images', names=('chelsea',), height=90, width=120)
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'chelsea.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    assert load_tool('make_superpixels').main([src, str(out), '--max-regions', '8']) == 0
    assert_contiguous_cover(read_superpixels(str(out / 'chelsea.png')), (90, 120), 8)


def test_cli_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    src = _image_folder(tmp_path / 'images', height=90, width=120)
    out = str(tmp_path / 'out')
    real_save = Image.Image.save
    saved = []

    def save_then_interrupt(self, fp, *args, **kwargs):
        if saved:  # the second map: start writing it, then the user presses Ctrl-C
            with open(fp, 'wb') as handle:
                handle.write(b'\x89PNG\r\n\x1a\n partial')
            raise KeyboardInterrupt
        saved.append(fp)
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', save_then_interrupt)
    tool = load_tool('make_superpixels')
    with pytest.raises(KeyboardInterrupt):
        tool.main([src, out, '--max-regions', '8'])
    monkeypatch.undo()
    first = f'{sorted(PHOTOS)[0]}.png'
    assert _entries(out) == [first]  # no partial second map, no temporary file
    assert_contiguous_cover(read_superpixels(osp.join(out, first)), (90, 120), 8)

    first_mtime = os.stat(osp.join(out, first)).st_mtime_ns
    assert tool.main([src, out, '--max-regions', '8']) == 0
    assert _entries(out) == [f'{name}.png' for name in sorted(PHOTOS)]
    assert os.stat(osp.join(out, first)).st_mtime_ns == first_mtime


@pytest.mark.slow
def test_cli_sigterm_leaves_only_complete_files(tmp_path):
    src = _image_folder(tmp_path / 'images', height=375, width=500)
    out = tmp_path / 'out'
    proc = subprocess.Popen([sys.executable, TOOL, src, str(out), '--workers', '2'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and not _entries(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode in (0, 128 + signal.SIGTERM)  # finished, or exited through the handler
    for name in _entries(out):  # whatever was finished is complete; nothing half-written or temporary
        assert not name.startswith('.'), f'temporary file left behind: {name}'
        assert_contiguous_cover(read_superpixels(str(out / name)), (375, 500), 64)


def test_cli_corrupt_image_names_the_file_and_keeps_earlier_outputs(tmp_path, capsys):
    src = tmp_path / 'images'
    _image_folder(src, names=('chelsea',), height=90, width=120)
    (src / 'zz_broken.jpg').write_bytes(b'not a jpeg at all')
    out = str(tmp_path / 'out')
    assert load_tool('make_superpixels').main([str(src), out, '--max-regions', '8']) == 1
    err = capsys.readouterr().err
    assert str(src / 'zz_broken.jpg') in err
    assert err.count('error:') == 1
    assert _entries(out) == ['chelsea.png']  # written before the failure, complete
    assert_contiguous_cover(read_superpixels(osp.join(out, 'chelsea.png')), (90, 120), 8)
