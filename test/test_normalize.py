"""Human -> robot landmark normalization and the One-Euro filter (pure)."""
import numpy as np
import pytest

from eva.core.filters import OneEuroFilter
from eva.core.fidelity import BLENDSHAPE_NAMES
from eva.core.normalize import (REGION_BLENDSHAPES, REGIONS, RIGID_POINTS, Normalizer, NormalizerConfig, align_to,
                                fit_expression_prior, human_ranges, minmax_map, region_activity, similarity_fit)


def _face(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(20, 80, (53, 2))).astype(np.float32)


def _robot():
    neutral = _face(1)
    return neutral - 5, neutral + 5, neutral


def _transform(points, scale, angle, shift):
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return (scale * points @ rot.T + shift).astype(np.float32)


def test_similarity_fit_recovers_a_known_transform():
    src = _face()
    dst = _transform(src, 1.7, 0.3, np.array([12.0, -4.0]))
    s, rot, t = similarity_fit(src, dst)
    assert s == pytest.approx(1.7, rel=1e-6)
    assert np.allclose(rot, [[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]], atol=1e-6)
    assert np.allclose(t, [12.0, -4.0], atol=1e-4)


def test_alignment_removes_head_motion_but_keeps_expression():
    ref = _face(2)
    smile = ref.copy()
    smile[31] += [-3.0, -2.0]  # a mouth corner moves; no rigid point does
    assert 31 not in RIGID_POINTS
    moved = _transform(smile, 2.5, -0.4, np.array([200.0, 90.0]))  # head further, turned, elsewhere
    back = align_to(moved, ref)
    assert np.allclose(back[list(RIGID_POINTS)], ref[list(RIGID_POINTS)], atol=1e-3)
    assert np.allclose(back[31] - ref[31], [-3.0, -2.0], atol=1e-3)


def test_minmax_map_is_the_papers_formula():
    h_lo, h_hi = np.zeros((53, 2)), np.full((53, 2), 10.0)
    r_lo, r_hi = np.full((53, 2), 100.0), np.full((53, 2), 120.0)
    pts = np.full((53, 2), 2.5)
    assert np.allclose(minmax_map(pts, h_lo, h_hi, r_lo, r_hi), 105.0)
    flat = minmax_map(pts, h_hi, h_hi, r_lo, r_hi)  # zero human span: the range's centre, not a NaN
    assert np.allclose(flat, 110.0)


def test_calibrated_minmax_maps_human_extremes_onto_robot_extremes():
    r_lo, r_hi, neutral = _robot()
    cfg = NormalizerConfig(mode="minmax", align=False, filter=False, clip_margin=0.0)
    h_lo, h_hi = np.zeros((53, 2)), np.full((53, 2), 50.0)
    norm = Normalizer(cfg, r_lo, r_hi, neutral, h_lo, h_hi)
    assert np.allclose(norm(np.zeros((53, 2)), 0.0), r_lo)
    assert np.allclose(norm(np.full((53, 2), 50.0), 0.1), r_hi)
    assert np.allclose(norm(np.full((53, 2), 999.0), 0.2), r_hi)  # clipped to the robot range


def test_adaptive_minmax_does_not_blow_up_a_still_face():
    r_lo, r_hi, neutral = _robot()
    cfg = NormalizerConfig(mode="minmax", align=False, filter=False, min_span=1.0)
    norm = Normalizer(cfg, r_lo, r_hi, neutral)
    face = _face(3)
    rng = np.random.default_rng(0)
    outs = [norm(face + rng.normal(0, 0.05, face.shape), i / 30) for i in range(30)]
    # 0.05 px of jitter on a 10 px robot span stays sub-pixel instead of spanning the range
    assert np.ptp(np.stack(outs[5:]), axis=0).max() < 0.5


