"""Pure safety logic of the servo bridge (eva.hardware.safety): each behaviour alone, then a property test."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eva.hardware.calibration import Calibration, ServoCalibration, load_calibration
from eva.hardware.safety import (BridgeLogic, CommandFilter, SlewLimiter, Watchdog, position_to_pulse_us,
                                 pulse_us_to_position, pulse_us_to_ticks)

T0 = 1_700_000_000 * 10**9  # a realistic ROS time (ns)
MS = 1_000_000  # ns


@pytest.fixture(scope="module")
def cal() -> Calibration:
    return load_calibration()


def small_cal(**jaw) -> Calibration:
    servos = (ServoCalibration("jaw", 0, 1000.0, 2000.0, **{"neutral": 0.0, "max_speed": 2.0, **jaw}),
              ServoCalibration("brow", 1, 1200.0, 1800.0, neutral=0.5, inverted=True, max_speed=4.0))
    return Calibration(servos)


# ------------------------------------------------------------------ CommandFilter

def test_values_are_clamped_to_unit_range_and_counted():
    f = CommandFilter(["a", "b", "c"])
    r = f.filter(["a", "b", "c"], [1.7, -0.3, 0.4], T0, T0)
    assert r.accepted and r.targets == {"a": 1.0, "b": 0.0, "c": 0.4}
    assert r.clamped == 2 and f.counts["clamped"] == 2 and f.counts["accepted"] == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_rejected(bad):
    f = CommandFilter(["a", "b"])
    r = f.filter(["a", "b"], [0.5, bad], T0, T0)
    assert not r.accepted and r.reason == "nonfinite" and f.counts["nonfinite"] == 1
    assert f.counts["accepted"] == 0


def test_unknown_name_is_rejected():
    f = CommandFilter(["a", "b"])
    assert f.filter(["a", "zz"], [0.5, 0.5], T0, T0).reason == "unknown_name"
    assert f.filter(["a", 3], [0.5, 0.5], T0, T0).reason == "unknown_name"
    assert f.counts["unknown_name"] == 2


def test_wrong_length_duplicate_and_malformed_are_rejected():
    f = CommandFilter(["a", "b"])
    assert f.filter(["a", "b"], [0.5], T0, T0).reason == "length"
    assert f.filter(["a"], [0.5, 0.1], T0, T0).reason == "length"
    assert f.filter(["a", "a"], [0.5, 0.1], T0, T0).reason == "duplicate_name"
    assert f.filter(["a"], [[0.5]], T0, T0).reason == "malformed"
    assert f.filter(["a"], ["x"], T0, T0).reason == "malformed"
    assert f.filter(None, [0.5], T0, T0).reason == "malformed"
    assert f.filter([], [], T0, T0).reason == "empty"
    assert f.counts["length"] == 2 and f.counts["duplicate_name"] == 1 and f.counts["malformed"] == 3


def test_a_subset_of_motors_is_accepted():
    f = CommandFilter(["a", "b"])
    assert f.filter(["b"], [0.25], T0, T0).targets == {"b": 0.25}


def test_stale_and_future_messages_are_rejected():
    f = CommandFilter(["a"], max_age_s=0.5, max_future_s=0.1)
    assert f.filter(["a"], [0.5], T0 - 600 * MS, T0).reason == "stale"
    assert f.filter(["a"], [0.5], T0 + 200 * MS, T0).reason == "future"
    assert f.counts["stale"] == 1 and f.counts["future"] == 1
    assert f.filter(["a"], [0.5], T0 - 400 * MS, T0).accepted
    assert f.filter(["a"], [0.5], T0 + 50 * MS, T0).accepted
    unchecked = CommandFilter(["a"], max_age_s=None, max_future_s=None)  # unsynchronized clocks
    assert unchecked.filter(["a"], [0.5], T0 - 10**12, T0).accepted


def test_out_of_order_messages_are_rejected_per_motor():
    f = CommandFilter(["a", "b"])
    assert f.filter(["a"], [0.5], T0, T0).accepted
    assert f.filter(["a"], [0.6], T0 - 1, T0).reason == "out_of_order"
    assert f.filter(["a", "b"], [0.6, 0.1], T0 - 1, T0).reason == "out_of_order"
    assert f.filter(["b"], [0.1], T0 - 1, T0).accepted  # another stream's stamps do not block b
    assert f.filter(["a"], [0.7], T0, T0).accepted  # the same stamp again is fine
    assert f.counts["out_of_order"] == 2


# ------------------------------------------------------------------ availability: mistimed input never locks out

FACE = ["jaw", "lower_lip"]


def _stream(logic, n, sender_offset_ns=0, delay_ns=2 * MS, period_ns=33 * MS, t0=T0, value=0.5):
    """n on-time commands for FACE from a sender whose clock is ``sender_offset_ns`` off; the results."""
    out = []
    for k in range(n):
        sent = t0 + k * period_ns
        out.append(logic.on_command(FACE, [value, value], sent + sender_offset_ns, sent + delay_ns))
    return out


def test_a_far_future_stamp_with_checks_off_does_not_lock_out_later_commands(cal):
    logic = BridgeLogic(cal, max_age_s=None, max_future_s=None)  # the setting for unsynchronized clocks
    hostile = logic.on_command(FACE, [1.0, 1.0], 2147483647 * 10**9, T0)
    assert hostile.sent_ns <= T0  # counts as sent on arrival: no age of -68 years in the diagnostics
    results = _stream(logic, 30, t0=T0 + MS)
    assert all(r.accepted for r in results), [r.reason for r in results if not r.accepted]
    assert logic.targets[cal.names.index("jaw")] == 0.5


def test_a_command_stamped_slightly_ahead_does_not_reject_the_on_time_ones_after_it(cal):
    logic = BridgeLogic(cal)  # defaults: up to 0.1 s ahead is accepted
    valid = 0
    for k in range(300):
        sent = T0 + k * 33 * MS
        if k % 4 == 1:  # hostile: stamped 0.1 s ahead, between two on-time commands
            logic.on_command(FACE, [0.9, 0.9], sent - 16 * MS + 100 * MS, sent - 16 * MS)
        valid += logic.on_command(FACE, [0.5, 0.5], sent, sent + 2 * MS).accepted
    assert valid == 300


@pytest.mark.parametrize("offset_s", [-2.0, 2.0])
def test_a_sender_clock_seconds_off_still_drives_the_face(cal, offset_s):
    logic = BridgeLogic(cal)  # defaults: max_age 0.5 s, max_future 0.1 s
    results = _stream(logic, 100, sender_offset_ns=int(offset_s * 1e9))
    accepted = [r.accepted for r in results]
    assert not any(accepted[:7]) and all(accepted[8:])  # judged as synchronized until 8 samples arrived
    d = logic.diagnostics()
    assert d["clock_offset_ms"] == pytest.approx(-offset_s * 1000 + 2, abs=1)  # arrival - stamp: skew + delay
    assert d["clock_skew_corrected_ms"] == d["clock_offset_ms"]
    assert all(r.sent_ns <= T0 + 99 * 33 * MS + 2 * MS for r in results if r.accepted)
    # a command that really is late (stuck 0.8 s in transit) is still stale on the bridge's clock
    sent = T0 + 100 * 33 * MS
    late = logic.on_command(FACE, [0.1, 0.1], sent + int(offset_s * 1e9), sent + 800 * MS)
    assert late.reason == "stale"


def test_a_minority_of_hostile_stamps_does_not_move_the_clock_estimate(cal):
    logic = BridgeLogic(cal)
    for k in range(200):
        sent = T0 + k * 33 * MS
        if k % 5 == 0:
            logic.on_command(FACE, [0.2, 0.2], sent + 10**15 * (1 if k % 10 else -1), sent)  # far off either way
        assert logic.on_command(FACE, [0.5, 0.5], sent, sent + 2 * MS).accepted, k
    assert logic.diagnostics()["clock_skew_corrected_ms"] == 0.0  # still synchronized


def test_a_sender_clock_that_jumps_back_is_followed_not_locked_out(cal):
    logic = BridgeLogic(cal, max_age_s=None, max_future_s=None)
    _stream(logic, 10)
    results = _stream(logic, 10, sender_offset_ns=-3600 * 10**9, t0=T0 + 10 * 33 * MS)  # NTP stepped back 1 h
    assert all(r.accepted for r in results)


@pytest.mark.parametrize("q", [[math.nan, 0, 0, 1], [0, 0, 0, math.inf], [0, 0, 0, 0], [1e30, 0, 0, 1e30],
                               [0, 0, 0, 2.0], [1, 2, 3], "abcd"])
def test_broken_head_pose_quaternions_are_rejected(q):
    from eva.core.pose import unit_quaternion
    with pytest.raises(ValueError, match="quaternion"):
        unit_quaternion(q)


def test_head_pose_quaternions_are_normalized():
    from eva.core.pose import unit_quaternion
    assert np.allclose(unit_quaternion([0, 0, 0, 1.05]), [0, 0, 0, 1])
    assert np.allclose(np.linalg.norm(unit_quaternion([0.1, 0.2, 0.3, 0.93])), 1.0)


def test_rejected_poses_are_counted(cal):
    logic = BridgeLogic(cal)
    logic.reject_pose()
    d = logic.diagnostics()
    assert d["rejected_bad_pose"] == 1 and d["rejected"] == 1 and d["accepted"] == 0


# ------------------------------------------------------------------ slew, watchdog, mapping

def test_slew_limiter_moves_at_most_max_speed_times_dt():
    s = SlewLimiter([2.0, 0.5], [0.0, 1.0], max_dt_s=0.1)
    np.testing.assert_allclose(s.step([1.0, 0.0], 0.05), [0.1, 0.975])
    np.testing.assert_allclose(s.step([1.0, 0.0], 5.0), [0.3, 0.925])  # a stalled loop counts as max_dt_s
    np.testing.assert_allclose(s.step([0.31, 0.0], 0.1), [0.31, 0.875])  # reaches a near target exactly
    np.testing.assert_allclose(s.step([math.nan, 0.0], -1.0), [0.31, 0.875])  # no time, no motion


def test_watchdog_per_motor():
    w = Watchdog(2, timeout_s=0.3)
    assert not w.fresh(T0).any() and w.state == "timeout"
    w.feed(np.array([0]), T0)
    assert w.fresh(T0 + 299 * MS).tolist() == [True, False] and w.state == "active"
    assert not w.fresh(T0 + 301 * MS).any() and w.state == "timeout" and w.timeouts == 1


def test_watchdog_returns_to_neutral_smoothly_then_resumes():
    logic = BridgeLogic(small_cal(), watchdog_timeout_s=0.3)  # jaw: neutral 0, 2 units/s
    dt = 20 * MS
    t = T0
    logic.tick(t)
    logic.on_command(["jaw"], [1.0], t, t)
    for _ in range(10):  # 0.2 s at 2 units/s: 0.4
        t += dt
        logic.tick(t)
    assert logic.positions[0] == pytest.approx(0.4) and logic.state == "active"
    trace = []
    for _ in range(40):  # no commands for 0.8 s
        t += dt
        logic.tick(t)
        trace.append(logic.positions[0])
    assert logic.state == "timeout"
    steps = np.diff([0.4] + trace)
    assert np.all(np.abs(steps) <= 2.0 * 0.02 + 1e-12)  # smooth: never faster than max_speed
    assert trace[-1] == 0.0 and min(trace) >= 0.0  # at neutral, no overshoot
    assert max(trace) > 0.4  # kept following the command until the timeout
    assert logic.on_command(["jaw"], [1.0], t, t).accepted
    t += dt
    logic.tick(t)
    assert logic.state == "active" and logic.positions[0] == pytest.approx(0.04)
    assert logic.diagnostics()["timeouts"] == 1


def test_park_goes_to_neutral_and_ignores_commands():
    logic = BridgeLogic(small_cal())
    logic.on_command(["jaw"], [1.0], T0, T0)
    for k in range(1, 6):
        logic.tick(T0 + k * 20 * MS)
    assert not logic.at_neutral()
    logic.park()
    assert logic.on_command(["jaw"], [1.0], T0 + 100 * MS, T0 + 100 * MS).reason == "parked"
    for k in range(6, 40):
        logic.tick(T0 + k * 20 * MS)
    assert logic.at_neutral() and logic.state == "parked"


def test_inverted_mapping():
    plain = ServoCalibration("a", 0, 1000.0, 2000.0)
    inv = ServoCalibration("b", 1, 1000.0, 2000.0, inverted=True)
    assert position_to_pulse_us(plain, 0.0) == 1000.0 and position_to_pulse_us(plain, 1.0) == 2000.0
    assert position_to_pulse_us(inv, 0.0) == 2000.0 and position_to_pulse_us(inv, 1.0) == 1000.0
    assert position_to_pulse_us(inv, 0.25) == 1750.0 and position_to_pulse_us(inv, 7.0) == 1000.0
    assert pulse_us_to_position(inv, 1750.0) == 0.25
    assert inv.neutral_pulse_us == 2000.0  # neutral 0 of an inverted servo


def test_pulse_to_ticks_12_bit():
    # ticks = round(us * 1e-6 * f * 4096): at 50 Hz one count is 20000/4096 = 4.883 us
    assert pulse_us_to_ticks(1500, 50) == 307  # 307.2
    assert pulse_us_to_ticks(1000, 50) == 205  # 204.8
    assert pulse_us_to_ticks(2000, 50) == 410  # 409.6
    assert pulse_us_to_ticks(1500, 60) == 369  # 368.64
    assert pulse_us_to_ticks(30000, 50) == 4095 and pulse_us_to_ticks(-5, 50) == 0


def test_bridge_pulses_follow_calibration(cal):
    logic = BridgeLogic(cal)
    assert logic.neutral_pulses()["brow_up_right"] == 2000.0  # inverted, neutral 0
    assert logic.neutral_pulses()["neck_0"] == 1500.0
    logic.on_command(["brow_up_right", "neck_0"], [5.0, 0.0], T0, T0)
    for k in range(1, 30):
        pulses = logic.tick(T0 + k * 10 * MS)
    assert pulses["brow_up_right"] == 1100.0 and pulses["neck_0"] == pytest.approx(1500 - 0.28 * 1.5 * 1800)  # first tick: dt 0
    d = logic.diagnostics()
    assert d["accepted"] == 1 and d["clamped"] == 1 and d["rejected"] == 0


# ------------------------------------------------------------------ property test

CAL = load_calibration()
NAMES = CAL.names
# Commands are decoded from bytes (cheap for hypothesis to draw and shrink): each byte pair is
# (name, value) from the pools below; a malformation and a stamp are drawn beside them.
NAME_POOL = list(NAMES) * 3 + ["", "jaw.pos", "JAW", "bogus", "neck_6", "\u00e9"]
VALUE_POOL = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1.0 + 1e-12]
VALUE_POOL += np.linspace(-2.0, 3.0, 256 - len(VALUE_POOL)).tolist()
STAMP_POOL = [-2**63, 2**63 - 1, 2**64, -T0, 0, 10**30, math.nan, math.inf]  # garbage, overflow, zero
MALFORM = {"none": lambda n, p: (n, p),  # names and positions as decoded
           "drop": lambda n, p: (n, p[:-1]), "extra": lambda n, p: (n, p + [0.5]),
           "names_none": lambda n, p: (None, p), "names_str": lambda n, p: ("jaw", p),
           "positions_text": lambda n, p: (n, "0.5"), "nested": lambda n, p: (n, [p]),
           "numpy": lambda n, p: (np.array(n, dtype=object), np.array(p)),
           "huge_int": lambda n, p: (n, p[:-1] + [10**400]) if p else (n, p)}  # no float holds it


def _command(raw: bytes, malform: str, stamp_ms: int, wait_ms: int):
    n = len(raw) // 2
    names = [NAME_POOL[b % len(NAME_POOL)] for b in raw[0:2 * n:2]]
    positions = [VALUE_POOL[b] for b in raw[1:2 * n:2]]
    names, positions = MALFORM[malform](names, positions)
    stamp_rel = stamp_ms * MS if -700 <= stamp_ms <= 200 else STAMP_POOL[stamp_ms % len(STAMP_POOL)] - T0
    return names, positions, stamp_rel, wait_ms


command_st = st.builds(_command, st.binary(max_size=16), st.sampled_from(["none"] * 8 + list(MALFORM)),
                       st.integers(-706, 200), st.integers(0, 500))


@settings(max_examples=10_000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(command_st, min_size=1, max_size=3))
def test_no_input_escapes_calibration(commands):
    cal = CAL
    logic = BridgeLogic(cal)
    now = T0
    prev = logic.positions
    speed = np.array([s.max_speed for s in cal.servos])
    for names, positions, stamp_rel, wait_ms in commands:
        result = logic.on_command(names, positions, now + stamp_rel, now)
        if result.accepted:
            assert all(0.0 <= v <= 1.0 for v in result.targets.values())
        now += wait_ms * MS
        pulses = logic.tick(now)
        assert list(pulses) == list(NAMES)
        for s in cal.servos:
            assert s.pulse_min_us <= pulses[s.name] <= s.pulse_max_us, (s.name, pulses[s.name])
        pos = logic.positions
        assert np.all(np.abs(pos - prev) <= speed * min(wait_ms / 1000, 0.1) + 1e-9)
        prev = pos

