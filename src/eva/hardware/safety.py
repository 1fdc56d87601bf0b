"""The servo bridge's safety logic: pure functions and small state machines, no I/O.

Chain per tick: `CommandFilter` (reject malformed, stale, out-of-order; clamp to
[0, 1]) -> targets -> `Watchdog` (motors without a fresh command go back to
neutral) -> `SlewLimiter` (at most ``max_speed * dt`` per tick) ->
`position_to_pulse_us` -> a final clamp to each servo's pulse range.
`BridgeLogic` ties them together for the ROS node. Times are integer
nanoseconds (``now_ns``: the bridge's ROS clock, same epoch as message stamps).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from eva.hardware.calibration import Calibration, ServoCalibration

TICKS_PER_PERIOD = 4096  # PCA9685: 12-bit counter per PWM period
REASONS = ("malformed", "empty", "length", "duplicate_name", "unknown_name", "nonfinite",
           "stale", "future", "out_of_order", "parked", "bad_pose")  # rejection reasons, in the order checked


def position_to_pulse_us(cal: ServoCalibration, pos: float) -> float:
    """Position in [0, 1] (clamped; NaN -> neutral) -> pulse width (us) within the servo's range."""
    p = float(pos)
    p = cal.neutral if math.isnan(p) else min(max(p, 0.0), 1.0)
    if cal.inverted:
        p = 1.0 - p
    return cal.pulse_min_us + p * (cal.pulse_max_us - cal.pulse_min_us)


def pulse_us_to_position(cal: ServoCalibration, pulse_us: float) -> float:
    """Inverse of `position_to_pulse_us` (clamped to [0, 1])."""
    p = (float(pulse_us) - cal.pulse_min_us) / (cal.pulse_max_us - cal.pulse_min_us)
    p = min(max(p, 0.0), 1.0)
    return 1.0 - p if cal.inverted else p


def pulse_us_to_ticks(us: float, freq_hz: float) -> int:
    """Pulse width -> PCA9685 OFF count (ON at 0): ``round(us * 1e-6 * freq_hz * 4096)`` in [0, 4095]."""
    ticks = round(float(us) * 1e-6 * float(freq_hz) * TICKS_PER_PERIOD)
    return int(min(max(ticks, 0), TICKS_PER_PERIOD - 1))


def ticks_to_pulse_us(ticks: int, freq_hz: float) -> float:
    """PCA9685 count -> pulse width (us)."""
    return ticks * 1e6 / (float(freq_hz) * TICKS_PER_PERIOD)


@dataclass(frozen=True)
class FilterResult:
    """What `CommandFilter.filter` decided about one command."""

    accepted: bool
    reason: str | None = None  # one of REASONS when rejected
    targets: dict[str, float] | None = None  # name -> position in [0, 1] when accepted
    clamped: int = 0  # how many values were outside [0, 1]
    sent_ns: int | None = None  # when accepted: when it was sent, on the bridge's clock (never after arrival)


class ClockOffset:
    """The sender's clock relative to the bridge's, from arrival times: for a Pi without a real-time clock.

    Each well-formed command gives ``arrival - stamp`` (skew plus transport delay);
    the estimate is their median over the last ``window``, so a minority of
    mistimed or hostile stamps cannot move it. Until ``min_samples`` arrived, and
    while the estimate is within ``tolerance_s`` (a synchronized clock plus
    delay), the clocks are taken as synchronized: ``skew_ns`` is 0 and ages are
    plain ``now - stamp``.
    """

    def __init__(self, window: int = 64, min_samples: int = 8, tolerance_s: float = 0.1):
        self._samples = np.zeros(window, dtype=np.int64)
        self._n = 0
        self.min_samples, self.tolerance_ns = min_samples, int(tolerance_s * 1e9)
        self.offset_ns: int | None = None  # median of arrival - stamp; None before any sample

    def add(self, arrival_ns: int, stamp_ns: int) -> None:
        self._samples[self._n % len(self._samples)] = arrival_ns - stamp_ns
        self._n += 1
        self.offset_ns = int(np.median(self._samples[:min(self._n, len(self._samples))]))

    @property
    def skew_ns(self) -> int:
        """The correction applied to stamps (0: clocks taken as synchronized)."""
        if self.offset_ns is None or self._n < self.min_samples or abs(self.offset_ns) <= self.tolerance_ns:
            return 0
        return self.offset_ns


