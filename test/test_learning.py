"""eva.learning: configs, face crop, batches, models, checkpoints, training and resuming (ci preset)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from eva import MOTOR_COMMAND_LEVELS
from eva.core.landmarks import PAPER53_MEDIAPIPE
from eva.learning.checkpoint import CheckpointError, load_checkpoint
from eva.learning.config import GeneratorConfig, InverseConfig, TrainConfig, preset_configs
from eva.learning.data import BabblingData, FaceCrop, get_batch, landmark_ranges, masks, prepare
from eva.learning.models import Generator, InverseModel
from eva.learning.predict import (
    expected_commands,
    generate,
    predict_commands,
    predict_logits,
    preprocess_image,
    preprocess_landmarks,
)
from eva.learning.train import train

MOTORS = [f"m{i}" for i in range(10)]
SRC = (64, 48)  # synthetic source images (w, h)


def make_export(root: Path, n: int = 240, no_face: int = 0, seed: int = 0) -> Path:
    """A synthetic babbling export: motor m's level sets the brightness of patch m and moves some landmarks."""
    rng = np.random.default_rng(seed)
    w, h = SRC
    cmds = rng.integers(0, 5, (n, 10)).astype(np.float32) / 4
    images = np.full((n, h, w, 3), 60, np.uint8)
    for m in range(10):  # 5 x 2 cells of 4x12 px filling the face box x 20..44, y 10..38
        x, y = 21 + 5 * (m % 5), 11 + 14 * (m // 5)
        images[:, y:y + 12, x:x + 4, :] = (50 + 200 * cmds[:, m])[:, None, None, None].astype(np.uint8)
    base = np.stack([rng.uniform(20, 44, 478), rng.uniform(10, 38, 478), np.zeros(478)], 1).astype(np.float32)
    landmarks = np.repeat(base[None], n, 0)
    for k, j in enumerate(PAPER53_MEDIAPIPE):  # each of the 53 points follows one motor (+-2 px)
        landmarks[:, j, 1] += 4 * cmds[:, k % 10] - 2
    face = np.ones(n, bool)
    face[rng.choice(n, no_face, replace=False)] = False
    landmarks[~face] = 0
    root.mkdir(parents=True)
    perm = rng.permutation(n)
    n_val = n // 8
    arrays = {"commands": cmds, "images": images, "landmarks": landmarks,
              "landmark_confidence": face[:, None].repeat(478, 1).astype(np.float32), "face_found": face,
              "split_train": np.sort(perm[2 * n_val:]), "split_val": np.sort(perm[:n_val]),
              "split_test": np.sort(perm[n_val:2 * n_val])}
    for name, arr in arrays.items():
        np.save(root / f"{name}.npy", arr)
    (root / "meta.json").write_text(json.dumps({"format": "eva-babbling-v1", "num_steps": n,
                                                "motor_names": MOTORS, "image_size": list(SRC)}))
    return root


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return make_export(tmp_path_factory.mktemp("learn") / "export", no_face=10)


def ci(kind: str, **train_overrides):
    model_cfg, train_cfg = preset_configs("ci", kind)
    return model_cfg, replace(train_cfg, **train_overrides)


# --- configs ---------------------------------------------------------------------------------

def test_every_preset_loads_and_mirrors_the_dataclasses():
    for preset in ("paper", "default", "ci"):
        for kind in ("generator", "inverse", "landmark-to-motor"):
            model_cfg, train_cfg = preset_configs(preset, kind)
            assert isinstance(model_cfg, GeneratorConfig if kind == "generator" else InverseConfig)
            assert isinstance(train_cfg, TrainConfig)
        g, f = preset_configs(preset, "generator")[0], preset_configs(preset, "inverse")[0]
        assert g.image_size == f.image_size  # G's output is F's input
    paper_g, paper_gt = preset_configs("paper", "generator")
    paper_f, paper_ft = preset_configs("paper", "inverse")
    assert (paper_gt.lr, paper_gt.epochs, paper_gt.batch_size, paper_g.image_size) == (1e-3, 200, 196, (480, 320))
    assert (paper_ft.lr, paper_ft.epochs, len(paper_f.channels)) == (5e-5, 58, 6)
    assert preset_configs("default", "landmark-to-motor")[0].in_channels == 2


@pytest.mark.parametrize("make, field", [
    (lambda: GeneratorConfig(depth=0), "generator.depth"),
    (lambda: GeneratorConfig(image_size=(96, 128), space_to_depth=5), "generator.space_to_depth"),
    (lambda: InverseConfig(in_channels=4), "inverse.in_channels"),
    (lambda: InverseConfig(strides=(2, 2)), "inverse.strides"),
    (lambda: InverseConfig(in_channels=2, mask_radius=1, mask_subpixel=True), "inverse.mask_subpixel"),
    (lambda: GeneratorConfig(mask_subpixel=1), "generator.mask_subpixel"),
    (lambda: TrainConfig(lr=-1.0), "train.lr"),
    (lambda: TrainConfig(device="tpu"), "train.device"),
    (lambda: TrainConfig(batch_size=0), "train.batch_size"),
])
def test_config_validation_names_the_bad_field(make, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        make()


def test_yaml_errors_name_the_preset_and_field(tmp_path):
    bad = tmp_path / "learning.yaml"
    bad.write_text("presets:\n  x:\n    inverse:\n      model: {in_channels: 3, colour: 1}\n      train: {}\n"
                   "    generator:\n      model: {}\n      train: {epochs: 0}\n")
    with pytest.raises(ValueError, match=r"presets\.x\.inverse\.model.*colour"):
        preset_configs("x", "inverse", bad)
    with pytest.raises(ValueError, match=r"presets\.x\.generator\.train.*train\.epochs"):
        preset_configs("x", "generator", bad)
    with pytest.raises(ValueError, match="unknown preset"):
        preset_configs("nope", "inverse", bad)


# --- models ----------------------------------------------------------------------------------

def test_model_shapes_and_losses():
    g = Generator(GeneratorConfig(image_size=(24, 32), base_channels=8, max_channels=16, depth=2,
                                  space_to_depth=2))
    mask, static = torch.zeros(3, 2, 32, 24), torch.rand(3, 3, 32, 24)
    img, loss = g(mask, static, torch.rand(3, 3, 32, 24))
    assert img.shape == (3, 3, 32, 24) and loss.ndim == 0 and 0 <= img.min() and img.max() <= 1
    assert torch.allclose(g(mask, static)[0], static) and g(mask, static)[1] is None  # starts as identity on I_s
    for c in (3, 2):
        f = InverseModel(InverseConfig(in_channels=c, image_size=(24, 32), channels=(8,) * 6))
        logits, loss = f(torch.rand(4, c, 32, 24), torch.randint(0, 5, (4, 10)))
        assert logits.shape == (4, 10, 5) and loss.ndim == 0
        # summed cross-entropy over motors: uniform logits give 10 * ln 5
        f2 = InverseModel(InverseConfig(in_channels=c, image_size=(24, 32), channels=(8,) * 6))
        torch.nn.init.zeros_(f2.head[-1].weight), torch.nn.init.zeros_(f2.head[-1].bias)
        assert f2(torch.rand(2, c, 32, 24), torch.zeros(2, 10, dtype=torch.long))[1].item() == pytest.approx(
            10 * np.log(5), rel=1e-5)


# --- data ------------------------------------------------------------------------------------

def test_face_crop_maps_landmarks_like_images():
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(60, 140, 30), rng.uniform(20, 110, 30)], 1)
    crop = FaceCrop.from_points(pts, (240, 160), (48, 64), margin=0.1)
    x0, y0, x1, y1 = crop.box
    assert (x1 - x0) / (y1 - y0) == pytest.approx(48 / 64, rel=0.02)
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1 and y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1
    for p in pts[:5]:  # a bright 5x5 block at a source point lands where points() maps it
        img = np.zeros((160, 240, 3), np.uint8)
        xi, yi = int(p[0]), int(p[1])
        img[yi - 2:yi + 3, xi - 2:xi + 3] = 255
        out = crop.image(img)[..., 0].astype(float)
        ys, xs = np.mgrid[:64, :48]
        centroid = np.array([(xs * out).sum(), (ys * out).sum()]) / out.sum()
        assert np.allclose(centroid + 0.5, crop.points(np.array([xi + 0.5, yi + 0.5])), atol=0.3)
    # the same region from a 2x larger camera image
    big = crop.for_source((480, 320))
    assert big.box == tuple(2 * v for v in crop.box)
    assert np.allclose(crop.points(pts[:3] * 2, source_size=(480, 320)), crop.points(pts[:3]), atol=0.05)
    assert crop.image(np.zeros((320, 480, 3), np.uint8)).shape == (64, 48, 3)
    assert FaceCrop.from_dict(crop.to_dict()) == crop


