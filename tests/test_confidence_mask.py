"""Confidence masks (docs/method.md, 'Confidence masks'): top-1 − top-2 margin, the most confident half of every predicted class."""
import numpy as np
import pytest
import torch

from mmssc.confidence_mask import apply_confidence, confident_per_class, top2_margin


def test_hand_made_score_map():
    background = 0.25
    class_a = [[0.9, 0.5, 0.3, 0.1],
               [0.8, 0.25, 0.0, 0.2]]
    class_b = [[0.1, 0.6, 0.2, 0.0],
               [0.3, 0.1, 1.0, 0.25]]
    scores = torch.tensor([[[background] * 4] * 2, class_a, class_b], dtype=torch.float64)
    pred = scores.argmax(dim=0)
    # per pixel (bg, a, b) → prediction (first maximum), margin:
    #   (0,0) .25 .9 .1 → a, .65    (0,1) .25 .5 .6 → b, .10   (0,2) .25 .3 .2 → a, .05   (0,3) .25 .1 0 → bg, .15
    #   (1,0) .25 .8 .3 → a, .50    (1,1) .25 .25 .1 → bg (tie), both .25 zeroed → .25 − .1 = .15
    #   (1,2) .25 0 1 → b, .75      (1,3) .25 .2 .25 → bg (tie) → .25 − .2 = .05
    assert pred.tolist() == [[1, 2, 1, 0], [1, 0, 2, 0]]
    expected_margin = [[0.9 - 0.25, 0.6 - 0.5, 0.3 - 0.25, 0.25 - 0.1],
                       [0.8 - 0.3, 0.25 - 0.1, 1.0 - 0.25, 0.25 - 0.2]]
    margin = top2_margin(scores)
    torch.testing.assert_close(margin, torch.tensor(expected_margin, dtype=torch.float64))
    # bg: 3 pixels (.15, .15, .05) → keep ⌊3/2⌋ = 1: the tie at .15 goes to the first in raster order, (0,3)
    # a:  3 pixels (.65, .05, .50) → keep 1: (0,0);   b: 2 pixels (.10, .75) → keep 1: (1,2)
    confident = confident_per_class(margin, pred, 0.5)
    assert confident.tolist() == [[True, False, False, True], [False, False, True, False]]
    labels = torch.tensor([[15, 3, 15, 0], [15, 0, 3, 0]], dtype=torch.uint8)  # planes → VOC labels
    assert apply_confidence(labels, confident).tolist() == [[15, 255, 255, 0], [255, 255, 3, 255]]


def test_all_tied_scores_give_the_top_value_as_margin():
    # every entry equal to the max is zeroed, so a pixel whose planes all tie has margin top-1 − 0
    scores = torch.tensor([[[0.25]], [[0.25]], [[0.25]]])
    assert top2_margin(scores).item() == pytest.approx(0.25)


def plain_confidence(scores: np.ndarray, fraction: float) -> np.ndarray:
    """The confidence rule by plain loops: the margin rule per pixel, then per class a stable sort by descending margin."""
    channels, height, width = scores.shape
    pred = scores.argmax(axis=0)
    margin = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            values = list(scores[:, y, x])
            top = max(values)
            margin[y, x] = top - max(0.0 if v == top else v for v in values)
    confident = np.zeros((height, width), bool)
    for value in np.unique(pred):
        pixels = [(y, x) for y in range(height) for x in range(width) if pred[y, x] == value]
        ranked = sorted(pixels, key=lambda p: -margin[p])  # Python's sort is stable: ties keep raster order
        for p in ranked[:int(np.floor(len(pixels) * fraction))]:
            confident[p] = True
    return confident


@pytest.mark.parametrize('fraction', [0.5, 0.3, 1.0, 0.0])
def test_exact_top_fraction_per_class_on_random_scores(fraction):
    rng = np.random.default_rng(int(fraction * 10))
    scores = np.round(rng.uniform(0, 1, (5, 23, 31)), 1)  # coarse values: many tied margins
    scores[0] = 0.25
    expected = plain_confidence(scores, fraction)
    tensor = torch.from_numpy(scores)
    ours = confident_per_class(top2_margin(tensor), tensor.argmax(dim=0), fraction)
    np.testing.assert_array_equal(ours.numpy(), expected)
    # exactly ⌊n·fraction⌋ confident pixels per predicted class
    pred = scores.argmax(axis=0)
    for value in np.unique(pred):
        assert ours.numpy()[pred == value].sum() == int(np.floor((pred == value).sum() * fraction))