def test_neutral_mode_maps_displacement_from_the_users_neutral():
    r_lo, r_hi, neutral = _robot()
    cfg = NormalizerConfig(mode="neutral", align=True, filter=False, neutral_frames=5, gain=1.0)
    norm = Normalizer(cfg, r_lo, r_hi, neutral)
    shape = neutral.copy()
    others = [i for i in range(53) if i not in RIGID_POINTS]
    shape[others] += np.random.default_rng(4).normal(0, 2.0, (len(others), 2))  # another person's face
    user = _transform(shape, 3.0, 0.1, np.array([300.0, 200.0]))  # ... bigger, turned, elsewhere
    for i in range(5):
        assert norm.calibrating
        assert np.allclose(norm(user, i / 30), neutral)  # the face holds neutral while calibrating
    assert not norm.calibrating
    assert np.allclose(norm(user, 0.2), neutral, atol=1e-3)  # the user's neutral is the robot's
    smile = user.copy()
    smile[37] += 3.0 * np.array([0.0, -1.0]) @ np.array([[np.cos(0.1), -np.sin(0.1)], [np.sin(0.1), np.cos(0.1)]]).T
    out = norm(smile, 0.25)
    assert np.allclose(out[37] - neutral[37], [0.0, -1.0], atol=1e-2)  # 3 px at 3x scale = 1 robot px up
    others = np.delete(np.arange(53), 37)
    assert np.abs(out[others] - neutral[others]).max() < 0.05


def _user(neutral, seed=4):
    """Another person's face (other proportions), bigger, turned and elsewhere in the image."""
    shape = neutral.copy()
    others = [i for i in range(53) if i not in RIGID_POINTS]
    shape[others] += np.random.default_rng(seed).normal(0, 2.0, (len(others), 2))
    return shape, lambda pts: _transform(pts, 3.0, 0.1, np.array([300.0, 200.0]))


def _skewed_robot():
    """A robot whose rest is not the middle of its range: 5 px up, 12 px down, 5 px either side."""
    neutral = _face(1)
    return neutral - 5, neutral + np.array([5.0, 12.0], np.float32), neutral


def test_retarget_sends_the_users_neutral_to_the_robots_rest_from_the_first_frame():
    r_lo, r_hi, neutral = _skewed_robot()
    norm = Normalizer(NormalizerConfig(mode="retarget", filter=False), r_lo, r_hi, neutral)
    shape, cam = _user(neutral)
    rng = np.random.default_rng(0)
    for i in range(60):  # a still user with landmark jitter, head moving
        jitter = shape + rng.normal(0, 0.05, shape.shape)
        out = norm(_transform(cam(jitter), 1.0 + 0.1 * np.sin(i / 9), 0.05 * np.sin(i / 7), np.array([i, 0.0])),
                   i / 30)
        assert np.abs(out - neutral).max() < 0.6, i  # at rest, not at the middle of the robot's range


@pytest.mark.parametrize("neutral_from", ["first", "history", "calm"])
def test_retarget_maps_expression_intensity_onto_the_robots_range(neutral_from):
    r_lo, r_hi, neutral = _skewed_robot()
    cfg = NormalizerConfig(mode="retarget", filter=False, min_extent=0.5, neutral_from=neutral_from)
    norm = Normalizer(cfg, r_lo, r_hi, neutral)
    shape, cam = _user(neutral)
    up = np.zeros((53, 2))
    up[37, 1] = -1.0
    level = lambda i: 1.0 if i >= 40 and i % 10 == 0 else 0.0  # noqa: E731  (neutral first, then smiles)
    # mostly neutral, a smile of 8 aligned px (24 camera px) now and then
    outs = [norm(cam(shape + 8.0 * level(i) * up), i / 30) for i in range(300)]
    smile, rest = outs[-10], outs[-9]
    assert smile[37, 1] == pytest.approx(neutral[37, 1] - 5.0, abs=0.3)  # the user's full smile is the robot's
    assert np.abs(rest - neutral).max() < 0.05 and np.abs(np.delete(smile - neutral, 37, 0)).max() < 0.05
    # a user whose expressions are small (1 px) is amplified at most 1 / min_extent = 2x
    norm.reset()
    outs = [norm(cam(shape + level(i) * up), i / 30) for i in range(300)]
    assert outs[-10][37, 1] == pytest.approx(neutral[37, 1] - 2.0, abs=0.1)


