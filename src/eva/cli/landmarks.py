"""Detect face landmarks on an image, a folder of images or a video; print or save them.

Prints one line per frame (face found, head roll/pitch/yaw, top blendshapes).
``--out X.npz`` saves points (F, 478, 3), the paper's 53 (F, 53, 2), found (F,),
head rpy (F, 3) and blendshapes (F, 52); ``--draw DIR`` writes annotated PNGs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def add_arguments(p) -> None:
    p.add_argument("input", help="image, folder of images, or video")
    p.add_argument("--out", help="NPZ file for the landmarks")
    p.add_argument("--draw", help="folder for annotated PNGs")
    p.add_argument("--mode", choices=("image", "video"), default="image", help="MediaPipe running mode")
    p.add_argument("--model-path", help="face_landmarker.task (default: the verified cached model)")
    p.add_argument("--max-frames", type=int)
    p.add_argument("--quiet", action="store_true", help="no per-frame lines")


def run(args) -> int:
    from eva.perception.detector import FaceDetector
    from eva.perception.draw import draw_landmarks, save_rgb
    from eva.perception.sources import iter_frames

    rows = {"names": [], "points": [], "found": [], "rpy": [], "blend": []}
    blend_names: list[str] = []
    if args.draw:
        Path(args.draw).mkdir(parents=True, exist_ok=True)
    with FaceDetector(args.model_path, running_mode=args.mode) as det:
        for k, (name, rgb) in enumerate(iter_frames(args.input, args.max_frames)):
            face = det.detect(rgb, timestamp_ms=k * 33)
            rows["names"].append(name)
            rows["found"].append(face is not None)
            rows["points"].append(np.full((478, 3), np.nan, np.float32) if face is None else face.points)
            rpy = face.head_rpy if face is not None and face.head_rpy is not None else np.full(3, np.nan)
            rows["rpy"].append(rpy)
            if face is not None and face.blendshapes and not blend_names:
                blend_names = list(face.blendshapes)
            rows["blend"].append([face.blendshapes.get(b, np.nan) for b in blend_names] if face else None)
            if not args.quiet:
                print(_describe(name, face))
            if args.draw:
                save_rgb(Path(args.draw) / f"{Path(name).stem}.png",
                         draw_landmarks(rgb, None if face is None else face.points))
    found = np.array(rows["found"])
    print(f"{found.sum()}/{len(found)} frames with a face")
    if args.out:
        from eva.core.landmarks import paper53
        points = np.stack(rows["points"])
        blend = np.array([b if b is not None else [np.nan] * len(blend_names) for b in rows["blend"]], np.float32)
        np.savez_compressed(args.out, names=np.array(rows["names"]), points=points,
                            subset53=paper53(points)[..., :2], found=found, head_rpy=np.stack(rows["rpy"]),
                            blendshapes=blend, blendshape_names=np.array(blend_names))
        print(f"wrote {args.out}")
    return 0 if found.any() else 1


def _describe(name: str, face) -> str:
    if face is None:
        return f"{name}: no face"
    line = f"{name}: face, bbox {tuple(int(v) for v in face.bbox)}"
    if face.head_rpy is not None:
        line += " rpy(deg) " + " ".join(f"{v:+.1f}" for v in np.degrees(face.head_rpy))
    top = sorted(face.blendshapes.items(), key=lambda kv: -kv[1])[:3]
    if top:
        line += " | " + ", ".join(f"{k} {v:.2f}" for k, v in top)
    return line
