"""Offline frame sources: a still image, a folder of images, or a video file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def read_rgb(path) -> np.ndarray:
    """Reads an image file as (H, W, 3) uint8 RGB; raises ValueError naming the file."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path} (missing, corrupt or not an image)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iter_frames(source, max_frames: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yields (frame name, RGB frame) from an image, a folder of images or a video.

    Raises:
        FileNotFoundError: the source does not exist.
        ValueError: not an image/video, or a video that cannot be opened.
    """
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    count = 0
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {path}")
        for f in files[:max_frames]:
            yield f.name, read_rgb(f)
        return
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield path.name, read_rgb(path)
        return
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"unsupported input {path}: expected an image, a video or a folder of images")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    try:
        while max_frames is None or count < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            yield f"{path.stem}_{count:05d}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            count += 1
    finally:
        cap.release()
    if count == 0:
        raise ValueError(f"video {path} has no readable frames")
