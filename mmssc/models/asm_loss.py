"""Activation self-modulation (ASM) alignment loss (docs/method.md, 'ASM'), vectorised.

With ``cam`` = raw CAM x_int (B×C×h×w), superpixel ids ``sp`` (B×H×W) and multi-hot labels y (B×C):

    sp ← sp[:, ::s, ::s]                                   (s = 2: 512² → 256², P pixels)
    S  = bilinear(cam, sp size, align_corners=False) · y   (raw scores, before ReLU)
    Avg[b,c,p] = y[b,c] · Σ_{q: sp_b(q)=sp_b(p)} S[b,c,q] / max(n_{b,sp_b(p)}, 1e-5)
    mx_norm(X) = ReLU(X) / (max_p ReLU(X) + 1e-5)          per (b, c)
    M = mx_norm(S) (with gradient),   R = mx_norm(Avg) (detached)
    RS = M̄ · erode_8×8(M̄ > θ),  M̄ = M detached,  θ = 0.3   (reliable activation selection)
    T  = max(R, RS)            (T = R without reliable selection: the paper's "+ASM without RS")
    L_a = mean over positive (b, c) and all P pixels of (M − T)²

The superpixel mean is a scatter-add and a gather (O(B·C·P)), not the official dense one-hot B×C×K×P product, and
the erosion is a max-pool on the inverted mask, so everything stays on the input's device with no per-map loop.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS


def erode_like_opencv(mask: torch.Tensor, kernel: int = 8) -> torch.Tensor:
    """``cv2.erode(mask, np.ones((kernel, kernel)))`` with OpenCV's default anchor and border, in torch (docs/method.md,
    'ASM').

    The default anchor is (kernel//2, kernel//2), so output (y, x) is the AND over rows [y − a, y − a + kernel − 1]
    and the same columns (a = 4 for 8×8: rows y−4 … y+3). OpenCV's default erosion border acts as +∞, so pixels
    outside the image never erode: pad the *inverted* mask with 0 (l a, r kernel−1−a, t a, b kernel−1−a) and
    max-pool. The pool is separable (rows, then columns), which is exact for a max.

    Args:
        mask: ``(..., H, W)`` bool or {0, 1} tensor.
    Returns:
        the eroded mask, same shape and dtype.
    """
    anchor = kernel // 2
    shape = mask.shape
    inverted = 1.0 - mask.reshape(-1, 1, *shape[-2:]).float()
    inverted = F.pad(inverted, (anchor, kernel - 1 - anchor, anchor, kernel - 1 - anchor), value=0.0)
    inverted = F.max_pool2d(inverted, (kernel, 1), stride=1)
    inverted = F.max_pool2d(inverted, (1, kernel), stride=1)
    return (1.0 - inverted).reshape(shape).to(mask.dtype)


def max_normalize(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``ReLU(x) / (max over the last dim of ReLU(x) + eps)`` (the official ``mx_norm``, docs/method.md, 'ASM')."""
    x = F.relu(x)
    return x / (x.amax(dim=-1, keepdim=True) + eps)


def superpixel_mean(scores: torch.Tensor, superpixels: torch.Tensor) -> torch.Tensor:
    """Replace each score by the mean over its superpixel (docs/method.md, 'ASM').

    Args:
        scores: B×C×P.
        superpixels: B×P int64 ids ≥ 0.
    Returns:
        B×C×P: ``Σ_{q∈k} scores / max(n_k, 1e-5)`` at every pixel of superpixel k.
    """
    batch, channels, _ = scores.shape
    # one scalar sync: K sizes the per-superpixel buffers (no data leaves the device)
    num_superpixels = int(superpixels.max()) + 1
    index = superpixels.unsqueeze(1).expand(-1, channels, -1)
    sums = scores.new_zeros(batch, channels, num_superpixels).scatter_add_(2, index, scores)
    counts = scores.new_zeros(batch, num_superpixels).scatter_add_(1, superpixels, torch.ones_like(scores[:, 0]))
    means = sums / counts.clamp(min=1e-5).unsqueeze(1)
    return means.gather(2, index)


@MODELS.register_module()
class ASMLoss(nn.Module):
    """The ASM alignment loss ``L_a`` of docs/method.md, 'ASM' (see the module docstring for the formula).

    Args:
        threshold: θ of reliable selection (strict ``>`` on the max-normalised CAM).
        kernel_size: erosion kernel (8 officially; the paper finds 6–10 best).
        superpixel_stride: subsampling of the superpixel map (``sp[:, ::2, ::2]`` officially).
        use_reliable_selection: False gives target = regional CAM only ("+ASM without RS").
        loss_weight: β_a (docs/method.md, 'cam_classifier').
    """

    def __init__(self, threshold: float = 0.3, kernel_size: int = 8, superpixel_stride: int = 2,
                 use_reliable_selection: bool = True, loss_weight: float = 1.0):
        super().__init__()
        self.threshold = threshold
        self.kernel_size = kernel_size
        self.superpixel_stride = superpixel_stride
        self.use_reliable_selection = use_reliable_selection
        self.loss_weight = loss_weight

    def forward(self, cam: torch.Tensor, superpixels: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """
        Args:
            cam: raw CAM B×C×h×w (with gradient).
            superpixels: B×H×W integer ids ≥ 0 at image resolution (any device; moved to ``cam``'s).
            labels: B×C multi-hot {0, 1}.
        Returns:
            the scalar loss (0 when the batch has no positive label, where the official MSE gives NaN).
        """
        if cam.dtype in (torch.float16, torch.bfloat16):
            cam = cam.float()  # superpixel sums and the 0.3 threshold want fp32 under AMP (the official runs fp32)
        step = self.superpixel_stride
        superpixels = superpixels[:, ::step, ::step].to(device=cam.device, dtype=torch.long)
        batch, channels = cam.shape[:2]
        height, width = superpixels.shape[-2:]
        labels = labels.to(cam.dtype)
        label_maps = labels.unsqueeze(-1)  # B×C×1

        upsampled = F.interpolate(cam, size=(height, width), mode='bilinear', align_corners=False)
        scores = upsampled.flatten(2) * label_maps  # B×C×P, absent classes zeroed
        cam_norm = max_normalize(scores)

        with torch.no_grad():  # the target is a constant: regional CAM and reliable selection are detached
            regional = superpixel_mean(scores.detach(), superpixels.flatten(1)) * label_maps
            target = max_normalize(regional)
            if self.use_reliable_selection:
                cam_const = cam_norm.detach()
                reliable = erode_like_opencv((cam_const > self.threshold).view(batch, channels, height, width),
                                             self.kernel_size).flatten(2)
                target = torch.maximum(target, cam_const * reliable)

        positive = (labels > 0.5).to(cam.dtype)  # MSE over positive (b, c) maps only, without a boolean-index sync
        squared_error = (cam_norm - target).pow(2).mean(dim=-1)  # B×C
        loss = (squared_error * positive).sum() / positive.sum().clamp(min=1.0)
        return self.loss_weight * loss
