"""DRS (docs/method.md, 'DRS'): the clamp itself and its forward hooks on a timm ResNet-50."""
import numpy as np
import pytest
import timm
import torch

from mmssc.models.drs import DRS, DRSHooks, drs

DELTA = 0.55
OFFICIAL_SITES = [dict(name='layer4.0'), dict(name='layer4.1'), dict(name='layer4.2'),
                  dict(name='layer2', training_only=True, detach=True)]


def test_drs_clamps_at_delta_times_the_spatial_max():
    x = torch.randn(3, 5, 7, 9, generator=torch.Generator().manual_seed(0))
    out = drs(x, DELTA).numpy()
    values = x.numpy()
    bound = DELTA * values.reshape(3, 5, -1).max(axis=2)[:, :, None, None]
    assert (out <= bound + 1e-7).all()
    below = values <= bound
    assert below.any() and (~below).any()
    np.testing.assert_array_equal(out[below], values[below])
    np.testing.assert_allclose(out[~below], np.broadcast_to(bound, values.shape)[~below], rtol=1e-6)
    torch.testing.assert_close(DRS(DELTA)(x), drs(x, DELTA))


def test_drs_max_is_not_detached():
    """d Σ DRS(x) / d x_max = δ · (number of clamped entries): the clamp level carries gradient."""
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x.requires_grad_(True)
    drs(x, DELTA).sum().backward()
    flat = x.detach().flatten()
    clamped = int((flat > DELTA * flat.max()).sum())
    argmax = int(flat.argmax())
    assert x.grad.flatten()[argmax].item() == pytest.approx(DELTA * clamped)


@pytest.fixture(scope='module')
def resnet():
    torch.manual_seed(0)
    return timm.create_model('resnet50', features_only=True, output_stride=16, pretrained=False)


def manual_forward(model, x, layer2_drs, layer4_drs):
    """Reference: the official CAM backbone forward written out block by block; call it with no hooks on."""
    x = model.maxpool(model.act1(model.bn1(model.conv1(x))))
    x = model.layer2(model.layer1(x))
    if layer2_drs:
        x = drs(x.detach(), DELTA)
    x = model.layer3(x)
    for block in model.layer4:
        x = block(x)
        if layer4_drs:
            x = drs(x, DELTA)
    return x


def test_timm_feature_net_has_the_hooked_names(resnet):
    names = dict(resnet.named_modules())
    for site in OFFICIAL_SITES:
        assert site['name'] in names
    assert type(names['layer4.0']).__name__ == 'Bottleneck'


def test_layer4_hooks_equal_in_block_drs_and_remove_cleanly(resnet):
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    resnet.eval()
    with torch.no_grad():
        original = resnet(x)[-1]
        expected = manual_forward(resnet, x, layer2_drs=False, layer4_drs=True)
        hooks = DRSHooks(OFFICIAL_SITES, delta=DELTA)
        handles = hooks.attach(resnet)
        assert len(handles) == 4
        hooked = resnet(x)[-1]
        hooks.remove()
        restored = resnet(x)[-1]
    assert not torch.allclose(hooked, original)
    torch.testing.assert_close(hooked, expected)
    torch.testing.assert_close(restored, original, rtol=0, atol=0)


def test_training_only_site(resnet):
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    hooks = DRSHooks([dict(name='layer2', training_only=True, detach=True)], delta=DELTA)
    # eval: inactive (outputs compared back to back, so the BN running stats are the same)
    resnet.eval()
    with torch.no_grad():
        plain = resnet(x)[-1]
        hooks.attach(resnet)
        hooked = resnet(x)[-1]
        hooks.remove()
    torch.testing.assert_close(hooked, plain, rtol=0, atol=0)
    # training (batch statistics): active, detached, and driven by the root model's flag even if layer2 is in
    # eval mode (as mmseg's frozen_stages leaves it)
    resnet.train()
    resnet.layer2.eval()
    expected = manual_forward(resnet, x, layer2_drs=True, layer4_drs=False)
    plain = manual_forward(resnet, x, layer2_drs=False, layer4_drs=False)
    hooks.attach(resnet)
    try:
        resnet.zero_grad(set_to_none=True)
        hooked = resnet(x)[-1]
        hooked.sum().backward()
    finally:
        hooks.remove()
        resnet.eval()
    torch.testing.assert_close(hooked, expected)
    assert not torch.allclose(hooked, plain)
    assert resnet.layer1[0].conv1.weight.grad is None  # the detach cuts layer1-2 off
    assert resnet.layer3[0].conv1.weight.grad is not None


def test_disabled_and_misnamed(resnet):
    assert DRSHooks(OFFICIAL_SITES, delta=None).attach(resnet) == []
    assert DRSHooks([], delta=DELTA).attach(resnet) == []
    assert not any(m._forward_hooks for m in resnet.modules())
    with pytest.raises(KeyError, match='layer5.0'):
        DRSHooks(['layer5.0'], delta=DELTA).attach(resnet)
    hooks = DRSHooks(['layer4.0'], delta=DELTA)
    hooks.attach(resnet)
    with pytest.raises(RuntimeError):
        hooks.attach(resnet)
    hooks.remove()
    assert not any(m._forward_hooks for m in resnet.modules())
