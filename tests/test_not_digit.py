"""The not-a-digit model: letters, X fillers and ticks are no digits; MNIST's digits are.

The marks come from samples/zoo.py's pen glyphs, which the model never trained on (it learnt
letters from fonts and its own pen strokes: model_training/marks.py); the digits from MNIST's
test split, which it never trained on either."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from digitize.normalize import to_mnist_format
from digitize.not_digit import NotDigitModel
from model_training.marks import DIGIT_LIKE, LETTERS, font_digits, not_digit_marks
from model_training.mnist import load_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import zoo


@pytest.fixture(scope="module")
def model() -> NotDigitModel:
    loaded = NotDigitModel.load()
    assert loaded is not None, "digitize/models/not_digit.keras is not shipped"
    return loaded


def zoo_marks(names: str, rng: np.random.Generator) -> np.ndarray:
    return np.stack([to_mnist_format(zoo.glyph(name, rng)) for name in names])


@pytest.mark.model
def test_letters_and_x_fillers_drawn_by_another_hand_are_no_digits(model):
    rng = np.random.default_rng(5)
    letters = "".join(c for c in "ACDEFHJKMNPRTUVWXY" for _ in range(6))
    found = model.scores(zoo_marks(letters, rng)) > model.threshold
    # 71 % at the card's threshold (0.995, raised by hand for the bundled samples); 90 % and
    # more at its validation threshold (0.52).
    assert found.mean() >= 0.65, dict(zip(letters, found))
    crosses = model.scores(zoo_marks(["cross"] * 30, rng)) > model.threshold
    assert crosses.mean() >= 0.9


@pytest.mark.model
def test_mnist_test_digits_are_digits(model, mnist_dir):
    test = load_split(mnist_dir, "test")
    flagged = model.scores(test.images[:3000]) > model.threshold
    assert flagged.mean() <= 0.005  # its card: 0.1 % on the validation digits


def test_the_marks_are_in_mnist_format_and_no_letter_is_drawn_like_a_digit():
    rng = np.random.default_rng(0)
    for images in (not_digit_marks(50, rng), font_digits(20, rng)):
        assert images.shape[1:] == (28, 28) and images.dtype == np.uint8
        assert (images.reshape(len(images), -1).max(axis=1) > 128).all()  # ink in every one
    assert not set(LETTERS) & DIGIT_LIKE
