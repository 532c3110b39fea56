"""Batch-norm statistics recomputed on clean digits: after training, and before a trial validates."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from model_training import search
from model_training.batch_norm import (
    PreciseBatchNormBeforeValidation,
    recompute_batch_norm_statistics,
)
from model_training.dataset import limit
from model_training.hypermodel import IMAGE_SHAPE, as_model_input, one_hot
from model_training.mnist import load_split
from model_training.search_space import load_space


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=IMAGE_SHAPE)
    x = layers.Conv2D(3, 3)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _conv_output_statistics(model: keras.Model, images: np.ndarray) -> tuple[np.ndarray, ...]:
    conv = model.layers[1](as_model_input(images))
    values = np.asarray(conv).reshape(-1, conv.shape[-1])
    return values.mean(axis=0), values.var(axis=0)


def _images(count: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (count, 28, 28)).astype(np.uint8)


def test_recomputed_statistics_are_the_population_statistics():
    model, images = _tiny_model(), _images(40)
    recompute_batch_norm_statistics(model, images, batch_size=40)
    norm = model.layers[2]
    mean, variance = _conv_output_statistics(model, images)
    np.testing.assert_allclose(np.asarray(norm.moving_mean), mean, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(norm.moving_variance), variance, rtol=1e-3)


def test_validation_recomputes_the_statistics_first():
    model, images = _tiny_model(), _images(40)
    norm = model.layers[2]
    assert np.allclose(np.asarray(norm.moving_mean), 0.0)  # Keras' start, before any step
    labels = one_hot(np.arange(40) % 10)
    model.evaluate(
        as_model_input(images),
        labels,
        verbose=0,
        callbacks=[PreciseBatchNormBeforeValidation(images)],
    )
    mean, _ = _conv_output_statistics(model, images)
    np.testing.assert_allclose(np.asarray(norm.moving_mean), mean, rtol=1e-3)


@pytest.mark.slow
def test_a_one_epoch_trial_with_batch_norm_is_ranked_by_what_it_learned(mnist_dir, tmp_path):
    """Five steps are too few for the running statistics: without the recompute this trial
    validated at 10-20 %, which would rank a grid's cheapest rung by noise."""
    space = load_space("quick").with_fixed({"batch_norm": True})
    train = limit(load_split(mnist_dir, "train"), 600, seed=0)
    validation = limit(load_split(mnist_dir, "train"), 500, seed=1)
    tuner = search.make_tuner(space, tmp_path, max_trials=1)
    search.run_search(tuner, train, validation, epochs=1)
    assert search.results_table(tuner)["val_accuracy"].iloc[0] >= 0.5
