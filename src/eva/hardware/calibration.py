"""Servo calibration: dataclasses mirroring ``config/servos.yaml``, validated at load.

Positions are the commands' unit everywhere in eva: a number in [0, 1] per motor
(0 = ``pulse_min_us``, 1 = ``pulse_max_us``; swapped when ``inverted``). Only this
calibration knows pulse widths (microseconds), I2C addresses and PCA9685 channels.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from eva.hardware.neck import NeckGeometry

CONFIG_NAME = "servos.yaml"
N_CHANNELS = 16  # PWM outputs per PCA9685 board
PULSE_LIMITS_US = (500.0, 2500.0)  # hobby-servo pulse widths ever allowed (us)
ADDRESS_RANGE = (0x40, 0x7F)  # the PCA9685's 7-bit I2C addresses (A0-A5 jumpers)


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {why}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class ServoCalibration:
    """One servo: where it is wired and which pulses are safe for its linkage."""

    name: str  # motor name, as in motor_commands / joint_states
    channel: int  # PCA9685 output 0-15
    pulse_min_us: float  # pulse at position 0 (1 when inverted), us
    pulse_max_us: float  # pulse at position 1 (0 when inverted), us
    address: int = 0x40  # I2C address of the PCA9685 board this servo is on
    neutral: float = 0.0  # rest position in [0, 1] (watchdog, shutdown, startup)
    inverted: bool = False  # True: position 0 -> pulse_max_us (mirrored mounting)
    max_speed: float = 4.0  # slew limit, position units per second (1.0 = full range in 1 s)

    def __post_init__(self):
        where = f"servos.{self.name}"
        _check(isinstance(self.name, str) and bool(self.name), "servos", f"invalid motor name {self.name!r}")
        _check(_is_int(self.channel) and 0 <= self.channel < N_CHANNELS, f"{where}.channel",
               f"must be an integer in 0-{N_CHANNELS - 1}, got {self.channel!r}")
        _check(_is_int(self.address) and ADDRESS_RANGE[0] <= self.address <= ADDRESS_RANGE[1],
               f"{where}.address", f"must be a PCA9685 I2C address 0x40-0x7F, got {self.address!r}")
        lo, hi = PULSE_LIMITS_US
        for key in ("pulse_min_us", "pulse_max_us"):
            v = getattr(self, key)
            _check(_is_number(v) and lo <= v <= hi, f"{where}.{key}",
                   f"must be a number in [{lo:g}, {hi:g}] us, got {v!r}")
        _check(self.pulse_min_us < self.pulse_max_us, f"{where}.pulse_min_us",
               f"must be < pulse_max_us, got {self.pulse_min_us} >= {self.pulse_max_us}")
        _check(_is_number(self.neutral) and 0.0 <= self.neutral <= 1.0, f"{where}.neutral",
               f"must be a position in [0, 1], got {self.neutral!r}")
        _check(isinstance(self.inverted, bool), f"{where}.inverted", f"must be true or false, got {self.inverted!r}")
        _check(_is_number(self.max_speed) and self.max_speed > 0, f"{where}.max_speed",
               f"must be > 0 position units per second, got {self.max_speed!r}")

    @property
    def neutral_pulse_us(self) -> float:
        """The pulse width at the neutral position (us)."""
        p = 1.0 - self.neutral if self.inverted else self.neutral
        return self.pulse_min_us + p * (self.pulse_max_us - self.pulse_min_us)


@dataclass(frozen=True)
class Calibration:
    """All servos of the robot, the PCA9685 boards they hang on, and the neck geometry."""

    servos: tuple[ServoCalibration, ...]  # order = motor order of joint_states
    pwm_frequency_hz: float = 50.0  # servo frame rate; analog hobby servos want 50 Hz
    boards: tuple[int, ...] = (0x40,)  # I2C addresses of the PCA9685 boards
    neck: NeckGeometry | None = None  # Stewart platform geometry, when the robot has the neck

    def __post_init__(self):
        _check(len(self.servos) > 0, "servos", "must list at least one servo")
        _check(_is_number(self.pwm_frequency_hz) and 24 <= self.pwm_frequency_hz <= 400,
               "pwm_frequency_hz", f"must be in [24, 400] Hz (PCA9685 and servo limits), got {self.pwm_frequency_hz!r}")
        period_us = 1e6 / self.pwm_frequency_hz
        _check(len(self.boards) > 0 and len(set(self.boards)) == len(self.boards), "boards",
               f"must be distinct I2C addresses, got {self.boards}")
        for a in self.boards:
            _check(_is_int(a) and ADDRESS_RANGE[0] <= a <= ADDRESS_RANGE[1], "boards",
                   f"must be PCA9685 addresses 0x40-0x7F, got {a!r}")
        seen_names: set[str] = set()
        seen_outputs: dict[tuple[int, int], str] = {}
        for s in self.servos:
            where = f"servos.{s.name}"
            _check(s.name not in seen_names, where, "duplicate motor name")
            seen_names.add(s.name)
            key = (s.address, s.channel)
            _check(key not in seen_outputs, f"{where}.channel",
                   f"(address 0x{s.address:02x}, channel {s.channel}) already used by {seen_outputs.get(key)}")
            seen_outputs[key] = s.name
            _check(s.address in self.boards, f"{where}.address",
                   f"0x{s.address:02x} is not one of boards {[hex(b) for b in self.boards]}")
            _check(s.pulse_max_us < period_us, f"{where}.pulse_max_us",
                   f"must be shorter than the PWM period {period_us:.0f} us")

    @property
    def names(self) -> tuple[str, ...]:
        """Motor names in calibration order."""
        return tuple(s.name for s in self.servos)

    def __getitem__(self, name: str) -> ServoCalibration:
        for s in self.servos:
            if s.name == name:
                return s
        raise KeyError(f"no servo named {name!r}; servos: {self.names}")

    def subset(self, prefix: str) -> tuple[ServoCalibration, ...]:
        """The servos whose name starts with ``prefix`` (e.g. ``"neck_"``), in order."""
        return tuple(s for s in self.servos if s.name.startswith(prefix))


# ----------------------------------------------------------------- YAML -> dataclasses

def _build(cls, data: Any, where: str, **extra):
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)} - set(extra)
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - set(data) - set(extra))
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}, **extra)
    except TypeError as err:  # e.g. a list where a number belongs
        raise ValueError(f"{where}: {err}") from None


def calibration_from_dict(data: dict) -> Calibration:
    """Builds and validates a `Calibration` from the parsed YAML mapping.

    Raises:
        ValueError: naming the offending motor and field.
    """
    if not isinstance(data, dict):
        raise ValueError(f"servo calibration: expected a mapping, got {type(data).__name__}")
    data = dict(data)
    raw = data.pop("servos", None)
    if not isinstance(raw, dict) or not raw:
        raise ValueError("servos: expected a non-empty mapping motor name -> calibration")
    servos = tuple(_build(ServoCalibration, v, f"servos.{k}", name=k) for k, v in raw.items())
    neck = data.pop("neck", None)
    neck = _build(NeckGeometry, neck, "neck") if neck is not None else None
    kwargs = {}
    for key in ("pwm_frequency_hz", "boards"):
        if key in data:
            v = data.pop(key)
            kwargs[key] = tuple(v) if isinstance(v, list) else v
    if data:
        raise ValueError(f"unknown top-level key(s) {sorted(data, key=str)}; known: boards, neck, "
                         "pwm_frequency_hz, servos")
    return Calibration(servos=servos, neck=neck, **kwargs)


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Reads and validates ``servos.yaml``.

    Args:
        path: a YAML file; None finds ``config/servos.yaml`` (`eva.paths.find_config`).

    Raises:
        FileNotFoundError: no config file found.
        ValueError: an invalid value, naming the motor and field.
    """
    if path is None:
        from eva.paths import find_config
        path = find_config(CONFIG_NAME)
    with open(path, encoding="utf-8") as f:
        data = _yaml_load(f.read())
    return calibration_from_dict(data or {})


def _yaml_load(text: str) -> Any:
    """``yaml.safe_load`` that rejects a key repeated in one mapping (PyYAML keeps the last silently)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        dup = sorted({str(k) for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate key(s) {dup} (line {node.start_mark.line + 1}): "
                             "each motor name may appear once")
        return loader.construct_mapping(node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=_Loader)