class CommandFilter:
    """Validates motor commands: (names, positions, stamp) -> clamped targets or a reason.

    Ages are judged on the bridge's clock: stamps are corrected by the sender's
    estimated clock skew (`ClockOffset`), so a sender clock seconds off still
    drives the face. Out-of-order is judged per motor, so streams for different
    motors (face, neck) whose stamps interleave do not reject each other; a stamp
    from the future counts as sent on arrival, so it cannot make the commands
    that follow it look old, and a stamp more than ``reorder_window_s`` before
    the last accepted one is a sender clock that jumped back, not a reordering.

    Args:
        names: the motors the bridge drives.
        max_age_s: reject stamps older than ``now - max_age_s`` (skew-corrected); None disables.
        max_future_s: reject stamps later than ``now + max_future_s`` (skew-corrected); None disables.
        reorder_window_s: how far back a stamp counts as reordered in transit (rejected).
    """

    def __init__(self, names: Sequence[str], max_age_s: float | None = 0.5, max_future_s: float | None = 0.1,
                 reorder_window_s: float = 1.0):
        self.names = tuple(names)
        self._index = {n: i for i, n in enumerate(self.names)}
        self.max_age_ns = None if max_age_s is None else int(max_age_s * 1e9)
        self.max_future_ns = None if max_future_s is None else int(max_future_s * 1e9)
        self.reorder_window_ns = int(reorder_window_s * 1e9)
        self.clock = ClockOffset()
        self.last_stamp_ns = np.zeros(len(self.names), dtype=np.int64)  # per motor, sender clock
        self._seen = np.zeros(len(self.names), dtype=bool)
        self.counts: Counter = Counter()  # "accepted", "clamped" (values) and each rejection reason

    def reject(self, reason: str) -> FilterResult:
        """Counts a rejection for ``reason`` and returns its result."""
        self.counts[reason] += 1
        return FilterResult(False, reason)

    def filter(self, names: Any, positions: Any, stamp_ns: Any, now_ns: int) -> FilterResult:
        """Checks one command; never raises, whatever the input.

        Args:
            names: motor names (a subset of the bridge's motors, each at most once).
            positions: one number per name (any size mismatch is rejected).
            stamp_ns: the command's header stamp (ns).
            now_ns: the bridge's clock now (ns).
        """
        try:
            names = [names] if isinstance(names, (str, bytes)) else list(names)
            vals = np.asarray(positions, dtype=np.float64)
            stamp = int(stamp_ns)
            now = int(now_ns)
            if vals.ndim != 1 or abs(stamp) > 2 ** 62 or abs(now) > 2 ** 62:
                return self.reject("malformed")
        except Exception:  # noqa: BLE001 - any conversion failure is a malformed command
            return self.reject("malformed")
        if not names and vals.size == 0:
            return self.reject("empty")
        if len(names) != vals.size:
            return self.reject("length")
        if not all(isinstance(n, str) for n in names):
            return self.reject("unknown_name")
        if len(set(names)) != len(names):
            return self.reject("duplicate_name")
        if any(n not in self._index for n in names):
            return self.reject("unknown_name")
        if not np.all(np.isfinite(vals)):
            return self.reject("nonfinite")
        self.clock.add(now, stamp)
        sent = stamp + self.clock.skew_ns  # on the bridge's clock
        if self.max_age_ns is not None and sent < now - self.max_age_ns:
            return self.reject("stale")
        if self.max_future_ns is not None and sent > now + self.max_future_ns:
            return self.reject("future")
        sent = min(sent, now)  # a future stamp counts as sent on arrival
        order = sent - self.clock.skew_ns  # ordered in the sender's clock, which the stream's stamps share
        idx = np.array([self._index[n] for n in names])
        last, seen = self.last_stamp_ns[idx], self._seen[idx]
        if np.any(seen & (order < last) & (order >= np.where(seen, last, 0) - self.reorder_window_ns)):
            return self.reject("out_of_order")
        self.last_stamp_ns[idx] = order
        self._seen[idx] = True
        clipped = np.clip(vals, 0.0, 1.0)
        n_clamped = int(np.count_nonzero(clipped != vals))
        self.counts["accepted"] += 1
        self.counts["clamped"] += n_clamped
        return FilterResult(True, None, dict(zip(names, clipped.tolist())), n_clamped, int(sent))


