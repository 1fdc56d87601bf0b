"""Virtual camera imperfections: Gaussian pixel noise and per-frame light jitter."""
from __future__ import annotations

import cv2
import numpy as np

from eva.sim.config import CameraConfig


class CameraNoise:
    """Adds sensor noise and brightness/contrast jitter, drawn from a seeded generator.

    Drawing 480x320x3 normals costs ~5 ms per frame here, so the pixel noise is a
    bank of Gaussian noise drawn once (at construction, from ``rng``), rounded to
    grey levels and stored as uint8 around 128, and read at a random offset per
    frame (4096 distinct patterns); one cv2.addWeighted applies it all, ~0.3 ms.

    Args:
        config: noise levels.
        size: (width, height) of the frames.
        rng: the generator; the same seed gives the same frames.
    """

    PAD = 64  # bank margin, px: offsets in [0, PAD) on each axis
    ZERO = 128  # bank value meaning "no noise"

    def __init__(self, config: CameraConfig, size: tuple[int, int], rng: np.random.Generator):
        self.config = config
        self.rng = rng
        w, h = size
        self.size = (w, h)
        noise = rng.standard_normal((h + self.PAD, w + self.PAD, 3), dtype=np.float32)
        noise *= np.float32(config.pixel_noise_std)
        self.bank = np.clip(np.rint(noise + self.ZERO), 0, 255).astype(np.uint8)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Returns a noisy copy of ``rgb`` (HxWx3 uint8 of this camera's size)."""
        cfg = self.config
        h, w = rgb.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"image size {(w, h)} != camera size {self.size}")
        gain = 1.0 + cfg.contrast_jitter_std * float(self.rng.standard_normal())
        offset = cfg.brightness_jitter_std * float(self.rng.standard_normal())
        oy, ox = self.rng.integers(0, self.PAD, size=2)
        noise = self.bank[oy:oy + h, ox:ox + w]
        # gain about mid-grey, so contrast jitter does not also shift the mean; saturates to uint8
        return cv2.addWeighted(rgb, gain, noise, 1.0, offset + 127.5 * (1.0 - gain) - self.ZERO)
