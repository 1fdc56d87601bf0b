"""Eva's 6-DoF neck: a rotary-servo Stewart platform (paper III: 3 mirrored pairs on a hexagon base).

Frames (REP 103): base frame at the centre of the servo shafts' plane, x forward,
y left, z up; the platform (head mount) frame sits ``home_height_m`` above it at
home. A pose is ``(roll, pitch, yaw, x, y, z)``: radians about the platform's
x, y, z (R = Rz(yaw) Ry(pitch) Rx(roll)), then metres of offset from home.
A servo angle is its arm's elevation above horizontal (rad, up positive).

Per leg i: shaft at B_i, arm tip A_i = B_i + a (cos α cos β_i, cos α sin β_i, sin α),
a rod of length s from A_i to the platform joint Q_i = T + R P_i; |Q_i - A_i| = s
gives α in closed form (`StewartNeck.ik`); `StewartNeck.fk` solves the six
equations by Newton's method.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from eva.hardware.calibration import ServoCalibration

NECK_SERVOS = tuple(f"neck_{i}" for i in range(6))  # motor names, leg order


def _pairs(centres_deg, half_deg, sign=1.0) -> tuple[float, ...]:
    """Two angles per centre: centre -/+ half (deg)."""
    return tuple(float(c + sign * s * half_deg) for c in centres_deg for s in (-1, 1))


# Default layout: servo pairs centred at 0/120/240 deg, 15 deg either side of the centre;
# each servo's arm swings tangentially, away from its partner, toward a platform joint of the
# neighbouring platform pair (centred at 60/180/300 deg, 10 deg either side).
_BASE = _pairs((0, 120, 240), 15.0)
_PLATFORM = tuple(b + (60.0 - 25.0 if k % 2 else -60.0 + 25.0) for k, b in enumerate(_BASE))
_ARMS = tuple(b + (90.0 if k % 2 else -90.0) for k, b in enumerate(_BASE))


@dataclass(frozen=True)
class NeckGeometry:
    """Dimensions of the Stewart platform neck (the ``neck:`` section of ``servos.yaml``)."""

    base_radius_m: float = 0.060  # servo shaft centres from the base centre (m)
    platform_radius_m: float = 0.050  # ball joints from the platform centre (m)
    base_angles_deg: tuple[float, ...] = _BASE  # shaft positions about z, per leg (deg)
    platform_angles_deg: tuple[float, ...] = _PLATFORM  # platform joint positions about z (deg)
    arm_angles_deg: tuple[float, ...] = _ARMS  # direction of each arm's swing at 0 elevation (deg)
    arm_length_m: float = 0.018  # servo horn: shaft to ball joint (m)
    rod_length_m: float = 0.070  # ball joint to ball joint (m)
    home_height_m: float = 0.0665  # platform above the shaft plane at home (m): arms ~level
    servo_min_deg: float = -60.0  # lowest allowed arm elevation (deg)
    servo_max_deg: float = 60.0  # highest allowed arm elevation (deg)
    servo_us_per_deg: float = 11.1  # pulse change per degree of horn (MG90S: 1000 us per 90 deg)

    def __post_init__(self):
        for key in ("base_angles_deg", "platform_angles_deg", "arm_angles_deg"):
            v = tuple(getattr(self, key))
            if len(v) != 6 or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
                raise ValueError(f"neck.{key}: expected 6 finite angles (deg), got {v}")
        for key in ("base_radius_m", "platform_radius_m", "arm_length_m", "rod_length_m",
                    "home_height_m", "servo_us_per_deg"):
            v = getattr(self, key)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"neck.{key}: must be > 0, got {v!r}")
        if not self.rod_length_m > self.arm_length_m:
            raise ValueError(f"neck.rod_length_m: must exceed arm_length_m, got {self.rod_length_m}")
        if not -90.0 <= self.servo_min_deg < self.servo_max_deg <= 90.0:
            raise ValueError(f"neck.servo_min_deg/servo_max_deg: need -90 <= min < max <= 90, "
                             f"got {self.servo_min_deg}, {self.servo_max_deg}")


def rotation(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """R = Rz(yaw) @ Ry(pitch) @ Rx(roll) (3x3)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch),
                              math.sin(pitch), math.cos(yaw), math.sin(yaw))
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


