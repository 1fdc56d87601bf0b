"""Human-robot fidelity per expression group (eva.core.fidelity), on made-up blendshape series."""
import numpy as np
import pytest

from eva.core.fidelity import BLENDSHAPE_NAMES, GROUPS, correlation, fidelity, group_values, level_difference


def _series(t, **groups):
    """(T, 52) scores where each named group's blendshapes all follow the given curve."""
    out = np.zeros((len(t), len(BLENDSHAPE_NAMES)))
    for group, curve in groups.items():
        for name in GROUPS[group]:
            out[:, BLENDSHAPE_NAMES.index(name)] = curve
    return out


def test_group_value_is_the_mean_of_its_blendshapes_and_nan_rows_stay_nan():
    b = np.zeros((2, 52))
    b[0, BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.8
    b[1] = np.nan
    g = group_values(b, BLENDSHAPE_NAMES)
    assert g[0, list(GROUPS).index("smile")] == pytest.approx(0.4)
    assert np.isnan(g[1]).all()
    with pytest.raises(KeyError, match="smile"):
        group_values(b[:, 1:], BLENDSHAPE_NAMES[1:44])  # no mouthSmile columns


def test_correlation_only_where_the_human_moves_and_zero_for_a_still_robot():
    t = np.linspace(0, 1, 50)
    human = 0.5 + 0.4 * np.sin(6 * t)
    assert correlation(human, 0.1 + 0.5 * human) == pytest.approx(1.0)
    assert correlation(human, 1 - human) == pytest.approx(-1.0)
    assert correlation(human, np.full_like(t, 0.2)) == 0.0            # the robot does not follow
    assert correlation(np.full_like(t, 0.3), human) is None           # the human holds still
    with_gaps = human.copy()
    with_gaps[::3] = np.nan                                           # frames without a face are left out
    assert correlation(with_gaps, human) == pytest.approx(1.0)
    assert level_difference(human, human + 0.1) == pytest.approx(0.1)
    assert level_difference(np.full(3, np.nan), np.zeros(3)) is None


def test_a_robot_that_follows_beats_one_at_rest_and_one_stuck_in_a_grin():
    t = np.linspace(0, 10, 200)
    smile = np.clip(np.sin(t), 0, 1) * 0.8
    human = _series(t, smile=smile, jaw_open=0.3 * (t > 5), brow_lower=0.5 * (t < 3))
    follows = _series(t, smile=0.9 * smile, jaw_open=0.25 * (t > 5), brow_lower=0.4 * (t < 3))
    rest = np.zeros_like(human)
    grin = _series(t, smile=np.full_like(t, 0.95), jaw_open=np.full_like(t, 0.5))
    fid = fidelity(human, {"robot": follows, "rest": rest, "grin": grin}, BLENDSHAPE_NAMES)
    assert [g for g, e in fid["groups"].items() if e["human_moves"]] == ["jaw_open", "smile", "brow_lower"]
    assert fid["groups"]["frown"]["robot"]["correlation"] is None     # the human never frowns
    ov = fid["overall"]
    assert ov["robot"]["correlation"] > 0.95 and ov["rest"]["correlation"] == 0.0
    assert ov["robot"]["level_difference"] < ov["rest"]["level_difference"] < ov["grin"]["level_difference"]
