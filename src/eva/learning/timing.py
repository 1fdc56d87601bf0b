"""Untrained checkpoints of a preset's architecture, for timing a configuration nobody trained here.

``eva bench`` times the paper's full architecture (480x320 G and F) next to the
shipped models in the same run. Training it takes a GPU; its speed does not
depend on its weights, so the bench builds it with random weights and the
shipped generator's meta mapped to the preset's image size. These checkpoints
say ``timing_only`` in their meta and must not be used to mimic anything.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from eva.learning.checkpoint import Loaded, save_checkpoint
from eva.learning.config import preset_configs
from eva.learning.data import FaceCrop
from eva.learning.evaluate import CHECKPOINT_LAYOUT
from eva.learning.models import build_model


def _resize_meta(like: Loaded, size: tuple[int, int]) -> dict:
    """``like``'s meta with the crop, landmark ranges, neutral and static image at ``size`` (same box centre)."""
    import cv2

    old = FaceCrop.from_dict(like.meta["crop"])
    x0, y0, x1, y1 = old.box
    cx, cy, h = (x0 + x1) / 2, (y0 + y1) / 2, y1 - y0
    w = h * size[0] / size[1]
    crop = FaceCrop((round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2)), old.source_size, size)

    def remap(points):  # model px of the old crop -> source px -> model px of the new crop
        src = np.asarray(points, np.float32) / np.array(old.scale, np.float32) + np.array(old.box[:2], np.float32)
        return crop.points(src)

    meta = dict(like.meta)
    meta.update(crop=crop.to_dict(), landmark_ranges=remap(like.meta["landmark_ranges"]),
                static_image=cv2.resize(np.asarray(like.meta["static_image"]), size, interpolation=cv2.INTER_CUBIC),
                timing_only=True)
    if "static_landmarks" in meta:
        meta["static_landmarks"] = remap(meta["static_landmarks"])
    return meta


def make_timing_checkpoints(preset: str, like_generator: Loaded, out, seed: int = 0) -> Path:
    """Writes random-weight generator and inverse checkpoints of ``preset`` under ``out`` (checkpoint layout)."""
    out = Path(out)
    torch.manual_seed(seed)
    for kind in ("generator", "inverse"):
        model_cfg, train_cfg = preset_configs(preset, kind)
        meta = _resize_meta(like_generator, tuple(model_cfg.image_size))
        save_checkpoint(out / CHECKPOINT_LAYOUT.format(role=kind, seed=seed), build_model(kind, model_cfg), kind,
                        model_cfg, train_cfg, meta)
    return out
