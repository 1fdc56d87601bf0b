"""Train a model on babbling data: generator, inverse model, or the landmark-to-motor / direct baselines.

``eva train {generator,inverse,landmark-to-motor} --data BAG_OR_EXPORT --out DIR``
writes DIR/best.pt (best on validation), DIR/last.pt, DIR/log.csv, DIR/log.json and
DIR/loss.png. Hyper-parameters come from a preset of config/learning.yaml (``paper``:
the paper's, for a GPU; ``default``: a 2-core CPU in about an hour; ``ci``: seconds);
the flags override them. Rerunning the same command resumes from DIR/last.pt.
``direct`` (MediaPipe blendshapes -> commands by ridge regression, a baseline beside
the paper's two stages) writes DIR/direct.npz, fitted on ``--samples`` train images;
``nn`` writes DIR/nn_database.npz, the NN baselines' database (the train split's
robot landmarks and commands, a few MB), which ``eva eval --all`` uses when the
training data is not at hand; ``prior`` writes DIR/expression_prior.npz, the
normalizer's expression prior (MediaPipe's blendshapes -> the robot's landmark
displacement, fitted on ``--samples`` train images; ``eva.learning.prior``).
"""
from __future__ import annotations

import json
from dataclasses import asdict


def add_arguments(p) -> None:
    p.add_argument("kind", choices=["generator", "inverse", "landmark-to-motor", "direct", "nn", "prior"], help="model to train")
    p.add_argument("--data", required=True, help="babbling export directory or bag directory")
    p.add_argument("--out", required=True, help="run directory (checkpoints, logs); rerun to resume")
    p.add_argument("--preset", default="default", help="preset of config/learning.yaml: paper, default, ci")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--lr", type=float, help="override the preset's Adam learning rate")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="override the device (auto: CUDA if present)")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--max-iters", type=int, help="stop after N optimiser steps (RI-100 baseline: 100; 0: untrained)")
    p.add_argument("--time-limit", type=float, metavar="MIN",
                   help="stop after MIN minutes of training (validates, keeps the best; rerun to continue)")
    p.add_argument("--on-generated", metavar="GENERATOR.pt",
                   help="inverse only: train on this generator's images of the landmarks (what F sees in the pipeline)")
    p.add_argument("--threads", type=int, help="torch CPU threads (0: all cores)")
    p.add_argument("--cache-dir", help="where bag exports and resized images are cached (default: beside the data)")
    p.add_argument("--samples", type=int, default=3000,
                   help="direct and prior only: train images whose blendshapes it is fitted on (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")


def configs(args):
    """(model config, train config) of the preset with the command-line overrides applied."""
    from eva.learning.config import TrainConfig, build_config, preset_configs

    model_cfg, train_cfg = preset_configs(args.preset, args.kind)
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "device": args.device,
                 "seed": args.seed, "max_iters": args.max_iters, "num_threads": args.threads}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return model_cfg, build_config(TrainConfig, {**asdict(train_cfg), **overrides}, "command line")


def run_direct(args) -> int:
    from pathlib import Path

    from eva.learning.direct import fit_from_export

    out = Path(args.out) / "direct.npz"
    model = fit_from_export(args.data, out, samples=args.samples, seed=args.seed or 0, progress=not args.no_progress)
    print(f"direct: fitted on {model.samples} babbling images; validation level accuracy {model.val_accuracy:.1f} %; "
          f"wrote {out}")
    return 0


def run_nn(args) -> int:
    from pathlib import Path

    from eva.learning.baselines import save_nn_database
    from eva.learning.data import BabblingData
    from eva.learning.evaluate import nn_from_train_split

    data = BabblingData.open(args.data, args.cache_dir, progress=not args.no_progress)
    nn = nn_from_train_split(data)
    out = save_nn_database(Path(args.out) / "nn_database.npz", nn.landmarks, nn.commands, data.motor_names,
                           str(data.root))
    print(f"nn: {len(nn.commands)} train samples with a face; wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_prior(args) -> int:
    from pathlib import Path

    from eva.learning.prior import fit_from_export

    out = Path(args.out) / "expression_prior.npz"
    prior = fit_from_export(args.data, out, samples=args.samples, seed=args.seed or 0, progress=not args.no_progress)
    fit = ", ".join(f"{r} {v:.2f}" for r, v in (prior.r2 or {}).items())
    print(f"prior: fitted on {prior.samples} babbling images; validation R^2 per region: {fit}; wrote {out}")
    return 0


def run(args) -> int:
    from eva.learning.train import train

    if args.kind == "direct":
        return run_direct(args)
    if args.kind == "prior":
        return run_prior(args)
    if args.kind == "nn":
        return run_nn(args)
    model_cfg, train_cfg = configs(args)
    summary = train(args.kind, args.data, args.out, model_cfg, train_cfg, preset=args.preset,
                    cache_dir=args.cache_dir, progress=not args.no_progress,
                    log=(lambda *_: None) if args.json else print,
                    time_limit_s=None if args.time_limit is None else 60 * args.time_limit,
                    on_generated=args.on_generated)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    return 0