class SlewLimiter:
    """Moves positions toward targets at no more than each motor's ``max_speed`` (units/s).

    Args:
        max_speed: per motor, position units per second (> 0).
        initial: starting positions (the servos' pose when the bridge starts).
        max_dt_s: a longer gap between steps (a stalled loop) counts as this long, so
            motion stays smooth afterwards.
    """

    def __init__(self, max_speed, initial, max_dt_s: float = 0.1):
        self.max_speed = np.asarray(max_speed, dtype=np.float64).reshape(-1)
        if not np.all(self.max_speed > 0):
            raise ValueError(f"max_speed: must be > 0, got {self.max_speed.tolist()}")
        self.positions = np.asarray(initial, dtype=np.float64).reshape(-1).copy()
        if self.positions.shape != self.max_speed.shape:
            raise ValueError("initial: one position per motor expected")
        self.max_dt_s = max_dt_s

    def step(self, targets, dt: float) -> np.ndarray:
        """Advances ``dt`` seconds toward ``targets`` (NaN target: hold) and returns the positions (a copy)."""
        dt = float(dt)
        dt = min(dt, self.max_dt_s) if dt > 0 else 0.0  # negative, NaN: no motion
        tgt = np.asarray(targets, dtype=np.float64).reshape(self.positions.shape)
        tgt = np.where(np.isfinite(tgt), tgt, self.positions)
        limit = self.max_speed * dt
        self.positions = self.positions + np.clip(tgt - self.positions, -limit, limit)
        return self.positions.copy()


class Watchdog:
    """Per motor: a command older than ``timeout_s`` (or none yet) means 'go to neutral'.

    Args:
        n: number of motors.
        timeout_s: how long a command stays valid (s).
    """

    def __init__(self, n: int, timeout_s: float = 0.3):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s: must be > 0, got {timeout_s}")
        self.timeout_ns = int(timeout_s * 1e9)
        self._fed_ns = np.zeros(n, dtype=np.int64)
        self._ever = np.zeros(n, dtype=bool)
        self.timeouts = 0  # transitions active -> timeout, for diagnostics
        self._was_active = False

    def feed(self, index, now_ns: int) -> None:
        """Marks motors ``index`` (int array) as freshly commanded at ``now_ns``."""
        self._fed_ns[index] = now_ns
        self._ever[index] = True

    def fresh(self, now_ns: int) -> np.ndarray:
        """Bool per motor: commanded within the timeout (a clock that went back > timeout: stale)."""
        age = now_ns - self._fed_ns
        ok = self._ever & (age <= self.timeout_ns) & (age >= -self.timeout_ns)
        active = bool(ok.any())
        if self._was_active and not active:
            self.timeouts += 1
        self._was_active = active
        return ok

    @property
    def state(self) -> str:
        """"active" when any motor had a fresh command at the last `fresh` call, else "timeout"."""
        return "active" if self._was_active else "timeout"


