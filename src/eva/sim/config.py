"""Configuration of the simulated Eva face: dataclasses mirroring ``config/sim_face.yaml``.

Geometry is given in pixels of the source photo (``photo_px``: x right, y down),
so one set of muscles serves every output size; the renderer scales it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from eva.core.config import build_dataclass

CONFIG_NAME = "sim_face.yaml"
DIRECTIONS = ("up", "down", "left", "right")  # expected landmark motion, image terms
N_MEDIAPIPE_POINTS = 478


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {why}")


def _finite(values, name: str, n: int | None = None) -> None:
    vals = tuple(values)
    _check(n is None or len(vals) == n, name, f"expected {n} numbers, got {len(vals)}")
    _check(all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals),
           name, f"must be finite numbers, got {vals}")


@dataclass(frozen=True)
class PhotoConfig:
    """The face photo that the muscles warp."""

    source: str = "astronaut"  # "grace_hopper" (matplotlib's sample), "astronaut" (scikit-image's), or a path
    crop_center_px: tuple[float, float] = (225.0, 122.0)  # crop centre in photo px (x, y)
    crop_height_px: float = 190.0  # crop height in photo px; width follows the output aspect

    def __post_init__(self):
        _check(isinstance(self.source, str) and bool(self.source), "photo.source", "must be a non-empty string")
        _finite(self.crop_center_px, "photo.crop_center_px", 2)
        _finite([self.crop_height_px], "photo.crop_height_px")
        _check(self.crop_height_px >= 16, "photo.crop_height_px", f"must be >= 16, got {self.crop_height_px}")


@dataclass(frozen=True)
class RenderConfig:
    """Output image of the virtual camera."""

    width: int = 480  # px; the paper crops its camera to 480x320
    height: int = 320  # px

    def __post_init__(self):
        for name in ("width", "height"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and 16 <= v <= 4096,
                   f"render.{name}", f"must be an integer in [16, 4096], got {v!r}")


@dataclass(frozen=True)
class ServoConfig:
    """MG90S servo, cord and skin mechanics (hidden from the learner)."""

    range_deg: float = 90.0  # horn travel for a command going 0 -> 1 (deg)
    speed_deg_per_s: float = 600.0  # slew rate; MG90S no-load ~0.1 s per 60 deg
    backlash: float = 0.015  # gear/linkage play, fraction of range: final pose depends on approach side
    slack: float = 0.08  # cord slack: horn travel (fraction of range) before the skin moves
    saturation: float = 1.5  # tanh gain: skin stiffens near full pull (0 would be linear)
    max_activation: float = 1.5  # cap on a muscle's effective pull after coupling

    def __post_init__(self):
        _finite([getattr(self, f.name) for f in fields(self)], "servo")
        _check(self.range_deg > 0, "servo.range_deg", f"must be > 0, got {self.range_deg}")
        _check(self.speed_deg_per_s > 0, "servo.speed_deg_per_s", f"must be > 0, got {self.speed_deg_per_s}")
        _check(0 <= self.backlash <= 0.1, "servo.backlash", f"must be in [0, 0.1], got {self.backlash}")
        _check(0 <= self.slack < 0.5, "servo.slack", f"must be in [0, 0.5), got {self.slack}")
        _check(0 <= self.saturation <= 5, "servo.saturation", f"must be in [0, 5], got {self.saturation}")
        _check(1 <= self.max_activation <= 3, "servo.max_activation",
               f"must be in [1, 3], got {self.max_activation}")


@dataclass(frozen=True)
class CameraConfig:
    """Virtual camera imperfections, drawn per frame from the face's seeded generator."""

    noise: bool = True  # False: exact, noise-free renders
    pixel_noise_std: float = 2.0  # Gaussian sensor noise (grey levels of 255)
    brightness_jitter_std: float = 4.0  # global offset per frame (grey levels)
    contrast_jitter_std: float = 0.03  # global gain per frame (fraction)

    def __post_init__(self):
        _check(isinstance(self.noise, bool), "camera.noise", f"must be true or false, got {self.noise!r}")
        for name in ("pixel_noise_std", "brightness_jitter_std", "contrast_jitter_std"):
            v = getattr(self, name)
            _finite([v], f"camera.{name}")
            _check(v >= 0, f"camera.{name}", f"must be >= 0, got {v}")
        _check(self.contrast_jitter_std < 0.3, "camera.contrast_jitter_std",
               f"must be < 0.3, got {self.contrast_jitter_std}")


