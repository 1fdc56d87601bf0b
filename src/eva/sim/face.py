"""`SimFace`: the simulated Eva face, with the same methods as the real robot's face.

Usage: ``python -m eva.sim.face --bench`` prints renders/s at 480x320 and 240x160;
``python -m eva.sim.face --save DIR`` writes a few expressions as PNGs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from eva.sim.camera import CameraNoise
from eva.sim.config import SimFaceConfig, load_sim_config
from eva.sim.renderer import FaceRenderer, get_renderer
from eva.sim.servo import ServoBank, clamp_command, muscle_activations


class SimFace:
    """A photo-real face warped by 10 cord-driven muscles, seen by a virtual camera.

    Time only advances in `step` / `settle` (simulated seconds), so runs are
    reproducible: the same seed and command sequence give bit-identical images.

    Args:
        config: the face; default `load_sim_config()`.
        seed: seeds the camera noise and light jitter.
        noise: overrides ``config.camera.noise`` (False: exact, noise-free renders).
    """

    def __init__(self, config: SimFaceConfig | None = None, seed: int = 0, noise: bool | None = None):
        self.config = config if config is not None else load_sim_config()
        self.motor_names: tuple[str, ...] = self.config.motor_names
        self.image_size: tuple[int, int] = (self.config.render.width, self.config.render.height)
        self.noise = self.config.camera.noise if noise is None else bool(noise)
        self.seed = seed
        self._renderer = FaceRenderer(self.config)  # own buffers: faces never share state
        self._servos = ServoBank(len(self.motor_names), self.config.servo)
        self._rng = np.random.default_rng(seed)
        self._camera = CameraNoise(self.config.camera, self.image_size, self._rng) if self.noise else None
        self._connected = False
        self.time_s = 0.0  # simulated seconds since construction

    # ------------------------------------------------------------ connection
    @property
    def is_connected(self) -> bool:
        """True between `connect` and `disconnect`."""
        return self._connected

    def connect(self) -> None:
        """Powers the (virtual) servos; the face starts at rest."""
        self._connected = True

    def disconnect(self) -> None:
        """Returns the face to neutral, waits for it, then powers down."""
        if self._connected:
            self.send_action(self.neutral())
            self.settle()
        self._connected = False

    def __enter__(self) -> "SimFace":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()

    # ------------------------------------------------------------ commands and physics
    def neutral(self) -> np.ndarray:
        """The all-zeros rest command."""
        return np.zeros(len(self.motor_names))

    def send_action(self, positions) -> np.ndarray:
        """Sets servo targets.

        Args:
            positions: one value per motor in `motor_names` order, or a mapping
                ``{name or "name.pos": value}`` (motors not named keep their target).

        Returns:
            The targets actually sent, clamped to [0, 1].

        Raises:
            RuntimeError: not connected.
            ValueError: wrong length, unknown name, or NaN/inf.
        """
        if not self._connected:
            raise RuntimeError("SimFace is not connected; call connect() first")
        if isinstance(positions, Mapping):
            cmd = self._servos.target.copy()
            for key, value in positions.items():
                name = key[:-4] if key.endswith(".pos") else key
                if name not in self.motor_names:
                    raise ValueError(f"positions: unknown motor {key!r}; motors: {self.motor_names}")
                cmd[self.motor_names.index(name)] = value
            positions = cmd
        sent = clamp_command(positions, len(self.motor_names))
        self._servos.command(sent)
        return sent.copy()

    def step(self, dt: float) -> None:
        """Advances the servos (slew, backlash) by ``dt`` simulated seconds."""
        self._servos.step(dt)
        self.time_s += dt

    def settle(self, max_time: float = 2.0) -> float:
        """Advances time until every servo reaches its target, at most ``max_time`` s.

        Returns:
            The simulated seconds taken (0 when already settled).
        """
        if not max_time >= 0:
            raise ValueError(f"max_time: must be >= 0, got {max_time}")
        dt = min(self._servos.time_to_target(), max_time)
        if dt > 0:
            self.step(dt)
        return dt

    def is_settled(self) -> bool:
        """True when every servo is at its target."""
        return self._servos.is_settled()

    @property
    def positions(self) -> np.ndarray:
        """Servo horn positions now, in [0, 1] (a copy)."""
        return self._servos.horn.copy()

    @property
    def targets(self) -> np.ndarray:
        """Last sent targets (a copy)."""
        return self._servos.target.copy()

    # ------------------------------------------------------------ camera
    def activations(self) -> np.ndarray:
        """Effective muscle activations now (hidden state; for debugging and tests)."""
        return muscle_activations(self._servos.linkage, self.config)

    def render(self) -> np.ndarray:
        """The camera image now: HxWx3 uint8 RGB (with noise and jitter when enabled)."""
        img = self._renderer.render(self.activations())
        return self._camera.apply(img) if self._camera is not None else img

    def get_observation(self) -> dict:
        """``{"image": render(), "positions": positions}``.

        Raises:
            RuntimeError: not connected.
        """
        if not self._connected:
            raise RuntimeError("SimFace is not connected; call connect() first")
        return {"image": self.render(), "positions": self.positions}


def render_face(positions, config: SimFaceConfig | None = None,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Renders the face with servos resting at ``positions`` (no slew, no backlash).

    Args:
        positions: one value per motor in [0, 1] (clamped).
        config: default `load_sim_config()`.
        rng: when given (and ``config.camera.noise``), adds camera noise drawn from it;
            building the noise bank costs ~5 ms per call, so loops should use `SimFace`.

    Returns:
        HxWx3 uint8 RGB image.
    """
    config = config if config is not None else load_sim_config()
    linkage = clamp_command(positions, len(config.motor_names))
    img = get_renderer(config).render(muscle_activations(linkage, config))
    if rng is not None and config.camera.noise:
        size = (config.render.width, config.render.height)
        img = CameraNoise(config.camera, size, rng).apply(img)
    return img


