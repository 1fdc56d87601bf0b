"""A direct retargeting baseline: MediaPipe blendshapes -> motor commands, learned from babbling.

What a user might build instead of the paper's two stages: read MediaPipe's 52
blendshapes on the robot's babbling images, fit a ridge regression from them to
the commands that made each image, and at mimicry time feed it the human's
blendshapes. It needs no generator, no landmark normalization and no inverse
CNN; ``eva mimic-eval --pipeline direct`` scores it beside the two-stage pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eva.core.fidelity import BLENDSHAPE_NAMES, blendshape_vector

FORMAT = "eva-direct-retarget-v1"


@dataclass
class DirectModel:
    """commands = clip(W @ [blendshapes, 1], 0, 1), one row of W per motor."""

    weights: np.ndarray        # (M, 53): 52 blendshapes + bias
    motor_names: list[str]
    samples: int = 0           # babbling images it was fitted on
    val_accuracy: float = float("nan")  # exact level on held-out babbling images, %

    def predict(self, blendshapes: np.ndarray) -> np.ndarray:
        """(52,) or (N, 52) blendshape scores -> commands in [0, 1]."""
        b = np.atleast_2d(np.asarray(blendshapes, np.float64))
        out = np.clip(np.c_[b, np.ones(len(b))] @ self.weights.T, 0.0, 1.0).astype(np.float32)
        return out[0] if np.ndim(blendshapes) == 1 else out

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, format=FORMAT, weights=self.weights, motor_names=np.array(self.motor_names),
                 blendshape_names=np.array(BLENDSHAPE_NAMES), samples=self.samples, val_accuracy=self.val_accuracy)
        return path

    @classmethod
    def load(cls, path) -> "DirectModel":
        """Raises ValueError naming the file when it is not a direct model of MediaPipe's 52 blendshapes."""
        try:
            with np.load(path) as z:
                if str(z["format"]) != FORMAT or list(z["blendshape_names"]) != list(BLENDSHAPE_NAMES):
                    raise KeyError("format")
                return cls(np.asarray(z["weights"], np.float64), [str(n) for n in z["motor_names"]],
                           int(z["samples"]), float(z["val_accuracy"]))
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"{path}: not an eva direct-retargeting model ({type(err).__name__}: {err})") from None


def fit(blendshapes: np.ndarray, commands: np.ndarray, motor_names, ridge: float = 1e-2) -> DirectModel:
    """Ridge regression (bias unpenalized) from (N, 52) blendshapes to (N, M) commands."""
    x = np.c_[np.asarray(blendshapes, np.float64), np.ones(len(blendshapes))]
    y = np.asarray(commands, np.float64)
    penalty = ridge * len(x) * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    w = np.linalg.solve(x.T @ x + penalty, x.T @ y).T
    return DirectModel(w, list(motor_names), samples=len(x))


def level_accuracy(model: DirectModel, blendshapes, commands) -> float:
    """Per-motor exact-level accuracy (%) of the nearest level to the prediction (Table III's metric)."""
    from eva.learning.metrics import command_accuracy

    return float(np.mean(command_accuracy(model.predict(blendshapes), commands)))


def robot_blendshapes(images, progress: bool = True) -> np.ndarray:
    """MediaPipe's blendshapes on each robot image (N, 52); NaN rows where no face was found."""
    from tqdm import tqdm

    from eva.perception.detector import FaceDetector

    out = np.full((len(images), len(BLENDSHAPE_NAMES)), np.nan, np.float32)
    det = FaceDetector(running_mode="image", blendshapes=True)
    try:
        for k in tqdm(range(len(images)), desc="robot blendshapes", unit="img", disable=not progress):
            face = det.detect(np.ascontiguousarray(images[k]))
            out[k] = blendshape_vector(None if face is None else face.blendshapes)
    finally:
        det.close()
    return out


def fit_from_export(data, out, samples: int = 3000, seed: int = 0, ridge: float = 1e-2,
                    progress: bool = True) -> DirectModel:
    """Fits on ``samples`` train-split images of a babbling export, scores on its val split, saves to ``out``."""
    from eva.learning.data import BabblingData

    d = data if isinstance(data, BabblingData) else BabblingData.open(data)
    rng = np.random.default_rng(seed)
    picked = {}
    for split, n in (("train", samples), ("val", max(200, samples // 10))):
        idx = d.split(split)
        idx = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
        b = robot_blendshapes(d.images[idx], progress)
        ok = np.isfinite(b).all(axis=1)
        picked[split] = (b[ok], np.asarray(d.commands[idx][ok], np.float64))
    model = fit(*picked["train"], d.motor_names, ridge)
    model.val_accuracy = level_accuracy(model, *picked["val"])
    model.save(out)
    return model