@dataclass(frozen=True)
class MouthConfig:
    """Where the lips part when the jaw or lower lip opens the mouth (photo px)."""

    hinge_center_px: tuple[float, float] = (224.0, 148.0)  # lower edge of the upper teeth, mid-mouth
    corner_left_px: tuple[float, float] = (244.0, 141.0)  # subject's left corner (image right)
    corner_right_px: tuple[float, float] = (204.0, 142.0)  # subject's right corner (image left)
    interior_rgb: tuple[int, int, int] = (40, 16, 20)  # dark mouth interior, in the teeth's shadow
    tongue_rgb: tuple[int, int, int] = (120, 52, 58)  # toward the lower lip
    edge_px: float = 1.2  # soft edge of the interior, output px (anti-aliasing)

    def __post_init__(self):
        for name in ("hinge_center_px", "corner_left_px", "corner_right_px"):
            _finite(getattr(self, name), f"mouth.{name}", 2)
        _check(self.corner_right_px[0] < self.hinge_center_px[0] < self.corner_left_px[0],
               "mouth.hinge_center_px", "x must lie between corner_right_px and corner_left_px")
        for name in ("interior_rgb", "tongue_rgb"):
            rgb = getattr(self, name)
            _check(len(rgb) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in rgb),
                   f"mouth.{name}", f"must be 3 integers in [0, 255], got {rgb}")
        _check(0 < self.edge_px <= 5, "mouth.edge_px", f"must be in (0, 5], got {self.edge_px}")


@dataclass(frozen=True)
class LobeConfig:
    """One Gaussian patch of skin pulled by a muscle's cord (photo px)."""

    center_px: tuple[float, float]  # anchor where the cord attaches (x, y)
    sigma_px: tuple[float, float, float, float]  # fall-off toward image left, right, up, down
    pull_px: tuple[float, float]  # displacement of the anchor at full activation (dx, dy)

    def __post_init__(self):
        _finite(self.center_px, "lobe.center_px", 2)
        _finite(self.sigma_px, "lobe.sigma_px", 4)
        _finite(self.pull_px, "lobe.pull_px", 2)
        _check(all(s > 0 for s in self.sigma_px), "lobe.sigma_px", f"must be > 0, got {self.sigma_px}")
        # backward warping stays one-to-one while the field's slope stays below ~1
        _check(math.hypot(*self.pull_px) <= 1.2 * min(self.sigma_px), "lobe.pull_px",
               f"|pull| {math.hypot(*self.pull_px):.1f} px > 1.2 * min(sigma_px): the skin would fold")


@dataclass(frozen=True)
class OpeningConfig:
    """A muscle that parts the lips: the skin below the mouth hinge moves down (photo px)."""

    gap_px: float  # lip gap at mid-mouth at full activation
    lip_thickness_px: float  # lower lip height
    evert: float = 0.0  # extra drop of the lip's lower edge, fraction of gap (lip pulled out)
    hold_px: float = 7.0  # below the gap, skin moves rigidly this far (lip; for the jaw: to the chin)
    decay_px: float = 8.0  # Gaussian fall-off of the motion below hold_px
    spread_px: float = 20.0  # horizontal sigma of the motion below the lips (chin width)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            _finite([v], f"opening.{f.name}")
            _check(v >= 0 if f.name == "evert" else v > 0, f"opening.{f.name}",
                   f"must be {'>= 0' if f.name == 'evert' else '> 0'}, got {v}")


@dataclass(frozen=True)
class MuscleConfig:
    """What one motor does to the skin, and which MediaPipe landmarks must show it."""

    name: str  # motor name, one of SimFaceConfig.motor_names
    lobes: tuple[LobeConfig, ...] = ()  # smooth pulls (brows, cheeks, mouth corners)
    opening: OpeningConfig | None = None  # lip parting (jaw, lower lip)
    landmarks: tuple[int, ...] = ()  # MediaPipe indices this motor must move (tested)
    direction: str = "up"  # their expected motion in the image: up, down, left or right
    min_shift_px: float = 3.0  # least mean motion of those landmarks at full command, 480x320 px

    def __post_init__(self):
        name = f"muscles.{self.name}"
        _check(bool(self.lobes) or self.opening is not None, name, "needs lobes or an opening")
        _check(bool(self.landmarks), f"{name}.landmarks", "must list at least one MediaPipe index")
        _check(all(isinstance(i, int) and 0 <= i < N_MEDIAPIPE_POINTS for i in self.landmarks),
               f"{name}.landmarks", f"must be integers in [0, {N_MEDIAPIPE_POINTS}), got {self.landmarks}")
        _check(self.direction in DIRECTIONS, f"{name}.direction",
               f"must be one of {DIRECTIONS}, got {self.direction!r}")
        _check(self.min_shift_px >= 0, f"{name}.min_shift_px", f"must be >= 0, got {self.min_shift_px}")


