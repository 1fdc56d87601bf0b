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


def pipeline_latency(records, stages, skip_frames: int = 0) -> dict:
    """Per-stage and end-to-end latency of a pipeline from (stage, frame stamp ns, receive ns) records.

    Frames are the distinct stamps of the first stage, in order; the first
    ``skip_frames`` are warm-up and left out. The last stage is the end of the
    pipeline: its count over the first stage's is the share of frames that made
    it through, and its rate over the measured span the sustained fps. Drift
    compares the median end-to-end latency of the last third with the first
    third (queueing shows as growth); ``window_p50_ms`` gives the median of each
    tenth of the run, to tell steady growth (queueing) from a noisy stretch.

    Returns:
        {"frames", "completed", "dropped", "fps", "stages": {stage: {"count", "p50_ms", "p99_ms"}},
         "end_to_end": {"p50_ms", "p99_ms", "first_third_p50_ms", "last_third_p50_ms", "window_p50_ms"}}
    """
    stages = list(stages)
    first, last = stages[0], stages[-1]
    frames = sorted({s for st, s, _ in records if st == first})[skip_frames:]
    keep = set(frames)
    by_stage = {st: {} for st in stages}
    for st, stamp, recv in records:
        if st in by_stage and stamp in keep:
            by_stage[st].setdefault(stamp, recv)  # the first arrival counts
    out = {"frames": len(frames), "stages": {}}
    for st in stages:
        lat = np.array([(r - s) / 1e6 for s, r in by_stage[st].items()])
        out["stages"][st] = {"count": int(lat.size),
                             "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
                             "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan")}
    done = sorted(by_stage[last].items())
    e2e = np.array([(r - s) / 1e6 for s, r in done])
    out["completed"], out["dropped"] = len(done), len(frames) - len(done)
    span_s = (done[-1][1] - done[0][1]) / 1e9 if len(done) > 1 else 0.0
    out["fps"] = (len(done) - 1) / span_s if span_s > 0 else float("nan")
    third = max(len(e2e) // 3, 1)
    out["end_to_end"] = {
        "p50_ms": out["stages"][last]["p50_ms"], "p99_ms": out["stages"][last]["p99_ms"],
        "first_third_p50_ms": float(np.median(e2e[:third])) if e2e.size else float("nan"),
        "last_third_p50_ms": float(np.median(e2e[-third:])) if e2e.size else float("nan"),
        "window_p50_ms": [float(np.median(w)) for w in np.array_split(e2e, min(10, e2e.size)) if w.size]}
    return out
