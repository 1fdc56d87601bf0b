"""Inference from loaded checkpoints (used by ``eva eval`` and the ROS nodes).

Frames: "source" = the camera/export image a checkpoint's face crop refers to (any
size with the same aspect ratio); "model px" = the model-size face crop. Images are
uint8 RGB (B, H, W, 3); commands are in [0, 1], ``meta["motor_names"]`` order.
"""
from __future__ import annotations

import numpy as np
import torch

from eva.learning.checkpoint import Loaded
from eva.learning.data import FaceCrop, mask_style, masks, to_tensor_images


def face_crop(loaded: Loaded) -> FaceCrop:
    """The checkpoint's face crop."""
    return FaceCrop.from_dict(loaded.meta["crop"])


def _device(loaded: Loaded) -> torch.device:
    return next(loaded.model.parameters()).device


def _expect(loaded: Loaded, *kinds: str) -> None:
    if loaded.kind not in kinds:
        raise ValueError(f"{loaded.path or 'checkpoint'} is a {loaded.kind} model; this needs {' or '.join(kinds)}")


def check_compatible(generator: Loaded, inverse: Loaded) -> None:
    """Raises ValueError unless G's output images are what F was trained on (same crop and size)."""
    if generator.meta["crop"] != inverse.meta["crop"]:
        raise ValueError(f"generator crop {generator.meta['crop']} differs from inverse crop {inverse.meta['crop']}")


def preprocess_image(loaded: Loaded, rgb_source: np.ndarray) -> torch.Tensor:
    """Source image(s) (h, w, 3) or (B, h, w, 3) uint8 -> (B, 3, H, W) float in [0, 1] on the model's device."""
    rgb = np.asarray(rgb_source)
    if rgb.dtype != np.uint8 or rgb.ndim not in (3, 4) or rgb.shape[-1] != 3:
        raise ValueError(f"expected uint8 RGB (h, w, 3) or (B, h, w, 3) images, got {rgb.dtype} {rgb.shape}")
    crop = face_crop(loaded)
    return to_tensor_images(crop.image(rgb if rgb.ndim == 4 else rgb[None]), _device(loaded))


def crop_images(loaded: Loaded, rgb_source: np.ndarray) -> np.ndarray:
    """Source image(s) -> (B, H, W, 3) uint8 model-size face crops (as the models saw in training)."""
    rgb = np.asarray(rgb_source)
    return face_crop(loaded).image(rgb if rgb.ndim == 4 else rgb[None])


def preprocess_landmarks(loaded: Loaded, l53_source_px: np.ndarray, source_size=None) -> np.ndarray:
    """Landmarks (..., 53, >=2) in source px -> (..., 53, 2) float32 model px.

    Args:
        source_size: (width, height) of the image the landmarks are in, when not the
            checkpoint's source size (e.g. 480x320 camera, model trained from a 240x160 export).
    """
    return face_crop(loaded).points(l53_source_px, source_size)


def normalize_to_robot(loaded: Loaded, l53_human: np.ndarray, human_lo: np.ndarray,
                       human_hi: np.ndarray) -> np.ndarray:
    """Paper IV-B: L_R = (L_H - H_min)(R_max - R_min) / (H_max - H_min) + R_min, per landmark and axis.

    Args:
        l53_human: (..., 53, 2) human landmarks (any pixel frame).
        human_lo, human_hi: (53, 2) ranges of the human landmarks in that frame.

    Returns:
        (..., 53, 2) robot-frame landmarks in model px (R ranges from the checkpoint).
    """
    r_lo, r_hi = (np.asarray(a, np.float32) for a in loaded.meta["landmark_ranges"])
    h_lo, h_hi = np.asarray(human_lo, np.float32), np.asarray(human_hi, np.float32)
    span = np.where(np.abs(h_hi - h_lo) > 1e-6, h_hi - h_lo, 1.0)  # a constant landmark maps to R_min
    return ((np.asarray(l53_human, np.float32)[..., :2] - h_lo) * (r_hi - r_lo) / span + r_lo).astype(np.float32)


