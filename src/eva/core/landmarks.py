"""Landmark sets and the paper's 2-channel landmark mask.

The paper (IV-B) uses OpenPose's 70 face points without the 17 jaw-line points:
53 points on the brows, nose, eyes, mouth and pupils. MediaPipe's face landmarker
gives 478 points (468 mesh + 10 iris). ``PAPER53_MEDIAPIPE`` maps each of the 53
points, in OpenPose order (OpenPose index 17..69), to the MediaPipe index at the
same anatomical place. "Right" is the subject's right, which is on the image's
left (MediaPipe output is not mirrored).
"""
from __future__ import annotations

import numpy as np

NUM_MEDIAPIPE = 478

# OpenPose index -> MediaPipe index, grouped as OpenPose orders them.
_RIGHT_BROW = (70, 63, 105, 66, 107)           # OP 17-21, outer -> inner
_LEFT_BROW = (336, 296, 334, 293, 300)         # OP 22-26, inner -> outer
_NOSE_BRIDGE = (168, 197, 5, 4)                # OP 27-30, top -> tip
_NOSE_BASE = (98, 97, 2, 326, 327)             # OP 31-35, right ala -> left ala
_RIGHT_EYE = (33, 160, 158, 133, 153, 144)     # OP 36-41, outer corner, upper lid, inner corner, lower lid
_LEFT_EYE = (362, 385, 387, 263, 373, 380)     # OP 42-47, inner corner, upper lid, outer corner, lower lid
_OUTER_LIPS = (61, 39, 37, 0, 267, 269, 291,   # OP 48-59, right corner, upper lip, left corner,
               405, 314, 17, 84, 181)          #   lower lip back to the right
_INNER_LIPS = (78, 82, 13, 312, 308, 317, 14, 87)  # OP 60-67
_PUPILS = (468, 473)                           # OP 68-69, iris centres (right, left)

PAPER53_MEDIAPIPE: tuple[int, ...] = (
    _RIGHT_BROW + _LEFT_BROW + _NOSE_BRIDGE + _NOSE_BASE + _RIGHT_EYE + _LEFT_EYE
    + _OUTER_LIPS + _INNER_LIPS + _PUPILS)
PAPER53_OPENPOSE: tuple[int, ...] = tuple(range(17, 70))

# Named groups as index ranges into the 53-point subset.
PAPER53_GROUPS: dict[str, slice] = {
    "right_brow": slice(0, 5), "left_brow": slice(5, 10), "nose_bridge": slice(10, 14),
    "nose_base": slice(14, 19), "right_eye": slice(19, 25), "left_eye": slice(25, 31),
    "outer_lips": slice(31, 43), "inner_lips": slice(43, 51), "pupils": slice(51, 53),
}

assert len(PAPER53_MEDIAPIPE) == 53 and len(set(PAPER53_MEDIAPIPE)) == 53


def paper53(points: np.ndarray) -> np.ndarray:
    """Selects the paper's 53 landmarks from MediaPipe's 478.

    Args:
        points: (478, D) or (..., 478, D) landmark array.

    Returns:
        (..., 53, D) array, OpenPose order 17..69.
    """
    points = np.asarray(points)
    if points.shape[-2] != NUM_MEDIAPIPE:
        raise ValueError(f"expected {NUM_MEDIAPIPE} MediaPipe landmarks, got shape {points.shape}")
    return points[..., list(PAPER53_MEDIAPIPE), :]


def landmark_mask(points_xy: np.ndarray, size: tuple[int, int], confidence=1.0,
                  source_size: tuple[int, int] | None = None, radius: int = 0,
                  subpixel: bool = False) -> np.ndarray:
    """The paper's 2-channel landmark mask.

    Channel 0 is 1 at landmark pixels, channel 1 holds each landmark's
    confidence there (0 elsewhere). Points outside the image are dropped.
    With ``subpixel``, each point is spread bilinearly over the 4 pixels around
    it instead (pixel centres at integer + 0.5; weights sum to 1, and to the
    confidence in channel 1; overlapping points add up), so a model sees where
    inside a pixel the landmark is: at 96x128 a pixel spans about 2.4 robot-camera
    px, as much as one command level moves a brow.

    Args:
        points_xy: (N, 2) pixel coordinates (x right, y down) in ``source_size``.
        size: (width, height) of the mask.
        confidence: scalar or (N,) confidences in [0, 1].
        source_size: (width, height) the points refer to; defaults to ``size``.
            Points are scaled to ``size``, so one landmark set gives a mask at any size.
        radius: mark a (2r+1)^2 square around each point (0 = single pixel); not with ``subpixel``.
        subpixel: bilinear weights instead of one marked pixel per point.

    Returns:
        (2, height, width) float32 array.
    """
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"mask size must be positive, got {size}")
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    conf = np.broadcast_to(np.asarray(confidence, dtype=np.float32), (len(pts),))
    if source_size is not None:
        pts = pts * (np.array([w, h], float) / np.array(source_size, float))
    mask = np.zeros((2, h, w), np.float32)
    ok = np.isfinite(pts).all(axis=1)
    if subpixel:
        if radius:
            raise ValueError("landmark_mask: radius and subpixel do not combine")
        ok &= (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)  # as the pixel mask
        # pixel (i, j) has its centre at (i + 0.5, j + 0.5); within half a pixel of the border all goes to it
        q = np.clip(pts[ok] - 0.5, 0.0, [w - 1, h - 1])
        x0 = np.minimum(np.floor(q[:, 0]), w - 2).astype(np.int64) if w > 1 else np.zeros(len(q), np.int64)
        y0 = np.minimum(np.floor(q[:, 1]), h - 2).astype(np.int64) if h > 1 else np.zeros(len(q), np.int64)
        fx, fy = q[:, 0] - x0, q[:, 1] - y0
        c = conf[ok]
        for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            x, y = x0 + dx, y0 + dy
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            np.add.at(mask[0], (y[inside], x[inside]), wgt[inside].astype(np.float32))
            np.add.at(mask[1], (y[inside], x[inside]), (wgt[inside] * c[inside]).astype(np.float32))
        return mask
    xi = np.floor(pts[ok, 0]).astype(np.int64)
    yi = np.floor(pts[ok, 1]).astype(np.int64)
    c = conf[ok]
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            x, y = xi + dx, yi + dy
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            mask[0, y[inside], x[inside]] = 1.0
            mask[1, y[inside], x[inside]] = np.maximum(mask[1, y[inside], x[inside]], c[inside])
    return mask
