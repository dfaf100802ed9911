"""BECO's photometric augmentation of the mixed batch (docs/method.md, 'BECO co-training', step 3), in torch.

The official code runs albumentations per image on the CPU, on the denormalised uint8 image:

    with p 0.8: RandomBrightnessContrast(p=1), then HueSaturationValue(p=1);
    ToGray(p=0.2);  GaussianBlur(blur_limit=5, p=0.5)

mmssc does the same on the whole batch as tensor ops on the model's device (no albumentations, no CPU round
trip), each image drawing its own parameters. With x an RGB image in [0, 255]:

* brightness/contrast (p 0.8, albumentations' defaults, ``brightness_by_max``):
  x ← clip(a·x + 255·b, 0, 255), a = 1 + U(−0.2, 0.2), b = U(−0.2, 0.2);
* hue/saturation/value (same draw as the previous step, albumentations' defaults for uint8): in HSV with OpenCV's
  units (H in 0..180, S and V in 0..255) H ← (H + U(−20, 20)) mod 180, S ← clip(S + U(−30, 30)),
  V ← clip(V + U(−20, 20));
* to gray (p 0.2): every channel ← 0.299·R + 0.587·G + 0.114·B;
* Gaussian blur (p 0.5): a k×k kernel with k uniform in {3, 5} and σ = 0, i.e. OpenCV's binomial kernels
  [1 2 1]/4 and [1 4 6 4 1]/16, reflect-101 borders.

How it approximates albumentations: the steps, probabilities and parameter ranges are the same; the colour
conversion is the exact HSV formula in float rather than OpenCV's 8-bit look-up tables (values agree to about
one grey level), each step rounds to integers as the uint8 pipeline does (albumentations truncates in some steps:
an offset below one grey level), and the blur kernel is drawn from {3, 5} (albumentations' sizes for
``blur_limit=5`` differ slightly between its versions). The random numbers come from torch, so the draws differ
from the official run's.

Channel order: the official code converts its RGB image with ``BGR2RGB`` before the augmentation (i.e. hands it
BGR) and back afterwards, so the hue rotation and the gray weights act on swapped channels. ``swap_channels=True``
(the default) reproduces that; False augments the true RGB image.
"""
from typing import Optional

import torch
import torch.nn.functional as F