def test_retarget_first_frames_neutral_holds_while_history_neutral_follows_a_lasting_expression():
    r_lo, r_hi, neutral = _skewed_robot()
    shape, cam = _user(neutral)
    up = np.zeros((53, 2))
    up[37, 1] = -4.0
    out = {}
    for how in ("first", "history"):
        norm = Normalizer(NormalizerConfig(mode="retarget", filter=False, neutral_from=how), r_lo, r_hi, neutral)
        for i in range(400):  # neutral for a second, then a smile held for 12 s
            out[how] = norm(cam(shape + (up if i >= 30 else 0.0)), i / 30)
    assert out["first"][37, 1] < neutral[37, 1] - 3.0      # still smiling at the robot
    assert abs(out["history"][37, 1] - neutral[37, 1]) < 0.5  # the median took the smile as the new neutral


def _activity(brows, mouth, eyes=0.1):
    act = np.zeros(len(REGIONS))
    act[list(REGIONS).index("brows")], act[list(REGIONS).index("mouth")] = brows, mouth
    act[list(REGIONS).index("eyes")] = eyes
    return act


def test_calm_neutral_takes_each_region_from_its_calmest_frames():
    # A user who starts with raised brows and a still mouth, then smiles with relaxed brows
    # (the bundled clip and single_face do this). The first frames' brows are not her rest:
    # measured against them, her relaxed brows read as lowered and the robot frowned.
    r_lo, r_hi, neutral = _skewed_robot()
    shape, cam = _user(neutral)
    brows_up = np.zeros((53, 2))
    brows_up[0:10, 1] = -3.0
    smile = np.zeros((53, 2))
    smile[[31, 37], 1] = -3.0
    out = {}
    for how in ("first", "calm"):
        norm = Normalizer(NormalizerConfig(mode="retarget", filter=False, neutral_from=how), r_lo, r_hi, neutral)
        for i in range(40):  # brows raised, mouth at rest
            norm(cam(shape + brows_up), i / 30, _activity(brows=0.4, mouth=0.02))
        for i in range(40, 200):  # brows relaxed, smiling
            out[how] = norm(cam(shape + smile), i / 30, _activity(brows=0.05, mouth=0.8))
    brows = slice(0, 10)
    assert (out["first"][brows, 1] - neutral[brows, 1]).min() > 2.0  # first frames: brows pulled down
    assert np.abs(out["calm"][brows] - neutral[brows]).max() < 0.05  # calm: relaxed brows are the robot's rest
    for how in ("first", "calm"):  # the mouth's neutral is the first frames' in both: the smile shows
        assert out[how][37, 1] < neutral[37, 1] - 1.0, how


def _crying_scores(brows, blink):
    b = np.zeros(len(BLENDSHAPE_NAMES))
    b[BLENDSHAPE_NAMES.index("browOuterUpLeft")] = brows
    b[[BLENDSHAPE_NAMES.index("eyeBlinkLeft"), BLENDSHAPE_NAMES.index("eyeBlinkRight")]] = blink
    return b


def test_calm_neutral_does_not_take_knitted_brows_behind_shut_eyes_as_calm():
    # The bundled clip: she cries with her eyes squeezed shut and her brows knitted, and MediaPipe
    # reads those brows as calmer (browOuterUp 0.09) than her relaxed brows while she laughs (0.25).
    # With closed eyes counted as brow activity, the laughing frames' brows are her neutral and the
    # robot lowers its brows when she cries; without it the knitted brows were the robot's rest.
    r_lo, r_hi, neutral = _skewed_robot()
    shape, cam = _user(neutral)
    knit = np.zeros((53, 2))
    knit[0:10, 1] = 2.0   # brows down ...
    knit[4, 0] += 1.0     # ... and together (the inner ends, 4 and 5, move toward each other)
    knit[5, 0] -= 1.0
    out = {}
    for open_eyes in (True, False):
        cfg = NormalizerConfig(mode="retarget", filter=False, calm_brows_open_eyes=open_eyes)
        norm = Normalizer(cfg, r_lo, r_hi, neutral)
        for i in range(60):  # crying: brows knitted, eyes shut
            norm(cam(shape + knit), i / 30, blendshapes=_crying_scores(brows=0.09, blink=0.85))
        for i in range(60, 200):  # laughing: relaxed brows, eyes open
            norm(cam(shape), i / 30, blendshapes=_crying_scores(brows=0.25, blink=0.15))
        out[open_eyes] = norm(cam(shape + knit), 200 / 30, blendshapes=_crying_scores(brows=0.09, blink=0.85))
    brows = slice(0, 10)
    assert (out[True][brows, 1] - neutral[brows, 1]).min() > 2.0    # the robot's brows go down
    assert out[True][5, 0] - out[True][4, 0] < neutral[5, 0] - neutral[4, 0] - 1.0  # and together
    assert np.abs(out[False][brows] - neutral[brows]).max() < 0.05  # without: knitted brows were its rest


