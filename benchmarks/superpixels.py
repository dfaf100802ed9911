"""Superpixel generation throughput (images/s) on 500×375 images, with 1 and 2 worker processes.

    python benchmarks/superpixels.py [--num-images 16] [--repeat 3] [--seed 0]

The images are random crops of scikit-image's bundled photos resized to 500×375 (VOC's typical size),
so the Felzenszwalb over-segmentation has realistic region counts. Three figures per worker count:

* ``felzenszwalb``: scikit-image's Felzenszwalb alone (σ 0.8, k 75, min size 75), the floor;
* ``make_superpixels``: the in-memory API (Felzenszwalb + selective-search merge to ≤ 64);
* ``end-to-end``: what ``tools/make_superpixels.py`` does per image (read JPEG, generate, write PNG).

Each figure is the best of ``--repeat`` timed passes, which filters out other load on the machine.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from multiprocessing import Pool

import numpy as np

# Runs from a checkout without installation: make the repository root importable.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from PIL import Image  # noqa: E402
from skimage import data, transform  # noqa: E402
from skimage.segmentation import felzenszwalb  # noqa: E402

from mmssc.superpixels import make_superpixels  # noqa: E402
from mmssc.stages import superpixels as superpixels_stage  # noqa: E402

WIDTH, HEIGHT = 500, 375
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')


def sample_images(count: int, seed: int) -> list[np.ndarray]:
    """``count`` random crops (50–100 % of each side) of the sample photos, resized to 500×375."""
    rng = np.random.default_rng(seed)
    photos = [getattr(data, name)() for name in PHOTOS]
    images = []
    for index in range(count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        crop_h, crop_w = (int(rng.uniform(0.5, 1.0) * side) for side in (height, width))
        top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
        crop = photo[top:top + crop_h, left:left + crop_w]
        resized = transform.resize(crop, (HEIGHT, WIDTH), anti_aliasing=True)
        images.append(np.rint(resized * 255).astype(np.uint8))
    return images


def felzenszwalb_only(image: np.ndarray) -> int:
    return int(felzenszwalb(image, scale=75, sigma=0.8, min_size=75, channel_axis=-1).max()) + 1


def superpixels_only(image: np.ndarray) -> int:
    return int(make_superpixels(image).max()) + 1


def images_per_second(func, images, workers: int) -> float:
    start = time.perf_counter()
    if workers == 1:
        for image in images:
            func(image)
    else:
        with Pool(workers) as pool:
            pool.map(func, images, chunksize=1)
    return len(images) / (time.perf_counter() - start)


def end_to_end_per_second(images, workers: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(osp.join(folder, 'images'))
        for index, image in enumerate(images):
            Image.fromarray(image).save(osp.join(folder, 'images', f'{index:04d}.jpg'), quality=95)
        start = time.perf_counter()
        superpixels_stage.run(osp.join(folder, 'images'), osp.join(folder, f'out{workers}'), workers=workers)
        return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=16)
    parser.add_argument('--repeat', type=int, default=3, help='timed passes per figure; the best is shown')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    images = sample_images(args.num_images, args.seed)
    superpixels_only(images[0])  # warm-up: imports and caches outside the timed region
    initial = [felzenszwalb_only(image) for image in images[:4]]
    print(f'{len(images)} images of {WIDTH}×{HEIGHT}; Felzenszwalb regions before merging '
          f'(first 4): {initial}; merged to ≤ 64; {os.cpu_count()} CPU cores, '
          f'load average before the run {os.getloadavg()[0]:.1f}; best of {args.repeat} passes')
    measures = {
        'felzenszwalb': lambda workers: images_per_second(felzenszwalb_only, images, workers),
        'make_superpixels': lambda workers: images_per_second(superpixels_only, images, workers),
        'end-to-end': lambda workers: end_to_end_per_second(images, workers),
    }
    # Passes are interleaved (every stage and worker count once per pass) so that load from other
    # processes, if any, spreads over all figures instead of skewing one of them.
    best = {}
    for _ in range(args.repeat):
        for workers in (1, 2):
            for stage, measure in measures.items():
                best[stage, workers] = max(best.get((stage, workers), 0.0), measure(workers))
    print(f'{"stage":<18}{"1 worker":>10}{"2 workers":>11}   (images/s)')
    for stage in measures:
        print(f'{stage:<18}{best[stage, 1]:>10.2f}{best[stage, 2]:>11.2f}')
    print(f'load average after the run {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
