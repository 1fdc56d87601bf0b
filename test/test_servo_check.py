"""`eva servo-check` against the fake I2C bus, `make_board`, the Fast DDS WiFi profile and the Pi image.

The CLI's sleep is replaced by a fake clock that records, at every call, how many
I2C writes had happened: each LEDn write of a servo's channel then has a time,
and the speed limit is checked on the counts really written.
"""
import bisect
import itertools
import math
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eva.cli import servo_check
from eva.cli.main import build_parser
from eva.cli.main import main as eva_main
from eva.hardware import pca9685
from eva.hardware.calibration import load_calibration
from eva.hardware.fake_i2c import FULL, LED0_ON_L, PRESCALE, FakeI2C
from eva.hardware.safety import position_to_pulse_us

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """Stands in for time.sleep: advances a clock, notes the bus's write count, may raise once."""

    def __init__(self, interrupt_at: int | None = None):
        self.t = 0.0
        self.marks: list[int] = []  # len(bus.writes) at each sleep call
        self.times: list[float] = [0.0]  # clock after 0, 1, 2, ... sleep calls
        self.dts: list[float] = []  # each sleep's argument (s)
        self.calls = 0
        self.interrupt_at = interrupt_at
        self.interrupted_after_writes: int | None = None
        self.bus: FakeI2C | None = None

    def __call__(self, dt: float) -> None:
        self.calls += 1
        self.marks.append(len(self.bus.writes))
        self.dts.append(dt)
        self.t += dt
        self.times.append(self.t)
        if self.calls == self.interrupt_at:
            self.interrupted_after_writes = len(self.bus.writes)
            raise KeyboardInterrupt

    def time_of_write(self, index: int) -> float:
        """Clock time when write ``index`` of the bus happened."""
        return self.times[bisect.bisect_right(self.marks, index)]


def channel_writes(bus: FakeI2C, address: int, channel: int) -> list[tuple[int, int, int]]:
    """(write index, ON, OFF) of every 4-byte LEDn write to one channel, in order."""
    out = []
    for i, w in enumerate(bus.writes):
        if w.address == address and len(w.data) == 5 and w.data[0] == LED0_ON_L + 4 * channel:
            d = w.data[1:]
            out.append((i, d[0] | d[1] << 8, d[2] | d[3] << 8))
    return out


def expected_ticks(bus: FakeI2C, servo, pos: float) -> int:
    """Counts for the servo at ``pos``: round(us * f' * 4096 / 1e6) at the chip's real frequency
    f' = 25 MHz / (4096 * (PRE_SCALE + 1)) (50.03 Hz for 50 Hz), kept inside the calibrated range."""
    per_us = 25e6 / (bus.register(servo.address, PRESCALE) + 1) / 1e6
    ticks = round(position_to_pulse_us(servo, pos) * per_us)
    return min(max(ticks, math.ceil(servo.pulse_min_us * per_us)), math.floor(servo.pulse_max_us * per_us))


@pytest.fixture
def run_check(monkeypatch):
    """Runs `eva servo-check ARGS` with the fake clock; returns (exit code, bus, clock)."""

    def run(argv: list[str], clock: FakeClock | None = None):
        clock = clock or FakeClock()
        made = []

        def make_board(backend, cal):
            board = real_make_board(backend, cal)
            made.append(board)
            clock.bus = board.i2c
            return board

        real_make_board = pca9685.make_board
        monkeypatch.setattr(pca9685, "make_board", make_board)
        args = build_parser().parse_args(["servo-check", *argv])
        try:
            code = servo_check.run(args, sleep=clock)
        except KeyboardInterrupt:  # would stop pytest itself
            pytest.fail("KeyboardInterrupt escaped eva servo-check")
        assert isinstance(made[0], pca9685.Pca9685Board) and isinstance(made[0].i2c, FakeI2C)
        return code, made[0].i2c, clock

    return run


def assert_speed_limited(bus: FakeI2C, clock: FakeClock, servo, speed: float) -> None:
    """Between any two writes to the servo's channel, the count moved at most
    min(speed, max_speed) * dt of its range (plus one count for rounding)."""
    per_us = 25e6 / (bus.register(servo.address, PRESCALE) + 1) / 1e6
    span = (servo.pulse_max_us - servo.pulse_min_us) * per_us  # counts for the whole range
    limit = min(speed, servo.max_speed)
    writes = [(i, off) for i, _, off in channel_writes(bus, servo.address, servo.channel) if not off & FULL]
    assert len(writes) > 10, servo.name
    for (i0, a), (i1, b) in itertools.pairwise(writes):
        dt = clock.time_of_write(i1) - clock.time_of_write(i0)
        assert abs(b - a) <= limit * dt * span + 1, (servo.name, a, b, dt)