class StewartNeck:
    """Inverse and forward kinematics of the neck, and its reachable workspace.

    Args:
        geometry: dimensions; default `NeckGeometry()`.

    Raises:
        ValueError: the home pose itself is out of reach or out of the servo limits.
    """

    def __init__(self, geometry: NeckGeometry | None = None):
        self.geometry = g = geometry if geometry is not None else NeckGeometry()

        def ring(radius, angles):
            a = np.radians(np.asarray(angles, dtype=np.float64))
            return np.stack([radius * np.cos(a), radius * np.sin(a), np.zeros(6)], axis=1)

        self.base = ring(g.base_radius_m, g.base_angles_deg)  # (6, 3) shaft centres, m
        self.platform = ring(g.platform_radius_m, g.platform_angles_deg)  # (6, 3) in platform frame, m
        beta = np.radians(np.asarray(g.arm_angles_deg, dtype=np.float64))
        self._cb, self._sb = np.cos(beta), np.sin(beta)
        self.limits_rad = (math.radians(g.servo_min_deg), math.radians(g.servo_max_deg))
        self.home_angles = self.ik(np.zeros(6))
        if not self.is_reachable(np.zeros(6)):
            raise ValueError(f"neck: home pose unreachable (angles {np.degrees(self.home_angles)} deg); "
                             "check home_height_m, rod_length_m and the servo limits")

    def joints(self, pose) -> np.ndarray:
        """Platform ball joints in the base frame for ``pose`` (6, 3), m."""
        p = np.asarray(pose, dtype=np.float64).reshape(6)
        t = p[3:] + (0.0, 0.0, self.geometry.home_height_m)
        return self.platform @ rotation(*p[:3]).T + t

    def ik(self, pose) -> np.ndarray:
        """Servo angles (rad, arm elevation) that put the platform at ``pose``.

        Args:
            pose: (roll, pitch, yaw) rad and (x, y, z) m offsets from home.

        Returns:
            Six angles in leg order; NaN for a leg that cannot reach (rod too short
            or too long for any arm angle). Servo limits are not applied here.
        """
        a, s = self.geometry.arm_length_m, self.geometry.rod_length_m
        d = self.joints(pose) - self.base  # shaft -> platform joint, (6, 3)
        big_l = np.einsum("ij,ij->i", d, d) - (s * s - a * a)
        m = 2.0 * a * d[:, 2]
        n = 2.0 * a * (self._cb * d[:, 0] + self._sb * d[:, 1])
        ratio = big_l / np.hypot(m, n)
        with np.errstate(invalid="ignore"):
            return np.where(np.abs(ratio) <= 1.0, np.arcsin(np.clip(ratio, -1, 1)) - np.arctan2(n, m), np.nan)

    def is_reachable(self, pose) -> bool:
        """True when every leg reaches ``pose`` with its servo within the angle limits."""
        p = np.asarray(pose, dtype=np.float64).reshape(6)
        if not np.all(np.isfinite(p)):
            return False
        ang = self.ik(p)
        lo, hi = self.limits_rad
        return bool(np.all(np.isfinite(ang)) and np.all(ang >= lo) and np.all(ang <= hi))

    def _residual(self, pose, arm_tips) -> np.ndarray:
        d = self.joints(pose) - arm_tips
        return np.einsum("ij,ij->i", d, d) - self.geometry.rod_length_m ** 2  # m^2

    def fk(self, angles, initial=None, tol: float = 1e-12, max_iter: int = 50) -> np.ndarray:
        """Platform pose for six servo angles: Newton's method on the six rod-length equations.

        Args:
            angles: six arm elevations (rad).
            initial: starting pose (default home); the solution found is the one near it.
            tol: stop when the pose update is below this (rad / m).
            max_iter: Newton iterations at most.

        Returns:
            The pose (roll, pitch, yaw, x, y, z).

        Raises:
            ValueError: non-finite angles.
            RuntimeError: no convergence (angles no platform pose can take).
        """
        ang = np.asarray(angles, dtype=np.float64).reshape(6)
        if not np.all(np.isfinite(ang)):
            raise ValueError(f"angles: must be finite, got {ang.tolist()}")
        a = self.geometry.arm_length_m
        tips = self.base + a * np.stack([np.cos(ang) * self._cb, np.cos(ang) * self._sb, np.sin(ang)], axis=1)
        pose = np.zeros(6) if initial is None else np.asarray(initial, dtype=np.float64).reshape(6).copy()
        eps = 1e-7
        for _ in range(max_iter):
            r = self._residual(pose, tips)
            jac = np.empty((6, 6))
            for k in range(6):
                dp = np.zeros(6)
                dp[k] = eps
                jac[:, k] = (self._residual(pose + dp, tips) - self._residual(pose - dp, tips)) / (2 * eps)
            step = np.linalg.lstsq(jac, -r, rcond=None)[0]
            pose += step
            if np.max(np.abs(step)) < tol:
                return pose
        raise RuntimeError(f"fk did not converge for angles {np.degrees(ang).round(2).tolist()} deg")

    def clamp_to_workspace(self, pose, iterations: int = 40) -> np.ndarray:
        """The reachable pose nearest to ``pose`` on the straight line from home.

        Bisection on the scale factor t in [0, 1] of ``t * pose``; both the rods'
        reach and the servo angle limits count. Non-finite poses give home.

        Returns:
            ``pose`` itself when reachable, else ``t * pose`` with the largest
            reachable t found (within 2**-iterations).
        """
        p = np.asarray(pose, dtype=np.float64).reshape(6)
        if not np.all(np.isfinite(p)):
            return np.zeros(6)
        if self.is_reachable(p):
            return p.copy()
        lo, hi = 0.0, 1.0  # home (t = 0) is reachable, checked in __init__
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.is_reachable(mid * p) else (lo, mid)
        return lo * p

    def angles_to_positions(self, angles, servos: Sequence[ServoCalibration]) -> np.ndarray:
        """Servo angles -> positions in [0, 1] through the neck servos' calibration.

        A servo's ``neutral`` position holds its arm at the home angle;
        ``servo_us_per_deg`` converts angle changes to pulse changes, and the
        pulse range ``pulse_max_us - pulse_min_us`` spans positions 0 to 1.
        Mirrored servos carry ``inverted: true``, so a positive angle always
        means a rising arm. Results are clipped to [0, 1].

        Args:
            angles: six angles (rad) in leg order.
            servos: the six neck servos' calibrations, leg order.
        """
        ang = np.asarray(angles, dtype=np.float64).reshape(6)
        if len(servos) != 6:
            raise ValueError(f"servos: expected the 6 neck servos, got {len(servos)}")
        us = np.degrees(ang - self.home_angles) * self.geometry.servo_us_per_deg
        span = np.array([s.pulse_max_us - s.pulse_min_us for s in servos])
        neutral = np.array([s.neutral for s in servos])
        return np.clip(neutral + us / span, 0.0, 1.0)

    def pose_to_positions(self, pose, servos: Sequence[ServoCalibration]) -> tuple[np.ndarray, np.ndarray]:
        """Clamps ``pose`` to the workspace, then IK, then positions.

        Returns:
            (positions of neck_0..neck_5 in [0, 1], the pose actually commanded).
        """
        reached = self.clamp_to_workspace(pose)
        return self.angles_to_positions(self.ik(reached), servos), reached
