"""Servo boards with the sim face's shape: `Pca9685Board` (real PCA9685s over I2C) and `SimBoard`.

`make_board` picks one by backend name (pca9685, fake, sim) for the servo bridge
and ``eva servo-check``.

Both take pulse widths (us) by motor name, clamp them to the calibration,
quantize them to the PCA9685's 12-bit counts and return what was really sent.
`Pca9685Board` imports ``adafruit_pca9685`` (and Blinka's ``board`` when no bus is
given) only on `connect`, so this module loads on any machine.

Counts: with PRE_SCALE = round(25 MHz / (4096 * f)) - 1 the chip's real frequency is
f' = 25 MHz / (4096 * (PRE_SCALE + 1)) (50 Hz -> 121 -> 50.03 Hz), and a pulse of
``us`` microseconds is OFF = round(us * 1e-6 * f' * 4096) counts after ON = 0.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from eva.hardware.calibration import Calibration, ServoCalibration
from eva.hardware.safety import (TICKS_PER_PERIOD, pulse_us_to_position, pulse_us_to_ticks,
                                 ticks_to_pulse_us)

BACKENDS = ("pca9685", "fake", "sim")  # make_board's backend names
OSC_HZ = 25_000_000  # PCA9685 internal oscillator (Hz); real chips vary by a few percent
FULL_OFF = (0, 0x1000)  # (ON, OFF) counts: bit 12 of OFF forces the output low


def prescale_for(freq_hz: float, osc_hz: float = OSC_HZ) -> int:
    """PRE_SCALE register value for ``freq_hz`` (as the Adafruit library computes it)."""
    return int(osc_hz / 4096.0 / freq_hz + 0.5) - 1


def actual_frequency(freq_hz: float, osc_hz: float = OSC_HZ) -> float:
    """The frequency the chip really runs at after PRE_SCALE rounding (Hz)."""
    return osc_hz / 4096.0 / (prescale_for(freq_hz, osc_hz) + 1)


class ServoBoard:
    """Shared logic: validation, clamping, quantization and bookkeeping of sent pulses.

    Args:
        calibration: the servos (and board addresses) driven.
        osc_hz: the PCA9685 oscillator frequency (Hz), for the count maths.
    """

    def __init__(self, calibration: Calibration, osc_hz: float = OSC_HZ):
        self.calibration = calibration
        self.motor_names: tuple[str, ...] = calibration.names
        self._cal = {s.name: s for s in calibration.servos}
        self.frequency_hz = actual_frequency(calibration.pwm_frequency_hz, osc_hz)
        self._sent_us = {s.name: s.neutral_pulse_us for s in calibration.servos}
        self._connected = False

    @property
    def is_connected(self) -> bool:
        """True between `connect` and `disconnect`."""
        return self._connected

    def neutral(self) -> dict[str, float]:
        """Name -> pulse (us) of every servo's neutral position."""
        return {s.name: s.neutral_pulse_us for s in self.calibration.servos}

    def _quantize(self, cal: ServoCalibration, us: float) -> int:
        """Counts for ``us``, kept inside [pulse_min_us, pulse_max_us] after rounding."""
        per_us = self.frequency_hz * TICKS_PER_PERIOD * 1e-6  # counts per microsecond
        lo, hi = math.ceil(cal.pulse_min_us * per_us), math.floor(cal.pulse_max_us * per_us)
        return min(max(pulse_us_to_ticks(us, self.frequency_hz), lo), hi)

    def send_action(self, pulses: Mapping[str, float]) -> dict[str, float]:
        """Sets the named servos' pulses; others keep theirs.

        Args:
            pulses: name -> pulse width (us); clamped to the servo's calibrated range.

        Returns:
            name -> pulse width (us) really sent (after clamping and 12-bit rounding).

        Raises:
            RuntimeError: not connected.
            ValueError: unknown name or non-finite value (nothing is sent).
        """
        if not self._connected:
            raise RuntimeError(f"{type(self).__name__} is not connected; call connect() first")
        unknown = [n for n in pulses if n not in self._cal]
        if unknown:
            raise ValueError(f"pulses: unknown servo(s) {unknown}; servos: {self.motor_names}")
        bad = [n for n, v in pulses.items() if not math.isfinite(float(v))]
        if bad:
            raise ValueError(f"pulses: non-finite value for {bad}")
        sent = {}
        for name, us in pulses.items():
            cal = self._cal[name]
            ticks = self._quantize(cal, float(us))
            self._write(cal, ticks)
            sent[name] = self._sent_us[name] = ticks_to_pulse_us(ticks, self.frequency_hz)
        self._after_send(sent)
        return sent

    @property
    def positions(self) -> np.ndarray:
        """Positions in [0, 1] of the last pulses sent, in `motor_names` order (neutral before any)."""
        return np.array([pulse_us_to_position(self._cal[n], self._sent_us[n]) for n in self.motor_names])

    def _write(self, cal: ServoCalibration, ticks: int) -> None:
        raise NotImplementedError

    def _after_send(self, sent: dict[str, float]) -> None:
        pass

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()


