"""The demo's size-tied settings are the official ones scaled by s = demo crop / official crop, as its configs say."""
import math
import os.path as osp

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')


def load(name):
    return Config.fromfile(osp.join(CONFIGS, name))


def crop_of(cfg):
    return next(t['crop_size'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'RandomCropWithPad')


@pytest.fixture(scope='module')
def configs():
    return dict(cls=(load('ssc/voc_cls.py'), load('demo/demo_cls.py')),
                irn=(load('ssc/voc_irn.py'), load('demo/demo_irn.py')), pipeline=load('pipeline/demo_cpu.py'))


def test_scale_is_the_crop_ratio(configs):
    for official, demo in (configs['cls'], configs['irn']):
        assert crop_of(official) == 512 and crop_of(demo) / crop_of(official) == 0.25


def test_asm_kernel_and_irn_radius_scale_with_the_crop(configs):
    (cls, demo_cls), (irn, demo_irn) = configs['cls'], configs['irn']
    s = crop_of(demo_cls) / crop_of(cls)
    assert demo_cls.model.asm_loss.kernel_size == round(cls.model.asm_loss.kernel_size * s) == 2
    assert demo_cls.model.asm_loss.superpixel_stride == cls.model.asm_loss.superpixel_stride
    assert demo_irn.model.path_radius == math.ceil(irn.model.path_radius * s) == 3


def test_decoder_upsamples_by_the_cam_stride(configs):
    official, demo = configs['cls']
    official_head = official.model.reconstruction_head.get('channels', (256, 256, 128, 64, 32))
    assert 2 ** (len(official_head) - 1) == 16                     # ResNet-50 CAM at stride 16 → ×16
    stride = demo.model.backbone.output_stride
    assert 2 ** (len(demo.model.reconstruction_head.channels) - 1) == stride == 8
    # the official last blocks: the same widths at the same fractions of the crop
    assert tuple(demo.model.reconstruction_head.channels[1:]) == tuple(official_head[-3:])


def test_random_walk_spread_scales_with_the_crop(configs):
    args = configs['pipeline'].stage_args['pseudo_masks']
    value = {args[i]: args[i + 1] for i in range(0, len(args), 2)}
    radius, exp_times = int(value['--radius']), int(value['--exp-times'])
    s = crop_of(configs['cls'][1]) / crop_of(configs['cls'][0])
    official_spread = 5 * math.sqrt(2 ** 8)                       # radius 5, T^256
    # the smallest radius the walk takes, and the power of two whose spread is nearest to the scaled one
    assert radius == max(2, round(5 * s))
    assert exp_times == round(math.log2((official_spread * s / radius) ** 2)) == 7
    assert int(value['--edge-pad-size']) == crop_of(configs['irn'][1])