def test_prepare_batches_static_image_and_cache(export, tmp_path):
    data = BabblingData.open(export, cache_dir=tmp_path / "cache")
    model_cfg, train_cfg = ci("generator")
    prep = prepare(data, "generator", model_cfg, train_cfg.crop_margin, progress=False)
    assert prep.dropped["train"] + prep.dropped["val"] + prep.dropped["test"] == 10
    assert all(data.face_found[prep.splits[s]].all() for s in prep.splits)
    assert len(list((tmp_path / "cache").glob("images_*.npy"))) == 1
    inv = prepare(data, "inverse", *ci("inverse")[:1], progress=False)
    assert sum(inv.dropped.values()) == 0  # the inverse model needs no landmarks
    # static self-image: the train image whose command is nearest all zeros (L1)
    tr = data.split("train", face_only=True)
    s = tr[np.abs(data.commands[tr]).sum(1).argmin()]
    assert prep.static_index == s and np.array_equal(prep.static, prep.images[s])
    idx = prep.splits["train"][:4]
    mask, static, target = get_batch(prep, idx)
    w, h = model_cfg.image_size
    assert mask.shape == (4, 2, h, w) and static.shape == target.shape == (4, 3, h, w)
    assert 0 <= target.min() and target.max() <= 1 and torch.equal(mask[:, 0] > 0, mask[:, 1] > 0)
    # the ci preset, like the default, spreads each landmark bilinearly over its 4 pixels
    assert prep.mask_subpixel
    want = masks(prep.l53[np.sort(idx)], (w, h), prep.conf53[np.sort(idx)], subpixel=True)
    assert np.allclose(mask.numpy(), want)
    paper = prepare(data, "generator", replace(model_cfg, mask_subpixel=False), train_cfg.crop_margin,
                    progress=False)  # the paper's mask: one full pixel per landmark
    paper_mask = get_batch(paper, idx)[0]
    first = np.floor(paper.l53[np.sort(idx)[0]]).astype(int)
    assert (paper_mask[0, 0, first[:, 1], first[:, 0]] == 1).all() and not torch.equal(mask, paper_mask)
    x, y = get_batch(inv, idx)
    assert x.shape == (4, 3, h, w) and y.dtype == torch.int64 and y.shape == (4, 10)
    assert np.allclose(np.asarray(MOTOR_COMMAND_LEVELS)[y.numpy()], data.commands[np.sort(idx)])
    lo, hi = prep.ranges
    assert lo.shape == hi.shape == (53, 2) and (lo <= hi).all()
    assert np.allclose(lo, landmark_ranges(prep.l53[data.split("train", True)])[0])


