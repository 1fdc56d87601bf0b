"""The paper's baselines (V-B): random samples, random and barely trained inverse models, nearest neighbours.

- RS: a randomly sampled real robot image (train split) in place of the generated one.
- RI: the inverse model's architecture with random weights (no training).
- RI-100: the inverse model trained ~100 iterations (a checkpoint, trained elsewhere).
- GM NN / Landmark NN: nearest neighbour (L2 on the flattened 53x2 coordinates)
  among the train split's robot landmarks; the neighbour's command is the answer.
- Landmark to Motor: the inverse architecture fed the landmark mask (a checkpoint).
- Random: uniformly random command levels.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from eva.learning.metrics import LEVELS


def random_sample_indices(pool, n: int, seed: int) -> np.ndarray:
    """RS: ``n`` indices drawn uniformly with replacement from ``pool`` (seeded)."""
    pool = np.asarray(pool)
    if len(pool) == 0:
        raise ValueError("random_sample_indices: the pool of samples is empty")
    return pool[np.random.default_rng(seed).integers(0, len(pool), n)]


def random_commands(n: int, num_motors: int, seed: int) -> np.ndarray:
    """Random baseline: (n, num_motors) float32 commands, each motor a uniformly random level."""
    return LEVELS[np.random.default_rng(seed).integers(0, len(LEVELS), (n, num_motors))].astype(np.float32)


def nearest_neighbours(queries, keys, block: int = 512) -> np.ndarray:
    """Index of the nearest key (L2 on the flattened coordinates) for each query.

    Args:
        queries: (Q, ...) e.g. (Q, 53, 2) landmark sets; a row with NaN (no face) gets -1.
        keys: (N, ...) of the same trailing shape, all finite.
        block: queries per distance block (bounds the memory to block x N).

    Returns:
        (Q,) int64 indices into ``keys`` (-1 where the query has NaN).
    """
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    k = np.asarray(keys, np.float64).reshape(len(keys), -1)
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"nearest_neighbours: queries have {q.shape[1]} values each, keys {k.shape[1]}")
    if len(k) == 0 or not np.isfinite(k).all():
        raise ValueError("nearest_neighbours: keys must be a non-empty set of finite coordinates")
    out = np.full(len(q), -1, np.int64)
    rows = np.flatnonzero(np.isfinite(q).all(axis=1))
    kk = (k ** 2).sum(axis=1)
    for start in range(0, len(rows), block):
        r = rows[start:start + block]
        out[r] = (kk[None, :] - 2.0 * q[r] @ k.T).argmin(axis=1)  # |q|^2 is the same for every key
    return out


class NearestNeighbourCommands:
    """NN baseline: landmarks -> the command of the nearest train sample's landmarks.

    Args:
        landmarks: (N, 53, 2) train landmarks, in the same pixel frame the queries will use.
        commands: (N, M) their commands.
    """

    def __init__(self, landmarks, commands):
        self.landmarks = np.asarray(landmarks, np.float64)
        self.commands = np.asarray(commands, np.float32)
        if len(self.landmarks) != len(self.commands):
            raise ValueError(f"NearestNeighbourCommands: {len(self.landmarks)} landmark sets, "
                             f"{len(self.commands)} commands")

    def __call__(self, queries) -> np.ndarray:
        """(Q, M) commands; NaN rows where a query has no face (NaN coordinates)."""
        idx = nearest_neighbours(queries, self.landmarks)
        out = self.commands[np.maximum(idx, 0)].copy()
        out[idx < 0] = np.nan
        return out


NN_DATABASE_FORMAT = "eva-nn-database-v1"


def save_nn_database(path, landmarks, commands, motor_names, source: str = ""):
    """Writes the NN baselines' database (the train split's robot-frame landmarks and commands) to ``path``."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, format=NN_DATABASE_FORMAT, landmarks=np.asarray(landmarks, np.float32),
                        commands=np.asarray(commands, np.float32), motor_names=np.array(list(motor_names)),
                        source=str(source))
    return path


def load_nn_database(path) -> tuple[NearestNeighbourCommands, list[str], int]:
    """(the NN baseline, its motor names, its size) from a database file; ValueError naming a bad file."""
    try:
        with np.load(path) as z:
            if str(z["format"]) != NN_DATABASE_FORMAT:
                raise KeyError("format")
            lm, cmds, names = z["landmarks"], z["commands"], [str(n) for n in z["motor_names"]]
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: not an eva NN database ({type(err).__name__}: {err})") from None
    return NearestNeighbourCommands(lm, cmds), names, len(lm)


def random_init_like(loaded, seed: int):
    """RI: a copy of a loaded inverse checkpoint whose model has fresh random weights (seeded).

    Same architecture (the checkpoint's model config), same preprocessing (meta), no training.
    """
    import torch

    from eva.learning.models import build_model

    torch.manual_seed(seed)
    model = build_model(loaded.kind, loaded.model_config).eval()
    device = next(loaded.model.parameters()).device
    return dataclasses.replace(loaded, model=model.to(device))
