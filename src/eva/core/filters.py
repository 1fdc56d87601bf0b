"""Signal filters for landmark streams (NumPy only)."""
from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    """Smoothing factor of a first-order low-pass with the given cutoff for one step of ``dt_s``."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012), element-wise over an array of any shape.

    A low-pass whose cutoff rises with the signal's speed: still landmarks are
    smoothed hard (no jitter), fast ones lightly (little lag).

    Args:
        min_cutoff_hz: cutoff at zero speed; lower = smoother and laggier.
        beta: cutoff increase per unit of speed (units of the signal per second);
            higher = less lag on fast motion.
        d_cutoff_hz: cutoff of the low-pass applied to the speed estimate.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.0, d_cutoff_hz: float = 1.0):
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ValueError(f"One-Euro parameters must be min_cutoff_hz > 0, d_cutoff_hz > 0, beta >= 0; "
                             f"got {min_cutoff_hz}, {d_cutoff_hz}, {beta}")
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = float(min_cutoff_hz), float(beta), float(d_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        """Forgets the past: the next sample passes through unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filters one sample taken at time ``t_s`` (seconds, increasing).

        A sample whose time does not advance returns the previous output (a
        duplicate or out-of-order frame must not divide by zero). Non-finite
        elements keep their previous value.
        """
        x = np.asarray(x, np.float64)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = np.where(np.isfinite(x), x, 0.0), np.zeros_like(x), float(t_s)
            return x.copy()
        dt = float(t_s) - self._t
        if dt <= 0:
            return self._x.copy()
        x = np.where(np.isfinite(x), x, self._x)
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff_hz, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        tau = 1.0 / (2.0 * np.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._x = a * x + (1 - a) * self._x
        self._t = float(t_s)
        return self._x.copy()
