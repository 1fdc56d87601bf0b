"""The PCA9685 driver (Adafruit's library) against the fake I2C bus, the sim board, and calibration loading."""
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from eva.hardware.calibration import Calibration, ServoCalibration, calibration_from_dict, load_calibration
from eva.hardware.fake_i2c import MODE1, MODE1_AI, PRESCALE, FakeI2C
from eva.hardware.pca9685 import Pca9685Board, SimBoard, open_i2c, prescale_for

HAS_I2C = Path("/dev/i2c-1").exists()


def expected_ticks(us: float, servo: ServoCalibration | None = None, prescale: int = 121) -> int:
    """OFF count for a pulse of ``us``: one count lasts (PRE_SCALE + 1) / 25 MHz, so
    ticks = round(us * 1e-6 * 25e6 / (PRE_SCALE + 1)) = round(us * 25 / 122) at 50 Hz,
    kept within [ceil(pulse_min_us * 25 / 122), floor(pulse_max_us * 25 / 122)] so that
    rounding never leaves the servo's calibrated range."""
    per_us = 1e-6 * 25e6 / (prescale + 1)
    ticks = round(us * per_us)
    if servo is not None:
        ticks = min(max(ticks, math.ceil(servo.pulse_min_us * per_us)), math.floor(servo.pulse_max_us * per_us))
    return ticks


@pytest.fixture
def cal() -> Calibration:
    return load_calibration()


@pytest.fixture
def board(cal):
    bus = FakeI2C((0x40, 0x41))
    b = Pca9685Board(cal, i2c=bus)
    b.connect()
    yield b, bus
    b.disconnect()


def test_connect_sets_prescale_for_50hz_on_both_boards(board):
    _, bus = board
    assert round(25e6 / (4096 * 50)) - 1 == 121 == prescale_for(50)
    for address in (0x40, 0x41):
        assert bus.register(address, PRESCALE) == 121
        assert bus.register(address, MODE1) & MODE1_AI  # auto-increment on, so 4-byte LED writes work
        assert not bus.devices[address].sleeping


def test_connect_sends_neutral(board, cal):
    _, bus = board
    for s in cal.servos:
        assert bus.channel(s.address, s.channel) == (0, expected_ticks(s.neutral_pulse_us, s)), s.name


def test_commands_write_expected_counts_per_channel(board, cal):
    b, bus = board
    cmd = {"jaw": 1500.0, "brow_up_left": 1234.5, "brow_up_right": 1950.0, "neck_3": 2000.0, "eye_yaw": 1850.0}
    n_before = len(bus.writes)
    sent = b.send_action(cmd)
    assert len(bus.writes) == n_before + len(cmd)  # one I2C write per changed channel
    for name, us in cmd.items():
        s = cal[name]
        ticks = expected_ticks(us, s)
        assert bus.channel(s.address, s.channel) == (0, ticks), name
        assert (s.channel, 0, ticks) in bus.led_writes(s.address)  # written as one 4-byte LEDn burst
        assert sent[name] == pytest.approx(ticks * 122 / 25)  # us really sent: ticks * 4.88 us
    assert bus.channel(0x40, 8) == (0, 307)  # jaw: 1500 us -> 307.4 -> 307


def test_pulses_outside_calibration_are_clamped_inside_it(board, cal):
    b, bus = board
    sent = b.send_action({"jaw": 5000.0, "neck_0": 0.0})
    jaw, neck = cal["jaw"], cal["neck_0"]
    assert jaw.pulse_min_us <= sent["jaw"] <= jaw.pulse_max_us and sent["jaw"] > jaw.pulse_max_us - 5
    assert neck.pulse_min_us <= sent["neck_0"] <= neck.pulse_min_us + 5
    assert bus.channel(0x40, 8)[1] == 368  # floor(1800 us * 25 / 122): 368.85 would round out of range


def test_two_boards_get_their_own_channels(board):
    b, bus = board
    bus.writes.clear()
    b.send_action({"neck_0": 1700.0, "brow_up_left": 1700.0})  # both on channel 0
    assert bus.channel(0x41, 0) == (0, expected_ticks(1700.0))
    assert bus.channel(0x40, 0) == (0, expected_ticks(1700.0))
    assert [w.address for w in bus.writes] == [0x41, 0x40]
    bus.writes.clear()
    b.send_action({"neck_0": 1700.0})  # unchanged: no bus traffic
    assert bus.writes == []


