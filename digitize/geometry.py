"""Axis-aligned boxes in page pixels, and the cells of a printed form they outline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def center_x(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def center_y(self) -> float:
        return (self.y0 + self.y1) / 2

    @staticmethod
    def union(boxes: Iterable[Box]) -> Box:
        boxes = list(boxes)
        return Box(
            min(b.x0 for b in boxes),
            min(b.y0 for b in boxes),
            max(b.x1 for b in boxes),
            max(b.y1 for b in boxes),
        )

    def grow(self, pixels: float) -> Box:
        p = int(round(pixels))
        return Box(self.x0 - p, self.y0 - p, self.x1 + p, self.y1 + p)

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def clip(self, width: int, height: int) -> Box:
        return Box(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    @property
    def area(self) -> int:
        return self.width * self.height

    def shared_area(self, other: Box) -> int:
        """The area of the two boxes' intersection (0 where they do not meet)."""
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        height = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(0, width) * max(0, height)

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def slice(self) -> tuple[slice, slice]:
        """Index an image with it: image[box.slice()]."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def corners(self) -> np.ndarray:
        return np.array(
            [[self.x0, self.y0], [self.x1, self.y0], [self.x1, self.y1], [self.x0, self.y1]],
            dtype=np.float64,
        )

    @staticmethod
    def around(points: np.ndarray) -> Box:
        x0, y0 = np.floor(points.min(axis=0)).astype(int)
        x1, y1 = np.ceil(points.max(axis=0)).astype(int)
        return Box(int(x0), int(y0), int(x1), int(y1))


@dataclass(frozen=True)
class Cell:
    """One hole of a printed form's ruling (here so that `fields` and `comb_repair` share it)."""

    box: Box  # bounding box of the hole inside the border
    outline: np.ndarray  # the hole's convex hull, page pixels (cv2 contour)

    @staticmethod
    def of_box(box: Box) -> Cell:
        """A cell known only by its box (put back, cut at ticks or at a column's dividers):
        its outline is the box."""
        return Cell(box, box.corners().astype(np.int32).reshape(-1, 1, 2))
