"""The digit classifier as a Keras Tuner HyperModel.

Every hyperparameter is declared where it is used, with the full range of values it may take
and its default. A search space (`search_space.py`) narrows this down: it pins some entries
with `Fixed` and says which of the rest are tuned. Read `build` top to bottom to see the model.
"""

from __future__ import annotations

import sys
import time

import keras
import keras_tuner as kt
import numpy as np
from keras import layers

from model_training.augmentation import augmentation_layers
from model_training.mnist import Split

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OBJECTIVE = "val_accuracy"


class DigitHyperModel(kt.HyperModel):
    """A CNN over raw 0-255 28x28 digits: conv blocks, a dense layer, a softmax over 10."""

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        inputs = keras.Input(shape=IMAGE_SHAPE, name="digit")
        # Pixel scaling lives in the model, so the saved model takes raw 0-255 pixels.
        x = layers.Rescaling(1.0 / 255)(inputs)

        for layer in augmentation_layers(
            rotation_degrees=hp.Choice("rotation", [0, 10, 15], default=10),
            shift=hp.Choice("shift", [0.0, 0.1], default=0.1),
            zoom=hp.Choice("zoom", [0.0, 0.1], default=0.1),
            flip=hp.Boolean("flip", default=False),
        ):
            x = layer(x)

        conv_blocks = hp.Int("conv_blocks", 1, 3, default=2)
        convs_per_block = hp.Int("convs_per_block", 1, 2, default=2)
        filters = hp.Choice("filters", [16, 32, 64], default=32)
        kernel_size = hp.Choice("kernel_size", [3, 5], default=3)
        padding = hp.Choice("padding", ["same", "valid"], default="same")
        activation = hp.Choice("activation", ["relu", "elu"], default="relu")
        batch_norm = hp.Boolean("batch_norm", default=True)
        pooling = hp.Choice("pooling", ["max", "average", "none"], default="max")
        dropout = hp.Choice("dropout", [0.0, 0.25, 0.4], default=0.25)

        for block in range(conv_blocks):
            # A block that no longer fits the shrinking feature map is left out, so that every
            # grid point builds (e.g. 3 blocks of 5x5 "valid" convolutions with pooling).
            if not _block_fits(x.shape[1], kernel_size, padding, convs_per_block):
                break
            for _ in range(convs_per_block):
                # Each block doubles the filters, as the spatial size halves.
                x = layers.Conv2D(filters * 2**block, kernel_size, padding=padding)(x)
                if batch_norm:
                    x = _batch_norm()(x)
                x = layers.Activation(activation)(x)
            if pooling == "max":
                x = layers.MaxPooling2D(pool_size=2)(x)
            elif pooling == "average":
                x = layers.AveragePooling2D(pool_size=2)(x)
            if dropout:
                x = layers.Dropout(dropout)(x)

        x = layers.Flatten()(x)
        x = layers.Dense(hp.Choice("dense_units", [128, 256], default=256))(x)
        if batch_norm:
            x = _batch_norm()(x)
        x = layers.Activation(activation)(x)
        dense_dropout = hp.Choice("dense_dropout", [0.0, 0.5], default=0.5)
        if dense_dropout:
            x = layers.Dropout(dense_dropout)(x)
        outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)

        model = keras.Model(inputs, outputs, name="digit_cnn")
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-4], default=1e-3)),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        # `build` declares the model's entries; `batch_size` is used only when fitting, and
        # Keras Tuner would otherwise discover it in the middle of the first trial.
        self.build(hp)
        batch_size(hp)

    def fit(self, hp, model, train: Split, validation: Split, epochs: int, callbacks=(), **_):
        """One tuning trial: train with early stopping, return the metrics the table shows."""
        started = time.monotonic()
        history = train_model(model, hp, train, validation, epochs, list(callbacks))
        return {
            OBJECTIVE: max(history.history[OBJECTIVE]),
            "epochs": len(history.epoch),
            "seconds": time.monotonic() - started,
        }


def train_model(
    model: keras.Model,
    hp: kt.HyperParameters,
    train: Split,
    validation: Split,
    epochs: int,
    callbacks: list | None = None,
) -> keras.callbacks.History:
    """Fit `model` with early stopping and learning-rate reduction on validation accuracy."""
    standard = [
        # Keep the weights of the best epoch, not the last one.
        keras.callbacks.EarlyStopping(monitor=OBJECTIVE, patience=6, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=OBJECTIVE, factor=0.5, patience=2, min_lr=1e-5),
    ]
    return model.fit(
        as_model_input(train.images),
        one_hot(train.labels),
        validation_data=(as_model_input(validation.images), one_hot(validation.labels)),
        batch_size=batch_size(hp),
        epochs=epochs,
        callbacks=standard + list(callbacks or []),
        # A live progress bar on a terminal; one line per epoch in logs.
        verbose=1 if sys.stdout.isatty() else 2,
    )


def batch_size(hp: kt.HyperParameters) -> int:
    return hp.Choice("batch_size", [64, 128], default=128)


def all_hyperparameters() -> kt.HyperParameters:
    """Every entry the hypermodel declares, with its values and default."""
    hp = kt.HyperParameters()
    DigitHyperModel().declare_hyperparameters(hp)
    return hp


def fixed_hyperparameters(values: dict) -> kt.HyperParameters:
    """Hyperparameters pinned to `values` (e.g. a model card's), to rebuild that model."""
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) 0-255 pixels -> the (n, 28, 28, 1) float32 the model takes."""
    return images.reshape(-1, *IMAGE_SHAPE).astype(np.float32)


def one_hot(labels: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(labels, NUM_CLASSES)


def _batch_norm() -> layers.BatchNormalization:
    # Keras' default momentum (0.99) averages over ~100 steps, and the statistics drift while
    # the weights change fast: tuning trials, a few hundred steps long, validate at chance.
    # A short memory fits them; after full training `batch_norm.py` recomputes them exactly.
    return layers.BatchNormalization(momentum=0.9)


def _block_fits(size: int, kernel_size: int, padding: str, convs: int) -> bool:
    if padding == "valid":
        size -= convs * (kernel_size - 1)
    return size >= 2
