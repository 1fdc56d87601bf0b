"""Servo, cord and skin mechanics of the simulated face (NumPy only).

Chain per motor: command -> horn (slew-limited) -> linkage (backlash) -> cord
(slack dead zone, smooth saturation) -> coupled muscle activations.
"""
from __future__ import annotations

import numpy as np

from eva.sim.config import ServoConfig, SimFaceConfig


def clamp_command(positions, n: int) -> np.ndarray:
    """Validates and clamps a command to [0, 1].

    Args:
        positions: ``n`` numbers (any array-like).
        n: number of motors.

    Returns:
        float64 array of shape (n,).

    Raises:
        ValueError: wrong shape, or a NaN/inf value.
    """
    cmd = np.asarray(positions, dtype=np.float64).reshape(-1)
    if cmd.shape != (n,):
        raise ValueError(f"positions: expected {n} values, got shape {np.shape(positions)}")
    if not np.all(np.isfinite(cmd)):
        raise ValueError(f"positions: NaN or inf in command {cmd.tolist()}")
    return np.clip(cmd, 0.0, 1.0)


def cord_pull(linkage: np.ndarray, servo: ServoConfig) -> np.ndarray:
    """Skin pull in [0, 1] from linkage position: slack dead zone, then smooth saturation."""
    x = np.clip((np.asarray(linkage, dtype=np.float64) - servo.slack) / (1.0 - servo.slack), 0.0, 1.0)
    if servo.saturation <= 0:
        return x
    g = servo.saturation
    return np.tanh(g * x) / np.tanh(g)  # slope g/tanh(g) at rest, stiff near 1


def coupling_matrix(config: SimFaceConfig) -> np.ndarray:
    """(n, n) matrix M with activation = M @ pull: identity plus the configured couplings."""
    names = config.motor_names
    m = np.eye(len(names))
    for c in config.couplings:
        m[names.index(c.target), names.index(c.source)] += c.gain
    return m


def muscle_activations(linkage: np.ndarray, config: SimFaceConfig) -> np.ndarray:
    """Effective muscle activations (what the renderer warps by) from linkage positions."""
    act = coupling_matrix(config) @ cord_pull(linkage, config.servo)
    return np.clip(act, 0.0, config.servo.max_activation)


class ServoBank:
    """Slew-limited servos with backlash between horn and cord; time advances only in `step`.

    Attributes:
        target: commanded positions in [0, 1].
        horn: servo horn positions (what `SimFace.positions` reports).
        linkage: cord end positions, lagging the horn by up to half the backlash.
    """

    def __init__(self, n: int, servo: ServoConfig):
        self.servo = servo
        self.speed = servo.speed_deg_per_s / servo.range_deg  # range fraction per second
        self.target = np.zeros(n)
        self.horn = np.zeros(n)
        self.linkage = np.zeros(n)

    def command(self, target: np.ndarray) -> None:
        """Sets new targets (already clamped)."""
        self.target = np.array(target, dtype=np.float64)

    def step(self, dt: float) -> None:
        """Moves each horn toward its target at the slew rate for ``dt`` seconds."""
        if not (dt >= 0 and np.isfinite(dt)):
            raise ValueError(f"dt: must be a finite number >= 0, got {dt}")
        max_move = self.speed * dt
        diff = self.target - self.horn
        # snap exactly onto the target when within reach (no float residue)
        self.horn = np.where(np.abs(diff) <= max_move, self.target,
                             self.horn + np.clip(diff, -max_move, max_move))
        # play operator: the cord end only moves once the horn takes up the slack
        half = 0.5 * self.servo.backlash
        self.linkage = np.clip(self.linkage, self.horn - half, self.horn + half)

    def time_to_target(self) -> float:
        """Seconds until the slowest servo reaches its target."""
        return float(np.max(np.abs(self.target - self.horn), initial=0.0) / self.speed)

    def is_settled(self) -> bool:
        """True when every horn is at its target."""
        return bool(np.all(self.horn == self.target))
