"""ASM loss (docs/method.md, 'ASM') against a dense, loop-based reference written from the spec."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmssc.models.asm_loss import ASMLoss, erode_like_opencv, superpixel_mean


def random_blocky_mask(rng, height, width, density):
    """Random mask with blobs (so erosion keeps something) mixed with pixel noise."""
    block = rng.integers(1, 9)
    coarse = rng.random((height // block + 1, width // block + 1)) < density
    mask = np.kron(coarse, np.ones((block, block), bool))[:height, :width]
    noise = rng.random((height, width)) < 0.02
    return (mask ^ noise).astype(np.uint8)


def test_erosion_matches_cv2_erode():
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (3, 5), (7, 7), (8, 8), (9, 16), (13, 29), (32, 32), (64, 48), (100, 37), (256, 256)]
    kernel = np.ones((8, 8), np.uint8)
    for index in range(60):
        height, width = sizes[index % len(sizes)]
        mask = random_blocky_mask(rng, height, width, density=rng.uniform(0.5, 0.97))
        if index % 7 == 0:
            mask[:] = 1  # all ones: with OpenCV's +inf border nothing may erode
        expected = cv2.erode(mask, kernel)
        got = erode_like_opencv(torch.from_numpy(mask).bool()).numpy().astype(np.uint8)
        np.testing.assert_array_equal(got, expected, err_msg=f'mask {index} of size {height}x{width}')
    # a batched N×C×H×W call equals the per-map result
    masks = np.stack([random_blocky_mask(rng, 40, 30, 0.9) for _ in range(6)]).reshape(2, 3, 40, 30)
    batched = erode_like_opencv(torch.from_numpy(masks)).numpy()
    for b in range(2):
        for c in range(3):
            np.testing.assert_array_equal(batched[b, c], cv2.erode(masks[b, c], kernel))


def test_erosion_other_kernel_sizes():
    rng = np.random.default_rng(1)
    for kernel_size in (3, 5, 6):
        mask = random_blocky_mask(rng, 31, 23, 0.85)
        expected = cv2.erode(mask, np.ones((kernel_size, kernel_size), np.uint8))
        got = erode_like_opencv(torch.from_numpy(mask), kernel_size).numpy()
        np.testing.assert_array_equal(got, expected)


def dense_reference_asm(cam, superpixels, labels, threshold=0.3, use_rs=True, detach_target=True):
    """The official formulation: dense one-hot B×C×K×P average, per-map cv2.erode loop, boolean selection."""
    superpixels = superpixels[:, ::2, ::2]
    batch, channels = cam.shape[:2]
    height, width = superpixels.shape[-2:]
    pixels = height * width
    num_superpixels = int(superpixels.max()) + 1
    upsampled = F.interpolate(cam, size=(height, width), mode='bilinear', align_corners=False)
    scores = upsampled.reshape(batch, channels, pixels) * labels[:, :, None]
    one_hot = F.one_hot(superpixels.reshape(batch, pixels), num_superpixels).permute(0, 2, 1).to(cam.dtype)  # B×K×P
    counts = torch.clamp(one_hot.sum(dim=2), min=1e-5)  # B×K
    average_weights = (one_hot / counts[:, :, None]).unsqueeze(1).repeat(1, channels, 1, 1)  # B×C×K×P
    superpixel_means = (scores.unsqueeze(2) * average_weights).sum(dim=3)  # B×C×K
    regional = torch.matmul(superpixel_means, one_hot) * labels[:, :, None]  # back to B×C×P

    def mx_norm(x):
        x = F.relu(x)
        return x / (x.max(dim=-1, keepdim=True)[0] + 1e-5)

    cam_norm, regional_norm = mx_norm(scores), mx_norm(regional)
    positive = labels == 1
    cam_pos = cam_norm[positive]
    target = regional_norm[positive]
    if use_rs:
        values = cam_pos.detach().cpu().numpy().reshape(-1, height, width)
        kept = np.stack([cv2.erode((value > threshold).astype(np.uint8), np.ones((8, 8), np.uint8))
                         for value in values])
        kept = torch.from_numpy(kept).reshape(len(values), pixels).to(cam.dtype)
        target = torch.maximum(target, cam_pos * kept)
    if detach_target:
        target = target.detach()
    return F.mse_loss(cam_pos, target)


def make_inputs(seed, batch=2, classes=4, cam_size=16, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    image_size = cam_size * 16
    cam = torch.randn(batch, classes, cam_size, cam_size, generator=generator, dtype=dtype)
    # blocky superpixels with random ids (gaps included, some vanish after the ::2 subsample)
    coarse = torch.randint(0, 40, (batch, image_size // 32, image_size // 32), generator=generator)
    superpixels = coarse.repeat_interleave(32, 1).repeat_interleave(32, 2)
    superpixels[:, :, :5] = torch.randint(0, 60, (batch, image_size, 5), generator=generator)  # ragged strip
    labels = (torch.rand(batch, classes, generator=generator) < 0.5).to(dtype)
    labels[:, 0] = 1  # every image has a positive class, and at least one class is absent below
    labels[:, -1] = 0
    return cam, superpixels.long(), labels


@pytest.mark.parametrize('use_rs', [True, False])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_asm_equals_dense_reference_value_and_gradient(seed, use_rs):
    cam, superpixels, labels = make_inputs(seed)
    cam_ours = cam.clone().requires_grad_(True)
    cam_ref = cam.clone().requires_grad_(True)
    loss = ASMLoss(use_reliable_selection=use_rs)(cam_ours, superpixels, labels)
    expected = dense_reference_asm(cam_ref, superpixels, labels, use_rs=use_rs)
    loss.backward()
    expected.backward()
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(cam_ours.grad, cam_ref.grad, rtol=1e-8, atol=1e-12)
    assert cam_ours.grad.abs().sum() > 0


def test_reliable_selection_changes_the_target():
    cam, superpixels, labels = make_inputs(3)
    with_rs = ASMLoss(use_reliable_selection=True)(cam, superpixels, labels)
    without_rs = ASMLoss(use_reliable_selection=False)(cam, superpixels, labels)
    assert not torch.isclose(with_rs, without_rs), 'inputs too weak: erosion kept nothing'


def test_targets_carry_no_gradient():
    """Our gradient equals the reference with a detached target and differs from one with a live target."""
    cam, superpixels, labels = make_inputs(4)
    grads = {}
    for name, fn in [('ours', lambda c: ASMLoss()(c, superpixels, labels)),
                     ('detached', lambda c: dense_reference_asm(c, superpixels, labels, detach_target=True)),
                     ('live', lambda c: dense_reference_asm(c, superpixels, labels, detach_target=False))]:
        leaf = cam.clone().requires_grad_(True)
        fn(leaf).backward()
        grads[name] = leaf.grad
    torch.testing.assert_close(grads['ours'], grads['detached'])
    assert not torch.allclose(grads['ours'], grads['live'])


def test_absent_classes_contribute_nothing():
    cam, superpixels, labels = make_inputs(5)
    absent = labels == 0
    assert absent.any()
    leaf = cam.clone().requires_grad_(True)
    loss = ASMLoss()(leaf, superpixels, labels)
    loss.backward()
    assert leaf.grad[absent].abs().max() == 0
    changed = cam.clone()
    changed[absent] = 100 * torch.randn_like(changed[absent])
    assert ASMLoss()(changed, superpixels, labels) == loss.detach()


def test_superpixel_mean_is_the_mean_over_each_region():
    generator = torch.Generator().manual_seed(6)
    scores = torch.randn(2, 3, 50, generator=generator, dtype=torch.float64)
    superpixels = torch.randint(0, 7, (2, 50), generator=generator)
    got = superpixel_mean(scores, superpixels)
    for b in range(2):
        for p in range(50):
            members = superpixels[b] == superpixels[b, p]
            torch.testing.assert_close(got[b, :, p], scores[b][:, members].mean(dim=1))


def test_loss_weight_stride_and_float32():
    cam, superpixels, labels = make_inputs(7, dtype=torch.float32)
    base = ASMLoss()(cam, superpixels, labels)
    torch.testing.assert_close(ASMLoss(loss_weight=0.5)(cam, superpixels, labels), 0.5 * base)
    reference = dense_reference_asm(cam.double(), superpixels, labels.double())
    torch.testing.assert_close(base.double(), reference, rtol=1e-4, atol=1e-6)
    # stride 1 on a 2×-subsampled map equals stride 2 on the full map
    stride_one = ASMLoss(superpixel_stride=1)(cam, superpixels[:, ::2, ::2].contiguous(), labels)
    torch.testing.assert_close(stride_one, base)
    # half-precision CAMs (AMP) are promoted to float32 for the loss
    half = ASMLoss()(cam.bfloat16(), superpixels, labels)
    reference_half = dense_reference_asm(cam.bfloat16().double(), superpixels, labels.double())
    assert half.dtype == torch.float32
    torch.testing.assert_close(half.double(), reference_half, rtol=1e-4, atol=1e-6)


def test_no_positive_label_gives_zero():
    cam, superpixels, labels = make_inputs(8)
    leaf = cam.clone().requires_grad_(True)
    loss = ASMLoss()(leaf, superpixels, torch.zeros_like(labels))
    loss.backward()
    assert loss.item() == 0 and leaf.grad.abs().max() == 0
