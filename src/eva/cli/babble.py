"""Motor babbling into a rosbag: random commands, robot images and robot landmarks.

``eva babble --sim --steps N --out BAG [--seed S]`` runs the babbler, the
simulated face, MediaPipe on the robot's camera and the bag recorder as ROS 2
nodes, with a progress bar and a final summary. Ctrl-C (or a kill) leaves a
readable bag; ``--resume`` continues a bag, and an existing bag is never
overwritten. ``--contact-sheet PNG`` draws some recorded steps with their landmarks.
"""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("--sim", action="store_true", help="babble the simulated face (the only robot so far)")
    p.add_argument("--steps", type=int, required=True, help="babbling steps to capture in this run")
    p.add_argument("--out", required=True, help="bag directory (MCAP, rosbag2 metadata v9)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue an existing bag")
    p.add_argument("--no-noise", action="store_true", help="no camera noise or light jitter")
    p.add_argument("--config", default="", help="sim face YAML (default config/sim_face.yaml)")
    p.add_argument("--split-seconds", type=float, default=1.0, help="bag file roll interval (crash-loss bound)")
    p.add_argument("--image-size", help="robot camera WxH (default: config/sim_face.yaml, 480x320)")
    p.add_argument("--contact-sheet", help="PNG of robot images with their landmarks")


def run(args) -> int:
    from tqdm import tqdm

    from eva.cli.bag_export import parse_size
    from eva.ros.babble_graph import run_babbling

    if not args.sim:
        raise ValueError("only the simulated face can babble so far: pass --sim")
    if args.steps <= 0:
        raise ValueError(f"--steps must be positive, got {args.steps}")
    with tqdm(total=args.steps, unit="step", desc="babbling", file=sys.stderr) as bar:
        summary = run_babbling(args.out, args.steps, seed=args.seed, resume=args.resume,
                               noise=not args.no_noise, config_file=args.config,
                               split_seconds=args.split_seconds, image_size=parse_size(args.image_size),
                               progress=lambda n: bar.update(n - bar.n))
    from eva.data import bag_summary
    info = bag_summary(args.out)
    print(f"{'interrupted after' if summary.interrupted else 'captured'} {summary.steps} steps "
          f"(steps {summary.first_step}..{summary.first_step + summary.steps - 1}) in {summary.seconds:.1f} s: "
          f"{summary.steps_per_s:.1f} steps/s, face found in {100 * summary.detection_rate:.1f} %, "
          f"{summary.retries} retries; frame -> landmarks p50 {summary.latency_ms['p50']:.1f} ms, "
          f"p99 {summary.latency_ms['p99']:.1f} ms")
    print(f"bag {args.out}: {info['steps']} steps in all, {info['bytes'] / 1e6:.1f} MB on disk")
    if args.contact_sheet:
        write_contact_sheet(args.out, args.contact_sheet)
        print(f"wrote {args.contact_sheet}")
    return 130 if summary.interrupted else 0


def write_contact_sheet(bag: str, png: str, count: int = 12) -> None:
    """Draws ``count`` evenly spaced babbling steps of ``bag`` with their landmarks."""
    import numpy as np

    from eva.data import count_steps, read_babbling
    from eva.perception.draw import contact_sheet, draw_landmarks, save_rgb

    n = count_steps(bag)
    if n == 0:
        raise ValueError(f"bag {bag} has no complete babbling steps")
    picks = set(np.linspace(0, n - 1, min(count, n)).round().astype(int).tolist())
    tiles, labels = [], []
    for i, s in enumerate(read_babbling(bag)):  # streamed: a 16k-step bag is 7.5 GB of images
        if i in picks:
            tiles.append(draw_landmarks(s.image, s.landmarks))
            labels.append(f"#{i} " + " ".join(f"{v:g}" for v in s.command))
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    save_rgb(png, contact_sheet(tiles, labels))