def test_release_writes_full_off(board):
    b, bus = board
    b.send_action({"jaw": 1500.0, "neck_5": 1500.0})
    bus.writes.clear()
    b.release()
    for address in (0x40, 0x41):
        assert [(ch, on, off) for ch, on, off in bus.led_writes(address)] == [(ch, 0, 0x1000) for ch in range(16)]
        assert all(bus.channel(address, ch) == (0, 0x1000) for ch in range(16))
    b.send_action({"jaw": 1500.0})  # sending again after release writes again
    assert bus.channel(0x40, 8) == (0, 307)


def test_disconnect_sends_neutral_and_optionally_releases(cal):
    bus = FakeI2C((0x40, 0x41))
    b = Pca9685Board(cal, i2c=bus)
    b.connect()
    b.send_action({"jaw": 1800.0})
    b.disconnect()
    assert bus.channel(0x40, 8) == (0, expected_ticks(cal["jaw"].neutral_pulse_us, cal["jaw"])) and not b.is_connected
    b.connect()
    b.disconnect(release=True)
    assert bus.channel(0x40, 8) == (0, 0x1000)


def test_bad_sends_raise_and_send_nothing(board):
    b, bus = board
    n = len(bus.writes)
    with pytest.raises(ValueError, match="bogus"):
        b.send_action({"jaw": 1500.0, "bogus": 1500.0})
    with pytest.raises(ValueError, match="non-finite"):
        b.send_action({"jaw": float("nan")})
    assert len(bus.writes) == n
    with pytest.raises(RuntimeError, match="connect"):
        Pca9685Board(load_calibration(), i2c=FakeI2C((0x40, 0x41))).send_action({"jaw": 1500.0})


def test_missing_board_is_named(cal):
    with pytest.raises(ValueError, match="0x41"):
        Pca9685Board(cal, i2c=FakeI2C((0x40,))).connect()


def test_fake_bus_needs_the_lock_and_auto_increment():
    bus = FakeI2C()
    with pytest.raises(RuntimeError, match="lock"):
        bus.writeto(0x40, bytes([0x06, 1, 2, 3, 4]))
    assert bus.try_lock() and not bus.try_lock()
    bus.writeto(0x40, bytes([0x06, 1, 2, 3, 4]))  # AI off at power-on: every byte hits LED0_ON_L
    assert bus.channel(0x40, 0) == (4, 0x1000)
    bus.writeto(0x40, bytes([PRESCALE, 50]))
    assert bus.register(0x40, PRESCALE) == 50  # asleep at power-on: prescale writable
    bus.writeto(0x40, bytes([MODE1, MODE1_AI]))  # wake up
    bus.writeto(0x40, bytes([PRESCALE, 60]))
    assert bus.register(0x40, PRESCALE) == 50  # blocked while running
    bus.writeto(0x40, bytes([0xFC, 0x00, 0x10]))  # ALL_LED_OFF = full off
    assert all(bus.channel(0x40, ch)[1] == 0x1000 for ch in range(16))
    with pytest.raises(OSError):
        bus.writeto(0x41, b"")
    assert bus.scan() == [0x40]


@pytest.mark.skipif(HAS_I2C, reason="this machine has /dev/i2c-1")
def test_no_i2c_error_names_what_is_missing():
    with pytest.raises(RuntimeError, match="Raspberry Pi|adafruit-blinka"):
        open_i2c()


@pytest.mark.hardware
@pytest.mark.skipif(not HAS_I2C, reason="hardware-only: needs a Raspberry Pi with /dev/i2c-1 and the PCA9685 boards")
def test_real_boards_answer_and_take_the_frequency(cal):
    i2c = open_i2c()
    while not i2c.try_lock():
        pass
    try:
        found = i2c.scan()
    finally:
        i2c.unlock()
    assert set(cal.boards) <= set(found), f"boards {[hex(a) for a in cal.boards]}, bus has {[hex(a) for a in found]}"
    b = Pca9685Board(cal, i2c=i2c)
    b.connect()  # moves every servo to neutral
    try:
        assert all(abs(chip.frequency - b.frequency_hz) < 0.01 for chip in b.chips.values())
    finally:
        b.disconnect()


# ------------------------------------------------------------------ SimBoard