def test_open_rejects_a_directory_without_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a babbling export"):
        BabblingData.open(tmp_path)


# --- training, checkpoints, prediction -------------------------------------------------------

@pytest.fixture(scope="module")
def inverse_run(export, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "inverse"
    summary = train("inverse", export, out, *ci("inverse", epochs=8), progress=False, log=lambda *_: None)
    return out, summary


def test_inverse_model_learns_an_easy_mapping(inverse_run):
    out, summary = inverse_run
    assert summary["finished"] and summary["test"]["acc"] > 0.4  # chance: 0.2
    for name in ("best.pt", "last.pt", "log.csv", "log.json", "loss.png"):
        assert (out / name).is_file()
    assert [r["epoch"] for r in json.loads((out / "log.json").read_text())["history"]] == list(range(1, 9))


def test_checkpoint_round_trips_without_the_data(export, inverse_run, tmp_path):
    out, _ = inverse_run
    data = BabblingData.open(export)
    rgb = np.asarray(data.images[:6])
    before = load_checkpoint(out / "best.pt")
    x = preprocess_image(before, rgb)
    ref = before.model(x)[0].detach()
    moved = tmp_path / "elsewhere.pt"
    moved.write_bytes((out / "best.pt").read_bytes())
    after = load_checkpoint(moved)  # the export is not consulted
    assert not after.model.training and after.kind == "inverse" and after.model_config == before.model_config
    assert torch.equal(after.model(preprocess_image(after, rgb))[0], ref)
    meta = after.meta
    assert meta["motor_names"] == MOTORS and meta["levels"] == list(MOTOR_COMMAND_LEVELS)
    assert meta["landmark_ranges"].shape == (2, 53, 2) and meta["static_image"].dtype == np.uint8
    assert meta["crop"]["source_size"] == list(SRC) and meta["git_revision"] and meta["eva_version"]
    assert meta["epoch"] >= 1 and "acc" in meta["best_val"]
    crops = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    logits = predict_logits(after, crops)
    assert logits.shape == (6, 10, 5)
    cmds = predict_commands(after, crops)
    assert set(np.unique(cmds)) <= set(MOTOR_COMMAND_LEVELS)
    assert np.mean(cmds == data.commands[:6]) > 0.4
    exp = expected_commands(after, crops)
    assert exp.shape == (6, 10) and (0 <= exp).all() and (exp <= 1).all()
    with pytest.raises(ValueError, match="uint8 images"):
        predict_logits(after, rgb)  # source size, not model size


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not_eva", "bad_config"])
def test_corrupt_checkpoint_raises_naming_the_file(inverse_run, tmp_path, damage):
    out, _ = inverse_run
    bad = tmp_path / f"{damage}.pt"
    raw = (out / "best.pt").read_bytes()
    if damage == "truncate":
        bad.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"\x00not a checkpoint" * 50)
    elif damage == "not_eva":
        torch.save({"weights": torch.zeros(3)}, bad)
    else:
        blob = torch.load(out / "best.pt", weights_only=True)
        blob["model_config"]["channels"] = [8, 8]
        torch.save(blob, bad)
    with pytest.raises(CheckpointError, match=str(bad)):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pt")