@torch.no_grad()
def generate(loaded: Loaded, l53_model_px: np.ndarray, confidence=None, batch_size: int = 64) -> np.ndarray:
    """Robot self-images G(M, I_s) from landmarks.

    Args:
        loaded: A generator checkpoint.
        l53_model_px: (B, 53, 2) (or (53, 2)) landmarks in model px.
        confidence: None (all 1), a scalar or (B, 53) confidences for the mask's second channel.

    Returns:
        (B, H, W, 3) uint8 images at the model size.
    """
    _expect(loaded, "generator")
    l53 = np.asarray(l53_model_px, np.float32)
    l53 = l53[None] if l53.ndim == 2 else l53
    conf = np.broadcast_to(np.float32(1.0) if confidence is None else np.asarray(confidence, np.float32),
                           l53.shape[:2])
    size, dev = face_crop(loaded).size, _device(loaded)
    static = to_tensor_images(loaded.meta["static_image"][None], dev)
    out = []
    for s in range(0, len(l53), batch_size):
        m = torch.from_numpy(masks(l53[s:s + batch_size], size, conf[s:s + batch_size],
                                   **mask_style(loaded.model_config))).to(dev)
        img, _ = loaded.model(m, static.expand(len(m), -1, -1, -1))
        out.append((img * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, size[1], size[0], 3), np.uint8)


@torch.no_grad()
def predict_logits(loaded: Loaded, x: np.ndarray, confidence=None, batch_size: int = 256) -> np.ndarray:
    """Per-motor level logits (B, num_motors, num_levels).

    Args:
        loaded: An inverse or landmark-to-motor checkpoint.
        x: inverse: (B, H, W, 3) uint8 model-size images (e.g. ``generate`` output or ``crop_images``);
            landmark-to-motor: (B, 53, 2) landmarks in model px.
        confidence: landmark-to-motor only: None, a scalar or (B, 53).
    """
    _expect(loaded, "inverse", "landmark-to-motor")
    size, dev = face_crop(loaded).size, _device(loaded)
    x = np.asarray(x)
    if loaded.kind == "inverse":
        x = x[None] if x.ndim == 3 else x
        if x.dtype != np.uint8 or x.shape[1:] != (size[1], size[0], 3):
            raise ValueError(f"inverse model expects uint8 images of {size[0]}x{size[1]} (B, {size[1]}, {size[0]}, 3), "
                             f"got {x.dtype} {x.shape}; crop source images with crop_images()")

        def make(s: int) -> torch.Tensor:
            return to_tensor_images(x[s:s + batch_size], dev)
    else:
        x = np.asarray(x, np.float32)
        x = x[None] if x.ndim == 2 else x
        conf = np.broadcast_to(np.float32(1.0) if confidence is None else np.asarray(confidence, np.float32),
                               x.shape[:2])

        def make(s: int) -> torch.Tensor:
            m = masks(x[s:s + batch_size], size, conf[s:s + batch_size], **mask_style(loaded.model_config))
            return torch.from_numpy(m).to(dev)
    out = [loaded.model(make(s))[0].float().cpu().numpy() for s in range(0, len(x), batch_size)]
    cfg = loaded.model_config
    return np.concatenate(out) if out else np.zeros((0, cfg.num_motors, cfg.num_levels), np.float32)


def predict_commands(loaded: Loaded, x: np.ndarray, **kw) -> np.ndarray:
    """(B, num_motors) float32 commands: the most likely level of each motor."""
    levels = np.asarray(loaded.meta["levels"], np.float32)
    return levels[predict_logits(loaded, x, **kw).argmax(-1)]


def expected_commands(loaded: Loaded, x: np.ndarray, **kw) -> np.ndarray:
    """(B, num_motors) float32 commands: the probability-weighted mean level (continuous variant)."""
    logits = torch.from_numpy(predict_logits(loaded, x, **kw))
    p = torch.softmax(logits, dim=-1).numpy()
    return (p * np.asarray(loaded.meta["levels"], np.float32)).sum(-1).astype(np.float32)