# ------------------------------------------------------------------- CLI

EXPRESSIONS = {  # name -> {motor: command}: the expressions test_sim_face checks MediaPipe reads; for --save
    "neutral": {},
    "happy": {"mouth_corner_up_left": 1, "mouth_corner_up_right": 1, "jaw": 0.25},
    "sad": {"brow_up_left": 0.5, "brow_up_right": 0.5, "mouth_corner_down_left": 1, "mouth_corner_down_right": 1},
    "surprised": {"brow_up_left": 1, "brow_up_right": 1, "jaw": 1},
    "angry": {"brow_down_left": 1, "brow_down_right": 1},
    "mouth_open": {"jaw": 1},
    "all_max": {},  # filled in below
}


def bench(sizes=((480, 320), (240, 160)), n: int = 300, seed: int = 0) -> dict:
    """Measures renders/s of babbling poses (random levels in {0,.25,.5,.75,1}, noise on)."""
    config = load_sim_config()
    rng = np.random.default_rng(seed)
    out = {}
    for w, h in sizes:
        face = SimFace(config.with_size(w, h), seed=seed, noise=True)
        face.connect()
        poses = rng.integers(0, 5, size=(n, len(face.motor_names))) * 0.25
        for noise in (True, False):
            face._camera = CameraNoise(face.config.camera, face.image_size, face._rng) if noise else None
            face.send_action(poses[0])
            face.settle()
            face.render()  # warm-up
            t0 = time.perf_counter()
            for pose in poses:
                face.send_action(pose)
                face.settle()
                face.render()
            out[f"{w}x{h}{'' if noise else '_noise_off'}"] = n / (time.perf_counter() - t0)
    return out


def save_expressions(folder: Path, config: SimFaceConfig | None = None) -> list[Path]:
    """Writes one PNG per entry of `EXPRESSIONS` (noise off) and returns the paths."""
    import cv2

    config = config if config is not None else load_sim_config()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, pose in EXPRESSIONS.items():
        cmd = np.ones(len(config.motor_names)) if name == "all_max" else np.array(
            [pose.get(m, 0.0) for m in config.motor_names])
        path = folder / f"sim_face_{name}.png"
        cv2.imwrite(str(path), render_face(cmd, config)[..., ::-1])
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """CLI: ``--bench`` (renders/s), ``--save DIR`` (expression PNGs)."""
    parser = argparse.ArgumentParser(prog="python -m eva.sim.face", description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="store_true", help="measure renders/s")
    parser.add_argument("--save", metavar="DIR", type=Path, help="write expression PNGs to DIR")
    parser.add_argument("-n", type=int, default=300, help="renders per size for --bench")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if not (args.bench or args.save):
        parser.print_help()
        return 2
    if args.save:
        for path in save_expressions(args.save):
            print(path)
    if args.bench:
        rates = bench(n=args.n)
        if args.json:
            print(json.dumps({k: round(v, 1) for k, v in rates.items()}))
        else:
            for key, rate in rates.items():
                print(f"{key:>22}: {rate:8.1f} renders/s  ({1000 / rate:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