def test_each_servo_sweeps_neutral_0_1_neutral_through_calibrated_counts(run_check, capsys):
    names = ["brow_up_left", "brow_up_right", "eye_yaw", "neck_1"]  # plain, inverted, neutral 0.5, board 0x41
    code, bus, _ = run_check(["--backend", "fake", "--yes", "--only", *names])
    assert code == 0
    cal = load_calibration()
    out = capsys.readouterr().out
    for name in names:
        s = cal[name]
        offs = [off for _, _, off in channel_writes(bus, s.address, s.channel) if not off & FULL]
        at0, at1, rest = (expected_ticks(bus, s, p) for p in (0.0, 1.0, s.neutral))
        assert offs[0] == rest and offs[-1] == rest, name  # starts and ends at neutral
        i0 = offs.index(at0)
        assert at1 in offs[i0:], name  # 0 is reached, then 1
        assert min(offs) == min(at0, at1) and max(offs) == max(at0, at1), name  # never beyond the calibration
        assert f"{name}: channel {s.channel}, board 0x{s.address:02x}" in out
        assert f"{position_to_pulse_us(s, 0.0):7.1f} us" in out and f"{position_to_pulse_us(s, 1.0):7.1f} us" in out
    assert bus.channel(0x40, cal["brow_up_right"].channel) == (0, FULL)  # released at the end


def test_sweep_is_slew_limited_by_speed(run_check):
    code, bus, clock = run_check(["--backend", "fake", "--yes", "--only", "jaw", "eye_pitch", "--speed", "0.25"])
    assert code == 0
    cal = load_calibration()
    for name in ("jaw", "eye_pitch"):
        assert_speed_limited(bus, clock, cal[name], 0.25)
    assert set(clock.dts) == {servo_check.STEP_S, 0.5}  # the CLI's time step, and the default --hold
    # 0 -> 1 at 0.25/s takes 4 s per servo; neutral (0) -> 0 nothing, 1 -> 0 another 4 s; eye_pitch 2 + 4 + 2
    assert clock.t >= 8 + 8 - 1e-6


def test_sweep_never_exceeds_the_calibrated_max_speed(run_check, tmp_path):
    text = (ROOT / "config" / "servos.yaml").read_text().replace(
        "jaw:                     {channel: 8, pulse_min_us: 1200, pulse_max_us: 1800, neutral: 0.0, inverted: false, "
        "max_speed: 3.0}",
        "jaw:                     {channel: 8, pulse_min_us: 1200, pulse_max_us: 1800, neutral: 0.0, inverted: false, "
        "max_speed: 0.5}")
    assert "max_speed: 0.5}" in text
    path = tmp_path / "servos.yaml"
    path.write_text(text)
    code, bus, clock = run_check(["--backend", "fake", "--yes", "--only", "jaw", "--speed", "5",
                                  "--calibration", str(path)])
    assert code == 0
    jaw = load_calibration(path)["jaw"]
    assert_speed_limited(bus, clock, jaw, 0.5)  # --speed 5 asked, max_speed 0.5 holds
    assert clock.t >= 2 * 1 / 0.5 - 1e-6


def test_only_restricts_to_the_named_servos(run_check, capsys):
    code, bus, _ = run_check(["--backend", "fake", "--yes", "--only", "jaw", "--hold", "0"])
    assert code == 0
    cal = load_calibration()
    for s in cal.servos:
        offs = {off for _, _, off in channel_writes(bus, s.address, s.channel)}
        if s.name == "jaw":
            assert len(offs) > 20
        else:  # neutral on connect, full off on release, nothing else
            assert offs <= {expected_ticks(bus, s, s.neutral), FULL}, s.name
    out = capsys.readouterr().out
    assert "[1/1] jaw:" in out and "brow_up_left" not in out


def test_unknown_only_name_is_an_error_naming_it(run_check, monkeypatch, capsys):
    made = []
    monkeypatch.setattr(pca9685, "make_board", lambda *a: made.append(a))
    with pytest.raises(ValueError, match="nosuch_servo"):
        servo_check.run(build_parser().parse_args(["servo-check", "--backend", "fake", "--only", "jaw",
                                                   "nosuch_servo"]), sleep=lambda dt: None)
    assert made == []  # rejected before any board is made
    assert eva_main(["servo-check", "--backend", "fake", "--only", "nosuch_servo"]) == 1
    err = capsys.readouterr().err
    assert "nosuch_servo" in err and len(err.strip().splitlines()) == 1


def test_interrupt_mid_sweep_slews_home_then_releases(run_check):
    cal = load_calibration()
    # eye_yaw: neutral 0.5 -> 0 is 100 steps at 0.25/s, then the hold, then 0 -> 1: stop in the middle of that
    clock = FakeClock(interrupt_at=150)
    code, bus, clock = run_check(["--backend", "fake", "--yes", "--only", "eye_yaw", "neck_1"], clock)
    assert code == 130
    eye, neck = cal["eye_yaw"], cal["neck_1"]
    writes = channel_writes(bus, eye.address, eye.channel)
    before = [off for i, _, off in writes if i < clock.interrupted_after_writes]
    after = [off for i, _, off in writes if i >= clock.interrupted_after_writes and not off & FULL]
    assert expected_ticks(bus, eye, 0.0) < before[-1] < expected_ticks(bus, eye, 1.0)  # stopped mid-sweep
    assert len(after) > 5 and after[-1] == expected_ticks(bus, eye, eye.neutral)  # slewed home, not jumped
    assert_speed_limited(bus, clock, eye, 0.25)
    assert {off for _, _, off in channel_writes(bus, neck.address, neck.channel)} <= {
        expected_ticks(bus, neck, neck.neutral), FULL}  # the next servo never moved
    for address in (0x40, 0x41):  # then every output off
        assert all(bus.channel(address, ch) == (0, FULL) for ch in range(16)), hex(address)
    for s in cal.servos:  # the last pulse each servo had before release was its neutral
        pulses = [off for _, _, off in channel_writes(bus, s.address, s.channel) if not off & FULL]
        assert pulses[-1] == expected_ticks(bus, s, s.neutral), s.name


