"""Stewart platform neck kinematics (eva.hardware.neck)."""
from dataclasses import replace

import numpy as np
import pytest

from eva.hardware.calibration import load_calibration
from eva.hardware.neck import NeckGeometry, StewartNeck, rotation

DEG = np.pi / 180


@pytest.fixture(scope="module")
def neck() -> StewartNeck:
    return StewartNeck(load_calibration().neck)


def random_poses(n, seed=0, scale=(15 * DEG, 15 * DEG, 20 * DEG, 0.015, 0.015, 0.01)):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 6)) * np.array(scale)


def rod_lengths(neck, pose, angles):
    g = neck.geometry
    tips = neck.base + g.arm_length_m * np.stack(
        [np.cos(angles) * np.cos(np.radians(g.arm_angles_deg)),
         np.cos(angles) * np.sin(np.radians(g.arm_angles_deg)), np.sin(angles)], axis=1)
    return np.linalg.norm(neck.joints(pose) - tips, axis=1)


def test_rotation_is_roll_pitch_yaw():
    np.testing.assert_allclose(rotation(0, 0, np.pi / 2) @ [1, 0, 0], [0, 1, 0], atol=1e-12)  # yaw: x -> y
    np.testing.assert_allclose(rotation(0, np.pi / 2, 0) @ [1, 0, 0], [0, 0, -1], atol=1e-12)  # pitch: nose down
    np.testing.assert_allclose(rotation(np.pi / 2, 0, 0) @ [0, 1, 0], [0, 0, 1], atol=1e-12)  # roll: y -> z


def test_home_gives_equal_level_angles(neck):
    home = neck.ik(np.zeros(6))
    assert np.ptp(home) < 1e-12  # symmetric layout: all six legs alike
    assert abs(home[0]) < 0.5 * DEG  # home_height_m chosen for level arms
    np.testing.assert_allclose(rod_lengths(neck, np.zeros(6), home), neck.geometry.rod_length_m, atol=1e-12)


def test_ik_satisfies_rod_lengths_and_fk_round_trips(neck):
    poses = [neck.clamp_to_workspace(p) for p in random_poses(60)]
    for pose in poses:
        angles = neck.ik(pose)
        assert neck.is_reachable(pose)
        np.testing.assert_allclose(rod_lengths(neck, pose, angles), neck.geometry.rod_length_m, atol=1e-12)
        np.testing.assert_allclose(neck.fk(angles), pose, atol=1e-9)


def test_ik_moves_the_right_legs(neck):
    up = neck.ik([0, 0, 0, 0, 0, 0.005])
    assert np.ptp(up) < 1e-12 and up[0] > neck.home_angles[0]  # rising platform: all arms rise alike
    yaw = neck.ik([0, 0, 10 * DEG, 0, 0, 0]) - neck.home_angles
    np.testing.assert_allclose(yaw[0::2], yaw[0], atol=1e-12)  # mirrored pairs turn opposite ways
    np.testing.assert_allclose(yaw[1::2], yaw[1], atol=1e-12)
    assert yaw[0] * yaw[1] < 0


def test_fk_rejects_nan(neck):
    with pytest.raises(ValueError):
        neck.fk([np.nan] * 6)


@pytest.mark.parametrize("pose", [
    [0, 0, 0, 0, 0, 0.2],  # 20 cm up: rods too short
    [0.9, 0, 0, 0, 0, 0],  # 52 deg roll
    [0, -0.8, 0, 0, 0, 0],
    [0, 0, 1.5, 0, 0, 0],
    [0.3, 0.3, -0.5, 0.03, -0.02, -0.04],
])
def test_unreachable_poses_are_clamped_along_the_ray(neck, pose):
    pose = np.array(pose, dtype=float)
    assert not neck.is_reachable(pose)
    clamped = neck.clamp_to_workspace(pose)
    angles = neck.ik(clamped)
    lo, hi = neck.limits_rad
    assert np.all(np.isfinite(angles)) and np.all(angles >= lo) and np.all(angles <= hi)
    t = np.dot(clamped, pose) / np.dot(pose, pose)
    np.testing.assert_allclose(clamped, t * pose, atol=1e-15)  # on the ray from home
    assert 0 < t < 1 and np.linalg.norm(clamped) < np.linalg.norm(pose)
    assert not neck.is_reachable((t + 1e-6) * pose)  # on the boundary: a step further is out


def test_reachable_and_nonfinite_poses(neck):
    pose = np.array([0.05, -0.05, 0.1, 0.002, 0.0, -0.003])
    np.testing.assert_array_equal(neck.clamp_to_workspace(pose), pose)
    np.testing.assert_array_equal(neck.clamp_to_workspace([np.nan, 0, 0, 0, 0, 0]), np.zeros(6))


def test_servo_angle_limits_bound_the_workspace():
    narrow = StewartNeck(replace(NeckGeometry(), servo_min_deg=-20.0, servo_max_deg=20.0))
    pose = np.array([0, 0, 0, 0, 0, 0.0125])  # reachable with +-60 deg arms, not with +-20
    assert StewartNeck().is_reachable(pose) and np.all(np.isfinite(narrow.ik(pose)))
    clamped = narrow.clamp_to_workspace(pose)
    assert clamped[5] < pose[5]
    assert np.max(np.abs(narrow.ik(clamped))) <= 20 * DEG + 1e-12
    assert np.max(np.abs(narrow.ik(clamped))) > 19.9 * DEG  # stopped at the limit, not short of it


def test_angles_to_positions_through_calibration(neck):
    cal = load_calibration()
    servos = cal.subset("neck_")
    np.testing.assert_allclose(neck.angles_to_positions(neck.home_angles, servos), [s.neutral for s in servos])
    pos = neck.angles_to_positions(neck.home_angles + 10 * DEG, servos)
    np.testing.assert_allclose(pos, 0.5 + 10 * 11.1 / 1800)  # 10 deg * 11.1 us/deg over a 1800 us span
    assert neck.angles_to_positions(neck.home_angles + 3.0, servos).max() == 1.0  # clipped
    positions, reached = neck.pose_to_positions([0, 0, 0, 0, 0, 0.2], servos)
    assert reached[5] < 0.2 and np.all((positions >= 0) & (positions <= 1))
    with pytest.raises(ValueError):
        neck.angles_to_positions(neck.home_angles, servos[:5])


def test_geometry_validation():
    with pytest.raises(ValueError, match="neck.base_angles_deg"):
        NeckGeometry(base_angles_deg=(0.0,) * 5)
    with pytest.raises(ValueError, match="neck.rod_length_m"):
        NeckGeometry(rod_length_m=0.01)
    with pytest.raises(ValueError, match="home pose unreachable"):
        StewartNeck(NeckGeometry(home_height_m=0.2))
