"""Digits in a style MNIST never showed the model: seven-segment numerals, as some people write
them on meter forms. The shipped model misreads many of them; review corrections teach it."""

from __future__ import annotations

import cv2
import numpy as np

# Segments a..g: top, top right, bottom right, bottom, bottom left, top left, middle.
SEGMENTS = {
    0: "abcdef",
    1: "bc",
    2: "abged",
    3: "abgcd",
    4: "fgbc",
    5: "afgcd",
    6: "afgedc",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}
ENDS = {  # in a unit box: x right, y down
    "a": ((0, 0), (1, 0)),
    "b": ((1, 0), (1, 0.5)),
    "c": ((1, 0.5), (1, 1)),
    "d": ((0, 1), (1, 1)),
    "e": ((0, 0.5), (0, 1)),
    "f": ((0, 0), (0, 0.5)),
    "g": ((0, 0.5), (1, 0.5)),
}


def seven_segment(digit: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One digit, dark ink on white, `height` pixels tall, with a hand's small irregularities."""
    width = int(height * rng.uniform(0.5, 0.6))
    slant = rng.uniform(0.05, 0.2) * height
    thickness = max(2, int(height * rng.uniform(0.07, 0.11)))
    pad = thickness + int(slant) + 2
    canvas = np.full((height + 2 * pad, width + 2 * pad), 255, np.uint8)
    for segment in SEGMENTS[digit]:
        (x0, y0), (x1, y1) = (
            _point(ux, uy, width, height, slant, pad, rng) for ux, uy in ENDS[segment]
        )
        # Overshoot the ends a little, as a pen does, so segments meet at the corners.
        dx, dy = x1 - x0, y1 - y0
        reach = 0.06 * height / max(1.0, float(np.hypot(dx, dy)))
        start = (int(round(x0 - dx * reach)), int(round(y0 - dy * reach)))
        end = (int(round(x1 + dx * reach)), int(round(y1 + dy * reach)))
        cv2.line(canvas, start, end, 0, thickness, cv2.LINE_AA)
    return canvas


def _point(ux, uy, width, height, slant, pad, rng) -> tuple[float, float]:
    jitter = rng.normal(0, 0.015 * height, 2)
    return pad + ux * width + (1 - uy) * slant + jitter[0], pad + uy * height + jitter[1]


def style_page(values: list[str], rng: np.random.Generator) -> np.ndarray:
    """A 200 DPI letter page with one printed box per value, written in seven segments."""
    page = np.full((2200, 1700), 255, np.uint8)
    for index, value in enumerate(values):
        row, column = divmod(index, 2)
        left, top = 150 + column * 760, 150 + row * 200
        cv2.rectangle(page, (left, top), (left + 640, top + 130), 0, 3)
        x = left + 30
        for character in value:
            glyph = seven_segment(int(character), 80, rng)
            y = top + (130 - glyph.shape[0]) // 2
            page[y : y + glyph.shape[0], x : x + glyph.shape[1]] = np.minimum(
                page[y : y + glyph.shape[0], x : x + glyph.shape[1]], glyph
            )
            x += glyph.shape[1] + int(rng.integers(4, 14))
    return page


def random_values(count: int, rng: np.random.Generator) -> list[str]:
    return [
        "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(3, 7)))) for _ in range(count)
    ]
