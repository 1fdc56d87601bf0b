"""Render the simulated Eva face for given motor values to a PNG.

Motors are given by name (``--set jaw=1 brow_up_left=0.5``; the rest stay 0) or
as a full vector (``--positions 0,0,...``). ``--landmarks`` draws what
MediaPipe finds on the render.
"""
from __future__ import annotations

import numpy as np


def add_arguments(p) -> None:
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="motor values in [0, 1]")
    p.add_argument("--positions", help="comma-separated values for all motors, in config order")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-noise", action="store_true", help="no camera noise or light jitter")
    p.add_argument("--landmarks", action="store_true", help="draw MediaPipe landmarks")
    p.add_argument("--config", help="sim face YAML (default config/sim_face.yaml)")


def parse_positions(names, assignments, vector) -> np.ndarray:
    """Motor vector from NAME=VALUE pairs or a comma-separated vector; errors name the bad item."""
    pos = np.zeros(len(names))
    if vector:
        vals = [float(v) for v in vector.split(",")]
        if len(vals) != len(names):
            raise ValueError(f"--positions has {len(vals)} values, the face has {len(names)} motors {list(names)}")
        pos[:] = vals
    for item in assignments:
        name, _, value = item.partition("=")
        if name not in names:
            raise ValueError(f"unknown motor {name!r}; motors: {', '.join(names)}")
        pos[list(names).index(name)] = float(value)
    if not np.isfinite(pos).all() or (pos < 0).any() or (pos > 1).any():
        raise ValueError(f"motor values must be in [0, 1], got {pos.tolist()}")
    return pos


def run(args) -> int:
    from eva.perception.draw import draw_landmarks, save_rgb
    from eva.sim.config import load_sim_config
    from eva.sim.face import SimFace

    face = SimFace(load_sim_config(args.config), seed=args.seed, noise=not args.no_noise)
    face.connect()
    face.send_action(parse_positions(face.motor_names, args.set, args.positions))
    face.settle()
    image = face.render()
    if args.landmarks:
        from eva.perception.detector import FaceDetector
        with FaceDetector() as det:
            found = det.detect(image)
        image = draw_landmarks(image, None if found is None else found.points)
        print("face found" if found is not None else "no face found")
    save_rgb(args.out, image)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")
    return 0
