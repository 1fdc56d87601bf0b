"""Run the mimicry pipeline on a human clip and execute it on the simulated face: how close does the robot get?

Per frame: landmarks of the human -> normalizer -> generator -> inverse model ->
commands, executed on the simulated face (servos settle). The JSON holds
``frames``, ``faces_found``, ``fidelity`` (MediaPipe's blendshapes read on the
human and on the executed robot, per expression group: correlation over time where
the human moves, and mean level difference, with a robot at rest and random
commands as baselines) and ``target_relative`` (the paper's landmark distance of the
executed face to the normalizer's own target, 480x320 robot-frame px per landmark).
``--per-frame`` writes the arrays per frame, ``--plot`` the groups over time.
"""
from __future__ import annotations

import json
from pathlib import Path


def add_pipeline_arguments(p) -> None:
    """Options shared by ``eva mimic-eval`` and ``eva demo``: models and normalization."""
    p.add_argument("--checkpoints", help="checkpoint root (<role>/seed<k>/best.pt); default: the shipped ones")
    p.add_argument("--seed", type=int, default=0, help="which seed's generator and inverse model (default: 0)")
    p.add_argument("--mode", choices=("retarget", "minmax", "neutral"), default="retarget",
                   help="normalizer: retarget (the user's neutral to the robot's rest, their range onto the robot's; "
                        "default), minmax (the paper's ranges) or neutral (displacement from the first frames)")
    p.add_argument("--human-ranges", help="calibrated human ranges (.npz); default: adaptive")
    p.add_argument("--discrete", action="store_true", help="argmax levels (paper) instead of expected levels")
    p.add_argument("--inverse-role", choices=("auto", "inverse", "inverse-on-generated"), default="auto",
                   help="F trained on G's images (auto: when the checkpoints have it) or the paper's F (inverse)")


def add_arguments(p) -> None:
    p.add_argument("--input", required=True, nargs="+",
                   help="video file, image or folder of images of a human face; several: each, then their mean")
    add_pipeline_arguments(p)
    p.add_argument("--json", metavar="OUT.json", help="write the summary as JSON")
    p.add_argument("--per-frame", metavar="OUT.npz", help="write per-frame landmarks, commands and blendshapes")
    p.add_argument("--plot", metavar="OUT.png", help="draw human and robot per expression group over time")
    p.add_argument("--pipeline", choices=("two-stage", "direct"), default="two-stage",
                   help="two-stage: normalizer -> G -> F (the paper); direct: the human's blendshapes -> commands "
                        "by the ridge baseline (eva train direct)")
    p.add_argument("--direct", metavar="DIRECT.npz",
                   help="direct model file (default: <checkpoints>/direct/seed<k>/direct.npz)")
    p.add_argument("--normalizer-param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a normalizer setting (config/mimic.yaml's names), e.g. neutral_pct=40; repeatable")
    p.add_argument("--max-frames", type=int, help="only the first N frames")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def input_fps(path, default: float = 10.0) -> float:
    """Frame rate of a video file (``default`` for images and folders, or when unknown)."""
    import cv2

    from eva.perception.sources import VIDEO_SUFFIXES
    if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
        return default
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return float(fps) if fps and fps > 0 else default


def normalizer_config(mode: str, overrides: list[str]):
    """A NormalizerConfig for ``mode`` with ``NAME=VALUE`` overrides (typed like the defaults).

    Raises:
        ValueError: an override is not NAME=VALUE, names no setting, or has a bad value.
    """
    from dataclasses import asdict

    from eva.core.normalize import NormalizerConfig

    values = asdict(NormalizerConfig(mode=mode))
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep or name not in values:
            raise ValueError(f"--normalizer-param {item!r}: expected NAME=VALUE with NAME one of {sorted(values)}")
        default = values[name]
        values[name] = (text.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)(text)
    return NormalizerConfig.from_dict(values)


def fidelity_table(fid: dict) -> str:
    """Human-robot fidelity per expression group, as a table for people."""
    def fmt(v):
        return "   -" if v is None else f"{v:5.2f}"

    labels = ("robot", "rest", "random")
    lines = ["fidelity (MediaPipe blendshapes, human vs executed robot): correlation where the human moves | "
             "mean level difference",
             f"{'group':<16}{'moves':>6}  " + " ".join(f"{k:>6}" for k in labels) + "  | "
             + " ".join(f"{k:>6}" for k in labels)]
    rows = [(g, "yes" if e["human_moves"] else "no", e) for g, e in fid["groups"].items()]
    rows.append(("overall", "", fid["overall"]))
    for group, moves, e in rows:
        lines.append(f"{group:<16}{moves:>6}  " + " ".join(f"{fmt(e[k]['correlation']):>6}" for k in labels)
                     + "  | " + " ".join(f"{fmt(e[k]['level_difference']):>6}" for k in labels))
    return "\n".join(lines)


def _load_direct(args, models):
    from eva.learning.direct import DirectModel
    from eva.learning.mimic import checkpoint_path

    path = args.direct or checkpoint_path(args.checkpoints, "direct", args.seed).with_name("direct.npz")
    direct = DirectModel.load(path)
    if direct.motor_names != models.motor_names:
        raise ValueError(f"{path}: motors {direct.motor_names} differ from the models' {models.motor_names}")
    return direct


def _print_summary(name: str, summary: dict) -> None:
    print(f"{name}: {summary['frames']} frames, human face in {summary['faces_found']}")
    if "fidelity" in summary:
        print(fidelity_table(summary["fidelity"]))
    tr = summary["target_relative"]
    print(f"target-relative landmark distance (executed robot vs the normalizer's target): pipeline "
          f"{tr['pipeline']['landmark_distance']:.3f}, random commands {tr['random']['landmark_distance']:.3f} "
          "(robot-frame px per landmark)")


def _write(path, what: str, write) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write(path)
    print(f"wrote {path} ({what})")


def run(args) -> int:
    import numpy as np

    from eva.learning.mimic import MimicModels
    from eva.learning.mimic_eval import mean_over_clips, plot_fidelity, run_mimic, summarize
    from eva.perception.sources import iter_frames

    if len(args.input) > 1 and (args.per_frame or args.plot):
        raise ValueError("--per-frame and --plot take one --input clip")
    models = MimicModels.load(args.checkpoints, args.seed, args.device, role=args.inverse_role)
    direct = _load_direct(args, models) if args.pipeline == "direct" else None
    summaries = {}
    for clip in args.input:
        result = run_mimic(iter_frames(clip, args.max_frames), models, input_fps(clip),
                           normalizer_config(args.mode, args.normalizer_param), continuous=not args.discrete,
                           seed=args.seed, progress=not args.no_progress, human_ranges_file=args.human_ranges,
                           direct=direct)
        key = str(clip) if str(clip) not in summaries else f"{clip}#{len(summaries)}"  # the same clip twice
        summaries[key] = summary = summarize(result)
        _print_summary(Path(clip).name, summary)
    if len(summaries) > 1:
        summary = {"clips": summaries, "mean_over_clips": mean_over_clips(list(summaries.values()))}
        print("mean over the clips:\n" + fidelity_table(summary["mean_over_clips"]))
    if args.json:
        _write(args.json, "summary", lambda p: Path(p).write_text(json.dumps(summary, indent=2)))
    if args.per_frame:
        _write(args.per_frame, "per frame", lambda p: np.savez_compressed(p, **result.arrays()))
    if args.plot:
        _write(args.plot, "plot", lambda p: plot_fidelity(result, p))
    return 0
