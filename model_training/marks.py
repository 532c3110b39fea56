"""Marks that are not digits, synthesized for the not-a-digit model: letters, X fillers,
ticks, strike-outs and scribbles, in MNIST's format (20x20 by aspect, centred by mass in 28x28).

MNIST knows no letters, so they come from fonts: OpenCV's Hershey stroke fonts (always there,
drawn like a pen) and whichever TrueType fonts the machine has. Pen marks (X, tick, lines,
scribbles) are jittered polylines. Every mark is slanted, sheared and stretched like a hand.
Digits drawn in the same fonts are made too (`font_digits`): they teach the model that print
style is no sign of a letter, only shape is.

Letters that are drawn like digits are left out: O o (0), I l i (1), Z z (2), S s (5),
b (6), g q (9). A letter field still holds enough others to be seen; flagging those shapes
would flag real digits.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitize.normalize import to_mnist_format

DIGIT_LIKE = set("OoIliZzSsbgq")
LETTERS = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in DIGIT_LIKE]
HERSHEY = [
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
]
FONT_DIRS = (Path("/usr/share/fonts"), Path.home() / ".fonts")
HEIGHT = 48  # px a glyph is drawn at before it is fitted into 20x20


def truetype_fonts() -> list[Path]:
    """The machine's TrueType fonts (none is fine: the Hershey fonts are always there)."""
    return sorted(p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*.ttf"))


def not_digit_marks(count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 28, 28) uint8 marks that are not digits, white on black."""
    fonts = truetype_fonts()
    makers = [
        (0.55, lambda: _text(_letters(rng), fonts, rng)),
        (0.2, lambda: _pen(_cross(rng), rng)),
        (0.05, lambda: _pen(_tick(rng), rng)),
        (0.1, lambda: _pen(_strike(rng), rng)),
        (0.1, lambda: _pen(_scribble(rng), rng)),
    ]
    weights = np.array([w for w, _ in makers])
    choices = rng.choice(len(makers), size=count, p=weights / weights.sum())
    return np.stack([_mnist(makers[k][1](), rng) for k in choices])


def font_digits(count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 28, 28) uint8 digits drawn in the fonts, white on black."""
    fonts = truetype_fonts()
    return np.stack(
        [_mnist(_text(str(rng.integers(0, 10)), fonts, rng), rng) for _ in range(count)]
    )


def continental_ones(count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 28, 28) uint8 ones written with a long up-stroke (as much of Europe writes
    them): MNIST has few, and without them the model took such a 1 for a caret or an A."""
    return np.stack([_mnist(_pen(_one_with_flag(rng), rng), rng) for _ in range(count)])


def _one_with_flag(rng: np.random.Generator) -> list[Stroke]:
    top, foot = float(rng.uniform(0.55, 0.75)), float(rng.uniform(0.3, 0.7))
    stroke = [(0.0, foot), (top, 0.0), (top + float(rng.uniform(-0.05, 0.1)), 1.0)]
    return [stroke]


def _letters(rng: np.random.Generator) -> str:
    # A printed word in a box can come apart into pairs of touching letters.
    count = 2 if rng.random() < 0.15 else 1
    return "".join(str(rng.choice(LETTERS)) for _ in range(count))


def _text(text: str, fonts: list[Path], rng: np.random.Generator) -> np.ndarray:
    if fonts and rng.random() < 0.5:
        return _truetype(text, fonts[int(rng.integers(len(fonts)))], rng)
    return _hershey(text, rng)


def _hershey(text: str, rng: np.random.Generator) -> np.ndarray:
    face = HERSHEY[int(rng.integers(len(HERSHEY)))]
    if rng.random() < 0.3:
        face |= cv2.FONT_ITALIC
    thickness = int(rng.integers(2, 7))
    scale = cv2.getFontScaleFromHeight(face, HEIGHT, thickness)
    (width, height), base = cv2.getTextSize(text, face, scale, thickness)
    canvas = np.zeros((height + base + 20, width + 20), np.uint8)
    cv2.putText(canvas, text, (10, height + 10), face, scale, 255, thickness, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def _truetype(text: str, path: Path, rng: np.random.Generator) -> np.ndarray:
    try:
        font = ImageFont.truetype(str(path), HEIGHT)
    except OSError:  # a font file PIL cannot read: draw it in a stroke font instead
        return _hershey(text, rng)
    stroke = int(rng.integers(0, 3))
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    image = Image.new("L", (int(right - left) + 20, int(bottom - top) + 20), 0)
    ImageDraw.Draw(image).text(
        (10 - left, 10 - top), text, fill=255, font=font, stroke_width=stroke, stroke_fill=255
    )
    return np.asarray(image, np.float32) / 255.0


Stroke = list[tuple[float, float]]


def _cross(rng: np.random.Generator) -> list[Stroke]:
    """An X: two strokes crossing near the middle, corner to corner or smaller."""
    a, b = rng.uniform(-0.15, 0.15, 2)
    return [
        [(0 + a, 0), (1 + b, 1 + rng.uniform(-0.1, 0.1))],
        [(1 + b, 0 + rng.uniform(-0.1, 0.1)), (0 + a, 1)],
    ]


def _tick(rng: np.random.Generator) -> list[Stroke]:
    return [[(0, rng.uniform(0.45, 0.65)), (rng.uniform(0.25, 0.45), 1), (1, 0)]]


def _strike(rng: np.random.Generator) -> list[Stroke]:
    """A strike-out: one or two long lines near the horizontal. (Not steeper: a lone slanted
    line fitted into 20x20 is how MNIST writers draw a 1.)"""
    lines: list[Stroke] = []
    for _ in range(int(rng.integers(1, 3))):
        y0 = float(rng.uniform(0, 1))
        lines.append([(0.0, y0), (1.0, y0 + float(rng.uniform(-0.35, 0.35)))])
    return lines


def _scribble(rng: np.random.Generator) -> list[Stroke]:
    """A cancelled mark: a zigzag back and forth."""
    turns = int(rng.integers(5, 10))  # fewer turns: a Z, a 2
    return [[(float(k % 2), k / turns + rng.uniform(-0.05, 0.05)) for k in range(turns + 1)]]


def _pen(strokes: list[Stroke], rng: np.random.Generator) -> np.ndarray:
    """Strokes (unit box, x right, y down) drawn with a jittered pen."""
    width, height = HEIGHT * rng.uniform(0.6, 1.3), HEIGHT
    thickness = max(2, round(height * rng.uniform(0.07, 0.16)))
    pad = thickness + 6
    canvas = np.zeros((round(height) + 2 * pad, round(width) + 2 * pad), np.uint8)
    for stroke in strokes:
        points = np.array(
            [
                (pad + x * width + rng.normal(0, 1.2), pad + y * height + rng.normal(0, 1.2))
                for x, y in stroke
            ]
        )
        curve = np.round(points * 4).astype(np.int32)  # 2 fractional bits
        cv2.polylines(canvas, [curve], False, 255, thickness, cv2.LINE_AA, shift=2)
    return canvas.astype(np.float32) / 255.0


def _mnist(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return to_mnist_format(as_scanned(as_written(ink, rng), rng))


def as_scanned(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """As a scan would give it: a digit of 15 to 50 px (a 4-6 mm box at 100-300 DPI), at
    times bi-level or blurred, so that the model learns shapes, not one rendering's texture
    (trained without this, it called half of MNIST's own digits marks)."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    if rows.size == 0:
        return ink
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(15, 50) / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    look = rng.random()
    if look < 0.25:
        ink = (ink > rng.uniform(0.3, 0.6)).astype(np.float32)
    elif look < 0.5:
        ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.4, 1.0))
        ink = np.clip(ink / max(float(ink.max()), 1e-3), 0, 1)
    return ink


def as_written(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slanted, rotated and stretched as a hand would."""
    height, width = ink.shape
    angle = math.radians(rng.uniform(-12, 12))
    shear = rng.uniform(-0.3, 0.3)
    stretch = rng.uniform(0.75, 1.3)
    linear = np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    ) @ np.array([[stretch, shear], [0, 1]])
    size = int(1.8 * max(height, width))
    centre = np.array([width / 2, height / 2])
    offset = np.array([size / 2, size / 2]) - linear @ centre
    warp = np.hstack([linear, offset[:, None]]).astype(np.float32)
    return cv2.warpAffine(ink, warp, (size, size), flags=cv2.INTER_LINEAR)