def test_subpixel_mask_checkpoint_predicts_with_the_masks_it_was_trained_on(export, tmp_path):
    from eva.learning.data import mask_style
    from eva.learning.predict import face_crop, predict_logits
    model_cfg, train_cfg = ci("landmark-to-motor", epochs=1)
    train("landmark-to-motor", export, tmp_path / "s", replace(model_cfg, mask_subpixel=True), train_cfg,
          progress=False, log=lambda *_: None)
    loaded = load_checkpoint(tmp_path / "s" / "best.pt")  # self-contained: the mask style comes back
    assert loaded.model_config.mask_subpixel and mask_style(loaded.model_config)["subpixel"]
    data = BabblingData.open(export, progress=False)
    crop = face_crop(loaded)
    xy, conf = data.l53(data.split("test", face_only=True)[:4])
    l53 = crop.points(xy)
    got = predict_logits(loaded, l53, conf)
    with torch.no_grad():
        want = loaded.model(torch.from_numpy(masks(l53, crop.size, conf, subpixel=True)))[0].numpy()
        pixel = loaded.model(torch.from_numpy(masks(l53, crop.size, conf)))[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, pixel)


def test_resume_continues_and_matches_an_uninterrupted_run(export, tmp_path):
    quiet = {"progress": False, "log": lambda *_: None}
    train("landmark-to-motor", export, tmp_path / "a", *ci("landmark-to-motor", epochs=1), **quiet)
    resumed = train("landmark-to-motor", export, tmp_path / "a", *ci("landmark-to-motor", epochs=2), **quiet)
    assert [r["epoch"] for r in resumed["history"]] == [1, 2]
    assert resumed["iters_done"] == 2 * resumed["iters_per_epoch"]
    train("landmark-to-motor", export, tmp_path / "b", *ci("landmark-to-motor", epochs=2), **quiet)
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    for k, v in a.model.state_dict().items():  # seeded per epoch: resuming changes nothing
        assert torch.equal(v, b.model.state_dict()[k]), k
    said = []
    again = train("landmark-to-motor", export, tmp_path / "a", *ci("landmark-to-motor", epochs=2),
                  progress=False, log=said.append)
    assert "already finished" in said[0] and again["epochs_done"] == 2
    with pytest.raises(ValueError, match="lr"):
        train("landmark-to-motor", export, tmp_path / "a", *ci("landmark-to-motor", epochs=3, lr=0.1), **quiet)


