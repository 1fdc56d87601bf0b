"""``eva mimic-eval``: the mimicry pipeline on a human clip, executed on the simulated face.

Per frame: MediaPipe on the human frame -> the paper's 53 landmarks -> the
normalizer (robot model px) -> G -> F -> commands; the commands are sent to the
simulated face, which settles, and MediaPipe finds the robot's landmarks in its
camera image.

Two scores. ``fidelity`` measures the robot against the human: MediaPipe's
blendshapes on the human frame and on the executed robot face, per expression
group (:mod:`eva.core.fidelity`), next to a robot held at rest and random commands
(one per frame, seeded), each executed and read the same way. ``target_relative``
is the paper's landmark distance (Frobenius norm / 53, in 480x320 robot-frame px)
between the executed robot face and the normalizer's own target: it says how well
G and F reach what the normalizer asked for, not whether that looks like the human.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from eva.core.fidelity import BLENDSHAPE_NAMES, GROUPS, blendshape_vector, fidelity, group_values, mean_defined
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
    robot_blendshapes: list = field(default_factory=list)  # (52,) the executed pipeline commands
    rest_blendshapes: list = field(default_factory=list)   # (52,) the robot held at rest
    random_blendshapes: list = field(default_factory=list)  # (52,) random commands
    blendshape_names: list = field(default_factory=list)   # the 52 names, column order
    fps: float = 10.0

    def arrays(self) -> dict:
        """The per-frame NPZ content."""
        f32 = lambda rows: np.array(rows, np.float32)  # noqa: E731
        return {"frame_names": np.array(self.names), "target_landmarks": f32(self.target),
                "robot_landmarks": f32(self.robot), "random_robot_landmarks": f32(self.random_robot),
                "commands": f32(self.commands), "human_blendshapes": f32(self.human_blendshapes),
                "robot_blendshapes": f32(self.robot_blendshapes), "rest_blendshapes": f32(self.rest_blendshapes),
                "random_blendshapes": f32(self.random_blendshapes),
                "blendshape_names": np.array(self.blendshape_names), "fps": np.float32(self.fps)}


def run_mimic(frames, models: MimicModels, fps: float, normalizer: NormalizerConfig | None = None,
              continuous: bool = True, seed: int = 0, progress: bool = True, human_ranges_file=None,
              direct=None) -> MimicRun:
    """Runs the pipeline on ``frames`` (iterable of (name, RGB)) and executes it on the simulated face.

    ``direct``: a :class:`eva.learning.direct.DirectModel`; the commands then come from
    the human's blendshapes directly instead of G and F (the target is still computed).

    Beside the pipeline's face, a second simulated face executes random commands and
    a third stays at rest (camera noise on all three), so the baselines are read by
    the same detector on the same kind of image.
    """
    from eva.perception.detector import FaceDetector
    from eva.sim.face import SimFace

    norm = models.normalizer(normalizer, human_ranges_file)
    crop = face_crop(models.generator)
    run = MimicRun(blendshape_names=list(BLENDSHAPE_NAMES), fps=float(fps))
    human_det = FaceDetector(running_mode="video", max_faces=2, blendshapes=True)
    robot_det = FaceDetector(running_mode="image", blendshapes=True)
    nan_blend = blendshape_vector(None)
    try:
        with SimFace(seed=seed, noise=True) as face, SimFace(seed=seed + 1, noise=True) as rand_face, \
                SimFace(seed=seed + 2, noise=True) as rest_face:
            if list(face.motor_names) != models.motor_names:
                raise ValueError(f"simulated motors {face.motor_names} differ from the model's {models.motor_names}")
            rand_cmds = iter(random_commands(1 << 16, len(face.motor_names), seed))
            for k, (name, rgb) in enumerate(tqdm(frames, desc="mimic", unit="frame", disable=not progress)):
                human = human_det.detect(rgb, timestamp_ms=int(round(k * 1000 / fps)))
                human_blend = blendshape_vector(None if human is None else human.blendshapes)
                target = norm(None if human is None else human.subset53, k / fps, blendshapes=human_blend)
                run.names.append(name)
                if target is None:
                    nan = np.full((53, 2), np.nan, np.float32)
                    run.target.append(nan), run.robot.append(nan), run.random_robot.append(nan)
                    run.commands.append(np.full(len(models.motor_names), np.nan, np.float32))
                    for rows in (run.human_blendshapes, run.robot_blendshapes, run.rest_blendshapes,
                                 run.random_blendshapes):
                        rows.append(nan_blend)
                    continue
                if direct is not None:
                    cmd = direct.predict(human_blend)
                else:
                    cmd = models.commands(models.self_image(target), continuous)
                robot, robot_face = _execute(face, cmd, robot_det)
                rand, rand_found = _execute(rand_face, next(rand_cmds), robot_det)
                _, rest_found = _execute(rest_face, rest_face.neutral(), robot_det)
                run.target.append(model_to_robot(crop, target).astype(np.float32))
                run.robot.append(robot), run.random_robot.append(rand), run.commands.append(cmd)
                run.human_blendshapes.append(human_blend)
                run.robot_blendshapes.append(blendshape_vector(None if robot_face is None else robot_face.blendshapes))
                run.random_blendshapes.append(blendshape_vector(None if rand_found is None else rand_found.blendshapes))
                run.rest_blendshapes.append(blendshape_vector(None if rest_found is None else rest_found.blendshapes))
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
    """The JSON: frames, faces found, ``fidelity`` (robot vs human) and ``target_relative`` (robot vs target)."""
    a = run.arrays()
    n = len(run.names)
    faces = int(np.isfinite(a["target_landmarks"]).all(axis=(1, 2)).sum()) if n else 0

    def row(found):
        d = M.landmark_distance(found, a["target_landmarks"]) if n else np.zeros(0)
        ok = np.isfinite(d)
        return {"landmark_distance": float(d[ok].mean()) if ok.any() else float("nan"),
                "robot_face_found": float(ok.sum() / max(faces, 1))}

    out = {"frames": n, "faces_found": faces}
    if n:
        out["fidelity"] = fidelity(a["human_blendshapes"], {"robot": a["robot_blendshapes"],
                                                            "rest": a["rest_blendshapes"],
                                                            "random": a["random_blendshapes"]},
                                   run.blendshape_names)
    out["target_relative"] = {"pipeline": row(a["robot_landmarks"]), "random": row(a["random_robot_landmarks"])}
    return out


def mean_over_clips(summaries: list[dict]) -> dict:
    """The fidelity of several clips' summaries, averaged clip by clip (groups and overall, each label).

    A group's correlation is averaged over the clips where the human moves it; its
    ``human_moves`` is true when the human moves it in any clip.
    """
    fids = [s["fidelity"] for s in summaries if "fidelity" in s]
    if not fids:
        return {}

    labels = list(fids[0]["overall"])
    figures = ("correlation", "level_difference")
    groups = {g: {"human_moves": any(f["groups"][g]["human_moves"] for f in fids),
                  "human_std": mean_defined(f["groups"][g]["human_std"] for f in fids),
                  **{k: {m: mean_defined(f["groups"][g][k][m] for f in fids) for m in figures} for k in labels}}
              for g in fids[0]["groups"]}
    overall = {k: {m: mean_defined(f["overall"][k][m] for f in fids) for m in figures} for k in labels}
    faces = sum(s["faces_found"] for s in summaries)
    return {"groups": groups, "overall": overall, "clips": len(fids), "frames": sum(s["frames"] for s in summaries),
            "faces_found": faces}


def plot_fidelity(run: MimicRun, path) -> None:
    """Draws the human's and the robot's (and the resting robot's) value of each expression group over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = run.arrays()
    names = run.blendshape_names
    series = {k: group_values(a[k], names) for k in ("human_blendshapes", "robot_blendshapes", "rest_blendshapes")}
    t = np.arange(len(run.names)) / run.fps
    fig, axes = plt.subplots(len(GROUPS), 1, figsize=(10, 1.7 * len(GROUPS)), sharex=True)
    for j, (group, ax) in enumerate(zip(GROUPS, np.atleast_1d(axes))):
        ax.plot(t, series["human_blendshapes"][:, j], color="tab:blue", lw=1.2, label="human")
        ax.plot(t, series["robot_blendshapes"][:, j], color="tab:red", lw=1.2, label="robot")
        ax.plot(t, series["rest_blendshapes"][:, j], color="0.6", lw=0.8, ls="--", label="robot at rest")
        ax.set_ylabel(group.replace("_", " "), fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(loc="upper right", fontsize=7, ncol=3)
    np.atleast_1d(axes)[-1].set_xlabel("clip time (s)")
    fig.suptitle("MediaPipe blendshapes per expression group: human vs executed robot", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
