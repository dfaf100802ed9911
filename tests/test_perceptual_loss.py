"""Perceptual / pixel reconstruction losses (docs/method.md, 'CDR')."""
import logging

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from mmengine.logging import MMLogger

from mmssc.models.perceptual_loss import PerceptualLoss, PixelL1Loss, PixelL2Loss

OFFICIAL_SLICES = [(0, 2), (2, 7), (7, 12), (12, 21), (21, 30)]  # the official VGG19 slices: relu1_1 … relu5_1
OFFICIAL_WEIGHTS = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]


class WarningRecorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope='module')
def torchvision_vgg19_file(tmp_path_factory):
    """A torchvision-format VGG19 state dict with random weights (the 400 MB classifier swapped for a stub key)."""
    torch.manual_seed(0)
    features = torchvision.models.vgg19(weights=None).features
    state = {f'features.{k}': v for k, v in features.state_dict().items()}
    state['classifier.6.bias'] = torch.zeros(1000)  # a torchvision file has classifier keys: they are ignored
    path = tmp_path_factory.mktemp('vgg') / 'vgg19.pth'
    torch.save(state, path)
    return path, features.eval()


@pytest.fixture(scope='module')
def random_vgg_loss():
    return PerceptualLoss(allow_random_weights=True)


def test_tap_shapes_at_512(random_vgg_loss):
    with torch.no_grad():
        taps = random_vgg_loss.loss_network(torch.randn(1, 3, 512, 512))
    assert [tuple(t.shape[1:]) for t in taps] == [(64, 512, 512), (128, 256, 256), (256, 128, 128), (512, 64, 64),
                                                   (512, 32, 32)]


def test_loss_network_is_frozen_and_outside_the_model(random_vgg_loss):
    parent = torch.nn.Module()
    parent.loss = random_vgg_loss
    assert len(parent.state_dict()) == 0 and len(list(parent.parameters())) == 0
    network = random_vgg_loss.loss_network
    assert all(not p.requires_grad for p in network.parameters())
    parent.train()
    assert random_vgg_loss.training and not network.training
    assert not any(m.training for m in network.modules())


def test_weight_file_round_trip_and_loss_by_hand(torchvision_vgg19_file):
    path, reference_features = torchvision_vgg19_file
    loss_fn = PerceptualLoss(checkpoint=str(path))
    loaded = loss_fn.loss_network.features.state_dict()
    for key, value in reference_features.state_dict().items():
        assert torch.equal(loaded[key], value), key
    generator = torch.Generator().manual_seed(1)
    reconstruction = torch.tanh(torch.randn(2, 3, 48, 48, generator=generator)).requires_grad_(True)
    target = (2 * torch.randn(2, 3, 48, 48, generator=generator)).requires_grad_(True)
    loss = loss_fn(reconstruction, target)

    expected, x, y = 0.0, reconstruction.detach(), target.detach()
    with torch.no_grad():
        for weight, (start, stop) in zip(OFFICIAL_WEIGHTS, OFFICIAL_SLICES):
            x, y = reference_features[start:stop](x), reference_features[start:stop](y)
            expected += weight * (x - y).abs().mean()
    torch.testing.assert_close(loss.detach(), expected)

    loss.backward()
    assert reconstruction.grad is not None and reconstruction.grad.abs().sum() > 0
    assert target.grad is None


def test_average_pool_above_max_width(random_vgg_loss):
    generator = torch.Generator().manual_seed(2)
    x, y = torch.randn(1, 3, 64, 144, generator=generator), torch.randn(1, 3, 64, 144, generator=generator)
    pooled = PerceptualLoss(allow_random_weights=True, max_width=40)  # 144 → 72 → 36
    pooled._frozen_network = random_vgg_loss._frozen_network  # same weights
    expected = random_vgg_loss(F.avg_pool2d(F.avg_pool2d(x, 2), 2), F.avg_pool2d(F.avg_pool2d(y, 2), 2))
    torch.testing.assert_close(pooled(x, y), expected)


def test_missing_checkpoint_and_random_weights(tmp_path):
    missing = tmp_path / 'nowhere' / 'vgg19.pth'
    with pytest.raises(FileNotFoundError, match='nowhere/vgg19.pth'):
        PerceptualLoss(checkpoint=str(missing))
    with pytest.raises(FileNotFoundError, match='nowhere/vgg19.pth'):
        PerceptualLoss(source='timm', arch='resnet18', checkpoint=str(missing))
    with pytest.raises(ValueError, match='allow_random_weights=True'):
        PerceptualLoss()
    recorder = WarningRecorder()
    logger = MMLogger.get_current_instance()
    logger.addHandler(recorder)
    try:
        PerceptualLoss(allow_random_weights=True)
    finally:
        logger.removeHandler(recorder)
    assert any('RANDOM' in message for message in recorder.messages)


def test_timm_loss_network_from_a_local_file(tmp_path):
    torch.manual_seed(3)
    model = timm.create_model('resnet18', pretrained=False)
    path = tmp_path / 'resnet18.pth'
    torch.save(model.state_dict(), path)
    loss_fn = PerceptualLoss(source='timm', arch='resnet18', checkpoint=str(path), taps=(0, 1),
                             layer_weights=(0.5, 2.0))
    assert len(loss_fn.state_dict()) == 0
    model.eval()
    generator = torch.Generator().manual_seed(4)
    x, y = torch.randn(1, 3, 64, 64, generator=generator), torch.randn(1, 3, 64, 64, generator=generator)
    with torch.no_grad():
        def taps(image):  # timm resnet18 feature 0 = act1 (stride 2), 1 = layer1 (stride 4)
            first = model.act1(model.bn1(model.conv1(image)))
            return [first, model.layer1(model.maxpool(first))]
        expected = sum(w * (a - b).abs().mean() for w, a, b in zip((0.5, 2.0), taps(x), taps(y)))
        torch.testing.assert_close(loss_fn(x, y), expected)


@pytest.mark.parametrize('loss_cls,distance', [(PixelL1Loss, lambda d: d.abs()), (PixelL2Loss, lambda d: d ** 2)])
def test_pixel_losses(loss_cls, distance):
    generator = torch.Generator().manual_seed(5)
    reconstruction = torch.randn(2, 3, 8, 8, generator=generator).requires_grad_(True)
    target = torch.randn(2, 3, 8, 8, generator=generator).requires_grad_(True)
    loss = loss_cls(loss_weight=2.0)(reconstruction, target)
    torch.testing.assert_close(loss, 2.0 * distance(reconstruction - target).mean())
    loss.backward()
    assert reconstruction.grad.abs().sum() > 0 and target.grad is None