def _uniform(low: float, high: float, n: int, generator, device) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * (high - low) + low).to(device)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """B×3×H×W RGB in [0, 255] → HSV with H in [0, 360) degrees, S in [0, 1], V in [0, 255]."""
    r, g, b = x.unbind(1)
    value, _ = x.max(dim=1)
    delta = value - x.min(dim=1).values
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(value == r, ((g - b) / safe) % 6,
                      torch.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60
    hue = torch.where(delta > 0, hue, torch.zeros_like(hue))
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, torch.ones_like(value)),
                             torch.zeros_like(value))
    return torch.stack([hue, saturation, value], dim=1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`: channel n of (R, G, B) is V − V·S·clamp(min(k, 4 − k), 0, 1),
    k = (n + H/60) mod 6 with n = 5, 3, 1."""
    hue, saturation, value = hsv.unbind(1)
    channels = []
    for n in (5, 3, 1):
        k = (n + hue / 60) % 6
        channels.append(value - value * saturation * torch.clamp(torch.minimum(k, 4 - k), 0, 1))
    return torch.stack(channels, dim=1)


def brightness_contrast(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x * alpha[:, None, None, None] + 255 * beta[:, None, None, None], 0, 255).round()


def hue_saturation_value(x: torch.Tensor, hue_shift: torch.Tensor, sat_shift: torch.Tensor,
                         val_shift: torch.Tensor) -> torch.Tensor:
    """Shifts in OpenCV's 8-bit units (hue: 2 degrees per unit, saturation and value: grey levels)."""
    hue, saturation, value = rgb_to_hsv(x).unbind(1)
    hue = (hue + 2 * hue_shift[:, None, None]) % 360
    saturation = torch.clamp(saturation * 255 + sat_shift[:, None, None], 0, 255) / 255
    value = torch.clamp(value + val_shift[:, None, None], 0, 255)
    return torch.clamp(hsv_to_rgb(torch.stack([hue, saturation, value], dim=1)), 0, 255).round()


def to_gray(x: torch.Tensor) -> torch.Tensor:
    weights = x.new_tensor([0.299, 0.587, 0.114])[None, :, None, None]
    return (x * weights).sum(dim=1, keepdim=True).round().expand_as(x).contiguous()


# OpenCV's fixed kernels for σ = 0 and sides up to 7 (getGaussianKernel's small_gaussian_tab): binomial weights
OPENCV_SMALL_KERNELS = {1: (1.0,), 3: (0.25, 0.5, 0.25), 5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
                        7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125)}


def opencv_sigma(kernel: int) -> float:
    """OpenCV's σ for a Gaussian kernel of side ``kernel`` when σ = 0 is passed (sides above 7)."""
    return 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8


def gaussian_kernel(kernel: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """The 1-D weights ``cv2.GaussianBlur(img, (k, k), 0)`` uses."""
    if kernel in OPENCV_SMALL_KERNELS:
        return torch.tensor(OPENCV_SMALL_KERNELS[kernel], dtype=dtype, device=device)
    offsets = torch.arange(kernel, dtype=dtype, device=device) - kernel // 2
    weights = torch.exp(-offsets ** 2 / (2 * opencv_sigma(kernel) ** 2))
    return weights / weights.sum()


def gaussian_blur(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """Separable k×k Gaussian blur of B×C×H×W with reflect-101 borders (OpenCV's default)."""
    radius = kernel // 2
    weights = gaussian_kernel(kernel, x.dtype, x.device)
    channels = x.shape[1]
    out = F.pad(x, (radius, radius, radius, radius), mode='reflect')
    out = F.conv2d(out, weights.view(1, 1, 1, kernel).expand(channels, 1, 1, kernel), groups=channels)
    out = F.conv2d(out, weights.view(1, 1, kernel, 1).expand(channels, 1, kernel, 1), groups=channels)
    return out.round()


def photometric_augment(images: torch.Tensor, color_prob: float = 0.8, gray_prob: float = 0.2,
                        blur_prob: float = 0.5, swap_channels: bool = True,
                        generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Augment a B×3×H×W RGB batch in [0, 255] (see the module docstring); returns a new tensor."""
    n, device = images.shape[0], images.device
    x = images.float().clamp(0, 255).round()
    if swap_channels:
        x = x.flip(1)
    color = (torch.rand(n, generator=generator) < color_prob).to(device)
    params = dict(alpha=1 + _uniform(-0.2, 0.2, n, generator, device), beta=_uniform(-0.2, 0.2, n, generator, device),
                  hue=_uniform(-20, 20, n, generator, device), sat=_uniform(-30, 30, n, generator, device),
                  val=_uniform(-20, 20, n, generator, device))
    gray = (torch.rand(n, generator=generator) < gray_prob).to(device)
    blur = torch.rand(n, generator=generator) < blur_prob
    kernels = torch.randint(0, 2, (n,), generator=generator) * 2 + 3
    if color.any():
        adjusted = brightness_contrast(x, params['alpha'], params['beta'])
        adjusted = hue_saturation_value(adjusted, params['hue'], params['sat'], params['val'])
        x = torch.where(color[:, None, None, None], adjusted, x)
    if gray.any():
        x = torch.where(gray[:, None, None, None], to_gray(x), x)
    for i in torch.nonzero(blur).flatten().tolist():
        x[i:i + 1] = gaussian_blur(x[i:i + 1], int(kernels[i]))
    if swap_channels:
        x = x.flip(1)
    return x.to(images.dtype)
