"""A fixed crop of camera frames (the paper films the robot and crops 480x320 around its head)."""
from __future__ import annotations

import numpy as np


def parse_crop(text: str) -> tuple[int, int, int, int] | None:
    """``"X,Y,W,H"`` (px, top-left corner and size) -> a tuple; empty -> None (whole frames).

    Raises:
        ValueError: not four integers, a negative corner or a size < 1.
    """
    text = text.strip()
    if not text:
        return None
    parts = [t.strip() for t in text.split(",")]
    try:
        x, y, w, h = (int(t) for t in parts)
    except ValueError:
        raise ValueError(f"crop must be X,Y,W,H in integer px, got {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise ValueError(f"crop needs X, Y >= 0 and W, H >= 1, got {text!r}")
    return x, y, w, h


def crop_image(rgb: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    """The ``crop`` of an (H, W, C) image (a contiguous copy).

    Raises:
        ValueError: the crop reaches outside the image.
    """
    x, y, w, h = crop
    if y + h > rgb.shape[0] or x + w > rgb.shape[1]:
        raise ValueError(f"crop {x},{y},{w},{h} reaches outside the {rgb.shape[1]}x{rgb.shape[0]} camera frame")
    return np.ascontiguousarray(rgb[y:y + h, x:x + w])
