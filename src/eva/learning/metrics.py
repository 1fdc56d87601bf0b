"""The paper's evaluation metrics (V-C), NumPy only and pure.

Every distance works on one sample or a batch (leading axes) and returns one
value per sample; averaging over samples, then mean and standard error over
seeds (`mean_se`), is the caller's.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The robot camera frame the paper's landmark distances are in (480x320 crop, V-D).
ROBOT_FRAME = (480, 320)
LEVELS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])  # the 5 discrete motor levels (IV-D)


def image_distance(a, b) -> np.ndarray:
    """L2 norm of the difference of two RGB images, normalized by the number of pixel values.

    The paper (Table I) normalizes by W*H*3 with pixel values in [0, 1]: identical
    images give 0, an all-black vs all-white pair gives ``1 / sqrt(W*H*3)``.

    Args:
        a, b: (..., H, W, 3) images, uint8 (scaled by 1/255) or float in [0, 1].

    Returns:
        (...) float64 distances.
    """
    a, b = _unit(a), _unit(b)
    if a.shape != b.shape or a.ndim < 3:
        raise ValueError(f"image_distance: images must have one (..., H, W, C) shape, got {a.shape} and {b.shape}")
    h, w, c = a.shape[-3:]
    return np.sqrt(((a - b) ** 2).sum(axis=(-3, -2, -1))) / (w * h * c)


def _unit(img) -> np.ndarray:
    img = np.asarray(img)
    return img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)


def to_robot_frame(points_xy, frame_size: Sequence[float], robot_frame: Sequence[float] = ROBOT_FRAME) -> np.ndarray:
    """Rescales pixel coordinates from an image of ``frame_size`` (w, h) to the robot frame (480x320)."""
    scale = np.asarray(robot_frame, np.float64) / np.asarray(frame_size, np.float64)
    return np.asarray(points_xy, np.float64)[..., :2] * scale


def landmark_distance(a, b, frame_size: Sequence[float] = ROBOT_FRAME) -> np.ndarray:
    """Frobenius norm of the difference of two landmark sets, divided by the number of landmarks.

    Both sets are pixel x, y in an image of ``frame_size`` (width, height) and
    are first rescaled to the robot camera frame of 480x320 pixels, so numbers
    are comparable across model sizes (and with the paper's, up to the camera).
    NaN in either set (no face found) gives NaN for that sample.

    Args:
        a, b: (..., K, 2) pixel coordinates (K = 53 for the paper's landmarks).
        frame_size: (width, height) of the image the coordinates are in.

    Returns:
        (...) float64 distances in robot-frame pixels per landmark.
    """
    a, b = to_robot_frame(a, frame_size), to_robot_frame(b, frame_size)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"landmark_distance: sets must have one (..., K, 2) shape, got {a.shape} and {b.shape}")
    return np.sqrt(((a - b) ** 2).sum(axis=(-2, -1))) / a.shape[-2]


def command_distance(pred, true) -> np.ndarray:
    """L2 norm of the difference of two motor command vectors (values in [0, 1]).

    Args:
        pred, true: (..., M) commands (M = 10 motors).

    Returns:
        (...) float64 distances.
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"command_distance: shapes differ: {pred.shape} vs {true.shape}")
    return np.sqrt(((pred - true) ** 2).sum(axis=-1))


def to_levels(commands) -> np.ndarray:
    """Index (0..4) of the nearest of the 5 discrete levels {0, .25, .5, .75, 1} per motor."""
    return np.rint(np.clip(np.asarray(commands, np.float64), 0.0, 1.0) * 4).astype(np.int64)


def command_accuracy(pred, true) -> np.ndarray:
    """Percentage of motors whose predicted level equals the true level.

    Continuous predictions are rounded to the nearest level first.

    Args:
        pred, true: (..., M) commands in [0, 1].

    Returns:
        (...) float64 percentages in [0, 100].
    """
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"command_accuracy: shapes differ: {pred.shape} vs {true.shape}")
    return 100.0 * (to_levels(pred) == to_levels(true)).mean(axis=-1)


def mean_se(values_per_seed) -> dict[str, float]:
    """Mean and standard error over seeds: ``std(ddof=1) / sqrt(n)`` (0 for one seed).

    NaN values (a seed with no valid sample) are left out; all NaN gives NaN.
    """
    v = np.asarray(values_per_seed, np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"mean": float("nan"), "se": float("nan")}
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "se": se}

