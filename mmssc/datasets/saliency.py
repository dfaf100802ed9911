"""Saliency maps as a dataset input: one grayscale PNG per image, 0 (background) .. 255 (salient object).

I²CRC (docs/method.md, 'I²CRC') guides its classifier and its pseudo-labels with the maps of a salient-object
detector that the user runs beforehand. A dataset finds them through ``data_prefix['saliency_path']`` (the item then
has ``saliency_path``); :class:`LoadSaliency` reads the map into ``gt_saliency`` (uint8 H×W) and lists it in
``seg_fields``, so every geometric transform that ``cam_classifier`` uses (``RandomLongSideResize``, mmseg's
``RandomFlip``, ``RandomCropWithPad``, which pads it with 0 = not salient) and I²CRC's ``SquareResize`` move it with
the image. ``PackClsInputs`` packs it as ``data_sample.gt_saliency`` (PixelData 1×H×W uint8); the model divides
by 255.
"""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..fileio import open_image
from .transforms import _add_seg_field

__all__ = ['read_saliency', 'LoadSaliency']


def read_saliency(path: str) -> np.ndarray:
    """A saliency PNG as uint8 H×W (RGB or grey+alpha files are converted to luminance: some detectors save RGB)."""
    img = open_image(path, 'saliency map')
    if img.mode != 'L':
        img = img.convert('L')
    return np.asarray(img)


@TRANSFORMS.register_module()
class LoadSaliency(BaseTransform):
    """Read ``saliency_path`` into ``gt_saliency`` (uint8 H×W, 0..255), checked against the loaded image's size.

    Required keys: ``img``, ``saliency_path``. Added keys: ``gt_saliency`` (appended to ``seg_fields``).
    A missing or undecodable map, or one whose size differs from its image, is one error naming the file.
    """

    def transform(self, results: dict) -> dict:
        path = results.get('saliency_path')
        if path is None:
            raise KeyError(f"LoadSaliency: image {results.get('img_path')} has no saliency_path; set "
                           "data_prefix['saliency_path'] in the dataset (a folder of <id>.png saliency maps)")
        saliency = read_saliency(path)
        height, width = results['img'].shape[:2]
        if saliency.shape != (height, width):
            raise ValueError(f'saliency map {path} is {saliency.shape[0]}x{saliency.shape[1]} but its image '
                             f"{results.get('img_path')} is {height}x{width}")
        results['gt_saliency'] = saliency
        _add_seg_field(results, 'gt_saliency')
        return results
