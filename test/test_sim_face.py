"""The simulated Eva face: MediaPipe sees it, each motor moves its landmarks, physics, config."""
import dataclasses

import numpy as np
import pytest

from eva.core.landmarks import PAPER53_MEDIAPIPE
from eva.sim import SimFace, load_sim_config, render_face
from eva.sim.config import config_candidates, config_from_dict
from eva.sim.renderer import FaceRenderer
from eva.sim.servo import muscle_activations

MOTORS = ("brow_up_left", "brow_up_right", "brow_down_left", "brow_down_right", "mouth_corner_up_left",
          "mouth_corner_up_right", "mouth_corner_down_left", "mouth_corner_down_right",
          "jaw", "lower_lip")
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the paper's babbling grid
AXIS = {"up": (1, -1.0), "down": (1, 1.0), "left": (0, -1.0), "right": (0, 1.0)}  # (x/y, sign)


@pytest.fixture(scope="module")
def config():
    return load_sim_config().with_size(480, 320)


@pytest.fixture(scope="module")
def detector():
    from eva.perception.detector import FaceDetector
    det = FaceDetector(running_mode="image", blendshapes=False)  # `make setup` fetches the model
    yield det
    det.close()


def _face(config, **kw) -> SimFace:
    face = SimFace(config, **kw)
    face.connect()
    return face


# ------------------------------------------------------------------ MediaPipe tests

def test_mediapipe_finds_the_face_in_babbling_renders(config, detector):
    face = _face(config, seed=7, noise=True)
    rng = np.random.default_rng(7)
    n, found = 160, 0
    for _ in range(n):
        face.send_action(rng.choice(LEVELS, size=len(MOTORS)))
        face.settle()
        found += detector.detect(face.render()) is not None
    assert found / n >= 0.99, f"face found in {found}/{n} renders"


def _mean(b, *names):
    return float(np.mean([b[n] for n in names]))


# What MediaPipe must read on each expression of eva.sim.face.EXPRESSIONS (480x320, the paper's
# camera crop; camera noise on). Sadness shows in the brows and a lower lip pulled in by the
# corners (mouthRollLower): MediaPipe's mouthFrown barely moves on human faces either.
EXPRESSION_CHECKS = {
    "neutral": lambda b: (_mean(b, "mouthSmileLeft", "mouthSmileRight") < 0.15 and b["jawOpen"] < 0.05
                          and _mean(b, "browDownLeft", "browDownRight") < 0.1),
    "happy": lambda b: (_mean(b, "mouthSmileLeft", "mouthSmileRight") > 0.6
                        and _mean(b, "browDownLeft", "browDownRight") < 0.1),
    "sad": lambda b: (_mean(b, "mouthSmileLeft", "mouthSmileRight") < 0.1 and b["mouthRollLower"] > 0.25
                      and _mean(b, "browInnerUp", "browOuterUpLeft", "browOuterUpRight") > 0.15),
    "surprised": lambda b: (b["jawOpen"] > 0.35 and b["browInnerUp"] > 0.35
                            and _mean(b, "mouthSmileLeft", "mouthSmileRight") < 0.15),
    "angry": lambda b: (_mean(b, "browDownLeft", "browDownRight") > 0.3 and b["browInnerUp"] < 0.05
                        and _mean(b, "mouthSmileLeft", "mouthSmileRight") < 0.1),
    "mouth_open": lambda b: b["jawOpen"] > 0.35 and _mean(b, "mouthSmileLeft", "mouthSmileRight") < 0.15,
}


@pytest.mark.parametrize("name", sorted(EXPRESSION_CHECKS))
def test_each_expression_is_reachable_and_reads_as_itself(config, name):
    from eva.perception.detector import FaceDetector
    from eva.sim.face import EXPRESSIONS
    cmd = np.array([EXPRESSIONS[name].get(m, 0.0) for m in config.motor_names])
    det = FaceDetector(running_mode="image", blendshapes=True)
    try:
        face = det.detect(render_face(cmd, config, rng=np.random.default_rng(3)))
    finally:
        det.close()
    b = face.blendshapes
    shown = {k: round(b[k], 2) for k in ("mouthSmileLeft", "jawOpen", "browDownLeft", "browInnerUp",
                                         "browOuterUpLeft", "mouthRollLower")}
    assert EXPRESSION_CHECKS[name](b), f"{name} reads as {shown}"