def test_sim_board_drives_the_face(cal):
    from eva.sim.face import SimFace
    face = SimFace(noise=False)
    b = SimBoard(cal, face=face)
    b.connect()
    s = cal["brow_up_right"]  # inverted: pulse_min_us is full pull
    b.send_action({"jaw": cal["jaw"].pulse_max_us, "brow_up_right": s.pulse_min_us, "neck_2": 2000.0})
    targets = dict(zip(face.motor_names, face.targets))
    assert targets["jaw"] == pytest.approx(1.0, abs=0.01) and targets["brow_up_right"] == pytest.approx(1.0, abs=0.01)
    assert targets["brow_up_left"] == pytest.approx(0.0, abs=0.01)
    pos = dict(zip(b.motor_names, b.positions))
    assert pos["neck_2"] == pytest.approx((2000 - 600) / 1800, abs=0.01)  # kept as state
    b.disconnect()
    assert not face.is_connected and face.positions.max() < 0.01


# ------------------------------------------------------------------ calibration

def test_shipped_calibration_covers_the_face_eyes_and_neck(cal):
    from eva.sim.config import load_sim_config
    face = load_sim_config().motor_names
    assert cal.names[:len(face)] == face
    assert set(cal.names[len(face):]) == {"eye_yaw", "eye_pitch", *(f"neck_{i}" for i in range(6))}
    assert {cal[f"neck_{i}"].address for i in range(6)} == {0x41} and cal.boards == (0x40, 0x41)
    assert cal.neck is not None and cal.pwm_frequency_hz == 50


def _servo(name="jaw", **kw):
    return {"channel": 0, "pulse_min_us": 1000, "pulse_max_us": 2000, **kw}


@pytest.mark.parametrize("servos,match", [
    ({"jaw": _servo(), "brow_up_left": _servo()}, r"servos\.brow_up_left\.channel.*already used by jaw"),
    ({"jaw": _servo(pulse_min_us=2000)}, r"servos\.jaw\.pulse_min_us: must be < pulse_max_us"),
    ({"jaw": _servo(neutral=1.2)}, r"servos\.jaw\.neutral"),
    ({"jaw": _servo(neutral=-0.1)}, r"servos\.jaw\.neutral"),
    ({"jaw": _servo(channel=16)}, r"servos\.jaw\.channel"),
    ({"jaw": _servo(pulse_min_us=400)}, r"servos\.jaw\.pulse_min_us.*\[500, 2500\]"),
    ({"jaw": _servo(pulse_max_us=2600)}, r"servos\.jaw\.pulse_max_us"),
    ({"jaw": _servo(max_speed=0)}, r"servos\.jaw\.max_speed"),
    ({"jaw": _servo(inverted="yes")}, r"servos\.jaw\.inverted"),
    ({"jaw": _servo(colour="red")}, r"servos\.jaw: unknown key.*colour"),
    ({"jaw": _servo(address=0x42)}, r"servos\.jaw\.address.*boards"),
    ({"jaw": {"channel": 0}}, r"servos\.jaw: missing key"),
])
def test_calibration_errors_name_motor_and_field(servos, match):
    with pytest.raises(ValueError, match=match):
        calibration_from_dict({"servos": servos})


def test_calibration_file_errors(tmp_path):
    path = tmp_path / "servos.yaml"
    path.write_text("servos:\n  jaw: {channel: 0, pulse_min_us: 1000, pulse_max_us: 2000}\n"
                    "  jaw: {channel: 1, pulse_min_us: 1000, pulse_max_us: 2000}\n")
    with pytest.raises(ValueError, match="duplicate key.*jaw"):
        load_calibration(path)
    path.write_text("servos:\n  jaw: {channel: 0, pulse_min_us: 1000, pulse_max_us: 2000}\nspeed: 3\n")
    with pytest.raises(ValueError, match="unknown top-level key.*speed"):
        load_calibration(path)
    path.write_text("servos:\n  jaw: {channel: 0, pulse_min_us: 1000, pulse_max_us: 2000}\nneck: {rod_length_m: 0.01}\n")
    with pytest.raises(ValueError, match="neck.rod_length_m"):
        load_calibration(path)
    with pytest.raises(ValueError, match="servos.jaw: duplicate"):
        Calibration((ServoCalibration("jaw", 0, 1000, 2000), ServoCalibration("jaw", 1, 1000, 2000)))
    with pytest.raises(ValueError, match="pwm_frequency_hz"):
        replace(load_calibration(), pwm_frequency_hz=1000)


def test_hardware_layer_imports_no_heavy_or_hardware_modules():
    mods = "eva.hardware.calibration, eva.hardware.safety, eva.hardware.pca9685, eva.hardware.neck, eva.hardware.fake_i2c"
    forbidden = ("torch", "rclpy", "cv2", "mediapipe", "board", "adafruit_pca9685")
    code = f"import sys, {mods}; print(','.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"eva.hardware imports {out}"
