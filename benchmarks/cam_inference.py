"""CAM inference throughput (images/s) of the SSC ResNet-50 classifier on 500×375 images (docs/method.md, "cams").

    python benchmarks/cam_inference.py [--num-images 4] [--repeat 1] [--device cpu] [--threads N]

The model is ``configs/ssc/voc_cls.py``'s classifier as CAM inference builds it (ResNet-50 at output stride 16,
DRS hooks on layer4) with random weights: the speed does not depend on the values. Images are scikit-image's
sample photos resized to 500×375 (VOC's typical size), saved as JPEG; each image gets two labels. Every figure is
the end-to-end work of ``tools/make_cam.py`` per image (read JPEG, PIL bicubic rescales, 4 scales × image + flip,
upsampling, writing the ``.npz``), the best of ``--repeat`` timed passes (filters out other load on the machine).

Variants:

* ``official loop``: one image at a time, everything in the main process (what step/make_cam.py does per GPU
  process: batch of 2 views per scale, scales in sequence, no AMP);
* ``+ loader worker``: image reading and rescaling in a data-loader process, overlapped with the network;
* ``+ batch 2``: two same-size images per forward (4 views per scale);
* ``+ bf16 autocast`` (CPU) / ``fp16 autocast`` (CUDA): ``--amp`` of the tool; CAMs differ at rounding level;
* ``scale 1.0 only``: a single scale (not the method; shows what the multi-scale sum costs).
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # an uninstalled checkout works too

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data, transform  # noqa: E402

import mmssc  # noqa: E402,F401
from mmssc.stages.cams import DEFAULT_SCALES, CamTask, inference_model_cfg  # noqa: E402
from mmssc.stages.per_image import run_per_image  # noqa: E402

WIDTH, HEIGHT = 500, 375
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')
CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'ssc', 'voc_cls.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch default)')
    return parser.parse_args()


def write_images(folder: str, count: int) -> list:
    items = []
    for index in range(count):
        photo = getattr(data, PHOTOS[index % len(PHOTOS)])()
        image = np.rint(transform.resize(photo, (HEIGHT, WIDTH), anti_aliasing=True) * 255).astype(np.uint8)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        path = osp.join(folder, f'img{index:03d}.jpg')
        Image.fromarray(image[..., :3]).save(path, quality=95)
        items.append(dict(img_id=f'img{index:03d}', img_path=path, label_indices=[index % 20, (index + 7) % 20]))
    return items


def build_model(device):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(inference_model_cfg(Config.fromfile(CONFIG).model)).to(device).eval()


def time_variant(model, items, repeat, workers=0, **task_options) -> float:
    """Images/s of the ``cams`` stage's loop over ``items``: best of ``repeat`` passes after a one-image warm-up."""
    def one_pass(subset):
        with tempfile.TemporaryDirectory() as work_dir:
            if device_is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            run_per_image(CamTask(model, work_dir, **task_options), subset, workers)
            if device_is_cuda:
                torch.cuda.synchronize()
            return time.perf_counter() - start

    device_is_cuda = next(model.parameters()).is_cuda
    one_pass(items[:task_options.get('batch_size', 1)])  # allocator, oneDNN/cuDNN kernel selection: not counted
    return len(items) / min(one_pass(items) for _ in range(repeat))


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = build_model(device)
    variants = [
        ('official loop (batch 1, in-process loading)', dict(batch_size=1, workers=0)),
        ('+ loader worker', dict(batch_size=1, workers=1)),
        ('+ batch 2 (same-size images)', dict(batch_size=2, workers=1)),
        (f"+ {'fp16' if device.type == 'cuda' else 'bf16'} autocast", dict(batch_size=2, workers=1, autocast=True)),
        ('scale 1.0 only (not the method)', dict(batch_size=1, workers=1, scales=(1.0,))),
    ]
    with tempfile.TemporaryDirectory() as folder:
        items = write_images(folder, args.num_images)
        print(f'SSC ResNet-50 CAM inference, {args.num_images} images of {WIDTH}x{HEIGHT}, scales {DEFAULT_SCALES} '
              f'+ flip, device {device}, torch threads {torch.get_num_threads()}, best of {args.repeat}')
        print('| variant | images/s | s/image |')
        print('|---|---|---|')
        for name, kwargs in variants:
            rate = time_variant(model, items, args.repeat, **kwargs)
            print(f'| {name} | {rate:.3f} | {1 / rate:.2f} |', flush=True)


if __name__ == '__main__':
    main()
