"""Latency bookkeeping: from a camera frame's stamp to the moment a stage is done."""
from __future__ import annotations

import numpy as np


class LatencyStats:
    """Keeps the last ``window`` latencies (ms) and reports percentiles.

    Args:
        window: how many recent samples the percentiles cover.
    """

    def __init__(self, window: int = 1000):
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self._buf = np.zeros(window, np.float64)
        self._n = 0  # samples seen in all

    def add(self, stamp_ns: int, now_ns: int) -> float:
        """Records one frame's latency; returns it in ms."""
        ms = (int(now_ns) - int(stamp_ns)) / 1e6
        self._buf[self._n % len(self._buf)] = ms
        self._n += 1
        return ms

    @property
    def count(self) -> int:
        """Samples seen since creation."""
        return self._n

    def percentiles(self, qs=(50, 99)) -> dict[str, float]:
        """``{"p50": ms, "p99": ms}`` over the window (NaN when empty)."""
        data = self._buf[: min(self._n, len(self._buf))]
        if data.size == 0:
            return {f"p{q}": float("nan") for q in qs}
        return {f"p{q}": float(np.percentile(data, q)) for q in qs}

    def summary(self) -> str:
        """One log line: count, p50 and p99 in ms."""
        p = self.percentiles()
        return f"{self._n} frames, latency p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms"