class Pca9685Board(ServoBoard):
    """One or more PCA9685 boards on an I2C bus (Adafruit's ``adafruit-circuitpython-pca9685``).

    Args:
        calibration: the servos; its ``boards`` are the I2C addresses opened.
        i2c: a bus object (``busio.I2C``, `eva.hardware.fake_i2c.FakeI2C`); None opens
            Blinka's ``board.I2C()`` on `connect` (Raspberry Pi, I2C enabled).
        osc_hz: oscillator frequency (Hz) if measured (Adafruit's ``calibration.py``).
    """

    def __init__(self, calibration: Calibration, i2c=None, osc_hz: float = OSC_HZ):
        super().__init__(calibration, osc_hz)
        self.i2c = i2c
        self.osc_hz = osc_hz
        self._own_bus = i2c is None
        self.chips: dict[int, object] = {}  # address -> adafruit_pca9685.PCA9685
        self._ticks: dict[tuple[int, int], int] = {}  # (address, channel) -> last counts written

    def connect(self, send_neutral: bool = True) -> None:
        """Opens every board, sets the PWM frequency and (by default) sends every servo's neutral.

        Raises:
            RuntimeError: the Adafruit library or the I2C bus is missing, naming what.
            ValueError: a board does not answer at its address.
        """
        try:
            from adafruit_pca9685 import PCA9685
        except ImportError as err:
            raise RuntimeError("Pca9685Board needs adafruit-circuitpython-pca9685 "
                               f"(pip install adafruit-circuitpython-pca9685): {err}") from err
        if self.i2c is None:
            self.i2c = open_i2c()
        for address in self.calibration.boards:
            chip = PCA9685(self.i2c, address=address, reference_clock_speed=int(self.osc_hz))
            chip.frequency = self.calibration.pwm_frequency_hz
            self.chips[address] = chip
        self._ticks.clear()
        self._connected = True
        if send_neutral:
            self.send_action(self.neutral())

    def _write(self, cal: ServoCalibration, ticks: int) -> None:
        key = (cal.address, cal.channel)
        if self._ticks.get(key) != ticks:  # an I2C write costs ~0.5 ms at 100 kHz: skip repeats
            self.chips[cal.address].pwm_regs[cal.channel] = (0, ticks)
            self._ticks[key] = ticks

    def release(self) -> None:
        """Turns every output of every board fully off: servos go limp (no holding torque)."""
        if not self._connected:
            return
        for chip in self.chips.values():
            for ch in range(16):
                chip.pwm_regs[ch] = FULL_OFF
        self._ticks.clear()

    def disconnect(self, release: bool = False) -> None:
        """Sends neutral (then turns outputs off if ``release``) and lets go of the bus.

        A bridge should slew to neutral first (`BridgeLogic.park`): this jumps there.
        """
        if self._connected:
            self.send_action(self.neutral())
            if release:
                self.release()
        self.chips.clear()
        if self._own_bus and self.i2c is not None:
            self.i2c.deinit()
            self.i2c = None
        self._connected = False