def test_calm_neutral_without_blendshapes_is_the_first_frames_neutral():
    r_lo, r_hi, neutral = _skewed_robot()
    shape, cam = _user(neutral)
    rng = np.random.default_rng(3)
    frames = [cam(shape + (rng.normal(0, 0.5, shape.shape) if i >= 30 else 0.0)) for i in range(120)]
    outs = {}
    for how in ("first", "calm"):
        norm = Normalizer(NormalizerConfig(mode="retarget", filter=False, neutral_from=how), r_lo, r_hi, neutral)
        outs[how] = [norm(f, i / 30) for i, f in enumerate(frames)]
    assert np.allclose(np.stack(outs["first"]), np.stack(outs["calm"]))
    with pytest.raises(ValueError, match="activity"):
        norm(frames[0], 5.0, np.zeros(2))


def _brow_prior(px_per_unit=-7.5):
    """A prior in which browInnerUp lifts all ten brow points (y) by ``-px_per_unit`` px per unit score."""
    prior = np.zeros((len(BLENDSHAPE_NAMES), 53, 2))
    prior[BLENDSHAPE_NAMES.index("browInnerUp"), 0:10, 1] = px_per_unit
    rest = np.zeros(len(BLENDSHAPE_NAMES))
    rest[BLENDSHAPE_NAMES.index("browInnerUp")] = 0.02  # the robot at rest reads a little
    return prior, rest


def _scores(brow_up, smile=0.0):
    b = np.zeros(len(BLENDSHAPE_NAMES))
    b[BLENDSHAPE_NAMES.index("browInnerUp")] = brow_up
    b[BLENDSHAPE_NAMES.index("mouthSmileLeft")] = smile
    return b


def test_fit_expression_prior_recovers_each_regions_displacement_and_nothing_across_regions():
    rng = np.random.default_rng(0)
    truth, rest = _brow_prior(-6.0)
    smile = BLENDSHAPE_NAMES.index("mouthSmileLeft")
    truth[smile, 31:51, 1] = rng.normal(0, 3, 20)  # the smile moves the lips, nothing else
    b = rng.uniform(0, 0.8, (800, len(BLENDSHAPE_NAMES)))
    base = _face(2)
    pts = base + np.einsum("nk,kpc->npc", b - rest, truth) + rng.normal(0, 0.05, (800, 53, 2))
    b[5, 3] = np.nan  # a frame without a face reading is left out
    prior = fit_expression_prior(b, pts, rest)
    assert np.abs(prior - truth).max() < 0.05
    # frames of a head that moves (turned, scaled, shifted) fit the same prior once aligned onto the rest face
    moved = np.stack([_transform(p, 1.0 + 0.2 * np.sin(i), 0.1 * np.cos(i), np.array([i % 9, 0.0]))
                      for i, p in enumerate(pts)])
    assert np.abs(fit_expression_prior(b, moved, rest) - truth).max() > 0.5  # unaligned: head motion leaks in
    aligned = fit_expression_prior(b, moved, rest, reference=base)
    assert np.abs(aligned - truth).max() < 0.1
    # the eyes' points never depend on a mouth or brow blendshape, whatever the data
    eyes = np.concatenate([np.arange(s.start, s.stop) for s in REGIONS["eyes"]])
    others = [BLENDSHAPE_NAMES.index(n) for n in REGION_BLENDSHAPES["brows"] + REGION_BLENDSHAPES["mouth"]]
    assert not prior[np.ix_(others, eyes)].any()
    with pytest.raises(ValueError, match="landmarks"):
        fit_expression_prior(b, pts[:10], rest)
    with pytest.raises(ValueError, match="rest_blendshapes"):
        fit_expression_prior(b, pts, rest[:5])


