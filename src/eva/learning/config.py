"""Configuration of the learning models and their training: dataclasses mirroring ``config/learning.yaml``.

Three kinds of model are trained from the same babbling data (paper IV-C, IV-D, V-B):
``generator`` G(M, I_s) -> robot self-image, ``inverse`` F(I) -> motor classes, and the
``landmark-to-motor`` baseline (F's architecture fed the 2-channel landmark mask).
Presets: ``paper`` (the paper's hyper-parameters, for a GPU), ``default`` (reaches the
targets on a 2-core CPU), ``ci`` (seconds, for tests).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eva.core.config import build_dataclass

CONFIG_NAME = "learning.yaml"
KINDS = ("generator", "inverse", "landmark-to-motor")
PRESETS = ("paper", "default", "ci")
DEVICES = ("auto", "cpu", "cuda")
LR_SCHEDULES = ("constant", "cosine")


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {why}")


def _int(value, name: str, lo: int = 1, hi: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo and (hi is None or value <= hi)
    _check(ok, name, f"must be an integer in [{lo}, {hi if hi is not None else 'inf'}], got {value!r}")


def _num(value, name: str, lo: float, hi: float, lo_open: bool = False) -> None:
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (value > lo if lo_open else value >= lo) and value <= hi)
    _check(ok, name, f"must be a number in {'(' if lo_open else '['}{lo}, {hi}], got {value!r}")


def _size(value, name: str) -> None:
    _check(isinstance(value, tuple) and len(value) == 2, name, f"must be (width, height), got {value!r}")
    for v, axis in zip(value, ("width", "height")):
        _int(v, f"{name}.{axis}", 8, 4096)


@dataclass(frozen=True)
class GeneratorConfig:
    """Generator G(M, I_s): fully convolutional encoder-decoder with refinement layers (paper IV-C)."""

    image_size: tuple[int, int] = (120, 80)  # model input/output (width, height) px of the face crop
    base_channels: int = 24  # channels of the full-resolution level; doubled per level down
    max_channels: int = 96  # cap on channels at any level
    depth: int = 3  # stride-2 downsamplings in the encoder (bottleneck at 1/2**depth)
    refine_layers: int = 2  # 3x3 conv refinement layers per decoder level (hierarchical refinement)
    space_to_depth: int = 1  # f: run the network at 1/f resolution (lossless pixel unshuffle in, sub-pixel out)
    mask_radius: int = 0  # landmark mark half-size in model px (0: one pixel, as in the paper)
    mask_subpixel: bool = False  # spread each landmark bilinearly over 4 pixels (keeps its sub-pixel position)

    def __post_init__(self):
        _size(self.image_size, "generator.image_size")
        _int(self.base_channels, "generator.base_channels", 1, 1024)
        _int(self.max_channels, "generator.max_channels", self.base_channels, 4096)
        _int(self.depth, "generator.depth", 1, 6)
        _int(self.refine_layers, "generator.refine_layers", 0, 8)
        _int(self.space_to_depth, "generator.space_to_depth", 1, 8)
        _int(self.mask_radius, "generator.mask_radius", 0, 8)
        _check(isinstance(self.mask_subpixel, bool), "generator.mask_subpixel",
               f"must be true or false, got {self.mask_subpixel!r}")
        _check(not (self.mask_subpixel and self.mask_radius), "generator.mask_subpixel",
               "does not combine with mask_radius > 0")
        w, h = self.image_size
        f = self.space_to_depth
        _check(w % f == 0 and h % f == 0, "generator.space_to_depth",
               f"must divide image_size {self.image_size}, got {f}")
        _check(min(w, h) // f >= 2 ** self.depth, "generator.depth",
               f"{self.depth} halvings do not fit image_size {self.image_size} / space_to_depth {f}")


@dataclass(frozen=True)
class InverseConfig:
    """Inverse model F(I) (paper IV-D), and the landmark-to-motor baseline with in_channels=2 (paper V-B)."""

    in_channels: int = 3  # 3: RGB robot image (inverse model); 2: landmark mask (landmark-to-motor)
    image_size: tuple[int, int] = (120, 80)  # model input (width, height) px of the face crop
    channels: tuple[int, ...] = (16, 32, 64, 64, 128, 128)  # output channels of the conv layers (paper: 6)
    strides: tuple[int, ...] = (2, 2, 2, 2, 2, 1)  # stride of each conv layer (1 or 2)
    fc_hidden: tuple[int, ...] = (256,)  # hidden widths of the fully-connected head
    dropout: float = 0.2  # dropout before each fully-connected layer
    num_motors: int = 10  # N motors (outputs: N x num_levels logits)
    num_levels: int = 5  # command levels per motor (paper: 0, .25, .5, .75, 1)
    mask_radius: int = 0  # landmark mark half-size in model px when in_channels=2
    mask_subpixel: bool = False  # in_channels=2: spread each landmark bilinearly over 4 pixels

    def __post_init__(self):
        _check(self.in_channels in (2, 3), "inverse.in_channels",
               f"must be 2 (mask) or 3 (RGB), got {self.in_channels!r}")
        _size(self.image_size, "inverse.image_size")
        _check(isinstance(self.channels, tuple) and len(self.channels) >= 1, "inverse.channels",
               f"must be a non-empty tuple, got {self.channels!r}")
        for i, c in enumerate(self.channels):
            _int(c, f"inverse.channels[{i}]", 1, 4096)
        _check(isinstance(self.strides, tuple) and len(self.strides) == len(self.channels), "inverse.strides",
               f"must give one stride per conv layer ({len(self.channels)}), got {self.strides!r}")
        for i, s in enumerate(self.strides):
            _check(s in (1, 2), f"inverse.strides[{i}]", f"must be 1 or 2, got {s!r}")
        _check(isinstance(self.fc_hidden, tuple), "inverse.fc_hidden", f"must be a tuple, got {self.fc_hidden!r}")
        for i, c in enumerate(self.fc_hidden):
            _int(c, f"inverse.fc_hidden[{i}]", 1, 65536)
        _num(self.dropout, "inverse.dropout", 0.0, 0.9)
        _int(self.num_motors, "inverse.num_motors", 1, 256)
        _int(self.num_levels, "inverse.num_levels", 2, 256)
        _int(self.mask_radius, "inverse.mask_radius", 0, 8)
        _check(isinstance(self.mask_subpixel, bool), "inverse.mask_subpixel",
               f"must be true or false, got {self.mask_subpixel!r}")
        _check(not (self.mask_subpixel and self.mask_radius), "inverse.mask_subpixel",
               "does not combine with mask_radius > 0")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, data and run settings (Adam, as in the paper)."""

    epochs: int = 10  # passes over the train split
    batch_size: int = 64  # samples per step
    lr: float = 1e-3  # Adam learning rate (peak, when a schedule is used)
    lr_schedule: str = "constant"  # "constant" (paper) or "cosine" (decays to lr * min_lr_ratio at the end)
    min_lr_ratio: float = 0.05  # final lr / lr for the cosine schedule
    weight_decay: float = 0.0  # Adam L2 weight decay
    seed: int = 0  # seeds weight init, batch order and dropout: same seed, same data -> same model on CPU
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    max_iters: int | None = None  # stop after this many optimiser steps (RI-100: 100, RI: 0); None: all epochs
    val_every: int = 1  # epochs between validations (the last epoch is always validated)
    num_threads: int = 0  # torch CPU threads; 0: all cores
    crop_margin: float = 0.1  # margin around the train landmarks' bounding box, fraction of its size per side

    def __post_init__(self):
        _int(self.epochs, "train.epochs", 1, 100000)
        _int(self.batch_size, "train.batch_size", 1, 65536)
        _num(self.lr, "train.lr", 0.0, 1.0, lo_open=True)
        _check(self.lr_schedule in LR_SCHEDULES, "train.lr_schedule",
               f"must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        _num(self.min_lr_ratio, "train.min_lr_ratio", 0.0, 1.0)
        _num(self.weight_decay, "train.weight_decay", 0.0, 1.0)
        _int(self.seed, "train.seed", 0, 2 ** 31 - 1)
        _check(self.device in DEVICES, "train.device", f"must be one of {DEVICES}, got {self.device!r}")
        if self.max_iters is not None:
            _int(self.max_iters, "train.max_iters", 0)
        _int(self.val_every, "train.val_every", 1)
        _int(self.num_threads, "train.num_threads", 0, 1024)
        _num(self.crop_margin, "train.crop_margin", 0.0, 2.0)


MODEL_CONFIGS = {"generator": GeneratorConfig, "inverse": InverseConfig, "landmark-to-motor": InverseConfig}


def check_kind(kind: str) -> str:
    """Returns ``kind`` or raises ValueError naming the valid ones."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def build_config(cls, data: Any, where: str):
    """A config dataclass from a dict; unknown or ill-typed fields raise ValueError naming ``where``."""
    return build_dataclass(cls, data, where)


def model_config_from_dict(kind: str, data: dict):
    """The model config of ``kind`` from a dict (as stored in checkpoints and the YAML)."""
    return build_config(MODEL_CONFIGS[check_kind(kind)], data, f"{kind} model config")


def load_presets(path: str | Path | None = None) -> dict:
    """Reads ``learning.yaml``: {preset: {kind: {"model": {...}, "train": {...}}}} (raw dicts)."""
    import yaml

    if path is None:
        from eva.paths import find_config
        path = find_config(CONFIG_NAME)
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or not isinstance(data.get("presets"), dict):
        raise ValueError(f"{path}: expected a top-level 'presets' mapping")
    return data["presets"]


def preset_configs(preset: str, kind: str, path: str | Path | None = None):
    """The (model config, train config) of a preset for one kind of model.

    Args:
        preset: "paper", "default" or "ci" (or any other preset the YAML defines).
        kind: "generator", "inverse" or "landmark-to-motor".
        path: learning.yaml to read (default: found with ``eva.paths.find_config``).

    Raises:
        ValueError: unknown preset or kind, or a field of the YAML fails validation (named).
    """
    check_kind(kind)
    presets = load_presets(path)
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r}; learning.yaml defines {sorted(presets)}")
    entry = presets[preset].get(kind) if isinstance(presets[preset], dict) else None
    if not isinstance(entry, dict):
        raise ValueError(f"preset {preset!r} has no section for kind {kind!r}")
    model = build_config(MODEL_CONFIGS[kind], entry.get("model", {}), f"presets.{preset}.{kind}.model")
    train = build_config(TrainConfig, entry.get("train", {}), f"presets.{preset}.{kind}.train")
    return model, train