def test_generator_trains_and_its_checkpoint_works_without_the_data(tmp_path):
    import shutil

    export = make_export(tmp_path / "export", n=64)
    summary = train("generator", export, tmp_path / "g", *ci("generator", max_iters=5), progress=False,
                    log=lambda *_: None)
    assert summary["iters_done"] == 5 and 0 < summary["best_val"]["mse"] < 1
    data = BabblingData.open(export)
    xy, _ = data.l53([0, 1, 2])
    static_index = load_checkpoint(tmp_path / "g" / "best.pt").meta["static_index"]
    static_crop = np.array(prepare(data, "generator", ci("generator")[0], progress=False).images[static_index])
    del data
    shutil.rmtree(export)
    g = load_checkpoint(tmp_path / "g" / "best.pt")
    assert np.array_equal(g.meta["static_image"], static_crop)
    l53 = preprocess_landmarks(g, xy)
    images = generate(g, l53)
    w, h = g.model_config.image_size
    assert images.shape == (3, h, w, 3) and images.dtype == np.uint8
    assert np.array_equal(generate(g, l53), images)
    with pytest.raises(ValueError, match="generator model"):
        predict_logits(g, images)


def test_cli_train_and_its_errors(export, tmp_path, capsys):
    from eva.cli.main import main

    assert main(["train", "inverse", "--data", str(export), "--out", str(tmp_path / "r"), "--preset", "ci",
                 "--max-iters", "3", "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iters_done"] == 3
    assert main(["train", "inverse", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "x"),
                 "--preset", "ci"]) == 1
    assert "neither a babbling export" in capsys.readouterr().err
    assert main(["train", "inverse", "--data", str(export), "--out", str(tmp_path / "x"), "--preset", "ci",
                 "--lr", "-1"]) == 1
    assert "train.lr" in capsys.readouterr().err


def test_open_exports_a_bag_once_and_reuses_it(tmp_path):
    pytest.importorskip("rclpy")
    from eva.ros.babble_graph import run_babbling

    bag = tmp_path / "bag"
    run_babbling(str(bag), steps=40, image_size=(120, 80))
    data = BabblingData.open(bag, progress=False)
    assert data.root == tmp_path / "bag.export" and len(data) == 40 and data.source_size == (120, 80)
    stamp = (data.root / "meta.json").stat().st_mtime_ns
    again = BabblingData.open(bag, progress=False)
    assert again.root == data.root and (data.root / "meta.json").stat().st_mtime_ns == stamp


