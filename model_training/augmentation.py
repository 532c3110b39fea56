"""Data augmentation as Keras preprocessing layers.

They sit inside the model, after pixel scaling, and are active only in training: `predict` and
`evaluate` see the digits untouched. Flips are available but off by default, because a mirrored
2, 3, 4, 5, 6, 7 or 9 is not that digit (the augmentation table in the README measures it).
"""

from __future__ import annotations

import keras
from keras import layers


def augmentation_layers(
    rotation_degrees: float, shift: float, zoom: float, flip: bool
) -> list[keras.Layer]:
    """The layers for the given amounts; an amount of 0 (or flip False) adds no layer."""
    # fill_mode="constant" pads with black, the MNIST background; "reflect" would copy strokes.
    augment: list[keras.Layer] = []
    if rotation_degrees:
        augment.append(layers.RandomRotation(rotation_degrees / 360.0, fill_mode="constant"))
    if shift:
        augment.append(layers.RandomTranslation(shift, shift, fill_mode="constant"))
    if zoom:
        augment.append(layers.RandomZoom(zoom, zoom, fill_mode="constant"))
    if flip:
        augment.append(layers.RandomFlip("horizontal"))
    return augment
