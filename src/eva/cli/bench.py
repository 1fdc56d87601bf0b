"""Benchmark the mimicry graph: latency from camera frame to motor command, per stage, fps and memory.

Runs the real node graph over DDS (one process per node, as ``eva launch mimic``)
on the bundled human clip played at ``--fps`` in a loop, once per configuration,
and listens to every stage: per-stage and end-to-end latency p50/p99 (from the
camera frame's stamp), sustained fps, frames that did not make it through,
latency drift (last third vs first third of the run: queueing shows as growth),
and the peak resident memory of the graph's processes. Configurations:
``shipped`` (the checkpoints in the repository, ONNX Runtime on the CPU, the
graph's defaults), ``shipped-int8`` (the generator quantized to 8 bits),
``shipped-fp32`` (no quantization), ``shipped-torch`` (the same models run by
torch) and ``paper`` (the paper's 480x320 architecture in torch, random weights:
timing only).
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

CONFIGS = ("shipped", "shipped-int8", "shipped-fp32", "shipped-torch", "paper")
DEFAULT_CONFIGS = ("shipped", "shipped-fp32", "shipped-torch", "paper")  # shipped: int8 by default


def add_arguments(p) -> None:
    p.add_argument("--json", metavar="OUT.json", help="write the results as JSON")
    p.add_argument("--frames", type=int, default=300, help="measured frames per configuration (default: 300)")
    p.add_argument("--warmup", type=int, default=30, help="frames left out at the start (default: 30)")
    p.add_argument("--fps", type=float, default=30.0, help="camera frame rate (default: 30)")
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="comma-separated, from: " + ", ".join(CONFIGS) + " (default: %(default)s)")
    p.add_argument("--input", help="human clip (default: the bundled one)")
    p.add_argument("--sim", action="store_true", help="also run the simulated robot: the servo bridge (emulated "
                   "bus) executes the commands and the simulated face follows; reports the bridge's latency")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")


def _checkpoints(config: str, tmp: Path) -> str:
    if config.startswith("shipped"):
        return ""
    from eva.learning.checkpoint import load_checkpoint
    from eva.learning.mimic import checkpoint_path
    from eva.learning.timing import make_timing_checkpoints
    return str(make_timing_checkpoints(config, load_checkpoint(checkpoint_path(None, "generator")), tmp / config))


def bench_config(config: str, args, source: str, tmp: Path) -> dict:
    """Runs the graph once for ``config`` and returns its measurements."""
    from eva.core.latency import pipeline_latency
    from eva.ros.graphs import MIMIC_ARGS, MIMIC_GRAPH, resolve
    from eva.ros.probe import PROBED, Probe
    from eva.ros.runner import run_graph

    values = dict(MIMIC_ARGS, camera=source, loop="true", fps=str(args.fps), device=args.device,
                  max_frames=str(args.warmup + args.frames), use_sim=str(args.sim).lower(),
                  checkpoints=_checkpoints(config, tmp), runtime="torch" if config in ("shipped-torch", "paper") else "auto")
    if config in ("shipped-int8", "shipped-fp32"):
        values["int8"] = str(config == "shipped-int8").lower()
    probe = Probe().start()
    try:
        result = run_graph(resolve(MIMIC_GRAPH, values), until="camera", until_grace_s=1.0)
    finally:
        probe.stop()
    if result.failed:
        raise RuntimeError(f"{config}: the graph failed ({', '.join(result.failed)})")
    out = pipeline_latency(probe.records, PROBED, skip_frames=args.warmup)
    out["peak_rss_mb"] = {"graph": round(probe.peak_rss_mb, 1),
                          **{k: round(v, 1) for k, v in sorted(probe.peak_rss_per_node_mb.items())}}
    if probe.bridge:  # --sim: the servo bridge executes the commands (its last 1 s report, 1000-command window)
        out["bridge"] = {k: float(probe.bridge[k]) for k in (
            "camera_to_bridge_p50_ms", "camera_to_bridge_p99_ms", "camera_to_pulse_p50_ms",
            "camera_to_pulse_p99_ms") if k in probe.bridge}
    return out


def _line(name: str, r: dict) -> str:
    e = r["end_to_end"]
    return (f"{name:<13} end-to-end p50 {e['p50_ms']:6.1f} ms  p99 {e['p99_ms']:6.1f} ms  {r['fps']:5.1f} fps  "
            f"{r['completed']}/{r['frames']} frames  drift {e['first_third_p50_ms']:.1f} -> "
            f"{e['last_third_p50_ms']:.1f} ms  graph RSS {r['peak_rss_mb']['graph']:.0f} MB")


def run(args) -> int:
    from eva.perception.clips import resolve as clip

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        raise ValueError(f"unknown --configs {unknown}; choose from {list(CONFIGS)}")
    source = str(Path(args.input).resolve()) if args.input else str(clip())
    results = {"fps_in": args.fps, "frames": args.frames, "warmup": args.warmup, "sim": args.sim, "configs": {}}
    with tempfile.TemporaryDirectory(prefix="eva-bench-") as tmp:
        for config in configs:
            results["configs"][config] = bench_config(config, args, source, Path(tmp))
    print()
    for name, r in results["configs"].items():
        print(_line(name, r))
        print(" " * 14 + "end-to-end p50 per tenth of the run, ms: "
              + " ".join(f"{v:.1f}" for v in r["end_to_end"]["window_p50_ms"]))
        print(" " * 14 + "per stage p50/p99 ms: " + ", ".join(
            f"{st} {v['p50_ms']:.1f}/{v['p99_ms']:.1f}" for st, v in r["stages"].items()))
        if r.get("bridge"):
            b = r["bridge"]
            print(" " * 14 + f"servo bridge: camera -> command arrives p50 {b['camera_to_bridge_p50_ms']:.1f} ms "
                  f"(p99 {b['camera_to_bridge_p99_ms']:.1f}), -> first pulse p50 {b['camera_to_pulse_p50_ms']:.1f} ms "
                  f"(p99 {b['camera_to_pulse_p99_ms']:.1f}): the bridge adds "
                  f"{b['camera_to_pulse_p50_ms'] - b['camera_to_bridge_p50_ms']:.1f} ms at p50 (its 50 Hz tick)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_finite(results), indent=2))
        print(f"wrote {args.json}")
    return 0


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