@pytest.fixture(scope="module")
def sweeps(config, detector):
    """Per motor: (5, 478, 2) landmark pixels as it goes 0 -> 1 alone, noise off."""
    out = {}
    for k, name in enumerate(config.motor_names):
        pts = []
        for level in LEVELS:
            cmd = np.zeros(len(config.motor_names))
            cmd[k] = level
            lm = detector.detect(render_face(cmd, config))
            assert lm is not None, f"no face at {name}={level}"
            pts.append(lm.points[:, :2])
        out[name] = np.array(pts)
    return out


@pytest.mark.parametrize("name", MOTORS)
def test_each_motor_moves_its_landmarks_monotonically(config, sweeps, name):
    muscle = config.muscles[config.motor_names.index(name)]
    assert set(muscle.landmarks) & set(PAPER53_MEDIAPIPE), "must move some of the paper's 53 points"
    axis, sign = AXIS[muscle.direction]
    track = sign * sweeps[name][:, list(muscle.landmarks), axis].mean(axis=1)  # px, + = expected way
    shift = track - track[0]
    assert np.all(np.diff(shift) > -0.3), f"{name} not monotonic {muscle.direction}: {shift.round(2)}"
    assert shift[-1] >= muscle.min_shift_px, f"{name} moved its landmarks only {shift.round(2)} px"


def test_motors_are_told_apart_by_landmarks(sweeps):
    """Left and right muscles move their own side most (no motor is a copy of another)."""
    for left, right in (("brow_up_left", "brow_up_right"), ("brow_down_left", "brow_down_right"),
                        ("mouth_corner_up_left", "mouth_corner_up_right")):
        move = {n: np.linalg.norm(sweeps[n][-1] - sweeps[n][0], axis=1) for n in (left, right)}
        left_pts, right_pts = [291, 300, 334], [61, 70, 105]  # subject's left = image right
        assert move[left][left_pts].mean() > 2 * move[left][right_pts].mean()
        assert move[right][right_pts].mean() > 2 * move[right][left_pts].mean()


# ------------------------------------------------------------------ pure tests

def test_motor_names_come_from_the_yaml_in_order(config):
    assert config.motor_names == MOTORS
    assert SimFace(config).motor_names == MOTORS
    assert SimFace(config).image_size == (480, 320)


def test_render_is_rgb_uint8_of_the_configured_size():
    small = load_sim_config().with_size(240, 160)
    img = SimFace(small, noise=False).render()
    assert img.shape == (160, 240, 3) and img.dtype == np.uint8
    assert 60 < img.mean() < 200  # a lit face, not a black or blown-out frame


def test_same_seed_same_images_other_seed_other_noise(config):
    def run(seed, noise):
        face = _face(config, seed=seed, noise=noise)
        imgs = []
        for cmd in (np.full(10, 0.5), np.ones(10), np.zeros(10)):
            face.send_action(cmd)
            face.step(0.05)
            imgs.append(face.render())
            face.settle()
            imgs.append(face.get_observation()["image"])
        return np.array(imgs)

    a, b, c = run(1, True), run(1, True), run(2, True)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    quiet = run(1, False)
    assert np.array_equal(quiet, run(2, False))  # noise off: the seed does not matter
    assert np.array_equal(quiet[-1], render_face(np.zeros(10), config))
    assert 0.5 < np.abs(a.astype(float) - quiet).mean() < 8  # noise present, but small


def test_slew_rate_limits_motion_and_settle_reports_the_time(config):
    face = _face(config, noise=False)
    sent = face.send_action(np.ones(10))
    face.step(0.05)
    assert not face.is_settled()
    assert np.allclose(face.positions, 0.05 * 600 / 90)  # 600 deg/s over a 90 deg range
    t = face.settle()
    assert face.is_settled() and np.array_equal(face.positions, sent)
    assert 0.05 + t == pytest.approx(0.15, abs=0.005)  # 90 deg at 0.1 s per 60 deg
    fresh = _face(config, noise=False)
    fresh.send_action(np.full(10, 0.5))
    assert fresh.settle() == pytest.approx(0.075, abs=0.003)
    assert fresh.settle() == 0.0
    fresh.send_action(np.ones(10))
    assert fresh.settle(max_time=0.01) == pytest.approx(0.01) and not fresh.is_settled()


def test_backlash_makes_the_pose_depend_on_approach_side(config):
    from_below, from_above = _face(config, noise=False), _face(config, noise=False)
    from_above.send_action(np.ones(10))
    from_above.settle()
    for face in (from_below, from_above):
        face.send_action(np.full(10, 0.5))
        face.settle()
    assert np.array_equal(from_below.positions, from_above.positions)  # horns agree...
    gap = from_above.activations() - from_below.activations()
    assert np.all(gap > 0) and np.all(gap < 0.05)  # ...the skin does not, by ~1.5 % of range
    assert not np.array_equal(from_below.render(), from_above.render())


