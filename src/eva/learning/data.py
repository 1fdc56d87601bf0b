"""Babbling data for the models: a fixed face crop, cached model-size images and batches.

The robot head does not move relative to its camera, so every image is cut to one
fixed box around the face (``FaceCrop``, from the train split's landmarks) and
resized to the model size once, into a cache beside the export. ``prepare`` gathers
what one kind of model needs; ``get_batch`` turns sample indices into tensors:

- generator: (mask (B, 2, H, W), static I_s (B, 3, H, W), target image (B, 3, H, W)), images in [0, 1]
- inverse: (image (B, 3, H, W), labels (B, M) int64 level indices)
- landmark-to-motor: (mask (B, 2, H, W), labels (B, M))
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eva import MOTOR_COMMAND_LEVELS
from eva.core.landmarks import landmark_mask, paper53

SPLITS = ("train", "val", "test")
EXPORT_FORMAT = "eva-babbling-v1"


@dataclass(frozen=True)
class FaceCrop:
    """A fixed box around the face, in source-image pixels, resized to the model size.

    Attributes:
        box: (x0, y0, x1, y1) integer source px, x1/y1 exclusive; may reach outside the
            image (edges are replicated there).
        source_size: (width, height) of the images the box refers to.
        size: (width, height) of the model images.
    """

    box: tuple[int, int, int, int]
    source_size: tuple[int, int]
    size: tuple[int, int]

    @classmethod
    def from_points(cls, points_xy: np.ndarray, source_size, size, margin: float = 0.1) -> FaceCrop:
        """The box around all points (+ ``margin`` of the box size per side) with the model's aspect ratio."""
        pts = np.asarray(points_xy, np.float64).reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            raise ValueError("no landmarks to place the face crop (no face found in the train split?)")
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        w, h = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
        aspect = size[0] / size[1]
        w, h = max(w, h * aspect, 1.0), max(h, w / aspect, 1.0)
        bh = max(int(round(h)), 1)
        bw = max(int(round(bh * aspect)), 1)
        bx, by = int(round((x0 + x1) / 2 - bw / 2)), int(round((y0 + y1) / 2 - bh / 2))
        return cls((bx, by, bx + bw, by + bh), tuple(int(v) for v in source_size), tuple(int(v) for v in size))

    @property
    def scale(self) -> tuple[float, float]:
        """Model px per source px along x and y."""
        x0, y0, x1, y1 = self.box
        return self.size[0] / (x1 - x0), self.size[1] / (y1 - y0)

    def for_source(self, source_size) -> FaceCrop:
        """The same region for images of another size (same aspect ratio, e.g. 480x320 vs 240x160)."""
        source_size = (int(source_size[0]), int(source_size[1]))
        if source_size == self.source_size:
            return self
        sx, sy = source_size[0] / self.source_size[0], source_size[1] / self.source_size[1]
        if abs(sx - sy) > 0.02 * max(sx, sy):
            raise ValueError(f"images of {source_size[0]}x{source_size[1]} have another aspect ratio than the "
                             f"{self.source_size[0]}x{self.source_size[1]} the face crop was made for")
        box = tuple(int(round(v * s)) for v, s in zip(self.box, (sx, sy, sx, sy)))
        return FaceCrop(box, source_size, self.size)

    def image(self, rgb: np.ndarray) -> np.ndarray:
        """Crops and resizes (cv2.INTER_AREA) one (h, w, 3) or a batch (B, h, w, 3) of uint8 images."""
        import cv2

        rgb = np.asarray(rgb)
        if rgb.ndim == 4:
            if not len(rgb):
                return np.zeros((0, self.size[1], self.size[0], 3), rgb.dtype)
            return np.stack([self.image(im) for im in rgb])
        crop = self.for_source((rgb.shape[1], rgb.shape[0]))
        x0, y0, x1, y1 = crop.box
        h, w = rgb.shape[:2]
        pad = (max(-y0, 0), max(y1 - h, 0), max(-x0, 0), max(x1 - w, 0))
        if any(pad):
            rgb = cv2.copyMakeBorder(np.ascontiguousarray(rgb), *pad, cv2.BORDER_REPLICATE)
            x0, x1, y0, y1 = x0 + pad[2], x1 + pad[2], y0 + pad[0], y1 + pad[0]
        out = rgb[y0:y1, x0:x1]
        if out.shape[:2] != (self.size[1], self.size[0]):
            out = cv2.resize(np.ascontiguousarray(out), self.size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(out)

    def points(self, xy: np.ndarray, source_size=None) -> np.ndarray:
        """Maps (..., 2) source px (of ``source_size``, default this crop's) to model px (continuous)."""
        crop = self if source_size is None else self.for_source(source_size)
        xy = np.asarray(xy, np.float32)[..., :2]
        return ((xy - np.array(crop.box[:2], np.float32)) * np.array(crop.scale, np.float32)).astype(np.float32)

    def to_dict(self) -> dict:
        return {"box": list(self.box), "source_size": list(self.source_size), "size": list(self.size)}

    @classmethod
    def from_dict(cls, d: dict) -> FaceCrop:
        return cls(tuple(int(v) for v in d["box"]), tuple(int(v) for v in d["source_size"]),
                   tuple(int(v) for v in d["size"]))


def command_labels(commands: np.ndarray, levels=MOTOR_COMMAND_LEVELS) -> np.ndarray:
    """Motor commands -> int64 index of the nearest level (0..len(levels)-1)."""
    commands = np.asarray(commands, np.float32)
    return np.abs(commands[..., None] - np.asarray(levels, np.float32)).argmin(axis=-1).astype(np.int64)


def landmark_ranges(l53: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-landmark (min, max) of x, y over samples: the paper's IV-B ranges R_min, R_max.

    Args:
        l53: (N, 53, >=2) landmarks (the train split's, in model px).

    Returns:
        (lo (53, 2), hi (53, 2)) float32.
    """
    xy = np.asarray(l53, np.float32)[..., :2]
    if xy.ndim != 3 or not len(xy):
        raise ValueError(f"landmark_ranges needs (N, K, 2) landmarks with N > 0, got shape {xy.shape}")
    return np.nanmin(xy, axis=0), np.nanmax(xy, axis=0)


def _is_export(path: Path) -> bool:
    return (path / "meta.json").is_file()


def _bag_export(bag: Path, cache_dir: Path | None, progress: bool) -> Path:
    """Exports ``bag`` (native size) to ``<bag>.export`` or ``<cache_dir>/<bag name>.export`` once."""
    from eva.data import export_babbling

    out = (Path(cache_dir) if cache_dir else bag.parent) / f"{bag.name}.export"
    if _is_export(out):
        meta = json.loads((out / "meta.json").read_text())
        newest = max((p.stat().st_mtime for p in bag.rglob("*") if p.is_file()), default=0.0)
        if meta.get("bag") == str(bag.resolve()) and newest <= (out / "meta.json").stat().st_mtime:
            return out
    if progress:
        print(f"exporting {bag} to {out} (once; later runs reuse it)")
    export_babbling(bag, out, progress=progress, overwrite=True)
    return out


class BabblingData:
    """An exported babbling set (memory-mapped arrays) and its fixed split.

    Attributes:
        root: Export directory.
        meta: Its meta.json.
        motor_names: Motor order of ``commands``.
        source_size: (width, height) of ``images``.
        commands, images, landmarks, confidence, face_found: memory-mapped arrays.
        splits: {"train", "val", "test"} -> sorted int64 indices.
        cache_dir: Where model-size images are cached.
    """

    def __init__(self, root, cache_dir=None):
        self.root = Path(root)
        self.meta = json.loads((self.root / "meta.json").read_text())
        if self.meta.get("format") != EXPORT_FORMAT:
            raise ValueError(f"{self.root}: unknown export format {self.meta.get('format')!r}")

        def load(name: str) -> np.ndarray:
            return np.load(self.root / f"{name}.npy", mmap_mode="r")

        self.commands, self.images, self.landmarks = load("commands"), load("images"), load("landmarks")
        self.confidence, self.face_found = load("landmark_confidence"), np.asarray(load("face_found"))
        self.splits = {name: np.asarray(load(f"split_{name}"), np.int64) for name in SPLITS}
        self.motor_names = list(self.meta["motor_names"])
        self.source_size = (int(self.meta["image_size"][0]), int(self.meta["image_size"][1]))
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / "cache"

    @classmethod
    def open(cls, path, cache_dir=None, progress: bool = True) -> BabblingData:
        """Opens an export directory, or a bag directory (exported once, at its native size, then reused).

        Raises:
            FileNotFoundError: ``path`` is neither an export (meta.json) nor a bag.
        """
        from eva.data import holds_bag

        path = Path(path)
        if _is_export(path):
            return cls(path, cache_dir)
        if holds_bag(path):
            return cls(_bag_export(path, cache_dir, progress), cache_dir)
        raise FileNotFoundError(f"{path} is neither a babbling export (meta.json) nor a bag directory")

    def __len__(self) -> int:
        return len(self.commands)

    def split(self, name: str, face_only: bool = False) -> np.ndarray:
        """Indices of a split, optionally only the samples with a face found."""
        idx = self.splits[name]
        return idx[self.face_found[idx]] if face_only else idx

    def l53(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """(xy (n, 53, 2) source px, confidence (n, 53)) of the paper's 53 landmarks."""
        idx = np.asarray(idx, np.int64)
        pts = paper53(np.asarray(self.landmarks[idx]))[..., :2]
        conf = paper53(np.asarray(self.confidence[idx])[..., None])[..., 0]
        return pts.astype(np.float32), conf.astype(np.float32)

    def face_crop(self, size, margin: float = 0.1) -> FaceCrop:
        """The crop around all 478 landmarks of the train split's faces."""
        idx = self.split("train", face_only=True)
        return FaceCrop.from_points(np.asarray(self.landmarks[idx])[..., :2], self.source_size, size, margin)

    def static_index(self) -> int:
        """Train sample whose command is nearest the neutral all-zeros command (L1); the static I_s."""
        idx = self.split("train", face_only=True)
        idx = idx if len(idx) else self.split("train")
        if not len(idx):
            raise ValueError(f"{self.root}: the train split is empty")
        return int(idx[np.argmin(np.abs(np.asarray(self.commands[idx])).sum(axis=1))])  # first of ties

    def fingerprint(self) -> str:
        """Short hash of the recording (image stamps, else meta.json): a re-export never reuses stale caches."""
        stamps = self.root / "stamps_ns.npy"
        raw = stamps.read_bytes() if stamps.is_file() else (self.root / "meta.json").read_bytes()
        return hashlib.sha1(raw).hexdigest()[:10]

    def model_images(self, crop: FaceCrop, progress: bool = True, chunk: int = 512) -> np.ndarray:
        """All images cropped to the model size: (N, H, W, 3) uint8, cached once per crop and size."""
        x0, y0, x1, y1 = crop.box
        name = f"images_{self.fingerprint()}_{x0}_{y0}_{x1}_{y1}_{crop.size[0]}x{crop.size[1]}.npy"
        return self.cached_images(name, crop.size, lambda a, b: crop.image(np.asarray(self.images[a:b])),
                                  f"crop+resize to {crop.size[0]}x{crop.size[1]}", progress, chunk)

    def cached_images(self, name: str, size, make, desc: str, progress: bool = True, chunk: int = 512) -> np.ndarray:
        """(N, H, W, 3) uint8 images of every sample, kept in the cache as ``name``.

        Made once, ``chunk`` samples at a time by ``make(start, stop)``, into a temporary
        file that replaces ``name`` only when complete; later calls memory-map it.
        """
        path, shape = self.cache_dir / name, (len(self), size[1], size[0], 3)
        if path.is_file():
            arr = np.load(path, mmap_mode="r")
            if arr.shape == shape:
                return arr
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        out = np.lib.format.open_memmap(tmp, "w+", np.uint8, shape)
        for start in tqdm(range(0, len(self), chunk), disable=not progress, unit="chunk", desc=desc):
            out[start:start + chunk] = make(start, min(start + chunk, len(self)))
        out.flush()
        del out
        os.replace(tmp, path)
        return np.load(path, mmap_mode="r")


@dataclass
class Prepared:
    """What one kind of model trains on, at the model size.

    Attributes:
        kind: "generator", "inverse" or "landmark-to-motor".
        crop: The face crop.
        images: (N, H, W, 3) uint8 model-size images (all samples).
        l53: (N, 53, 2) float32 landmarks in model px (zeros where no face).
        conf53: (N, 53) float32 landmark confidences.
        labels: (N, M) int64 command level indices.
        splits: split name -> indices used (face-less samples dropped for mask-based kinds).
        dropped: split name -> samples dropped for lack of a face.
        static: (H, W, 3) uint8 static self-image I_s; static_index its sample.
        ranges: (lo, hi) (53, 2) per-landmark ranges over the train split, model px.
        mask_radius: Landmark mark half-size for the masks.
        mask_subpixel: Bilinear (sub-pixel) landmark marks instead.
        motor_names: Motor order of ``labels``.
    """

    kind: str
    crop: FaceCrop
    images: np.ndarray
    l53: np.ndarray
    conf53: np.ndarray
    labels: np.ndarray
    splits: dict
    dropped: dict
    static: np.ndarray
    static_index: int
    ranges: tuple
    mask_radius: int
    motor_names: list
    mask_subpixel: bool = False


def prepare(data: BabblingData, kind: str, model_cfg, margin: float = 0.1, progress: bool = True) -> Prepared:
    """Crops (cached), labels and splits ``data`` for ``kind`` at ``model_cfg.image_size``."""
    crop = data.face_crop(model_cfg.image_size, margin)
    images = data.model_images(crop, progress)
    xy, conf = data.l53(np.arange(len(data)))
    l53 = crop.points(xy)
    face_only = kind != "inverse"
    splits = {name: data.split(name, face_only) for name in SPLITS}
    dropped = {name: len(data.splits[name]) - len(splits[name]) for name in SPLITS}
    train_faces = data.split("train", face_only=True)
    if not len(train_faces):
        raise ValueError(f"{data.root}: no face was found in any train image")
    s = data.static_index()
    return Prepared(kind, crop, images, l53, conf, command_labels(np.asarray(data.commands)), splits, dropped,
                    np.array(images[s]), s, landmark_ranges(l53[train_faces]), model_cfg.mask_radius,
                    list(data.motor_names), model_cfg.mask_subpixel)


def mask_style(model_cfg) -> dict:
    """How a model's landmark masks are drawn: ``masks`` keyword arguments from its config."""
    return {"radius": model_cfg.mask_radius, "subpixel": model_cfg.mask_subpixel}


def masks(l53_model_px: np.ndarray, size, confidence=None, radius: int = 0, subpixel: bool = False) -> np.ndarray:
    """(B, 53, 2) model-px landmarks -> (B, 2, H, W) float32 paper masks (``eva.core.landmarks.landmark_mask``)."""
    l53 = np.asarray(l53_model_px, np.float32)
    conf = np.ones(l53.shape[:2], np.float32) if confidence is None else np.asarray(confidence, np.float32)
    conf = np.broadcast_to(conf, l53.shape[:2])
    if not len(l53):
        return np.zeros((0, 2, size[1], size[0]), np.float32)
    return np.stack([landmark_mask(p, size, c, radius=radius, subpixel=subpixel) for p, c in zip(l53, conf)])


def to_tensor_images(images: np.ndarray, device="cpu") -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [0, 1] on ``device`` (moved as uint8)."""
    arr = np.ascontiguousarray(images)
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy()).to(device)  # read-only: message buffers
    return t.permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def get_batch(prep: Prepared, idx, device="cpu") -> tuple[torch.Tensor, ...]:
    """The model inputs and targets of samples ``idx`` (see the module docstring)."""
    idx = np.sort(np.asarray(idx, np.int64))  # sorted: memmap reads in file order
    size = prep.crop.size
    if prep.kind == "inverse":
        return to_tensor_images(prep.images[idx], device), torch.from_numpy(prep.labels[idx]).to(device)
    mask = torch.from_numpy(masks(prep.l53[idx], size, prep.conf53[idx], prep.mask_radius,
                                  prep.mask_subpixel)).to(device)
    if prep.kind == "landmark-to-motor":
        return mask, torch.from_numpy(prep.labels[idx]).to(device)
    static = to_tensor_images(prep.static[None], device).expand(len(idx), -1, -1, -1)
    return mask, static, to_tensor_images(prep.images[idx], device)
