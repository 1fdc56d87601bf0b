"""Motor babbling into a rosbag: random commands, robot images and robot landmarks.

``eva babble --sim --steps N --out BAG [--seed S]`` runs the babbler, the
simulated face, MediaPipe on the robot's camera and the bag recorder as ROS 2
nodes in simulated time (fast), with a progress bar and a final summary.

``eva babble --robot --steps N --out BAG --camera realsense --crop X,Y,W,H``
babbles a physical robot in real time: the servo bridge (on the robot's Pi, or
``--servo-bridge local``) executes each command slew-limited; once its
``joint_states`` report the face there and ``--settle-s`` has passed, the first
camera frame with a face is the step's image. Each recorded step holds the
command, the joint state the bridge reported, the image and its landmarks. A
missing bridge or camera is a clear error; a frame without a face is skipped and
the step tried again; nothing the camera took before the face settled is
recorded. ``--rest-every``/``--rest-s`` pause so MG90S servos cool down;
Ctrl-C stops commanding and the bridge takes the face to neutral.
``--robot sim`` is the same path on the simulated robot as deployed: a local
bridge on an emulated I2C bus moves the simulated face, filmed in real time.

Ctrl-C (or a kill) leaves a readable bag; ``--resume`` continues a bag, and an
existing bag is never overwritten. ``--contact-sheet PNG`` draws some recorded
steps with their landmarks.
"""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(p) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--sim", action="store_true", help="babble the simulated face in simulated time (fast)")
    which.add_argument("--robot", nargs="?", const="real", choices=("real", "sim"),
                       help="babble a robot in real time through the servo bridge and a robot camera; "
                            "'sim': the simulated robot as deployed (local bridge, emulated bus)")
    p.add_argument("--steps", type=int, required=True, help="babbling steps to capture in this run")
    p.add_argument("--out", required=True, help="bag directory (MCAP, rosbag2 metadata v9)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue an existing bag")
    p.add_argument("--no-noise", action="store_true", help="no camera noise or light jitter")
    p.add_argument("--config", default="", help="sim face YAML (default config/sim_face.yaml)")
    p.add_argument("--split-seconds", type=float, default=1.0, help="bag file roll interval (crash-loss bound)")
    p.add_argument("--image-size", help="robot camera WxH (default: config/sim_face.yaml, 480x320)")
    p.add_argument("--contact-sheet", help="PNG of robot images with their landmarks")
    r = p.add_argument_group("--robot")
    r.add_argument("--camera", default="realsense",
                   help="the camera filming the robot: realsense[:SERIAL], webcam[:N] or /dev/videoN")
    r.add_argument("--crop", default="", metavar="X,Y,W,H",
                   help="px of the camera frame around the robot's head (the paper: 480x320); default whole frames")
    r.add_argument("--settle-s", type=float, default=0.3,
                   help="skin settle time after the servos arrive, before a frame counts (default 0.3 s)")
    r.add_argument("--rest-every", type=int, default=0, help="rest after this many steps (0 = never)")
    r.add_argument("--rest-s", type=float, default=60.0, help="rest length in s (the face goes to neutral)")
    r.add_argument("--servo-bridge", choices=("auto", "pi", "local"), default="auto",
                   help="pi: the bridge runs on the robot's Pi (start it there first); local: start it here; "
                        "auto (default): pi for a real robot, local for --robot sim")
    r.add_argument("--servo-backend", choices=("pca9685", "fake", "sim"), default="pca9685",
                   help="with --servo-bridge local: the bridge's backend")


def run(args) -> int:
    from tqdm import tqdm

    from eva.cli.bag_export import parse_size
    from eva.ros.babble_graph import run_babbling

    if args.steps <= 0:
        raise ValueError(f"--steps must be positive, got {args.steps}")
    if args.robot:
        return _run_robot(args)
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


def _run_robot(args) -> int:
    from tqdm import tqdm

    from eva.cli.bag_export import parse_size
    from eva.core.crop import parse_crop
    from eva.data import bag_summary
    from eva.ros.babble_graph import run_robot_babbling

    parse_crop(args.crop)  # a bad crop is refused before anything starts
    width, height = parse_size(args.image_size) or (0, 0)
    with tqdm(total=args.steps, unit="step", desc="babbling", file=sys.stderr) as bar:
        summary = run_robot_babbling(
            args.out, args.steps, robot="real" if args.robot == "real" else "sim_realtime",
            progress=lambda n: bar.update(n - bar.n), seed=args.seed, resume=args.resume,
            noise=not args.no_noise, width=width, height=height, camera=args.camera, crop=args.crop,
            settle_s=args.settle_s, rest_every=args.rest_every, rest_s=args.rest_s,
            servo_bridge=args.servo_bridge, servo_backend=args.servo_backend,
            overrides={"recorder": {"split_seconds": args.split_seconds},
                       **({"sim_face": {"config_file": args.config}} if args.config else {})})
    if summary.error:
        print(f"eva babble: error: {summary.error}", file=sys.stderr)
    print(f"{'interrupted after' if summary.interrupted else 'recorded'} {summary.steps} steps in "
          f"{summary.seconds:.1f} s: {summary.steps_per_s:.2f} steps/s; {summary.given_up} attempts without a "
          f"face tried again, the face left its command {summary.departures} times before a frame was taken, "
          f"{summary.rests} rests")
    if Path(args.out, "metadata.yaml").exists():
        info = bag_summary(args.out)
        print(f"bag {args.out}: {info['steps']} steps in all, {info['bytes'] / 1e6:.1f} MB on disk")
        if args.contact_sheet and info["steps"]:
            write_contact_sheet(args.out, args.contact_sheet)
            print(f"wrote {args.contact_sheet}")
    return 1 if summary.error else 130 if summary.interrupted else 0


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
