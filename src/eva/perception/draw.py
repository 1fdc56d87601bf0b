"""Drawing landmarks and tiling images (contact sheets) for people to look at."""
from __future__ import annotations

import cv2
import numpy as np

from eva.core.landmarks import PAPER53_MEDIAPIPE


def draw_landmarks(rgb: np.ndarray, points: np.ndarray | None, all_points: bool = True) -> np.ndarray:
    """Copy of ``rgb`` with landmarks drawn: all 478 faint, the paper's 53 in green.

    Args:
        rgb: (H, W, 3) uint8.
        points: (478, >=2) pixel landmarks, or None (draws "no face").
    """
    out = np.ascontiguousarray(rgb.copy())
    if points is None:
        cv2.putText(out, "no face", (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 0, 0), 2)
        return out
    pts = np.asarray(points)[:, :2]
    if all_points:
        for x, y in pts:
            cv2.circle(out, (int(round(x)), int(round(y))), 0, (200, 200, 255), -1)
    r = max(1, out.shape[1] // 240)
    for i in PAPER53_MEDIAPIPE:
        x, y = pts[i]
        cv2.circle(out, (int(round(x)), int(round(y))), r, (0, 255, 0), -1)
    return out


def contact_sheet(tiles: list[np.ndarray], labels: list[str] | None = None, cols: int = 4,
                  tile_width: int = 240) -> np.ndarray:
    """Tiles RGB images into one grid image, each scaled to ``tile_width`` with a caption below."""
    if not tiles:
        raise ValueError("contact_sheet needs at least one image")
    h0, w0 = tiles[0].shape[:2]
    tw, th = tile_width, int(round(h0 * tile_width / w0))
    cap = 16
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (th + cap), cols * tw, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = r * (th + cap), c * tw
        sheet[y:y + th, x:x + tw] = cv2.resize(tile, (tw, th), interpolation=cv2.INTER_AREA)
        if labels:
            cv2.putText(sheet, labels[k][:48], (x + 2, y + th + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def save_rgb(path, rgb: np.ndarray) -> None:
    """Writes an RGB image (PNG/JPEG by extension); raises OSError if it cannot."""
    if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image {path}")


def _label(tile: np.ndarray, label: str) -> None:
    """White text on a darkened box at the tile's top left, legible on any background.

    (An outline drawn as thicker text does not line up: Hershey glyphs advance by
    their stroke width, so a thick copy drifts right of the thin one.)
    """
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    (w, h), base = cv2.getTextSize(label, font, scale, 1)
    x0, y0 = 2, 2
    x1, y1 = min(tile.shape[1], x0 + w + 8), min(tile.shape[0], y0 + h + base + 6)
    tile[y0:y1, x0:x1] = tile[y0:y1, x0:x1] // 3
    cv2.putText(tile, label, (x0 + 4, y0 + 3 + h), font, scale, (255, 255, 255), 1, cv2.LINE_AA)


def side_by_side(panels: list[np.ndarray | None], labels: list[str], height: int = 240) -> np.ndarray:
    """One video frame: each RGB panel scaled to ``height`` and labelled; a missing panel is grey."""
    out = []
    for img, label in zip(panels, labels):
        if img is None:
            tile = np.full((height, height * 3 // 4, 3), 64, np.uint8)
        else:
            w = max(1, round(img.shape[1] * height / img.shape[0]))
            tile = cv2.resize(np.ascontiguousarray(img), (w, height),
                              interpolation=cv2.INTER_AREA if img.shape[0] > height else cv2.INTER_CUBIC)
        tile = np.ascontiguousarray(tile)
        _label(tile, label)
        out.append(tile)
    frame = np.concatenate(out, axis=1)
    return frame[:, : frame.shape[1] // 2 * 2]  # even width: video codecs want it
