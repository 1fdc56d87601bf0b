"""Training loop for the generator, the inverse model and the landmark-to-motor baseline.

``train()`` writes into one run directory: ``best.pt`` (best on validation), ``last.pt``
(for resuming: weights, optimiser, epoch, history), ``log.csv``, ``log.json`` and
``loss.png``. Running it again on the same directory resumes from ``last.pt``; a
finished run says so and returns. Batch order and dropout are seeded per epoch from
``seed``, so a resumed run continues exactly as an uninterrupted one (on the CPU).
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eva import MOTOR_COMMAND_LEVELS
from eva.learning.checkpoint import load_checkpoint, save_checkpoint
from eva.learning.config import TrainConfig, check_kind
from eva.learning.data import BabblingData, Prepared, get_batch, prepare
from eva.learning.models import build_model, num_params

# TrainConfig fields a resumed run may change; any other change needs a new run directory.
RESUMABLE_CHANGES = ("epochs", "max_iters", "device", "num_threads", "val_every")


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" without CUDA raises ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch finds no CUDA device")
    return torch.device(name)


def lr_at(it: int, total: int, cfg: TrainConfig) -> float:
    """Learning rate of step ``it`` of ``total``: constant, or cosine from lr to lr * min_lr_ratio."""
    if cfg.lr_schedule == "constant" or total <= 1:
        return cfg.lr
    t = min(it / (total - 1), 1.0)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def evaluate(model, prep: Prepared, split: str, device, batch_size: int = 256) -> dict:
    """Metrics on a split: generator {"mse"}; classifiers {"loss", "acc", "exact", "mae"}.

    ``acc`` is the per-motor command accuracy (paper Tab. II), ``exact`` the fraction of
    samples with all motors right, ``mae`` the mean |level error| in command units.
    """
    was_training = model.training
    model.eval()
    idx = np.sort(prep.splits[split])
    sums, n = {}, 0
    for start in range(0, len(idx), batch_size):
        batch = get_batch(prep, idx[start:start + batch_size], device)
        out, loss = model(*batch)
        b = len(batch[0])
        if prep.kind == "generator":
            part = {"mse": torch.mean((out - batch[2]) ** 2).item()}
        else:
            pred, labels = out.argmax(-1), batch[-1]
            step = MOTOR_COMMAND_LEVELS[1] - MOTOR_COMMAND_LEVELS[0]
            part = {"loss": loss.item(), "acc": (pred == labels).float().mean().item(),
                    "exact": (pred == labels).all(-1).float().mean().item(),
                    "mae": ((pred - labels).abs().float().mean() * step).item()}
        for k, v in part.items():
            sums[k] = sums.get(k, 0.0) + v * b
        n += b
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in sums.items()}


def _better(kind: str, metrics: dict, best: dict | None) -> bool:
    if best is None:
        return True
    if kind == "generator":
        return metrics["mse"] < best["mse"]
    return (metrics["acc"], -metrics["loss"]) > (best["acc"], -best["loss"])  # ties: lower loss


def _meta(prep: Prepared, data: BabblingData, extra: dict) -> dict:
    lo, hi = prep.ranges
    return {"motor_names": prep.motor_names, "levels": list(MOTOR_COMMAND_LEVELS), "crop": prep.crop.to_dict(),
            "landmark_ranges": np.stack([lo, hi]).astype(np.float32), "static_image": prep.static,
            "static_landmarks": prep.l53[prep.static_index].astype(np.float32),  # robot neutral, model px
            "static_index": prep.static_index, "data": str(data.root), "num_samples": len(data),
            "dropped_no_face": prep.dropped, **extra}


def _resume(out: Path, kind: str, model_cfg, train_cfg: TrainConfig):
    """(model, optimiser state, progress) from last.pt, or None for a fresh run."""
    last = out / "last.pt"
    if not last.exists():
        return None
    loaded = load_checkpoint(last)
    if loaded.kind != kind or loaded.model_config != model_cfg:
        raise ValueError(f"{out} holds a {loaded.kind} run with another model config "
                         f"({loaded.model_config}); use another --out")
    before = {k: v for k, v in asdict(loaded.train_config).items() if k not in RESUMABLE_CHANGES}
    now = {k: v for k, v in asdict(train_cfg).items() if k not in RESUMABLE_CHANGES}
    if before != now:
        diff = sorted(k for k in now if before.get(k) != now[k])
        raise ValueError(f"{out} holds a run trained with other settings ({', '.join(diff)}); use another --out")
    return loaded


def _write_logs(out: Path, history: list[dict], summary: dict) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(out / "log.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    (out / "log.json").write_text(json.dumps({**summary, "history": history}, indent=2))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [np.nan if r["train_loss"] is None else r["train_loss"] for r in history], label="train loss")
    val = [(r["epoch"], r.get("val_loss", r.get("val_mse"))) for r in history if "val_loss" in r or "val_mse" in r]
    if val:
        ax.plot(*zip(*val), "o-", label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE" if summary["kind"] == "generator" else "sum of CE over motors")
    ax.set_yscale("log")
    ax.set_title(f"{summary['kind']} ({summary['preset']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)


def train(kind: str, data_path, out_dir, model_cfg, train_cfg: TrainConfig, *, preset: str = "custom",
          cache_dir=None, progress: bool = True, log=print, time_limit_s: float | None = None,
          on_generated=None) -> dict:
    """Trains one model (or resumes it) and returns the run summary (also in log.json).

    Args:
        kind: "generator", "inverse" or "landmark-to-motor".
        data_path: Babbling export or bag directory.
        out_dir: Run directory (created): best.pt, last.pt, log.csv, log.json, loss.png.
        model_cfg: GeneratorConfig / InverseConfig (in_channels 2 for landmark-to-motor).
        train_cfg: TrainConfig.
        preset: Name recorded in the logs.
        cache_dir: Where exports of bags and model-size images are cached (default: beside the data).
        progress: tqdm bars on stderr.
        log: Where one-line messages go.
        time_limit_s: Stop at the first optimiser step after this many seconds of this call
            (the epoch in progress ends there), validate, and finish as usual (best.pt, test
            metrics, ``stopped: "time limit"``); running again continues with the next epoch.
        on_generated: Inverse models only: a generator checkpoint. F then trains (and is
            validated and tested) on G's images of each sample's landmarks instead of the
            camera images: what F sees in the two-stage pipeline.
    """
    if time_limit_s is not None and not time_limit_s >= 0:
        raise ValueError(f"time_limit_s: must be >= 0 seconds, got {time_limit_s!r}")
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    check_kind(kind)
    want = 3 if kind == "inverse" else 2
    if kind != "generator" and model_cfg.in_channels != want:
        raise ValueError(f"{kind} needs model in_channels={want}, got {model_cfg.in_channels}")
    out = Path(out_dir)
    device = resolve_device(train_cfg.device)
    torch.set_num_threads(train_cfg.num_threads or os.cpu_count() or 1)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels
    resumed = _resume(out, kind, model_cfg, train_cfg)
    data = BabblingData.open(data_path, cache_dir, progress=progress)
    prep = prepare(data, kind, model_cfg, train_cfg.crop_margin, progress)
    source = None
    if on_generated is not None:
        if kind != "inverse":
            raise ValueError(f"on_generated trains an inverse model on G's images, not a {kind}")
        prep, source = _on_generated(prep, data, on_generated, progress)
    if resumed is not None and (resumed.meta.get("trained_on") or {}).get("sha1") != (source or {}).get("sha1"):
        raise ValueError(f"{out} was trained on {resumed.meta.get('trained_on') or 'camera images'}, "
                         f"not {source or 'camera images'}; use another --out")
    if resumed is not None and resumed.meta["crop"] != prep.crop.to_dict():
        raise ValueError(f"{out} was trained on data with another face crop ({resumed.meta['crop']}); "
                         "use another --out")
    n_train, bs = len(prep.splits["train"]), train_cfg.batch_size
    if n_train == 0 or not len(prep.splits["val"]):
        raise ValueError(f"{data.root}: train or val split has no usable sample (dropped for no face: {prep.dropped})")
    per_epoch = max(n_train // bs, 1)  # drop the last partial batch (BatchNorm dislikes tiny batches)
    total = train_cfg.epochs * per_epoch if train_cfg.max_iters is None else min(train_cfg.max_iters,
                                                                                  train_cfg.epochs * per_epoch)
    n_epochs = max(1, math.ceil(total / per_epoch))
    torch.manual_seed(train_cfg.seed)
    model = build_model(kind, model_cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    state = {"epoch": 0, "iter": 0, "best": None, "history": [], "seconds": 0.0}
    if resumed is not None:
        model.load_state_dict(resumed.model.state_dict())
        opt.load_state_dict(resumed.train_state["optimizer"])
        state = {k: resumed.train_state[k] for k in state}
    summary = {"kind": kind, "preset": preset, "data": str(data.root), "params": num_params(model),
               "device": str(device), "threads": torch.get_num_threads(), "train_samples": n_train,
               "val_samples": len(prep.splits["val"]), "test_samples": len(prep.splits["test"]),
               "dropped_no_face": prep.dropped, "crop": prep.crop.to_dict(), "iters_per_epoch": per_epoch,
               "total_iters": total, "model_config": asdict(model_cfg), "train_config": asdict(train_cfg)}
    if resumed is not None and (state["epoch"] >= n_epochs or state["iter"] >= total):
        log(f"{out}: run already finished ({state['epoch']} epochs, {state['iter']} steps); nothing to do")
        return json.loads((out / "log.json").read_text()) if (out / "log.json").exists() else summary
    if any(prep.dropped.values()):
        log(f"dropped {sum(prep.dropped.values())} samples without a face ({prep.dropped})")
    log(f"{kind}: {num_params(model):,} params, {n_train} train samples, {per_epoch} steps/epoch, "
        f"device {device}, {torch.get_num_threads()} threads" + (f", resuming at epoch {state['epoch']}"
                                                                 if resumed is not None else ""))
    if kind == "generator":
        summary["val_static_mse"] = _static_mse(prep)  # copying I_s: the baseline G must beat
    meta_fixed = {"preset": preset, "params": num_params(model), "trained_on": source}
    summary["trained_on"] = source
    stopped = False
    for epoch in range(state["epoch"], n_epochs):
        t0 = time.perf_counter()
        perm = np.random.default_rng([train_cfg.seed, epoch]).permutation(prep.splits["train"])
        torch.manual_seed(train_cfg.seed * 100_003 + epoch)
        steps = min(per_epoch, total - state["iter"])
        losses = _run_epoch(model, opt, prep, perm, state, total, train_cfg, device,
                            desc=f"{kind} epoch {epoch + 1}/{n_epochs}", steps=steps, progress=progress,
                            deadline=deadline)
        timed_out = deadline is not None and time.perf_counter() >= deadline
        stopped = timed_out and (len(losses) < steps or (epoch < n_epochs - 1 and state["iter"] < total))
        row = {"epoch": epoch + 1, "iter": state["iter"], "lr": lr_at(max(state["iter"] - 1, 0), total, train_cfg),
               "train_loss": float(np.mean(losses)) if losses else None}
        last = epoch == n_epochs - 1 or state["iter"] >= total or timed_out
        if (epoch + 1) % train_cfg.val_every == 0 or last:
            metrics = evaluate(model, prep, "val", device)
            row.update({f"val_{k}": v for k, v in metrics.items()})
            if _better(kind, metrics, state["best"]):
                state["best"] = {"epoch": epoch + 1, **metrics}
                save_checkpoint(out / "best.pt", model, kind, model_cfg, train_cfg,
                                _meta(prep, data, {**meta_fixed, "epoch": epoch + 1, "best_val": state["best"]}))
        state["seconds"] += time.perf_counter() - t0
        row.update(seconds=time.perf_counter() - t0, elapsed_s=state["seconds"])
        state["history"].append(row)
        state["epoch"] = epoch + 1
        save_checkpoint(out / "last.pt", model, kind, model_cfg, train_cfg,
                        _meta(prep, data, {**meta_fixed, "epoch": epoch + 1, "best_val": state["best"]}),
                        train_state={**state, "optimizer": opt.state_dict()})
        log(_line(kind, row))
        _write_logs(out, state["history"], {**summary, "best_val": state["best"], "finished": False})
        if last:
            break
    best = load_checkpoint(out / "best.pt", device)
    summary.update(best_val=state["best"], test=evaluate(best.model, prep, "test", device),
                   train_seconds=state["seconds"], epochs_done=state["epoch"], iters_done=state["iter"], finished=True,
                   stopped="time limit" if stopped else None)
    _write_logs(out, state["history"], summary)
    summary["history"] = state["history"]
    if summary["stopped"]:
        log(f"stopped by the time limit after {state['iter']} of {total} steps; run again to continue")
    log(f"done: best val {_fmt(state['best'])}; test {_fmt(summary['test'])}; "
        f"{state['seconds'] / 60:.1f} min of training; checkpoints in {out}")
    return summary


def _run_epoch(model, opt, prep: Prepared, perm: np.ndarray, state: dict, total: int, cfg: TrainConfig, device,
               desc: str, steps: int, progress: bool, deadline: float | None = None) -> list[float]:
    """``steps`` optimiser steps over batches of ``perm`` (fewer once ``deadline`` passes); returns the losses."""
    model.train()
    losses, bs = [], cfg.batch_size
    bar = tqdm(range(steps), desc=desc, disable=not progress, file=sys.stderr, unit="step", leave=False)
    for b in bar:
        for g in opt.param_groups:
            g["lr"] = lr_at(state["iter"], total, cfg)
        _, loss = model(*get_batch(prep, perm[b * bs:(b + 1) * bs], device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["iter"] += 1
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4g}")
        if deadline is not None and time.perf_counter() >= deadline:
            break
    bar.close()
    return losses


def _on_generated(prep: Prepared, data: BabblingData, generator_path, progress: bool):
    """``prep`` with every image replaced by G's image of its landmarks (cached beside the data)."""
    import dataclasses

    from eva.learning.checkpoint import file_digest
    from eva.learning.predict import generate

    gen = load_checkpoint(generator_path, "cpu")
    if gen.kind != "generator":
        raise ValueError(f"{gen.path} holds a {gen.kind} model, not a generator")
    if gen.meta["crop"] != prep.crop.to_dict():
        raise ValueError(f"generator {gen.path} makes {gen.meta['crop']} images; this inverse model is trained "
                         f"on {prep.crop.to_dict()} (same image size and crop margin needed)")
    digest = file_digest(gen.path)
    has_face = np.asarray(data.face_found, bool)

    def make(start: int, stop: int) -> np.ndarray:
        out = np.repeat(prep.static[None], stop - start, axis=0)  # no face: G has no input (dropped below)
        face = np.arange(start, stop)[has_face[start:stop]]
        if len(face):
            out[face - start] = generate(gen, prep.l53[face], prep.conf53[face])
        return out

    images = data.cached_images(f"generated_{data.fingerprint()}_{digest}.npy", prep.crop.size, make,
                                "G's images", progress)
    splits = {name: data.split(name, face_only=True) for name in prep.splits}
    dropped = {name: len(data.splits[name]) - len(idx) for name, idx in splits.items()}
    source = {"generator": str(Path(gen.path).resolve()), "sha1": digest}
    return dataclasses.replace(prep, images=images, splits=splits, dropped=dropped), source


def _static_mse(prep: Prepared) -> float:
    static = prep.static.astype(np.float32) / 255
    idx = np.sort(prep.splits["val"])
    return float(np.mean([np.mean((prep.images[i].astype(np.float32) / 255 - static) ** 2) for i in idx]))


def _fmt(metrics: dict | None) -> str:
    if not metrics:
        return "-"
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def _line(kind: str, row: dict) -> str:
    vals = {k: v for k, v in row.items() if k.startswith("val_")}
    return (f"{kind} epoch {row['epoch']}: train loss {row['train_loss'] or float('nan'):.4g}"
            + (f", {_fmt(vals)}" if vals else "") + f" ({row['seconds']:.0f} s)")
