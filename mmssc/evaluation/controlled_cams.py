"""CAMs written from the ground truth with a known under-activation: a controlled input for ``ir_labels`` →
``pseudo_masks``.

A trained classifier's CAMs mix two errors (under- and over-activation) in proportions nobody controls, so they
cannot tell whether the IR-label → IRN → random-walk stages do their job. These CAMs have one error of a known
size instead. For every class c of an image with ground-truth region M_c, and every pixel x:

    d(x)   = Euclidean distance from x to the nearest pixel outside its connected component of M_c (0 outside M_c)
    D      = max of d over that component (its "radius")
    a_c(x) = e + (1 − e) · (d(x) / D)^γ      inside M_c,  0 outside
    M_c    = G_σ * a_c,   then divided by its max + 1e-5 (as ``cams`` normalises every CAM)

with e = ``edge_value`` (the activation left at the object's boundary), γ = ``gamma`` (how fast it fades towards
the boundary) and G_σ a Gaussian of ``blur_sigma`` pixels (the little activation a real CAM has outside the
object). With the defaults (e = 0.15, γ = 2, σ = 1.5 % of the image side) the activation peaks at each object's
centre and falls under the seed threshold 0.2 well before its edge: the seeds cover the objects' cores and miss
their outer parts, which is what IRN's boundaries and the random walk exist to recover. A class whose region is
empty gets an all-zero map. The stride-4 ``cam`` of the file is the 4×4 block mean of ``high_res`` (edge-padded).
"""
from typing import Sequence

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter, label as connected_components

from ..stage_files import CAM_STRIDE, NORM_EPS, pending_ids, stage_file, strided_size, write_cam_file
from ..fileio import raise_missing_files, read_label_png

__all__ = ['under_activated_cam', 'stride4_cam', 'write_controlled_cams']


def under_activated_cam(region: np.ndarray, edge_value: float = 0.15, gamma: float = 2.0,
                        blur_sigma: float = 2.4) -> np.ndarray:
    """The map M_c of the module docstring for one class region (bool H×W) as float32 H×W in [0, 1)."""
    if not 0 <= edge_value <= 1 or gamma <= 0 or blur_sigma < 0:
        raise ValueError(f'edge_value must lie in [0, 1], gamma > 0 and blur_sigma >= 0; got {edge_value}, '
                         f'{gamma}, {blur_sigma}')
    region = np.asarray(region, dtype=bool)
    activation = np.zeros(region.shape, np.float64)
    if not region.any():
        return activation.astype(np.float32)
    distance = distance_transform_edt(region)  # distance to the nearest pixel outside the region
    components, count = connected_components(region)
    radius = np.zeros(count + 1)
    np.maximum.at(radius, components.ravel(), distance.ravel())
    inside = components > 0
    activation[inside] = edge_value + (1 - edge_value) * (distance[inside] / radius[components[inside]]) ** gamma
    if blur_sigma > 0:
        activation = gaussian_filter(activation, blur_sigma, mode='nearest')
    return (activation / (activation.max() + NORM_EPS)).astype(np.float32)


def stride4_cam(high_res: np.ndarray) -> np.ndarray:
    """K×⌈H/4⌉×⌈W/4⌉ block means of a K×H×W map, the last row/column edge-padded to a whole block."""
    k, h, w = high_res.shape
    sh, sw = strided_size(h, w)
    padded = np.pad(high_res, ((0, 0), (0, sh * CAM_STRIDE - h), (0, sw * CAM_STRIDE - w)), mode='edge')
    return padded.reshape(k, sh, CAM_STRIDE, sw, CAM_STRIDE).mean(axis=(2, 4)).astype(np.float32)


def write_controlled_cams(work_dir: str, items: Sequence[dict], edge_value: float = 0.15, gamma: float = 2.0,
                          blur_fraction: float = 0.015) -> int:
    """Write ``work_dir/cams/<id>.npz`` from each item's ground-truth mask (``seg_map_path``) and image labels
    (``label_indices``: 0-based classes, the CAM file's keys); σ = ``blur_fraction`` × the image's shorter side.
    Images whose CAM file exists are skipped (files are written atomically). Returns how many were written."""
    pending = set(pending_ids(work_dir, 'cams', [item['img_id'] for item in items]))
    todo = [item for item in items if item['img_id'] in pending]
    unmasked = [item['img_id'] for item in todo if not item.get('seg_map_path')]
    if unmasked:
        raise KeyError(f'controlled CAMs need a ground-truth mask (seg_map_path) for every image; none for '
                       f'{unmasked[:5]}')
    # every mask checked before anything is written
    raise_missing_files([item['seg_map_path'] for item in todo], 'ground-truth masks for the controlled CAMs',
                        hint=f" (images {', '.join(repr(item['img_id']) for item in todo[:5])}, ...)")
    written = 0
    for item in todo:
        mask = read_label_png(item['seg_map_path'])
        keys = np.asarray(sorted(item['label_indices']), dtype=np.int64)
        sigma = blur_fraction * min(mask.shape)
        high_res = np.stack([under_activated_cam(mask == k + 1, edge_value, gamma, sigma) for k in keys]) \
            if len(keys) else np.zeros((0,) + mask.shape, np.float32)
        write_cam_file(stage_file(work_dir, 'cams', item['img_id']), keys, stride4_cam(high_res), high_res)
        written += 1
    return written
