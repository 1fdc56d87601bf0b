"""Babbling bag -> steps (A_i, I_i, L_R,i) -> training arrays (.npy, memmap-friendly).

A step is a motor command and the first robot image whose header stamp is after
the command's header stamp and before the next command's; its landmarks are the
cloud whose header stamp equals the image's (an empty cloud: no face found).
Header stamps are used throughout, never the bag's receive times. Reading makes
two passes over the bag, one file at a time: the first collects stamps, commands
and landmarks, the second decodes only the images that belong to a step.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eva.data.bag import STAGING, TOPIC_COMMANDS, TOPIC_IMAGES, TOPIC_LANDMARKS
from eva.data.catalog import BagCatalog, iter_messages
from eva.data.cdr import decode_image, decode_joint_state, decode_landmarks, header_stamp_ns

NUM_LANDMARKS = 478  # MediaPipe face mesh
EXPORT_FORMAT = "eva-babbling-v1"


@dataclass(frozen=True)
class BabblingStep:
    """One babbling step.

    Attributes:
        index: Row in the exported arrays (steps sorted by command stamp).
        command: (M,) float32 motor command A_i, in ``motor_names`` order.
        command_stamp_ns: Header stamp of the command.
        image: (H, W, 3) uint8 RGB robot image I_i (resized if asked).
        image_stamp_ns: Header stamp of the image (and of its landmarks).
        landmarks: (K, 3) float32 x, y (pixels of ``image``), z (x's scale), or None: no face found.
        confidence: (K,) float32 per-landmark confidence, or None.
    """

    index: int
    command: np.ndarray
    command_stamp_ns: int
    image: np.ndarray
    image_stamp_ns: int
    landmarks: np.ndarray | None
    confidence: np.ndarray | None


def pair_steps(command_stamps: Sequence[int], image_stamps: Iterable[int]) -> list[tuple[int, int]]:
    """Pairs commands with images by header stamp.

    Args:
        command_stamps: Command header stamps (ns), any order.
        image_stamps: Image header stamps (ns), any order.

    Returns:
        (position in ``command_stamps``, image stamp) per complete step, sorted by command
        stamp: the first image strictly after the command and strictly before the next
        command. A command without such an image (e.g. resent, or cut off) is left out.
    """
    imgs = np.unique(np.fromiter(image_stamps, np.int64))
    cmds = np.asarray(command_stamps, np.int64)
    if not len(imgs) or not len(cmds):
        return []
    order = np.argsort(cmds, kind="stable")
    sorted_cmds = cmds[order]
    upper = np.append(sorted_cmds[1:], np.iinfo(np.int64).max)
    j = np.searchsorted(imgs, sorted_cmds, side="right")
    first = imgs[np.minimum(j, len(imgs) - 1)]
    ok = (j < len(imgs)) & (first < upper)
    return [(int(order[k]), int(first[k])) for k in np.flatnonzero(ok)]


def count_steps(bag, command_topic: str = TOPIC_COMMANDS, image_topic: str = TOPIC_IMAGES,
                files: list[str] | None = None) -> int:
    """Number of complete babbling steps in a bag (reads header stamps only).

    Args:
        bag: Bag directory.
        command_topic: JointState topic of the motor commands.
        image_topic: Image topic of the robot camera.
        files: Restrict to these files of the bag (None: all listed).
    """
    stamps: dict[str, list[int]] = {command_topic: [], image_topic: []}
    for topic, _, raw in iter_messages(bag, stamps.keys(), files):
        stamps[topic].append(header_stamp_ns(raw))
    return len(pair_steps(stamps[command_topic], stamps[image_topic]))


class BabblingIndex:
    """The steps of a babbling bag (first pass); ``steps()`` reads their images (second pass).

    Attributes:
        motor_names: Motor names in array order (from the first command).
        commands: (N, M) float32 commands A_i.
        command_stamps_ns: (N,) int64 command header stamps.
        image_stamps_ns: (N,) int64 image header stamps.
        landmarks: Image stamp -> ((K, 3), (K,)) arrays or None (empty cloud); only paired images.
    """

    def __init__(self, bag, command_topic: str = TOPIC_COMMANDS, image_topic: str = TOPIC_IMAGES,
                 landmark_topic: str = TOPIC_LANDMARKS):
        self.bag = Path(bag)
        self.image_topic = image_topic
        cmds: list[tuple[int, list[str], np.ndarray]] = []
        images: list[int] = []
        clouds: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        for topic, _, raw in iter_messages(bag, {command_topic, image_topic, landmark_topic}):
            if topic == command_topic:
                cmds.append(decode_joint_state(raw))
            elif topic == image_topic:
                images.append(header_stamp_ns(raw))
            elif (stamp := header_stamp_ns(raw)) not in clouds:
                clouds[stamp] = decode_landmarks(raw)
        pairs = pair_steps([c[0] for c in cmds], images)
        self.motor_names = list(cmds[pairs[0][0]][1]) if pairs else []
        self.commands = np.zeros((len(pairs), len(self.motor_names)), np.float32)
        for row, (k, _) in enumerate(pairs):
            self.commands[row] = _in_order(cmds[k][1], cmds[k][2], self.motor_names)
        self.command_stamps_ns = np.array([cmds[k][0] for k, _ in pairs], np.int64)
        self.image_stamps_ns = np.array([s for _, s in pairs], np.int64)
        self.landmarks = {int(s): clouds.get(int(s)) for s in self.image_stamps_ns}
        self.landmarks_missing = sum(int(s) not in clouds for s in self.image_stamps_ns)

    def __len__(self) -> int:
        return len(self.image_stamps_ns)

    def num_landmarks(self) -> int:
        """Points per landmark cloud (478 when no face was ever found)."""
        return next((len(v[0]) for v in self.landmarks.values() if v is not None), NUM_LANDMARKS)

    def steps(self, image_size: tuple[int, int] | None = None) -> Iterator[BabblingStep]:
        """Yields each step once, in bag order (normally step order; ``index`` gives the row).

        Args:
            image_size: (width, height) to resize to (cv2.INTER_AREA, landmarks scaled along);
                None keeps the first image's size (later images of another size are resized to it).
        """
        rows = {int(s): i for i, s in enumerate(self.image_stamps_ns)}
        size = image_size
        for _, _, raw in iter_messages(self.bag, {self.image_topic}):
            row = rows.pop(header_stamp_ns(raw), None)
            if row is None:
                continue
            image = decode_image(raw)
            size = size or (image.shape[1], image.shape[0])
            cloud = self.landmarks[int(self.image_stamps_ns[row])]
            image, points = _resize(image, None if cloud is None else cloud[0], size)
            yield BabblingStep(row, self.commands[row], int(self.command_stamps_ns[row]), image,
                               int(self.image_stamps_ns[row]), points, None if cloud is None else cloud[1])


def _in_order(names: list[str], positions: np.ndarray, motor_names: list[str]) -> np.ndarray:
    if names == motor_names:
        return positions
    given = dict(zip(names, positions))
    if set(given) != set(motor_names):
        raise ValueError(f"a command names motors {sorted(given)}, the first named {sorted(motor_names)}")
    return np.array([given[n] for n in motor_names])


def _resize(image: np.ndarray, points: np.ndarray | None, size: tuple[int, int]):
    w, h = int(size[0]), int(size[1])
    if image.shape[:2] == (h, w):
        return image, points
    import cv2  # only when resizing

    sx, sy = w / image.shape[1], h / image.shape[0]
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    if points is not None:
        points = points * np.array([sx, sy, sx], np.float32)  # z is in x's scale
    return image, points


def read_babbling(bag_path, image_size: tuple[int, int] | None = None, **topics) -> Iterator[BabblingStep]:
    """Yields the complete babbling steps of a bag (see :class:`BabblingIndex` for ``topics``)."""
    return BabblingIndex(bag_path, **topics).steps(image_size)


def split_indices(n: int, split: Sequence[int] = (14, 1, 1), seed: int = 0):
    """Fixed train/val/test split: a seeded permutation cut in proportion ``split``.

    Val and test get ``n * part // sum(split)`` each, train the rest (16,000 -> 14,000/1,000/1,000).

    Returns:
        (train, val, test) sorted int64 index arrays.
    """
    if len(split) != 3 or min(split) < 0 or sum(split) <= 0:
        raise ValueError(f"split must be 3 non-negative proportions, got {split}")
    n_val, n_test = (n * int(p) // sum(split) for p in split[1:])
    perm = np.random.default_rng(seed).permutation(n)
    n_train = n - n_val - n_test
    return (np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_val]), np.sort(perm[n_train + n_val:]))


def export_babbling(bag_path, out_dir, image_size: tuple[int, int] | None = None,
                    split: Sequence[int] = (14, 1, 1), split_seed: int = 0, *, progress: bool = False,
                    overwrite: bool = False, **topics) -> dict:
    """Writes a babbling bag as .npy arrays (images written incrementally to a memmap).

    Files: commands.npy (N, M) float32, images.npy (N, H, W, 3) uint8, landmarks.npy
    (N, K, 3) float32 pixels (zeros where no face), landmark_confidence.npy (N, K),
    face_found.npy (N,) bool, stamps_ns.npy (N,) int64 image stamps, command_stamps_ns.npy,
    split_{train,val,test}.npy and meta.json (written last: its presence means complete).

    Args:
        bag_path: Bag directory.
        out_dir: Output directory (created).
        image_size: (width, height) to resize to, or None for the bag's size.
        split: Train:val:test proportions.
        split_seed: Seed of the split permutation.
        progress: Show a progress bar.
        overwrite: Replace an earlier export in ``out_dir``.
        **topics: command_topic, image_topic, landmark_topic overrides.

    Returns:
        The content of meta.json.

    Raises:
        FileExistsError: ``out_dir`` holds an export and ``overwrite`` is False.
        ValueError: the bag holds no complete step.
    """
    out = Path(out_dir)
    if (out / "meta.json").exists() and not overwrite:
        raise FileExistsError(f"{out} already holds an export (meta.json); pass overwrite or another directory")
    index = BabblingIndex(bag_path, **topics)
    n, k = len(index), index.num_landmarks()
    if n == 0:
        raise ValueError(f"{bag_path} holds no complete babbling step (command followed by a robot image)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").unlink(missing_ok=True)
    landmarks = np.zeros((n, k, 3), np.float32)
    confidence = np.zeros((n, k), np.float32)
    face_found = np.zeros(n, bool)
    done = np.zeros(n, bool)
    images = None
    for step in tqdm(index.steps(image_size), total=n, disable=not progress, unit="step", desc="export"):
        if images is None:
            images = np.lib.format.open_memmap(out / "images.npy", "w+", np.uint8, (n, *step.image.shape))
        images[step.index] = step.image
        done[step.index] = True
        if step.landmarks is not None:
            if len(step.landmarks) != k:
                raise ValueError(f"image {step.image_stamp_ns} has {len(step.landmarks)} landmarks, others {k}")
            landmarks[step.index], confidence[step.index] = step.landmarks, step.confidence
            face_found[step.index] = True
    if not done.all():
        raise RuntimeError(f"{int((~done).sum())} paired images were not found on the second pass over {bag_path}")
    _, h, w, _ = images.shape
    images.flush()
    del images
    arrays = {"commands": index.commands, "landmarks": landmarks, "landmark_confidence": confidence,
              "face_found": face_found, "stamps_ns": index.image_stamps_ns,
              "command_stamps_ns": index.command_stamps_ns}
    parts = dict(zip(("train", "val", "test"), split_indices(n, split, split_seed)))
    arrays.update({f"split_{name}": idx for name, idx in parts.items()})
    for name, arr in arrays.items():
        np.save(out / f"{name}.npy", arr)
    meta = {"format": EXPORT_FORMAT, "bag": str(Path(bag_path).resolve()), "num_steps": n,
            "motor_names": index.motor_names, "image_size": [w, h], "num_landmarks": k,
            "faces_found": int(face_found.sum()), "landmark_clouds_missing": index.landmarks_missing,
            "arrays": {name: f"{name}.npy" for name in ["images", *arrays]},
            "split": {"proportions": [int(p) for p in split], "seed": split_seed,
                      "files": {name: f"split_{name}.npy" for name in parts},
                      "counts": {name: len(idx) for name, idx in parts.items()}},
            "units": {"commands": "motor positions in [0, 1], motor_names order",
                      "landmarks": "x, y pixels of images.npy (origin top-left), z in x's scale",
                      "stamps_ns": "robot image header stamps (ns)"}}
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, out / "meta.json")
    return meta


def bag_summary(path, steps: bool = True) -> dict:
    """What a bag holds, for the CLI: files, messages per topic, bytes on disk, duration, steps.

    Args:
        path: Bag directory.
        steps: Count complete babbling steps (reads the whole bag once).
    """
    path = Path(path)
    cat = BagCatalog.load(path)
    start, duration = cat.span_ns()
    on_disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return {"path": str(path), "files": len(cat.files), "messages": cat.message_count,
            "topics": {name: t["count"] for name, t in cat.topics.items()},
            "bytes": on_disk, "duration_s": duration / 1e9, "start_ns": start,
            "steps": count_steps(path) if steps else None,
            "incomplete_files": sorted(p.name for p in path.glob("*.incomplete*")),
            "staging": (path / STAGING).exists()}
