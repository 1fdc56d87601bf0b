"""Evaluate trained models as the paper does: Tables I-III with every baseline, and pipeline execution.

Reads the checkpoints ``DIR/{generator,inverse,landmark-to-motor,inverse-ri100}/seed<s>/best.pt``
for seeds 0..N-1 and evaluates them on the data's test split (``--all``: every sample,
for data never trained on). Prints Table I (GM vs RS), Table II (IM vs RI, RI-100),
Table III (the two-stage pipeline and its baselines) and the execution of the predicted
commands on the simulated face (Fig. 6), each as "mean ± se" over seeds; ``--json``
writes them for machines. Landmark distances are in 480x320 robot-camera pixels.
"""
from __future__ import annotations

import json
import math
from pathlib import Path


def add_arguments(p) -> None:
    from eva.paths import shipped_checkpoints  # not eva.learning: `eva` must start without torch (the Pi)

    p.add_argument("--data", required=True, help="babbling export or bag directory to evaluate on")
    p.add_argument("--checkpoints", default=str(shipped_checkpoints()),
                   help="checkpoint root, layout <role>/seed<k>/best.pt (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 to evaluate (default: 3)")
    p.add_argument("--json", metavar="OUT.json", help="write the tables and run details as JSON")
    p.add_argument("--all", action="store_true", help="every sample with a face, not the test split")
    p.add_argument("--limit", type=int, help="evaluate only the first N samples (faster)")
    p.add_argument("--no-execution", action="store_true", help="skip executing commands on the simulated face")
    p.add_argument("--reference", help="data whose train split is the NN database and RS pool "
                                       "(default: --data; with --all the generator's training data)")
    p.add_argument("--cache-dir", help="where a bag is exported once (default: beside the bag)")
    p.add_argument("--device", default="cpu", help="torch device of the models (default: cpu)")
    p.add_argument("--generator-runtime", default="torch", choices=["torch", "onnxruntime", "onnxruntime-int8"],
                   help="run G as the mimicry graph can: torch, ONNX Runtime, or ONNX Runtime int8 (default: torch)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from eva.learning.evaluate import EvalConfig, evaluate, format_tables

    if not Path(args.data).exists():
        raise FileNotFoundError(f"--data {args.data}: no such file or directory")
    cfg = EvalConfig(data=args.data, checkpoints=args.checkpoints, seeds=args.seeds, all_samples=args.all,
                     limit=args.limit, execution=not args.no_execution, reference=args.reference,
                     cache_dir=args.cache_dir, device=args.device, progress=not args.no_progress,
                     generator_runtime=args.generator_runtime)
    result = evaluate(cfg)  # CheckpointError is a RuntimeError: `eva` prints it as one line
    meta = result["meta"]
    print(format_tables(result))
    n_seeds = len(meta["seeds"])
    print(f"\n{meta['n_samples']} {meta['split']} samples x {n_seeds} seed{'s' * (n_seeds != 1)}, "
          f"{meta['detections']} landmark detections, {meta['wall_time_s']:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_finite(result), indent=2, allow_nan=False))
        print(f"wrote {args.json}")
    return 0


def _finite(obj):
    """NaN/inf (e.g. no face found on any image) -> null, so the file is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