def test_dead_zone_and_saturation(config):
    act = lambda level: muscle_activations(np.full(10, level), config)  # noqa: E731
    assert np.all(act(0.05) == 0)  # cord slack: no skin motion yet
    steps = np.diff([act(v)[0] for v in LEVELS])
    assert np.all(steps > 0) and steps[-1] < 0.6 * steps[1]  # stiffer near full pull


def test_send_action_clamps_rejects_nan_and_needs_connect(config):
    face = SimFace(config, noise=False)
    with pytest.raises(RuntimeError, match="connect"):
        face.send_action(np.zeros(10))
    face.connect()
    assert np.array_equal(face.send_action(np.linspace(-1, 2, 10)), np.clip(np.linspace(-1, 2, 10), 0, 1))
    with pytest.raises(ValueError, match="NaN"):
        face.send_action(np.r_[np.zeros(9), np.nan])
    with pytest.raises(ValueError, match="expected 10"):
        face.send_action(np.zeros(9))
    sent = face.send_action({"jaw.pos": 0.75, "brow_up_left": 2.0})
    assert sent[8] == 0.75 and sent[0] == 1.0
    with pytest.raises(ValueError, match="unknown motor"):
        face.send_action({"nose": 1.0})
    face.disconnect()  # leaves the face at rest
    assert not face.is_connected and np.array_equal(face.positions, face.neutral())


def test_warp_never_folds_the_skin(config):
    """Backward maps stay one-to-one (Jacobian > 0) outside the open mouth, for reachable poses."""
    renderer = FaceRenderer(config)
    rng = np.random.default_rng(0)
    poses = [np.ones(10)] + [rng.integers(0, 2, 10).astype(float) for _ in range(60)]
    for cmd in poses:
        mx, my, interior = renderer.maps(muscle_activations(cmd, config))
        det = (np.gradient(mx, axis=1) * np.gradient(my, axis=0)
               - np.gradient(mx, axis=0) * np.gradient(my, axis=1))
        if interior is not None:  # inside the parted lips a single photo row is stretched
            y0, y1, x0, x1 = renderer.mouth_box
            det[y0:y1, x0:x1][interior[0] > 0.01] = 1.0
        assert det.min() > 0.1, f"skin folds at {np.unravel_index(det.argmin(), det.shape)} for {cmd}"


def test_jaw_reveals_a_dark_mouth_interior(config):
    closed = render_face(np.zeros(10), config).astype(float)
    opened = render_face(np.r_[np.zeros(8), 1.0, 0.0], config).astype(float)
    hx, hy = FaceRenderer(config).to_output(*config.mouth.hinge_center_px)  # between the lips, output px
    darker = (closed.mean(axis=2) - opened.mean(axis=2)) > 80
    ys, xs = np.nonzero(darker)
    near = (np.abs(xs - hx) < 40) & (ys > hy - 5) & (ys < hy + 40)
    assert near.sum() > 400  # px of dark interior where the lips were
    assert abs(xs[near].mean() - hx) < 8 and hy < ys[near].mean() < hy + 25  # centred, below the upper lip


# ------------------------------------------------------------------ config

def test_bad_config_values_are_rejected_naming_the_field(tmp_path):
    import yaml

    base = load_sim_config()
    with pytest.raises(ValueError, match="servo.slack"):
        dataclasses.replace(base.servo, slack=0.7)
    with pytest.raises(ValueError, match="render.width"):
        base.with_size(-5, 320)
    with open(next(p for p in config_candidates() if p.is_file())) as f:
        raw = yaml.safe_load(f)
    bad = dict(raw, camera=dict(raw["camera"], pixel_noise_std=-1.0))
    with pytest.raises(ValueError, match="camera.pixel_noise_std"):
        config_from_dict(bad)
    bad = dict(raw, servo=dict(raw["servo"], speed_deg_per_s=0))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="servo.speed_deg_per_s"):
        load_sim_config(path)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['wdith'\]"):
        config_from_dict(dict(raw, render={"wdith": 480}))
    with pytest.raises(ValueError, match="couplings"):
        config_from_dict(dict(raw, couplings=[{"from": "jaw", "to": "nose", "gain": 0.1}]))
    with pytest.raises(ValueError, match="muscles.jaw.direction"):
        config_from_dict(dict(raw, muscles=dict(raw["muscles"], jaw=dict(raw["muscles"]["jaw"],
                                                                           direction="sideways"))))
