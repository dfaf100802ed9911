"""One module per stage, each with the stage's computation and one ``run(...)`` callable from Python.

In pipeline order (docs/stages.md): ``superpixels`` → (``cam_classifier``: stock training) → :mod:`.cams` →
:mod:`.ir_labels` → (``irn``: stock training) → :mod:`.pseudo_masks` → (``segmentation``: stock training) →
:mod:`.evaluation`. I²CRC (``method = 'i2crc'``): (``cam_classifier``) → :mod:`.i2crc_cams` →
:mod:`.saliency_labels` → (``segmentation_round1``) → :mod:`.segmenter_masks` → :mod:`.label_refinement` →
(``segmentation``) → :mod:`.evaluation`. The per-image stages share one loop (:mod:`.per_image`); the files they exchange are the
stage contract, :mod:`mmssc.stage_files`. ``tools/make_*.py`` and ``tools/eval_masks.py`` are argument parsing
plus one ``run`` call.
"""