@pytest.mark.parametrize("neutral_from", ["first", "calm"])
def test_expression_prior_gives_a_user_who_starts_expressive_a_neutral_below_the_expression(neutral_from):
    # single_face.mp4: brows raised in the first half second, before any calm frame. Without a prior,
    # her raised brows were the neutral: the robot stayed at rest while she raised them and lowered its
    # brows when she relaxed. The prior says browInnerUp 0.4 is ~3 px of raise, so the neutral is below.
    r_lo, r_hi, neutral = _skewed_robot()
    shape, cam = _user(neutral)  # camera at 3x the model's scale, turned and shifted
    raised = shape.copy()
    raised[0:10, 1] -= 3.0
    brows = slice(0, 10)
    out, first_frame = {}, {}
    for use in (True, False):
        cfg = NormalizerConfig(mode="retarget", filter=False, neutral_from=neutral_from, neutral_prior=use)
        norm = Normalizer(cfg, r_lo, r_hi, neutral, expression_prior=_brow_prior())
        first = [norm(cam(raised), i / 30, blendshapes=_scores(0.42)) for i in range(15)]
        later = [norm(cam(shape), i / 30, blendshapes=_scores(0.02, smile=0.6)) for i in range(15, 25)]
        out[use] = (first[0][brows, 1] - neutral[brows, 1], later[-1][brows, 1] - neutral[brows, 1])
        first_frame[use] = first[0]
    raise_with, relax_with = out[True]
    raise_without, relax_without = out[False]
    assert raise_with.max() < -2.0         # from the first frame, the robot raises its brows with her
    assert np.abs(raise_without).max() < 1e-3  # without the prior it stays at rest ...
    assert np.abs(relax_with).max() < 0.5  # ... and, when she relaxes, the prior keeps its brows at rest
    assert relax_without.min() > 1.0      # where without it the robot lowered them
    other = np.r_[10:53]
    assert np.abs(first_frame[True][other] - neutral[other]).max() < 1e-3  # no other point moves with the prior


def test_expression_prior_leaves_a_still_user_at_rest_whatever_their_resting_scores():
    # The robot at rest reads eyeSquint ~0.6 and browDown ~0.08; a person at rest often reads less.
    # Scores at or below the robot's rest are no expression: they must not move the robot.
    r_lo, r_hi, neutral = _skewed_robot()
    prior, rest = _brow_prior()
    squint = BLENDSHAPE_NAMES.index("eyeSquintLeft")
    prior[squint, 19:31, 1] = 4.0
    rest[squint] = 0.6
    shape, cam = _user(neutral)
    rng = np.random.default_rng(1)
    below = rest * 0.5  # every score half the robot's
    for resting in (np.zeros(len(BLENDSHAPE_NAMES)), below, rest.copy()):
        norm = Normalizer(NormalizerConfig(mode="retarget", filter=False), r_lo, r_hi, neutral,
                          expression_prior=(prior, rest))
        for i in range(60):
            out = norm(cam(shape + rng.normal(0, 0.03, shape.shape)), i / 30, blendshapes=resting)
            assert np.abs(out - neutral).max() < 0.6, i
    # a score MediaPipe did not give counts as rest, not as a reason to drop the frame's correction
    norm = Normalizer(NormalizerConfig(mode="retarget", filter=False), r_lo, r_hi, neutral,
                      expression_prior=(prior, rest))
    raised = shape.copy()
    raised[0:10, 1] -= 3.0
    b = _scores(0.42)
    b[BLENDSHAPE_NAMES.index("cheekPuff")] = np.nan
    assert (norm(cam(raised), 0.0, blendshapes=b)[0:10, 1] - neutral[0:10, 1]).max() < -2.0


def test_expression_prior_is_checked_and_ignored_without_blendshapes():
    r_lo, r_hi, neutral = _skewed_robot()
    prior, rest = _brow_prior()
    with pytest.raises(ValueError, match="expression_prior"):
        Normalizer(NormalizerConfig(), r_lo, r_hi, neutral, expression_prior=(prior[:, :10], rest))
    with pytest.raises(ValueError, match="expression_prior"):
        Normalizer(NormalizerConfig(), r_lo, r_hi, neutral, expression_prior=(prior * np.nan, rest))
    shape, cam = _user(neutral)
    outs = []
    for p in (None, (prior, rest)):  # frames without blendshapes: the prior changes nothing
        norm = Normalizer(NormalizerConfig(mode="retarget", filter=False), r_lo, r_hi, neutral, expression_prior=p)
        outs.append([norm(cam(shape + (i % 7) * 0.1), i / 30) for i in range(40)])
    assert np.allclose(np.stack(outs[0]), np.stack(outs[1]))
    with pytest.raises(ValueError, match="blendshapes"):
        norm(cam(shape), 2.0, blendshapes=np.zeros(7))


