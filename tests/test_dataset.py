"""Training data: stratified validation split, subsets, extra labelled digits."""

from __future__ import annotations

import numpy as np
from PIL import Image

from model_training.dataset import load_extra_digits, stratified_split, training_data, with_extra
from model_training.mnist import Split


def test_stratified_split_keeps_class_shares():
    labels = np.repeat(np.arange(10), [100 + 10 * d for d in range(10)])
    rest, held_out = stratified_split(labels, 0.2, seed=1)
    assert len(set(rest) & set(held_out)) == 0 and len(rest) + len(held_out) == len(labels)
    for digit in range(10):
        share = np.mean(labels[held_out] == digit) / np.mean(labels == digit)
        assert abs(share - 1) < 0.05


def test_split_is_seeded():
    labels = np.repeat(np.arange(10), 50)
    assert np.array_equal(stratified_split(labels, 0.1, 3)[1], stratified_split(labels, 0.1, 3)[1])
    assert not np.array_equal(
        stratified_split(labels, 0.1, 3)[1], stratified_split(labels, 0.1, 4)[1]
    )


def test_training_data_never_touches_test_split(mnist_dir, monkeypatch):
    import model_training.dataset as dataset

    seen = []
    real = dataset.load_split
    monkeypatch.setattr(
        dataset, "load_split", lambda d, split: seen.append(split) or real(d, split)
    )
    data = training_data(mnist_dir, validation_fraction=0.1, train_limit=2000)
    assert seen == ["train"]
    assert len(data.train) == 2000 and 990 <= len(data.validation) <= 1010


def _write_extra(directory, count_per_label=3):
    for label in (3, 7):
        (directory / str(label)).mkdir(parents=True)
        for i in range(count_per_label):
            Image.fromarray(np.full((28, 28), (20 * i + label) % 256, np.uint8)).save(
                directory / str(label) / f"{i}.png"
            )


def test_extra_digits_are_read_with_labels(tmp_path):
    _write_extra(tmp_path)
    extra = load_extra_digits(tmp_path)
    assert sorted(extra.labels.tolist()) == [3, 3, 3, 7, 7, 7]
    assert extra.images.shape == (6, 28, 28)


def test_extra_digits_are_repeated_to_their_share():
    train = Split(np.zeros((900, 28, 28), np.uint8), np.zeros(900, np.uint8))
    extra = Split(np.ones((10, 28, 28), np.uint8), np.full(10, 5, np.uint8))
    combined = with_extra(train, extra, share=0.1, seed=0)
    assert np.sum(combined.labels == 5) == 100  # 10 % of the result


def test_training_data_holds_out_some_extra_digits(tmp_path, mnist_dir):
    _write_extra(tmp_path, count_per_label=10)
    data = training_data(mnist_dir, train_limit=1000, extra=load_extra_digits(tmp_path))
    assert data.extra_count == 16 and len(data.extra_held_out) == 4
