"""Self-contained checkpoints: one file rebuilds a model and everything inference needs.

A checkpoint holds the weights (float32 state dict), the kind, the model and train
configs, and ``meta``: motor names, command levels, the face crop (box, source and
model size), the landmark ranges R_min/R_max (53, 2), the static self-image I_s
(uint8), epoch, best validation metrics, data path, git revision and eva version.
``last.pt`` also holds the optimiser state for resuming (``train_state``).
Loading uses ``torch.load(weights_only=True)``: no code from the file is run.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

import eva
from eva.learning.config import KINDS, TrainConfig, build_config, model_config_from_dict
from eva.learning.models import build_model

FORMAT = "eva-learning-checkpoint-v1"
REQUIRED_META = ("motor_names", "levels", "crop", "landmark_ranges", "static_image")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, truncated or not an eva checkpoint (names the file)."""


@dataclass
class Loaded:
    """A loaded checkpoint.

    Attributes:
        model: The model, in eval mode, on the requested device.
        kind: "generator", "inverse" or "landmark-to-motor".
        model_config: Its GeneratorConfig or InverseConfig.
        train_config: The TrainConfig it was trained with.
        meta: Everything else (numpy arrays for landmark_ranges (2, 53, 2) and static_image (H, W, 3) uint8).
        train_state: Optimiser state etc. for resuming (last.pt), else None.
        path: The file it came from.
    """

    model: torch.nn.Module
    kind: str
    model_config: object
    train_config: TrainConfig
    meta: dict
    train_state: dict | None = None
    path: str = ""


def git_revision() -> str:
    """``git rev-parse HEAD`` of the source tree, or "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, timeout=5,
                             check=False, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_digest(path) -> str:
    """Short SHA-1 of a checkpoint file: which exact model another was made from."""
    import hashlib
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


def _to_storable(meta: dict) -> dict:
    """numpy arrays -> tensors (weights_only loading accepts tensors, not numpy)."""
    return {k: torch.from_numpy(np.array(v, copy=True)) if isinstance(v, np.ndarray) else v for k, v in meta.items()}


def save_checkpoint(path, model: torch.nn.Module, kind: str, model_config, train_config: TrainConfig, meta: dict,
                    train_state: dict | None = None) -> Path:
    """Writes a checkpoint atomically (temporary file + os.replace).

    Args:
        path: Destination file.
        model: The model; its state dict is stored as float32 on the CPU.
        kind: "generator", "inverse" or "landmark-to-motor".
        model_config: Its config dataclass.
        train_config: The TrainConfig.
        meta: motor_names, levels, crop (FaceCrop.to_dict()), landmark_ranges ((2, 53, 2) array: min, max),
            static_image ((H, W, 3) uint8), and optionally epoch, best metrics, data, ...
        train_state: Optional optimiser/progress state for resuming.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"checkpoint meta lacks {missing}")
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).clone()
             for k, v in model.state_dict().items()}
    meta = {"git_revision": git_revision(), "eva_version": eva.__version__, **meta}
    blob = {"format": FORMAT, "kind": kind, "model_config": asdict(model_config),
            "train_config": asdict(train_config), "state_dict": state, "meta": _to_storable(meta),
            "train_state": train_state}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path, device="cpu") -> Loaded:
    """Rebuilds a model from a checkpoint file alone.

    Raises:
        CheckpointError: the file is missing, unreadable, truncated, or not a valid eva checkpoint;
            the message names the path and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # zip/pickle/EOF errors of a corrupt or truncated file
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated?): "
                              f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        got = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"{path}: not an eva learning checkpoint (format {got!r}, expected {FORMAT!r})")
    try:
        kind = blob["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        model_config = model_config_from_dict(kind, blob["model_config"])
        train_config = build_config(TrainConfig, blob["train_config"], "train config")
        meta = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in blob["meta"].items()}
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise ValueError(f"meta lacks {missing}")
        model = build_model(kind, model_config)
        model.load_state_dict(blob["state_dict"], strict=True)
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path}: invalid checkpoint content: {type(err).__name__}: {err}") from None
    model.to(device).eval()
    return Loaded(model, kind, model_config, train_config, meta, blob.get("train_state"), str(path))