def test_real_board_missing_is_one_clear_line(capsys, monkeypatch):
    def no_i2c():
        raise RuntimeError("no I2C on this machine (Blinka board_id=GENERIC_LINUX_PC): run on a Raspberry Pi")

    monkeypatch.setattr(pca9685, "open_i2c", no_i2c)
    assert eva_main(["servo-check", "--backend", "pca9685", "--yes"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("eva servo-check: error: cannot open the servo board: no I2C") and "\n" not in err
    assert "--backend fake" in err


def test_make_board_backends():
    cal = load_calibration()
    fake = pca9685.make_board("fake", cal)
    assert isinstance(fake, pca9685.Pca9685Board) and sorted(fake.i2c.devices) == [0x40, 0x41]
    real = pca9685.make_board("pca9685", cal)
    assert isinstance(real, pca9685.Pca9685Board) and real.i2c is None  # Blinka's bus, opened on connect
    assert isinstance(pca9685.make_board("sim", cal), pca9685.SimBoard)
    with pytest.raises(ValueError, match="'nope'"):
        pca9685.make_board("nope", cal)


def test_ramp_steps_are_even_bounded_and_end_exactly():
    steps = servo_check.ramp(0.5, 0.0, 0.005)
    assert len(steps) == 100 and steps[-1] == 0.0
    assert max(abs(b - a) for a, b in zip([0.5, *steps], steps)) <= 0.005 + 1e-12
    assert servo_check.ramp(0.3, 0.3, 0.01) == [0.3]


def test_fastdds_wifi_profile_is_well_formed():
    ns = {"d": "http://www.eprosima.com"}
    root = ET.parse(ROOT / "config" / "fastdds_wifi.xml").getroot()
    transports = root.findall("d:profiles/d:transport_descriptors/d:transport_descriptor", ns)
    assert [t.findtext("d:type", namespaces=ns) for t in transports] == ["UDPv4"]
    assert transports[0].findtext("d:maxMessageSize", namespaces=ns) == "1400"
    (participant,) = root.findall("d:profiles/d:participant", ns)
    assert participant.get("is_default_profile") == "true"
    rtps = participant.find("d:rtps", ns)
    assert rtps.findtext("d:useBuiltinTransports", namespaces=ns) == "false"  # no shared memory, no UDPv6
    assert rtps.findtext("d:userTransports/d:transport_id", namespaces=ns) == transports[0].findtext(
        "d:transport_id", namespaces=ns)
    peers = [a.text for a in rtps.findall("d:builtin/d:initialPeersList/d:locator/d:udpv4/d:address", ns)]
    assert peers == ["192.168.1.10", "192.168.1.20"]
    assert rtps.findall("d:builtin/d:metatrafficUnicastLocatorList/d:locator/d:udpv4", ns)


def test_servo_bridge_and_servo_check_run_without_torch_mediapipe_opencv():
    """What the Pi image lacks: the bridge imports and `eva servo-check` runs without it."""
    code = textwrap.dedent("""
        import importlib.abc, sys
        BLOCKED = {"torch", "cv2", "mediapipe", "scipy", "skimage", "matplotlib", "rosbags", "pyrealsense2", "PIL"}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"not in the Pi image: {name}")
        sys.meta_path.insert(0, Block())
        import eva.ros.servo_bridge_node, eva.ros.model_node
        from eva.cli.main import main
        sys.exit(main(["servo-check", "--backend", "fake", "--only", "jaw", "--speed", "50", "--hold", "0", "--yes"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "done: outputs off" in proc.stdout


def test_pi_dockerfile_installs_only_the_bridge():
    text = (ROOT / "docker" / "Dockerfile.pi").read_text()
    assert "FROM ros:kilted-ros-base" in text and "--platform linux/arm64" in text
    assert "colcon build --packages-select eva" in text and "adafruit-circuitpython-pca9685" in text
    assert 'CMD ["ros2", "run", "eva", "servo_bridge"]' in text and "ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET" in text
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for heavy in ("torch", "mediapipe", "opencv", "checkpoints"):
        assert heavy not in body.lower(), heavy
    for path in ("package.xml", "setup.py", "setup.cfg", "resource", "src", "config", "launch"):
        assert (ROOT / path).exists(), path
