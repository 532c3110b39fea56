"""The ensemble's members are asked about doubtful digits only, and their opinion is averaged
in; a member is trained on the shipped split and loads from an ensemble card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitize.classifier import DigitClassifier
from digitize.ensemble import CARD_NAME, Ensemble, model_sha256, read_ensemble_card
from digitize.errors import ModelError
from digitize.model_files import MODEL_NAME


class InkOpinion:
    """A member that reads a digit as its count of ink pixels (mod 10), sure to 0.9, and
    counts how many digits it was shown: its opinion depends on the very images it gets."""

    def __init__(self):
        self.seen = 0

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        assert batch.dtype == np.float32 and batch.shape[1:] == (28, 28, 1)
        self.seen += len(batch)
        ink = (batch.reshape(len(batch), -1) > 0).sum(axis=1) % 10
        return np.array([_one_hot_ish(int(k), 0.9) for k in ink], np.float32)


def _one_hot_ish(top: int, sure: float) -> list[float]:
    rest = (1 - sure) / 9
    return [sure if d == top else rest for d in range(10)]


def _digits_with_ink(counts: list[int]) -> np.ndarray:
    digits = np.zeros((len(counts), 28, 28), np.uint8)
    for digit, count in zip(digits, counts, strict=True):
        digit.reshape(-1)[:count] = 255
    return digits


def test_members_see_only_the_doubtful_digits_and_are_averaged_in():
    member = InkOpinion()
    ensemble = Ensemble([member], consult_below=0.95)
    first = np.array(
        [_one_hot_ish(1, 0.999), _one_hot_ish(1, 0.6), _one_hot_ish(3, 0.94), _one_hot_ish(5, 0.5)]
    )
    digits = _digits_with_ink([7, 7, 7, 2])  # the member reads 7, 7, 7, 2
    result = ensemble.second_opinion(digits, first)
    assert member.seen == 3  # the sure digit is not asked about
    np.testing.assert_allclose(result[0], first[0])
    assert result[1].argmax() == 7  # 0.6 for 1 against (0.044 + 0.9) / 2 for 7
    np.testing.assert_allclose(result[1].sum(), 1.0, rtol=1e-6)
    assert result[2].argmax() == 3  # 0.94 for 3 outweighs the member's 0.9 for 7
    assert result[3].argmax() == 2  # the member's reading of the fourth image, not another's


def test_without_doubtful_digits_no_member_runs():
    member = InkOpinion()
    first = np.array([_one_hot_ish(4, 0.999)] * 5)
    result = Ensemble([member], 0.99).second_opinion(np.zeros((5, 28, 28), np.uint8), first)
    assert member.seen == 0 and result is first


class FirstModel:
    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        return np.array([_one_hot_ish(1, 0.6)] * len(batch), np.float32)


def test_the_classifier_asks_its_ensemble():
    classifier = DigitClassifier.__new__(DigitClassifier)  # no model files: only the wiring
    classifier.model = FirstModel()
    classifier.ensemble = None
    digits = _digits_with_ink([7, 7])
    assert (classifier.probabilities(digits).argmax(axis=1) == 1).all()
    classifier.ensemble = Ensemble([InkOpinion()], 0.99)
    assert (classifier.probabilities(digits).argmax(axis=1) == 7).all()


def _card(directory, **fields) -> None:
    (directory / CARD_NAME).write_text(json.dumps(fields))


def test_a_damaged_card_or_missing_member_is_one_line(tmp_path):
    assert Ensemble.load(tmp_path) is None  # no card: the first model reads alone
    (tmp_path / MODEL_NAME).write_bytes(b"the first model")
    sha = model_sha256(tmp_path / MODEL_NAME)
    (tmp_path / CARD_NAME).write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the ensemble card"):
        read_ensemble_card(tmp_path)
    for damaged, says in [
        ({"members": "m.keras", "consult_below": 0.9, "first_model": sha}, "members"),
        ({"members": [], "consult_below": "high", "first_model": sha}, "consult_below"),
        ({"members": [], "consult_below": 0.9}, "sha256"),
        ({"members": ["gone.keras"], "consult_below": 0.9, "first_model": sha}, "not there"),
    ]:
        _card(tmp_path, **damaged)
        with pytest.raises(ModelError, match=says) as error:
            Ensemble.load(tmp_path)
        assert "\n" not in str(error.value)


def test_a_card_made_for_another_first_model_is_not_used(tmp_path):
    """A retrain installed over the folder: its members were chosen for the model before."""
    (tmp_path / MODEL_NAME).write_bytes(b"the model retrained")
    _card(tmp_path, members=["gone.keras"], consult_below=0.9, first_model="0" * 64)
    assert read_ensemble_card(tmp_path) is None and Ensemble.load(tmp_path) is None


@pytest.mark.slow
def test_a_trained_member_loads_from_a_card_and_reads_digits(tmp_path, mnist_dir):
    from model_training.ensemble_members import train_member  # imports Keras
    from model_training.mnist import load_split

    card = train_member(mnist_dir, tmp_path / "m", 1, ["kernel_size=3"], 2, train_limit=2000)
    assert card["split_seed"] == 0 and card["hyperparameters"]["kernel_size"] == 3
    (tmp_path / "member.keras").write_bytes((tmp_path / "m" / "member.keras").read_bytes())
    (tmp_path / MODEL_NAME).write_bytes(b"a first model")
    _card(
        tmp_path,
        members=["member.keras"],
        consult_below=1.01,
        first_model=model_sha256(tmp_path / MODEL_NAME),
    )
    ensemble = Ensemble.load(tmp_path)
    assert ensemble is not None and len(ensemble.members) == 1
    test = load_split(mnist_dir, "test")
    digits = test.images[:200]
    first = np.full((200, 10), 0.1, np.float32)  # a first model with no opinion at all
    read = ensemble.second_opinion(digits, first).argmax(axis=1)
    assert (read == test.labels[:200]).mean() >= 0.8  # the member's own reading shows through
