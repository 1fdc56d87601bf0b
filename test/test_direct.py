"""The direct retargeting baseline (blendshapes -> commands by ridge regression) and the expression prior file,
on made-up data."""
import numpy as np
import pytest

from eva.core.fidelity import BLENDSHAPE_NAMES
from eva.learning.direct import DirectModel, fit, level_accuracy
from eva.learning.prior import ExpressionPrior, model_px_prior, region_r2
from eva.learning.data import FaceCrop

LEVELS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
MOTORS = [f"m{k}" for k in range(10)]


def _babbling(n, seed):
    """Commands on the paper's grid and blendshapes that depend linearly on them, plus noise."""
    rng = np.random.default_rng(seed)
    cmds = rng.choice(LEVELS, size=(n, 10))
    mix = np.random.default_rng(99).normal(0, 0.3, (52, 10))  # the same "face" for every call
    return np.clip(cmds @ mix.T + 0.2 + rng.normal(0, 0.01, (n, 52)), -5, 5), cmds


def test_fit_recovers_the_commands_from_blendshapes():
    model = fit(*_babbling(2000, 0), MOTORS, ridge=1e-6)
    b, c = _babbling(300, 1)
    assert level_accuracy(model, b, c) > 95
    assert model.predict(b[0]).shape == (10,) and model.predict(b).shape == (300, 10)
    assert ((model.predict(b) >= 0) & (model.predict(b) <= 1)).all()


def test_save_load_round_trip_and_bad_files_are_named(tmp_path):
    model = fit(*_babbling(200, 0), MOTORS)
    model.val_accuracy = 42.0
    back = DirectModel.load(model.save(tmp_path / "d.npz"))
    assert back.motor_names == MOTORS and back.val_accuracy == 42.0 and np.allclose(back.weights, model.weights)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz"):
        DirectModel.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="missing.npz"):
        DirectModel.load(tmp_path / "missing.npz")
    assert len(BLENDSHAPE_NAMES) == 52


def test_expression_prior_round_trip_scales_into_the_model_frame_and_bad_files_are_named(tmp_path):
    rng = np.random.default_rng(0)
    disp = np.zeros((52, 53, 2))
    disp[BLENDSHAPE_NAMES.index("jawOpen"), 40:46, 1] = 20.0  # the jaw drops the lower lip, 20 px per unit
    rest = rng.uniform(0, 0.05, 52)
    b = rng.uniform(0, 1, (300, 52))
    pts = 50 + np.einsum("nk,kpc->npc", b - rest, disp) + rng.normal(0, 0.1, (300, 53, 2))
    r2 = region_r2(disp, rest, b, pts)
    assert r2["mouth"] > 0.99 and r2["brows"] < 0.01  # the brows here are noise the prior does not predict
    assert np.isnan(region_r2(disp, rest, b[:1], pts[:1])["mouth"])  # no fit quality from one image
    prior = ExpressionPrior(disp, rest, (240, 160), 300, r2)
    back = ExpressionPrior.load(prior.save(tmp_path / "p.npz"))
    assert back.source_size == (240, 160) and back.samples == 300 and back.r2 == pytest.approx(r2)
    assert np.allclose(back.displacement, disp) and np.allclose(back.rest_blendshapes, rest, atol=1e-7)
    # the generator's crop: 120x120 source px at 480x320 -> 96x128 model px; the prior was fitted at 240x160
    crop = FaceCrop((100, 40, 220, 160), (480, 320), (96, 128))
    model, _ = model_px_prior(back, crop)
    jaw = BLENDSHAPE_NAMES.index("jawOpen")
    assert model[jaw, 40, 1] == pytest.approx(20.0 * 2 * 128 / 120)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz"):
        ExpressionPrior.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "short.npz", **{**dict(np.load(tmp_path / "p.npz")), "displacement": np.zeros((52, 10, 2))})
    with pytest.raises(ValueError, match="short.npz"):
        ExpressionPrior.load(tmp_path / "short.npz")