def open_i2c():
    """Blinka's default I2C bus (``board.I2C()``: SDA/SCL, /dev/i2c-1 on a Raspberry Pi).

    Raises:
        RuntimeError: Blinka missing, or this machine has no supported I2C bus.
    """
    try:
        import board
    except ImportError as err:
        raise RuntimeError(f"no I2C: install adafruit-blinka (pip install adafruit-blinka): {err}") from err
    except (NotImplementedError, RuntimeError) as err:
        raise RuntimeError(f"no I2C: Blinka does not know this board ({err}); run on a Raspberry Pi, "
                           "or pass i2c=eva.hardware.fake_i2c.FakeI2C() to test") from err
    if not hasattr(board, "I2C"):
        raise RuntimeError(f"no I2C on this machine (Blinka board_id={getattr(board, 'board_id', None)}): "
                           "run on a Raspberry Pi with I2C enabled (raspi-config, /dev/i2c-1), "
                           "or pass i2c=eva.hardware.fake_i2c.FakeI2C() to test")
    try:
        return board.I2C()
    except (OSError, ValueError, RuntimeError) as err:
        raise RuntimeError(f"cannot open the I2C bus ({err}): is I2C enabled (raspi-config) and "
                           "is this user in the i2c group?") from err


class SimBoard(ServoBoard):
    """A board that drives the simulated face: face motors' pulses become SimFace positions.

    Servos the face does not have (eyes, neck) are kept as state only (`positions`).

    Args:
        calibration: the servos.
        face: a `eva.sim.face.SimFace`; None creates one (default config) on `connect`.
    """

    def __init__(self, calibration: Calibration, face=None):
        super().__init__(calibration)
        self.face = face

    def connect(self, send_neutral: bool = True) -> None:
        """Connects the face and (by default) sends every servo's neutral."""
        if self.face is None:
            from eva.sim.face import SimFace
            self.face = SimFace()
        if not self.face.is_connected:
            self.face.connect()
        self._connected = True
        if send_neutral:
            self.send_action(self.neutral())

    def _write(self, cal: ServoCalibration, ticks: int) -> None:
        pass  # positions go to the face in one call (_after_send)

    def _after_send(self, sent: dict[str, float]) -> None:
        face_names = set(self.face.motor_names)
        cmd = {n: pulse_us_to_position(self._cal[n], us) for n, us in sent.items() if n in face_names}
        if cmd:
            self.face.send_action(cmd)

    def release(self) -> None:
        """Nothing to power off in the simulation; targets stay."""

    def disconnect(self, release: bool = False) -> None:
        """Sends neutral and disconnects the face (which settles at its rest pose)."""
        if self._connected:
            self.send_action(self.neutral())
            self.face.disconnect()
        self._connected = False


def make_board(backend: str, calibration: Calibration) -> ServoBoard:
    """The board for a backend name (not connected yet).

    Args:
        backend: ``pca9685`` (the real boards over Blinka's I2C bus, opened on
            `connect`), ``fake`` (the same Adafruit driver on a `FakeI2C` bus with a
            board at every address the servos use: a dry run) or ``sim`` (`SimBoard`).
        calibration: the servos.

    Raises:
        ValueError: an unknown backend.
    """
    if backend == "pca9685":
        return Pca9685Board(calibration)
    if backend == "fake":
        from eva.hardware.fake_i2c import FakeI2C
        return Pca9685Board(calibration, i2c=FakeI2C(addresses=tuple(sorted({s.address for s in calibration.servos}))))
    if backend == "sim":
        return SimBoard(calibration)
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