class BridgeLogic:
    """Everything the servo bridge decides, for a node to call: commands in, pulses out.

    Guarantee: every pulse `tick` or `neutral_pulses` returns lies within that
    servo's ``[pulse_min_us, pulse_max_us]``, whatever the input; `on_command`
    never raises. The servos are assumed to start at neutral (send
    `neutral_pulses` when connecting).

    Args:
        calibration: the servos.
        max_age_s, max_future_s: see `CommandFilter`.
        watchdog_timeout_s: see `Watchdog`.
        max_dt_s: see `SlewLimiter`.
    """

    def __init__(self, calibration: Calibration, max_age_s: float | None = 0.5,
                 max_future_s: float | None = 0.1, watchdog_timeout_s: float = 0.3, max_dt_s: float = 0.1):
        self.calibration = calibration
        self.servos = calibration.servos
        self.names = calibration.names
        self.neutral = np.array([s.neutral for s in self.servos])
        self.filter = CommandFilter(self.names, max_age_s, max_future_s)
        self.watchdog = Watchdog(len(self.names), watchdog_timeout_s)
        self.slew = SlewLimiter([s.max_speed for s in self.servos], self.neutral, max_dt_s)
        self.targets = self.neutral.copy()  # last accepted command per motor, in [0, 1]
        self._index = {n: i for i, n in enumerate(self.names)}
        self._last_tick_ns: int | None = None
        self.parked = False

    def on_command(self, names, positions, stamp_ns, now_ns: int) -> FilterResult:
        """Offers one command (e.g. a JointState's name, position, header stamp); never raises."""
        if self.parked:
            return self.filter.reject("parked")
        result = self.filter.filter(names, positions, stamp_ns, now_ns)
        if result.accepted:
            idx = np.array([self._index[n] for n in result.targets])
            self.targets[idx] = list(result.targets.values())
            self.watchdog.feed(idx, int(now_ns))
        return result

    def reject_pose(self) -> FilterResult:
        """Counts a head pose that cannot be a rotation (NaN, zero or huge quaternion); nothing moves."""
        return self.filter.reject("bad_pose")

    def tick(self, now_ns: int) -> dict[str, float]:
        """Advances the slew limiter to ``now_ns``; returns name -> pulse (us) to send now."""
        now = int(now_ns)
        dt = 0.0 if self._last_tick_ns is None else (now - self._last_tick_ns) * 1e-9
        self._last_tick_ns = now
        fresh = self.watchdog.fresh(now) & (not self.parked)
        pos = self.slew.step(np.where(fresh, self.targets, self.neutral), dt)
        return self._pulses(pos)

    def _pulses(self, positions) -> dict[str, float]:
        out = {}
        for s, p in zip(self.servos, positions):
            us = position_to_pulse_us(s, p)
            out[s.name] = min(max(us, s.pulse_min_us), s.pulse_max_us)  # belt and braces
        return out

    def neutral_pulses(self) -> dict[str, float]:
        """Name -> pulse (us) of every servo's neutral position."""
        return self._pulses(self.neutral)

    @property
    def positions(self) -> np.ndarray:
        """Slew-limited positions now, in calibration order (a copy), for joint_states."""
        return self.slew.positions.copy()

    def park(self) -> None:
        """Ignores commands from now on and slews every motor to neutral (for shutdown)."""
        self.parked = True

    def unpark(self) -> None:
        """Accepts commands again after `park`."""
        self.parked = False

    def at_neutral(self, tol: float = 1e-6) -> bool:
        """True when every motor is within ``tol`` of its neutral position."""
        return bool(np.all(np.abs(self.slew.positions - self.neutral) <= tol))

    @property
    def state(self) -> str:
        """"parked", "active" (some motor follows commands) or "timeout" (all at/to neutral)."""
        return "parked" if self.parked else self.watchdog.state

    def diagnostics(self) -> dict[str, Any]:
        """Counters and state for /diagnostics: accepted, clamped, rejected per reason, timeouts."""
        d: dict[str, Any] = {"state": self.state, "accepted": self.filter.counts["accepted"],
                             "clamped": self.filter.counts["clamped"], "timeouts": self.watchdog.timeouts}
        d.update({f"rejected_{r}": self.filter.counts[r] for r in REASONS})
        d["rejected"] = sum(self.filter.counts[r] for r in REASONS)
        clock = self.filter.clock
        d["clock_offset_ms"] = None if clock.offset_ns is None else round(clock.offset_ns / 1e6, 1)
        d["clock_skew_corrected_ms"] = round(clock.skew_ns / 1e6, 1)
        return d
