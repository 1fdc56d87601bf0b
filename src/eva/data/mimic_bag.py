"""Reading a recorded mimicry run (``eva demo``, ``eva launch mimic record:=BAG``).

Every message of the run carries the stamp of the camera frame it came from, so
a frame's stages are joined on that stamp, and each stage's latency is the time
the recorder received its message minus that stamp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eva.core.latency import LatencyStats
from eva.data.catalog import iter_messages
from eva.data.cdr import decode_image, decode_joint_state, decode_landmarks, header_stamp_ns

NS = "/eva/"
IMAGE_TOPIC = "camera/image_raw"
STAGES = {  # stage -> topic whose arrival ends it (camera_info: same stamp as the image, always small)
    "camera": "camera/camera_info", "landmarks": "face/landmarks", "normalizer": "face/landmarks_robot",
    "generator": "self_image", "inverse": "motor_commands",
}


@dataclass
class MimicFrame:
    """What the graph made of one camera frame (None where a stage produced nothing for it)."""

    stamp_ns: int
    image: np.ndarray | None = None          # the human frame, RGB
    image_scale: float = 1.0                 # shrink applied to ``image`` (landmarks are not shrunk)
    landmarks: np.ndarray | None = None      # (478, 3) camera px; None: no face, or not recorded
    face_found: bool | None = None           # None: the landmarks message was not recorded
    robot_landmarks: np.ndarray | None = None  # (53, 3) model px
    self_image: np.ndarray | None = None
    command: np.ndarray | None = None
    received_ns: dict = field(default_factory=dict)  # stage -> recorder receive time


@dataclass
class MimicRecording:
    """A mimicry run: frames by camera stamp, the robot camera's frames, and the motor names."""

    frames: dict[int, MimicFrame]
    robot_frames: list[tuple[int, np.ndarray]]  # (stamp ns, RGB), in time order
    motor_names: list[str]

    def ordered(self) -> list[MimicFrame]:
        """Frames in camera-stamp order."""
        return [self.frames[k] for k in sorted(self.frames)]

    def robot_at(self, t_ns: int) -> np.ndarray | None:
        """The robot camera's newest frame at or before ``t_ns`` (the first one if none is that old)."""
        if not self.robot_frames:
            return None
        stamps = np.array([s for s, _ in self.robot_frames])
        k = int(np.searchsorted(stamps, t_ns, side="right")) - 1
        return self.robot_frames[max(k, 0)][1]

    def stage_latency(self) -> dict[str, dict[str, float]]:
        """Per stage: ``{"count", "p50_ms", "p99_ms"}`` of receive time minus the camera stamp."""
        out = {}
        for stage in STAGES:
            stats = LatencyStats(window=max(len(self.frames), 1))
            for f in self.frames.values():
                if stage in f.received_ns:
                    stats.add(f.stamp_ns, f.received_ns[stage])
            p = stats.percentiles()
            out[stage] = {"count": stats.count, "p50_ms": p["p50"], "p99_ms": p["p99"]}
        return out


def read_mimic_bag(bag, max_image_height: int | None = None) -> MimicRecording:
    """Loads a mimicry bag; camera images are shrunk to ``max_image_height`` px when given (memory)."""
    import cv2

    topics = {NS + t: stage for stage, t in STAGES.items()}
    topics[NS + IMAGE_TOPIC] = "image"
    robot_topic = NS + "robot/image_raw"
    frames: dict[int, MimicFrame] = {}
    robot, names = [], []
    if not Path(bag).is_dir():
        raise FileNotFoundError(f"{bag}: no such bag directory")
    for topic, ts, raw in iter_messages(bag, set(topics) | {robot_topic}):
        stamp = header_stamp_ns(raw)
        if topic == robot_topic:
            robot.append((stamp, decode_image(raw)))
            continue
        stage = topics[topic]
        f = frames.setdefault(stamp, MimicFrame(stamp))
        if stage != "image":
            f.received_ns[stage] = ts
        if stage == "image":
            img = decode_image(raw)
            if max_image_height and img.shape[0] > max_image_height:
                w = round(img.shape[1] * max_image_height / img.shape[0])
                f.image_scale = max_image_height / img.shape[0]
                img = cv2.resize(img, (w, max_image_height), interpolation=cv2.INTER_AREA)
            f.image = img
        elif stage == "landmarks":
            cloud = decode_landmarks(raw)
            f.face_found = cloud is not None
            f.landmarks = None if cloud is None else cloud[0]
        elif stage == "normalizer":
            cloud = decode_landmarks(raw)
            f.robot_landmarks = None if cloud is None else cloud[0]
        elif stage == "generator":
            f.self_image = decode_image(raw)
        elif stage == "inverse":
            _, names, f.command = decode_joint_state(raw)
    robot.sort(key=lambda r: r[0])
    return MimicRecording(frames, robot, list(names))
