"""``eva mimic-eval``: the mimicry pipeline on a human clip, executed on the simulated face.

Per frame: MediaPipe on the human frame -> the paper's 53 landmarks -> the
normalizer (robot model px) -> G -> F -> commands; the commands are sent to the
simulated face, which settles, and MediaPipe finds the robot's landmarks in its
camera image. The score is the paper's landmark distance (Frobenius norm / 53, in
480x320 robot-frame px) between the executed robot face and the normalized human
target, next to the same for random commands (one per frame, seeded). MediaPipe's
52 blendshape scores of human and robot give a second, landmark-free view.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from eva.core.normalize import NormalizerConfig
from eva.learning import metrics as M
from eva.learning.baselines import random_commands
from eva.learning.evaluate import model_to_robot
from eva.learning.mimic import MimicModels
from eva.learning.predict import face_crop


@dataclass
class MimicRun:
    """Per-frame results (frames without a human face are NaN / empty rows)."""

    names: list = field(default_factory=list)
    target: list = field(default_factory=list)            # (53, 2) robot-frame px
    robot: list = field(default_factory=list)             # (53, 2) robot-frame px, executed commands
    random_robot: list = field(default_factory=list)      # (53, 2) robot-frame px, random commands
    commands: list = field(default_factory=list)          # (M,)
    human_blendshapes: list = field(default_factory=list)  # (52,)
    robot_blendshapes: list = field(default_factory=list)  # (52,)

    def arrays(self) -> dict:
        """The per-frame NPZ content."""
        return {"frame_names": np.array(self.names), "target_landmarks": np.array(self.target, np.float32),
                "robot_landmarks": np.array(self.robot, np.float32),
                "random_robot_landmarks": np.array(self.random_robot, np.float32),
                "commands": np.array(self.commands, np.float32),
                "human_blendshapes": np.array(self.human_blendshapes, np.float32),
                "robot_blendshapes": np.array(self.robot_blendshapes, np.float32)}


def _blend_vector(face, names) -> np.ndarray:
    if face is None or not face.blendshapes:
        return np.full(len(names), np.nan, np.float32)
    return np.array([face.blendshapes.get(n, np.nan) for n in names], np.float32)


def run_mimic(frames, models: MimicModels, fps: float, normalizer: NormalizerConfig | None = None,
              continuous: bool = True, seed: int = 0, progress: bool = True, human_ranges_file=None) -> MimicRun:
    """Runs the pipeline on ``frames`` (iterable of (name, RGB)) and executes it on the simulated face."""
    from eva.perception.detector import FaceDetector
    from eva.sim.face import SimFace

    norm = models.normalizer(normalizer, human_ranges_file)
    crop = face_crop(models.generator)
    run = MimicRun()
    human_det = FaceDetector(running_mode="video", max_faces=2, blendshapes=True)
    robot_det = FaceDetector(running_mode="image", blendshapes=True)
    names = None
    try:
        with SimFace(seed=seed, noise=True) as face, SimFace(seed=seed + 1, noise=True) as rand_face:
            if list(face.motor_names) != models.motor_names:
                raise ValueError(f"simulated motors {face.motor_names} differ from the model's {models.motor_names}")
            rand_cmds = iter(random_commands(1 << 16, len(face.motor_names), seed))
            for k, (name, rgb) in enumerate(tqdm(frames, desc="mimic", unit="frame", disable=not progress)):
                human = human_det.detect(rgb, timestamp_ms=int(round(k * 1000 / fps)))
                names = names or (sorted(human.blendshapes) if human is not None and human.blendshapes else None)
                target = norm(None if human is None else human.subset53, k / fps)
                run.names.append(name)
                if target is None:
                    nan = np.full((53, 2), np.nan, np.float32)
                    run.target.append(nan), run.robot.append(nan), run.random_robot.append(nan)
                    run.commands.append(np.full(len(models.motor_names), np.nan, np.float32))
                    run.human_blendshapes.append(np.full(52, np.nan, np.float32))
                    run.robot_blendshapes.append(np.full(52, np.nan, np.float32))
                    continue
                cmd = models.commands(models.self_image(target), continuous)
                robot, robot_face = _execute(face, cmd, robot_det)
                rand, _ = _execute(rand_face, next(rand_cmds), robot_det)
                run.target.append(model_to_robot(crop, target).astype(np.float32))
                run.robot.append(robot), run.random_robot.append(rand), run.commands.append(cmd)
                run.human_blendshapes.append(_blend_vector(human, names or []))
                run.robot_blendshapes.append(_blend_vector(robot_face, names or []))
    finally:
        human_det.close()
        robot_det.close()
    return run


def _execute(face, command, detector):
    """Sends ``command``, lets the servos settle, and detects (53, 2) robot-frame landmarks (NaN: no face)."""
    face.send_action(command)
    face.settle()
    img = face.render()
    found = detector.detect(img)
    if found is None:
        return np.full((53, 2), np.nan, np.float32), None
    return M.to_robot_frame(found.subset53, (img.shape[1], img.shape[0])).astype(np.float32), found


def summarize(run: MimicRun) -> dict:
    """The JSON: frames, faces_found, execution landmark distances (pipeline vs random), blendshape agreement."""
    a = run.arrays()
    n = len(run.names)
    faces = int(np.isfinite(a["target_landmarks"]).all(axis=(1, 2)).sum()) if n else 0

    def row(found):
        d = M.landmark_distance(found, a["target_landmarks"]) if n else np.zeros(0)
        ok = np.isfinite(d)
        return {"landmark_distance": float(d[ok].mean()) if ok.any() else float("nan"),
                "robot_face_found": float(ok.sum() / max(faces, 1))}

    out = {"frames": n, "faces_found": faces,
           "execution": {"pipeline": row(a["robot_landmarks"]), "random": row(a["random_robot_landmarks"])}}
    hb, rb = a["human_blendshapes"], a["robot_blendshapes"]
    if n and hb.size and np.isfinite(hb).any():
        ok = np.isfinite(hb).all(axis=1) & np.isfinite(rb).all(axis=1)
        if ok.sum() > 2:
            corr = [np.corrcoef(hb[ok, j], rb[ok, j])[0, 1] for j in range(hb.shape[1])
                    if hb[ok, j].std() > 0.02 and rb[ok, j].std() > 0.02]  # blendshapes that move in both
            out["blendshapes"] = {"moving": len(corr), "mean_correlation": float(np.mean(corr)) if corr else float("nan")}
    return out
