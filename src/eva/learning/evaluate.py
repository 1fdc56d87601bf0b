"""The paper's evaluation (V-C, V-D): Tables I-III with every baseline, and pipeline execution (Fig. 6).

Per seed s the checkpoints ``<root>/{generator,inverse,landmark-to-motor,inverse-ri100}/seed<s>/best.pt``
are evaluated on the test split (or every sample). On babbling data the inputs of
Table III are the robot's own test landmarks L_R,i (already robot space: no IV-B
normalization) and the targets are the commands A_i. Execution sends the predicted
commands to the simulated face (noise on), detects landmarks on what the camera sees
and compares them with the target landmarks. Per-sample values are averaged per seed;
tables give mean and standard error over seeds.

Frames: landmark distances are in pixels of the 480x320 robot camera frame
(``metrics.ROBOT_FRAME``); images are compared at the model size. MediaPipe runs on
model-size images upscaled (bicubic) to the resolution of the crop in that frame.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eva.learning import metrics as M
from eva.paths import shipped_checkpoints
from eva.learning.baselines import (NearestNeighbourCommands, load_nn_database, random_commands, random_init_like,
                                   random_sample_indices)

# Checkpoint directory layout: <root>/<role>/seed<seed>/best.pt; role -> the kind it must hold.
CHECKPOINT_LAYOUT = "{role}/seed{seed}/best.pt"
NN_DATABASE = "nn/nn_database.npz"  # under the checkpoint root: the train split's landmarks and commands
CHECKPOINT_ROLES = {"generator": "generator", "inverse": "inverse",
                    "landmark-to-motor": "landmark-to-motor", "inverse-ri100": "inverse"}
# Optional: used (a Table III row and an execution row) when present for every seed.
OPTIONAL_ROLES = {"inverse-on-generated": "inverse"}  # F trained on its seed's G images (eva train --on-generated)
ON_G, ON_G_EXPECTED = "GM IM (F trained on G)", "GM IM (F trained on G, expected)"
DEFAULT_CHECKPOINTS = shipped_checkpoints()

TABLE1 = ("GM (ours)", "RS")
TABLE2 = ("IM (ours)", "RI", "RI-100")
TABLE3 = ("GM IM", "GM IM (expected)", "GM NN", "GM RI", "GM RI-100", "Landmark to Motor", "Landmark NN")
EXECUTION = ("GM IM", "GM IM (expected)", "Random", "True command")  # "True command": A_i itself (noise floor)
METRIC_LABELS = {  # JSON key -> printed column (image distance printed x 10^-5 as in the paper)
    "image_distance": "Image Distance ↓ (×10^-5)", "landmark_distance_px": "Landmark Distance ↓ (px)",
    "face_found_pct": "Face Found (%)", "command_distance": "Command Distance ↓",
    "command_accuracy_pct": "Command Accuracy ↑ (%)"}
TITLES = {"table1": "TABLE I: Accuracy of the Generative Model",
          "table2": "TABLE II: Accuracy of the Inverse Model",
          "table3": "TABLE III: Accuracy of the Entire Two-Stage Pipeline",
          "execution": "Pipeline Execution (Fig. 6): landmarks of the executed face vs the target landmarks"}


GENERATOR_RUNTIMES = ("torch", "onnxruntime", "onnxruntime-int8")


@dataclass
class EvalConfig:
    """What `evaluate` runs.

    Attributes:
        data: Babbling export or bag evaluated.
        checkpoints: Root of the checkpoint layout (``CHECKPOINT_LAYOUT``).
        seeds: Seeds 0..seeds-1 (one trained model of each role per seed).
        all_samples: Evaluate every sample with a face (data never trained on), not the test split.
        limit: Evaluate at most this many samples (the first, in index order); None: all.
        execution: Run the pipeline execution on the simulated face.
        reference: Data whose train split is the NN database and the RS image pool;
            None: ``data`` itself (with ``all_samples``: the generator's training data when it exists).
        cache_dir: Where a bag given as ``data`` is exported once (default: beside the bag).
        device: Torch device of the models.
        progress: Progress bars.
    """

    data: str
    checkpoints: str = str(DEFAULT_CHECKPOINTS)
    seeds: int = 3
    all_samples: bool = False
    limit: int | None = None
    execution: bool = True
    reference: str | None = None
    cache_dir: str | None = None
    device: str = "cpu"
    progress: bool = True
    generator_runtime: str = "torch"

    def __post_init__(self):
        if self.generator_runtime not in GENERATOR_RUNTIMES:
            raise ValueError(f"generator_runtime: must be one of {GENERATOR_RUNTIMES}, got {self.generator_runtime!r}")
        if self.generator_runtime != "torch" and self.device != "cpu":
            raise ValueError(f"generator_runtime {self.generator_runtime} runs on the CPU; device is {self.device!r}")
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds: must be an integer >= 1, got {self.seeds!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit: must be >= 1, got {self.limit!r}")


def checkpoint_paths(root, seeds: int) -> dict[str, list[Path]]:
    """{role: [path of seed 0, 1, ...]}; FileNotFoundError lists every missing file and the layout."""
    root = Path(root)
    paths = {role: [root / CHECKPOINT_LAYOUT.format(role=role, seed=s) for s in range(seeds)]
             for role in CHECKPOINT_ROLES}
    missing = [str(p) for ps in paths.values() for p in ps if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} checkpoint(s) missing under {root} (layout "
                                f"{CHECKPOINT_LAYOUT}, roles {list(CHECKPOINT_ROLES)}): {', '.join(missing[:6])}"
                                + (" ..." if len(missing) > 6 else ""))
    for role in OPTIONAL_ROLES:
        found = [root / CHECKPOINT_LAYOUT.format(role=role, seed=s) for s in range(seeds)]
        if all(p.is_file() for p in found):
            paths[role] = found
    return paths


def source_to_robot(xy, source_size) -> np.ndarray:
    """Source-image px -> 480x320 robot-frame px."""
    return M.to_robot_frame(xy, source_size)


def model_to_robot(crop, xy_model) -> np.ndarray:
    """Model px of a face crop -> 480x320 robot-frame px (inverse crop, then rescale)."""
    src = np.asarray(xy_model, np.float64)[..., :2] / np.array(crop.scale) + np.array(crop.box[:2], np.float64)
    return source_to_robot(src, crop.source_size)


class LandmarkDetector:
    """MediaPipe on batches of images -> (B, 53, 2) robot-frame px, NaN where no face is found."""

    def __init__(self, progress: bool = True):
        from eva.perception.detector import FaceDetector

        self._det = FaceDetector(running_mode="image", blendshapes=False)
        self.progress = progress
        self.calls = 0

    def on_model_images(self, crop, images, desc: str) -> np.ndarray:
        """Detects on model-size crops, upscaled to the crop's size in the robot frame first."""
        import cv2

        f = (M.ROBOT_FRAME[0] / crop.source_size[0]) / crop.scale[0]  # robot px per model px
        size = (round(crop.size[0] * f), round(crop.size[1] * f))
        up = (lambda im: cv2.resize(im, size, interpolation=cv2.INTER_CUBIC)) if f > 1 else (lambda im: im)
        pts = self._run(images, up, desc)
        return model_to_robot(crop, pts * (np.array(crop.size) / np.array(size)) if f > 1 else pts)

    def on_camera_images(self, images, desc: str) -> np.ndarray:
        """Detects on full camera frames (any size with the 3:2 aspect of the robot frame)."""
        images = list(images)
        if not images:
            return np.zeros((0, 53, 2))
        h, w = images[0].shape[:2]
        return source_to_robot(self._run(images, lambda im: im, desc), (w, h))

    def _run(self, images, prepare, desc: str) -> np.ndarray:
        out = np.full((len(images), 53, 2), np.nan)
        for k, im in enumerate(tqdm(images, desc=desc, disable=not self.progress, unit="img", leave=False)):
            face = self._det.detect(np.ascontiguousarray(prepare(np.asarray(im))))
            self.calls += 1
            if face is not None:
                out[k] = face.subset53
        return out

    def close(self) -> None:
        self._det.close()


@dataclass
class Samples:
    """The evaluated samples and the reference (train) set, read once."""

    data: object  # BabblingData evaluated
    idx: np.ndarray  # evaluated sample indices
    commands: np.ndarray  # (n, M) A_i
    l53: np.ndarray  # (n, 53, 2) source px L_R,i
    conf: np.ndarray  # (n, 53)
    target: np.ndarray  # (n, 53, 2) robot-frame px
    ref: object  # BabblingData of the NN database / RS pool
    ref_idx: np.ndarray  # its train samples with a face
    nn: NearestNeighbourCommands  # robot-frame train landmarks -> commands
    nn_source: str = ""  # where the NN database came from (a data folder or the shipped file)
    _crops: dict = field(default_factory=dict)

    def crops(self, crop) -> np.ndarray:
        """(n, H, W, 3) uint8 model-size crops of the evaluated images (cached per crop)."""
        key = str(crop.to_dict())
        if key not in self._crops:
            self._crops[key] = _crop_rows(self.data, self.idx, crop)
        return self._crops[key]


def _crop_rows(data, idx, crop, chunk: int = 256) -> np.ndarray:
    order = np.argsort(idx)  # memmap reads in file order
    out = np.empty((len(idx), crop.size[1], crop.size[0], 3), np.uint8)
    for s in range(0, len(idx), chunk):
        rows = order[s:s + chunk]
        out[rows] = crop.image(np.asarray(data.images[idx[rows]]))
    return out


def load_samples(cfg: EvalConfig, gen_meta: dict) -> Samples:
    """Reads the evaluated samples (faces only) and builds the NN database from the reference train split."""
    from eva.learning.data import BabblingData

    data = BabblingData.open(cfg.data, cfg.cache_dir, progress=cfg.progress)
    idx = np.flatnonzero(data.face_found) if cfg.all_samples else data.split("test", face_only=True)
    idx = idx[:cfg.limit] if cfg.limit else idx
    if not len(idx):
        raise ValueError(f"{cfg.data}: no {'sample' if cfg.all_samples else 'test sample'} with a face to evaluate")
    ref_path = cfg.reference
    if ref_path is None and cfg.all_samples and gen_meta.get("data") and Path(str(gen_meta["data"])).is_dir():
        ref_path = gen_meta["data"]
    shipped = Path(cfg.checkpoints) / NN_DATABASE
    if ref_path is None and cfg.all_samples and shipped.is_file():
        # the training data is not here: the NN baselines use the database shipped with the checkpoints,
        # and RS draws from the evaluated images themselves (any robot image serves as a random sample)
        nn, names, _ = load_nn_database(shipped)
        if names != list(data.motor_names):
            raise ValueError(f"{shipped}: motors {names} differ from the evaluated data's {data.motor_names}")
        l53, conf = data.l53(idx)
        return Samples(data, idx, np.asarray(data.commands[idx], np.float32), l53, conf,
                       source_to_robot(l53, data.source_size), data, idx, nn, nn_source=str(shipped))
    ref = data if ref_path is None else BabblingData.open(ref_path, cfg.cache_dir, progress=cfg.progress)
    if cfg.all_samples and ref.root.resolve() == data.root.resolve():
        warnings.warn(f"--all on {data.root} with its own train split as the NN database and RS pool: "
                      "the NN baselines see the evaluated train samples themselves; pass --reference", stacklevel=2)
    ref_idx = ref.split("train", face_only=True)
    if not len(ref_idx):
        raise ValueError(f"{ref.root}: no train sample with a face for the NN and RS baselines")
    if list(ref.motor_names) != list(data.motor_names):
        raise ValueError(f"reference motors {ref.motor_names} differ from the evaluated data's {data.motor_names}")
    l53, conf = data.l53(idx)
    nn = nn_from_train_split(ref)
    return Samples(data, idx, np.asarray(data.commands[idx], np.float32), l53, conf,
                   source_to_robot(l53, data.source_size), ref, ref_idx, nn, nn_source=str(ref.root))


def nn_from_train_split(data):
    """The NN baselines' database: ``data``'s train samples with a face, robot-frame landmarks -> commands."""
    idx = data.split("train", face_only=True)
    l53, _ = data.l53(idx)
    return NearestNeighbourCommands(source_to_robot(l53, data.source_size), np.asarray(data.commands[idx]))


def _commands_row(pred, true) -> dict:
    return {"command_distance": float(np.mean(M.command_distance(pred, true))),
            "command_accuracy_pct": float(np.mean(M.command_accuracy(pred, true)))}


def _landmark_row(found_xy, target) -> dict:
    found = np.isfinite(found_xy).all(axis=(1, 2))
    d = M.landmark_distance(found_xy[found], target[found]) if found.any() else np.array([np.nan])
    return {"landmark_distance_px": float(np.mean(d)), "face_found_pct": float(100 * found.mean())}


def evaluate_seed(s: Samples, paths: dict, seed: int, det: LandmarkDetector, cfg: EvalConfig) -> dict:
    """One seed's tables: {"table1": {method: {metric: sample mean}}, "table2", "table3", "execution"}."""
    from eva.learning.checkpoint import load_checkpoint
    from eva.learning.predict import check_compatible, expected_commands, face_crop, generate, predict_commands
    from eva.learning.predict import preprocess_landmarks as to_model_px

    load = lambda role: _load_kind(load_checkpoint, paths[role][seed], role, cfg.device)  # noqa: E731
    gen, inv, l2m, ri100 = load("generator"), load("inverse"), load("landmark-to-motor"), load("inverse-ri100")
    if cfg.generator_runtime != "torch":  # what the mimicry graph's generator node runs
        import torch

        from eva.learning.runtime import use_onnxruntime
        use_onnxruntime(gen, torch.get_num_threads(), int8=cfg.generator_runtime == "onnxruntime-int8")
    check_compatible(gen, inv)  # G's images must be what F and RI-100 were trained on
    check_compatible(gen, ri100)
    for m in (inv, l2m, ri100):
        if list(m.meta["motor_names"]) != list(s.data.motor_names):
            raise ValueError(f"{m.path}: motors {m.meta['motor_names']} differ from the data's {s.data.motor_names}")
    ri = random_init_like(inv, seed)
    crop, true_cmd, tag = face_crop(gen), s.commands, f"seed {seed}"

    # Table I: G(L_R,i) vs I_i, and a random real train image (RS) vs I_i.
    generated = generate(gen, to_model_px(gen, s.l53, s.data.source_size), s.conf)
    rs = _crop_rows(s.ref, random_sample_indices(s.ref_idx, len(s.idx), seed), crop)
    gen_lm = det.on_model_images(crop, generated, f"{tag} detect GM")
    t1 = {name: {"image_distance": float(np.mean(M.image_distance(images, s.crops(crop)))),
                 **_landmark_row(lm, s.target)}
          for name, images, lm in (("GM (ours)", generated, gen_lm),
                                   ("RS", rs, det.on_model_images(crop, rs, f"{tag} detect RS")))}

    # Table II: the inverse model and its baselines on real test images.
    real_inv = s.crops(face_crop(inv))
    t2 = {name: _commands_row(predict_commands(m, real_inv), true_cmd)
          for name, m in (("IM (ours)", inv), ("RI", ri), ("RI-100", ri100))}

    # Table III: L_R,i -> G -> F (and baselines) -> commands vs A_i.
    gm_nn = s.nn(gen_lm)
    gm_nn[~np.isfinite(gm_nn).all(axis=1)] = 0.0  # no face on G's image: the face stays neutral
    preds = {"GM IM": predict_commands(inv, generated), "GM IM (expected)": expected_commands(inv, generated),
             "GM NN": gm_nn, "GM RI": predict_commands(ri, generated),
             "GM RI-100": predict_commands(ri100, generated),
             "Landmark to Motor": predict_commands(l2m, to_model_px(l2m, s.l53, s.data.source_size), confidence=s.conf),
             "Landmark NN": s.nn(s.target)}
    rows = TABLE3
    if "inverse-on-generated" in paths:  # beyond the paper: F trained on G's images of the landmarks
        on_g = load("inverse-on-generated")
        _check_trained_on(on_g, gen)
        preds[ON_G], preds[ON_G_EXPECTED] = predict_commands(on_g, generated), expected_commands(on_g, generated)
        rows = TABLE3[:2] + (ON_G, ON_G_EXPECTED) + TABLE3[2:]
    result = {"table1": t1, "table2": t2, "table3": {name: _commands_row(preds[name], true_cmd) for name in rows}}

    if cfg.execution:  # Fig. 6: run the commands on the face, compare what the camera sees with the target
        runs = {"GM IM": preds["GM IM"], "GM IM (expected)": preds["GM IM (expected)"]}
        if ON_G_EXPECTED in preds:
            runs[ON_G_EXPECTED] = preds[ON_G_EXPECTED]
        runs.update({"Random": random_commands(len(s.idx), true_cmd.shape[1], seed), "True command": true_cmd})
        result["execution"] = {}
        for name, cmds in runs.items():
            seen = execute(cmds, seed, cfg.progress, f"{tag} execute {name}", s.data.motor_names)
            result["execution"][name] = _landmark_row(det.on_camera_images(seen, f"{tag} detect {name}"), s.target)
    return result


def _load_kind(load_checkpoint, path, role: str, device: str):
    loaded = load_checkpoint(path, device)
    kind = {**CHECKPOINT_ROLES, **OPTIONAL_ROLES}[role]
    if loaded.kind != kind:
        raise ValueError(f"{path}: holds a {loaded.kind} model, the {role} role needs {kind}")
    return loaded


def _check_trained_on(inverse, generator) -> None:
    """An inverse model trained on G's images must have been trained on this seed's G."""
    from eva.learning.checkpoint import file_digest
    from eva.learning.predict import check_compatible
    check_compatible(generator, inverse)
    source = inverse.meta.get("trained_on") or {}
    if source.get("sha1") != file_digest(generator.path):
        raise ValueError(f"{inverse.path} was trained on the images of {source.get('generator') or 'no generator'}, "
                         f"not of {generator.path} (eva train inverse --on-generated that checkpoint)")


def execute(commands, seed: int, progress: bool = False, desc: str = "execute",
            motor_names=None) -> list[np.ndarray]:
    """Sends each command to a fresh simulated face (noise on, seeded), lets it settle, returns the camera images."""
    from eva.sim.face import SimFace

    images = []
    with SimFace(seed=seed, noise=True) as face:
        if motor_names is not None and list(face.motor_names) != list(motor_names):
            raise ValueError(f"the simulated face's motors {face.motor_names} differ from the data's {motor_names}")
        for cmd in tqdm(commands, desc=desc, disable=not progress, unit="cmd", leave=False):
            face.send_action(cmd)
            face.settle()
            images.append(face.render())
    return images


def summarize(per_seed: list[dict]) -> dict:
    """Per-seed tables -> {table: {method: {metric: {"mean", "se"}}}} over seeds."""
    out = {}
    for table in per_seed[0]:
        out[table] = {method: {metric: M.mean_se([r[table][method][metric] for r in per_seed]) for metric in row}
                      for method, row in per_seed[0][table].items()}
    return out


def evaluate(cfg: EvalConfig) -> dict:
    """Runs the whole evaluation; returns the JSON-ready result (tables and ``meta``)."""
    from eva.learning.checkpoint import load_checkpoint

    t0 = time.perf_counter()
    paths = checkpoint_paths(cfg.checkpoints, cfg.seeds)
    s = load_samples(cfg, load_checkpoint(paths["generator"][0]).meta)
    det = LandmarkDetector(cfg.progress)
    try:
        per_seed = []
        for seed in tqdm(range(cfg.seeds), desc="seeds", disable=not cfg.progress, unit="seed"):
            per_seed.append(evaluate_seed(s, paths, seed, det, cfg))
    finally:
        det.close()
    result = summarize(per_seed)
    result["meta"] = {
        "data": str(s.data.root), "reference": str(s.ref.root), "nn_database": s.nn_source, "split": "all" if cfg.all_samples else "test",
        "n_samples": int(len(s.idx)), "n_reference": int(len(s.ref_idx)), "seeds": list(range(cfg.seeds)),
        "checkpoints": {role: [str(p.resolve()) for p in ps] for role, ps in paths.items()},
        "execution": cfg.execution, "generator_runtime": cfg.generator_runtime, "robot_frame_px": list(M.ROBOT_FRAME), "detections": det.calls,
        "wall_time_s": round(time.perf_counter() - t0, 2), "per_seed": per_seed}
    return result


def format_tables(result: dict) -> str:
    """The tables in the paper's form: method rows, metric columns, "mean ± se" over seeds."""
    blocks = []
    for table in ("table1", "table2", "table3", "execution"):
        if table not in result:
            continue
        rows = result[table]
        metrics = list(next(iter(rows.values())))
        head = ["Method"] + [METRIC_LABELS.get(m, m) for m in metrics]
        body = [[name] + [_cell(m, row[m]) for m in metrics] for name, row in rows.items()]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        lines = [TITLES[table], "  ".join(h.ljust(w) for h, w in zip(head, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in body]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _cell(metric: str, v: dict) -> str:
    scale = 1e5 if metric == "image_distance" else 1.0
    return f"{v['mean'] * scale:.2f} ± {v['se'] * scale:.3f}"