def test_landmark_normalization_and_lr_schedule(inverse_run):
    from eva.learning.predict import normalize_to_robot
    from eva.learning.train import lr_at

    loaded = load_checkpoint(inverse_run[0] / "best.pt")
    r_lo, r_hi = loaded.meta["landmark_ranges"]
    h_lo, h_hi = np.zeros((53, 2)), np.full((53, 2), 100.0)
    assert np.allclose(normalize_to_robot(loaded, np.stack([h_lo, h_hi]), h_lo, h_hi), [r_lo, r_hi], atol=1e-4)
    assert np.allclose(normalize_to_robot(loaded, np.full((53, 2), 50.0), h_lo, h_hi), (r_lo + r_hi) / 2, atol=1e-4)
    cosine = TrainConfig(lr=1e-3, lr_schedule="cosine", min_lr_ratio=0.1)
    assert lr_at(0, 100, cosine) == pytest.approx(1e-3) and lr_at(99, 100, cosine) == pytest.approx(1e-4)
    assert lr_at(50, 100, TrainConfig(lr=1e-3)) == 1e-3


def test_time_limit_stops_with_a_usable_checkpoint_and_resumes(export, tmp_path):
    from eva.cli.main import main

    said = []
    summary = train("inverse", export, tmp_path / "t", *ci("inverse", epochs=2), progress=False, log=said.append,
                    time_limit_s=0)
    assert summary["stopped"] == "time limit" and summary["iters_done"] == 1 and summary["epochs_done"] == 1
    assert (tmp_path / "t" / "best.pt").is_file() and "acc" in summary["test"]
    assert any("time limit" in line for line in said)
    done = train("inverse", export, tmp_path / "t", *ci("inverse", epochs=2), progress=False, log=lambda *_: None)
    assert done["stopped"] is None and done["epochs_done"] == 2
    assert [r["epoch"] for r in done["history"]] == [1, 2]
    with pytest.raises(ValueError, match="time_limit_s"):
        train("inverse", export, tmp_path / "u", *ci("inverse"), progress=False, time_limit_s=-1)
    assert main(["train", "inverse", "--data", str(export), "--out", str(tmp_path / "c"), "--preset", "ci",
                 "--time-limit", "0", "--no-progress"]) == 0
    assert load_checkpoint(tmp_path / "c" / "best.pt").meta["epoch"] == 1


def test_inverse_trained_on_the_generators_images(tmp_path):
    export = make_export(tmp_path / "export", n=80, no_face=6)
    quiet = {"progress": False, "log": lambda *_: None}
    train("generator", export, tmp_path / "g", *ci("generator", max_iters=3), **quiet)
    g_path = tmp_path / "g" / "best.pt"
    summary = train("inverse", export, tmp_path / "f", *ci("inverse", max_iters=2), on_generated=g_path, **quiet)
    assert summary["trained_on"]["generator"] == str(g_path.resolve())
    assert summary["dropped_no_face"]["train"] + summary["dropped_no_face"]["val"] \
        + summary["dropped_no_face"]["test"] == 6  # G needs landmarks: face-less samples are left out
    assert load_checkpoint(tmp_path / "f" / "best.pt").meta["trained_on"] == summary["trained_on"]
    # what F trained on is G's image of each sample's landmarks, not the camera image
    data = BabblingData.open(export)
    cached = np.load(next((export / "cache").glob("generated_*.npy")))
    g = load_checkpoint(g_path)
    i = int(np.flatnonzero(np.asarray(data.face_found))[0])
    prep = prepare(data, "inverse", ci("inverse")[0], progress=False)
    assert np.array_equal(cached[i], generate(g, prep.l53[i:i + 1], prep.conf53[i:i + 1])[0])
    assert not np.array_equal(cached[i], prep.images[i])
    with pytest.raises(ValueError, match="camera images"):  # resuming on other inputs
        train("inverse", export, tmp_path / "f", *ci("inverse", max_iters=4), **quiet)
    with pytest.raises(ValueError, match="not a generator"):
        train("generator", export, tmp_path / "x", *ci("generator"), on_generated=g_path, **quiet)
    other = replace(ci("inverse")[0], image_size=(36, 48))
    with pytest.raises(ValueError, match="crop margin"):
        train("inverse", export, tmp_path / "y", other, ci("inverse", max_iters=1)[1], on_generated=g_path, **quiet)
