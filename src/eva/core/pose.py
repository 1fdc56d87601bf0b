"""Head pose from MediaPipe's facial transformation matrix (canonical face -> camera)."""
from __future__ import annotations

import numpy as np


def matrix_to_rpy(matrix: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw in radians (ZYX convention) of a 3x3 or 4x4 rotation/transform.

    Roll turns about the camera's z (view) axis, pitch about x (nodding), yaw
    about y (shaking the head).
    """
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    pitch = np.arctan2(r[2, 1], r[2, 2])
    yaw = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    roll = np.arctan2(r[1, 0], r[0, 0])
    return np.array([roll, pitch, yaw])


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of the rotation part of a 3x3 or 4x4 matrix."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    tr = np.trace(r)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(max(1.0 + r[i, i] - r[j, j] - r[k, k], 1e-12))
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (r[j, i] + r[i, j]) / s
        q[k] = (r[k, i] + r[i, k]) / s
    q = np.array(q)
    return q / np.linalg.norm(q)


def unit_quaternion(q, tolerance: float = 0.1) -> np.ndarray:
    """A head-pose quaternion (x, y, z, w) checked and normalized.

    Raises:
        ValueError: not 4 finite numbers, or a norm off 1 by more than ``tolerance``
            (a zero, tiny or huge quaternion is a broken message, not "no rotation").
    """
    try:
        arr = np.asarray(q, dtype=np.float64).reshape(4)
    except (TypeError, ValueError):
        raise ValueError(f"quaternion {q!r}: expected 4 numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"quaternion {arr.tolist()}: not finite")
    norm = float(np.sqrt(np.sum(arr * arr)))
    if abs(norm - 1.0) > tolerance:
        raise ValueError(f"quaternion {arr.tolist()}: norm {norm:.3g}, expected 1")
    return arr / norm


def quaternion_to_matrix(q) -> np.ndarray:
    """3x3 rotation matrix of a quaternion (x, y, z, w); normalized first (zero -> identity)."""
    x, y, z, w = np.asarray(q, dtype=np.float64)
    n = x * x + y * y + z * z + w * w
    if not np.isfinite(n) or n < 1e-12:
        return np.eye(3)
    s = 2.0 / n
    return np.array([[1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
                     [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
                     [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]])
