"""The direct retargeting baseline (blendshapes -> commands by ridge regression), on made-up data."""
import numpy as np
import pytest

from eva.core.fidelity import BLENDSHAPE_NAMES
from eva.learning.direct import DirectModel, fit, level_accuracy

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
