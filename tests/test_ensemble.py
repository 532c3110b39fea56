"""The ensemble's members are asked about doubtful digits only, and their opinion is averaged
in; a member is trained on the shipped split and loads from an ensemble card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitize.ensemble import CARD_NAME, Ensemble
from digitize.errors import ModelError
from model_training.ensemble_members import train_member


class FixedOpinion:
    """A member that gives the same probabilities for every digit, and counts what it saw."""

    def __init__(self, probabilities: list[float]):
        self.probabilities = np.array(probabilities, np.float32)
        self.seen = 0

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        self.seen += len(batch)
        return np.tile(self.probabilities, (len(batch), 1))


def _one_hot_ish(top: int, sure: float) -> list[float]:
    rest = (1 - sure) / 9
    return [sure if d == top else rest for d in range(10)]


def test_members_see_only_the_doubtful_digits_and_are_averaged_in():
    member = FixedOpinion(_one_hot_ish(7, 0.9))
    ensemble = Ensemble([member], consult_below=0.95)
    first = np.array([_one_hot_ish(1, 0.999), _one_hot_ish(1, 0.6), _one_hot_ish(3, 0.94)])
    digits = np.zeros((3, 28, 28), np.uint8)
    result = ensemble.second_opinion(digits, first)
    assert member.seen == 2  # the sure digit is not asked about
    np.testing.assert_allclose(result[0], first[0])
    np.testing.assert_allclose(result[1], (first[1] + member.probabilities) / 2, rtol=1e-6)
    assert result[1].argmax() == 7  # 0.6 for 1 against (0.04 + 0.9) / 2 for 7
    assert result[2].argmax() == 3  # 0.94 for 3 outweighs the member's 0.9 for 7


def test_without_doubtful_digits_no_member_runs():
    member = FixedOpinion(_one_hot_ish(7, 0.9))
    first = np.array([_one_hot_ish(4, 0.999)] * 5)
    result = Ensemble([member], 0.99).second_opinion(np.zeros((5, 28, 28), np.uint8), first)
    assert member.seen == 0 and result is first


def test_a_damaged_card_or_missing_member_is_one_line(tmp_path):
    assert Ensemble.load(tmp_path) is None  # no card: the first model reads alone
    (tmp_path / CARD_NAME).write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the ensemble card"):
        Ensemble.load(tmp_path)
    (tmp_path / CARD_NAME).write_text(json.dumps({"members": ["gone.keras"], "consult_below": 1}))
    with pytest.raises(ModelError, match=r"gone\.keras: cannot load an ensemble member") as error:
        Ensemble.load(tmp_path)
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_a_trained_member_loads_from_a_card_and_reads_digits(tmp_path, mnist_dir):
    card = train_member(mnist_dir, tmp_path / "m", 1, ["kernel_size=3"], 2, train_limit=2000)
    assert card["split_seed"] == 0 and card["hyperparameters"]["kernel_size"] == 3
    (tmp_path / "member.keras").write_bytes((tmp_path / "m" / "member.keras").read_bytes())
    (tmp_path / CARD_NAME).write_text(
        json.dumps({"members": ["member.keras"], "consult_below": 1.01})
    )
    ensemble = Ensemble.load(tmp_path)
    assert ensemble is not None and len(ensemble.members) == 1
    from model_training.mnist import load_split

    test = load_split(mnist_dir, "test")
    digits = test.images[:200]
    first = np.full((200, 10), 0.1, np.float32)  # a first model with no opinion at all
    read = ensemble.second_opinion(digits, first).argmax(axis=1)
    assert (read == test.labels[:200]).mean() >= 0.8  # the member's own reading shows through