def test_region_activity_is_the_largest_score_of_each_regions_blendshapes():
    assert sorted(i for sl in REGIONS.values() for s in sl for i in range(s.start, s.stop)) == list(range(53))
    b = np.zeros(len(BLENDSHAPE_NAMES))
    b[BLENDSHAPE_NAMES.index("browInnerUp")] = 0.6
    b[BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.3
    b[BLENDSHAPE_NAMES.index("eyeLookUpLeft")] = 0.9  # gaze is not expression: no region counts it
    act = dict(zip(REGIONS, region_activity(b)))
    assert act == pytest.approx({"brows": 0.6, "eyes": 0.0, "mouth": 0.3})
    b[BLENDSHAPE_NAMES.index("eyeBlinkRight")] = 0.8  # eyes shut: the brows are not calm either
    assert dict(zip(REGIONS, region_activity(b))) == pytest.approx({"brows": 0.8, "eyes": 0.8, "mouth": 0.3})
    assert dict(zip(REGIONS, region_activity(b, brows_open_eyes=False)))["brows"] == pytest.approx(0.6)
    assert region_activity(None) is None
    b[BLENDSHAPE_NAMES.index("jawOpen")] = np.nan  # no face read this frame
    assert region_activity(b) is None
    with pytest.raises(ValueError, match="blendshapes"):
        region_activity(np.zeros(10))


def test_face_lost_for_the_timeout_starts_a_new_user():
    r_lo, r_hi, neutral = _robot()
    cfg = NormalizerConfig(mode="neutral", filter=False, neutral_frames=2, user_timeout_s=1.0)
    norm = Normalizer(cfg, r_lo, r_hi, neutral)
    norm(_face(5), 0.0)
    norm(_face(5), 0.1)
    assert not norm.calibrating
    assert norm(None, 0.5) is None and not norm.calibrating  # a short dropout keeps the user
    assert norm(None, 1.5) is None and norm.calibrating       # a long one forgets them


def test_filter_smooths_jitter_and_follows_steps():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    rng = np.random.default_rng(0)
    noisy = [f(np.array([5.0 + rng.normal(0, 1.0)]), i / 30) for i in range(300)]
    assert np.std(noisy[100:]) < 0.4  # raw std is 1.0
    for i in range(300, 400):
        out = f(np.array([15.0]), i / 30)
    assert abs(out[0] - 15.0) < 0.1  # a held step is reached
    assert np.allclose(f(np.array([99.0]), 399 / 30), out)  # time not advancing: no update


def test_filter_speed_term_reduces_lag():
    slow, fast = OneEuroFilter(1.0, beta=0.0), OneEuroFilter(1.0, beta=1.0)
    lag = {}
    for name, f in (("slow", slow), ("fast", fast)):
        for i in range(30):
            out = f(np.array([10.0 * i]), i / 30)  # a ramp at 300 units/s
        lag[name] = 290.0 - out[0]
    assert lag["fast"] < 0.2 * lag["slow"]


def test_human_ranges_are_robust_percentiles():
    pts = np.zeros((200, 53, 2))
    pts[:, :, 0] = np.linspace(0, 100, 200)[:, None]
    pts[0, 0, 0] = -1e6  # one outlier frame
    lo, hi = human_ranges(pts, 1, 99)
    assert lo[0, 0] > -10 and 95 < hi[0, 0] <= 100


@pytest.mark.parametrize("bad", [{"mode": "wild"}, {"min_span": 0}, {"neutral_frames": 0}, {"beta": -1},
                                 {"neutral_from": "dawn"}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        NormalizerConfig(**bad)


def test_config_names_unknown_keys():
    with pytest.raises(ValueError, match="gian"):
        NormalizerConfig.from_dict({"gian": 2.0})