@dataclass(frozen=True)
class CouplingConfig:
    """Neighbouring muscles share skin: ``source`` also drives ``target`` by ``gain``."""

    source: str  # motor whose pull spreads
    target: str  # motor whose skin region follows
    gain: float  # fraction of the source's activation added to the target's

    def __post_init__(self):
        _finite([self.gain], "couplings.gain")
        _check(0 <= self.gain <= 1, "couplings.gain", f"must be in [0, 1], got {self.gain}")
        _check(self.source != self.target, "couplings", f"{self.source} coupled to itself")


@dataclass(frozen=True)
class SimFaceConfig:
    """Everything that defines the simulated face; ``motor_names`` fixes the array order."""

    motor_names: tuple[str, ...]  # command/position array order, the single source of truth
    muscles: tuple[MuscleConfig, ...]  # one per motor, in motor_names order
    couplings: tuple[CouplingConfig, ...] = ()
    photo: PhotoConfig = field(default_factory=PhotoConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    servo: ServoConfig = field(default_factory=ServoConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    mouth: MouthConfig = field(default_factory=MouthConfig)

    def __post_init__(self):
        names = self.motor_names
        _check(len(names) > 0 and all(isinstance(n, str) and n for n in names), "motor_names",
               "must be a non-empty list of names")
        _check(len(set(names)) == len(names), "motor_names", f"duplicate names in {names}")
        _check(tuple(m.name for m in self.muscles) == names, "muscles",
               f"must define exactly the motors {names} in that order, got {[m.name for m in self.muscles]}")
        for c in self.couplings:
            _check(c.source in names and c.target in names, "couplings",
                   f"unknown motor in {c.source} -> {c.target}")

    def with_size(self, width: int, height: int) -> "SimFaceConfig":
        """The same face rendered at another output size."""
        return replace(self, render=RenderConfig(width=width, height=height))


# ----------------------------------------------------------------- YAML -> dataclasses

def _muscle(name: str, data: dict) -> MuscleConfig:
    where = f"muscles.{name}"
    data = dict(data or {})
    lobes = tuple(build_dataclass(LobeConfig, lb, f"{where}.lobes") for lb in data.pop("lobes", []) or [])
    opening = data.pop("opening", None)
    opening = build_dataclass(OpeningConfig, opening, f"{where}.opening") if opening is not None else None
    return build_dataclass(MuscleConfig, {"name": name, "lobes": lobes, "opening": opening, **data}, where)


def config_from_dict(data: dict) -> SimFaceConfig:
    """Builds and validates a `SimFaceConfig` from the parsed YAML mapping.

    Raises:
        ValueError: naming the offending field.
    """
    if not isinstance(data, dict):
        raise ValueError(f"sim face config: expected a mapping, got {type(data).__name__}")
    data = dict(data)
    names = tuple(data.pop("motor_names", ()) or ())
    muscles_raw = data.pop("muscles", {}) or {}
    if not isinstance(muscles_raw, dict):
        raise ValueError("muscles: expected a mapping motor name -> muscle")
    missing = [n for n in names if n not in muscles_raw]
    extra = [n for n in muscles_raw if n not in names]
    if missing or extra:
        raise ValueError(f"muscles: missing {missing}, not in motor_names {extra}")
    muscles = tuple(_muscle(n, muscles_raw[n]) for n in names)
    couplings = []
    for c in data.pop("couplings", []) or []:
        _check(isinstance(c, dict) and set(c) == {"from", "to", "gain"}, "couplings",
               f"each entry needs exactly from, to, gain; got {c!r}")
        couplings.append(CouplingConfig(source=c["from"], target=c["to"], gain=c["gain"]))
    parts = {"photo": PhotoConfig, "render": RenderConfig, "servo": ServoConfig,
             "camera": CameraConfig, "mouth": MouthConfig}
    kwargs = {k: build_dataclass(cls, data.pop(k), k) for k, cls in parts.items() if k in data}
    if data:
        raise ValueError(f"unknown top-level key(s) {sorted(data)}")
    return SimFaceConfig(motor_names=names, muscles=muscles, couplings=tuple(couplings), **kwargs)


def config_candidates() -> list[Path]:
    """Where `load_sim_config` looks: the source tree, then the install prefixes' ``share/eva/config``."""
    from eva.paths import config_candidates as candidates
    return candidates(CONFIG_NAME)


def load_sim_config(path: str | Path | None = None) -> SimFaceConfig:
    """Reads and validates ``sim_face.yaml``.

    Args:
        path: a YAML file; None searches `config_candidates()`.

    Raises:
        FileNotFoundError: no config file found.
        ValueError: an invalid value, naming its field.
    """
    import yaml

    if path is None:
        from eva.paths import find_config
        path = find_config(CONFIG_NAME)
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return config_from_dict(data or {})
