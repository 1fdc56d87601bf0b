"""Calibrate the human landmark ranges of the paper's min-max normalization (IV-B) from a clip or images.

Detects the face in every frame, aligns it onto the robot's neutral face (head
pose and size removed, as the normalizer does), and writes the per-landmark 1st
and 99th percentiles as an .npz for the normalizer's ``human_ranges`` parameter
(``eva demo/mimic-eval --human-ranges``). Use a clip of the user (or of many
people) going through the expressions the robot should copy.
"""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--input", required=True, help="video file, image or folder of images of human faces")
    p.add_argument("--out", required=True, help="ranges file to write (.npz)")
    p.add_argument("--checkpoints", help="checkpoint root (default: the shipped ones); its generator gives the frame")
    p.add_argument("--seed", type=int, default=0, help="which seed's generator (default: 0)")
    p.add_argument("--no-align", action="store_true", help="ranges in camera px (normalizer align: false)")
    p.add_argument("--max-frames", type=int, help="only the first N frames")


def run(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from eva.core.normalize import NormalizerConfig, human_ranges
    from eva.learning.checkpoint import load_checkpoint
    from eva.learning.mimic import checkpoint_path, make_normalizer, save_human_ranges
    from eva.perception.detector import FaceDetector
    from eva.perception.sources import iter_frames

    gen = load_checkpoint(checkpoint_path(args.checkpoints, "generator", args.seed))
    norm = make_normalizer(gen, NormalizerConfig(align=not args.no_align))
    found = []
    with FaceDetector(running_mode="image", max_faces=2, blendshapes=False) as det:
        for _, rgb in tqdm(iter_frames(args.input, args.max_frames), desc="calibrate", unit="frame"):
            face = det.detect(rgb)
            if face is not None:
                found.append(norm.human_frame(face.subset53))
    if len(found) < 10:
        raise ValueError(f"{args.input}: a face in only {len(found)} frames; calibration needs at least 10")
    lo, hi = human_ranges(np.stack(found))
    path = save_human_ranges(args.out, lo, hi, aligned=not args.no_align, frames=len(found))
    print(f"{len(found)} faces; ranges written to {path}")
    return 0
