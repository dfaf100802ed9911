"""The CDR decoder (docs/method.md, 'CDR')."""
import numpy as np
import torch
import torch.nn as nn

from mmssc.models.reconstruction_head import ReconstructionHead, SampleLayerNorm

SPEC_PARAMETER_COUNT_20_CLASSES = 4_631_811  # the official decoder for 20 classes


def test_parameter_count():
    decoder = ReconstructionHead(num_classes=20)
    assert sum(p.numel() for p in decoder.parameters()) == SPEC_PARAMETER_COUNT_20_CLASSES


def test_output_shape_and_range():
    torch.manual_seed(0)
    decoder = ReconstructionHead(num_classes=20)
    with torch.no_grad():
        image = decoder(3 * torch.randn(1, 20, 32, 32))
    assert image.shape == (1, 3, 512, 512)
    assert image.min() > -1 and image.max() < 1


def test_gradient_reaches_the_cam():
    torch.manual_seed(1)
    decoder = ReconstructionHead(num_classes=20)
    cam = torch.randn(2, 20, 4, 6).requires_grad_(True)
    image = decoder(cam)
    assert image.shape == (2, 3, 64, 96)
    image.square().mean().backward()
    assert cam.grad.abs().sum() > 0
    assert all(p.grad is not None for p in decoder.parameters())


def test_layer_choices():
    decoder = ReconstructionHead(num_classes=20)
    head_pad, head_conv = decoder.head[0], decoder.head[1]
    assert isinstance(head_pad, nn.ReflectionPad2d) and head_conv.bias is None and head_conv.padding == (0, 0)
    for block in decoder.up:
        transposed, instance_norm = block[0], block[1]
        assert transposed.bias is None and transposed.stride == (2, 2) and transposed.kernel_size == (4, 4)
        assert not instance_norm.affine and not instance_norm.track_running_stats
        assert isinstance(block[3][0], nn.ZeroPad2d)
    assert len(decoder.up) == 4 and decoder.out.bias is not None


def test_layer_norm_matches_the_formula():
    torch.manual_seed(1)
    norm = SampleLayerNorm(6)
    gamma = norm.gamma.detach().numpy()
    assert (gamma >= 0).all() and (gamma < 1).all() and (norm.beta.detach().numpy() == 0).all()
    with torch.no_grad():
        norm.beta.normal_()
    x = torch.randn(3, 6, 5, 4, dtype=torch.float64) * 2 + 1
    norm = norm.double()
    got = norm(x).detach().numpy()
    values = x.numpy()
    mean = values.reshape(3, -1).mean(axis=1)[:, None, None, None]
    std = values.reshape(3, -1).std(axis=1, ddof=1)[:, None, None, None]
    expected = (values - mean) / (std + norm.eps)
    expected = expected * gamma[None, :, None, None] + norm.beta.detach().numpy()[None, :, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # the biased / eps-in-variance variants really differ at this size, so the check above has teeth
    biased = (values - mean) / np.sqrt(values.reshape(3, -1).var(axis=1)[:, None, None, None] + norm.eps)
    biased = biased * gamma[None, :, None, None] + norm.beta.detach().numpy()[None, :, None, None]
    assert not np.allclose(got, biased, rtol=1e-6, atol=1e-6)
