"""`eva eval`: the paper's metrics on hand-made arrays, the baselines, and an end-to-end run on a tiny dataset."""
import json

import cv2
import numpy as np
import pytest

from eva.learning import metrics as M
from eva.learning.baselines import NearestNeighbourCommands, nearest_neighbours, random_commands, random_sample_indices


# ---------------------------------------------------------------- metrics
def test_image_distance_is_l2_over_pixel_count():
    black, white = np.zeros((2, 4, 3), np.uint8), np.full((2, 4, 3), 255, np.uint8)
    n = 2 * 4 * 3
    assert M.image_distance(black, white) == pytest.approx(np.sqrt(n) / n)
    assert M.image_distance(black, black) == 0.0
    half = np.full((2, 4, 3), 0.5)  # floats are taken as [0, 1]
    assert M.image_distance(half, white) == pytest.approx(np.sqrt(n * 0.25) / n)
    batch = M.image_distance(np.stack([black, white]), np.stack([white, white]))
    assert batch.shape == (2,) and batch[1] == 0.0
    with pytest.raises(ValueError, match="shape"):
        M.image_distance(black, np.zeros((4, 2, 3), np.uint8))


def test_landmark_distance_is_frobenius_over_53_in_robot_pixels():
    a = np.zeros((53, 2))
    b = a.copy()
    b[7] = (3.0, 4.0)
    assert M.landmark_distance(a, b) == pytest.approx(5.0 / 53)  # already 480x320
    assert M.landmark_distance(a, b, frame_size=(240, 160)) == pytest.approx(10.0 / 53)  # x2 to 480x320
    b[8] = (0.0, 5.0)
    assert M.landmark_distance(a, b) == pytest.approx(np.sqrt(50.0) / 53)
    assert np.isnan(M.landmark_distance(a, np.full((53, 2), np.nan)))
    assert M.landmark_distance(np.stack([a, b]), np.stack([a, a])).shape == (2,)


def test_command_distance_and_accuracy():
    true = np.array([0, .25, .5, .75, 1, 0, 0, 0, 0, 0])
    pred = true.copy()
    pred[:3] = (.25, .25, 1.0)
    assert M.command_distance(pred, true) == pytest.approx(np.sqrt(.25 ** 2 + .5 ** 2))
    assert M.command_accuracy(pred, true) == pytest.approx(80.0)
    assert M.command_accuracy(true + 0.1, true) == pytest.approx(100.0)  # continuous: nearest level
    assert M.command_accuracy(np.full(10, 0.9), true) == pytest.approx(10.0)
    assert M.command_distance(np.stack([pred, true]), np.stack([true, true])).shape == (2,)


def test_mean_se_over_seeds():
    r = M.mean_se([1.0, 2.0, 3.0])
    assert r["mean"] == pytest.approx(2.0) and r["se"] == pytest.approx(1.0 / np.sqrt(3))
    assert M.mean_se([4.0]) == {"mean": 4.0, "se": 0.0}
    assert M.mean_se([1.0, np.nan, 3.0])["mean"] == pytest.approx(2.0)
    assert np.isnan(M.mean_se([np.nan])["mean"])


# ---------------------------------------------------------------- baselines
def test_nearest_neighbour_returns_the_neighbours_command():
    rng = np.random.default_rng(0)
    keys = rng.uniform(0, 480, (50, 53, 2))
    commands = M.LEVELS[rng.integers(0, 5, (50, 10))]
    nn = NearestNeighbourCommands(keys, commands)
    queries = keys[[7, 31, 2]] + rng.normal(0, 0.5, (3, 53, 2))
    np.testing.assert_array_equal(nearest_neighbours(queries, keys), [7, 31, 2])
    np.testing.assert_array_equal(nn(queries), commands[[7, 31, 2]])
    lost = np.full((1, 53, 2), np.nan)  # no face: no neighbour
    assert nearest_neighbours(lost, keys)[0] == -1 and np.isnan(nn(lost)).all()


def test_random_baselines_are_seeded_and_in_range():
    c = random_commands(200, 10, seed=3)
    assert c.shape == (200, 10) and set(np.unique(c)) == set(M.LEVELS)
    np.testing.assert_array_equal(c, random_commands(200, 10, seed=3))
    pool = np.array([5, 9, 11])
    idx = random_sample_indices(pool, 100, seed=1)
    assert set(idx) <= set(pool) and len(set(idx)) == 3


def test_model_pixels_map_back_to_the_robot_frame():
    from eva.learning.data import FaceCrop
    from eva.learning.evaluate import model_to_robot, source_to_robot

    crop = FaceCrop((71, 20, 169, 150), (240, 160), (96, 128))
    src = np.array([[80.0, 30.0], [150.5, 140.25]])
    np.testing.assert_allclose(model_to_robot(crop, crop.points(src)), source_to_robot(src, (240, 160)), atol=1e-3)
    np.testing.assert_allclose(source_to_robot(src, (240, 160)), src * 2)


def test_format_tables_prints_mean_and_se_like_the_paper():
    from eva.learning.evaluate import format_tables

    result = {"table1": {"GM (ours)": {"image_distance": {"mean": 3.47e-5, "se": 9e-8},
                                       "landmark_distance_px": {"mean": 0.46, "se": 0.002}}}}
    text = format_tables(result)
    assert "TABLE I" in text and "GM (ours)" in text
    assert "3.47 ± 0.009" in text and "0.46 ± 0.002" in text  # image distance x 10^5


def test_missing_checkpoints_are_named(tmp_path):
    from eva.learning.evaluate import checkpoint_paths

    with pytest.raises(FileNotFoundError, match=r"generator/seed0/best.pt"):
        checkpoint_paths(tmp_path, 1)


# ---------------------------------------------------------------- end to end
def make_export(out, n=60, size=(120, 80), counts=(40, 8, 12), seed=0):
    """A tiny babbling export: random level commands on the simulated face, MediaPipe landmarks."""
    from eva.perception.detector import FaceDetector
    from eva.sim.face import SimFace

    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    cmds = M.LEVELS[rng.integers(0, 5, (n, 10))].astype(np.float32)
    imgs = np.zeros((n, size[1], size[0], 3), np.uint8)
    lms, found = np.zeros((n, 478, 3), np.float32), np.zeros(n, bool)
    with SimFace(seed=seed, noise=True) as face, FaceDetector(running_mode="image", blendshapes=False) as det:
        for i, c in enumerate(cmds):
            face.send_action(c)
            face.settle()
            img = face.render()
            f = det.detect(img)
            s = size[0] / img.shape[1]
            imgs[i] = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            if f is not None:
                lms[i], found[i] = f.points * s, True
        names = list(face.motor_names)
    perm = rng.permutation(n)
    a, b = counts[0], counts[0] + counts[1]
    arrays = {"images": imgs, "commands": cmds, "landmarks": lms, "face_found": found,
              "landmark_confidence": found[:, None] * np.ones((n, 478), np.float32),
              "split_train": np.sort(perm[:a]), "split_val": np.sort(perm[a:b]), "split_test": np.sort(perm[b:])}
    for k, v in arrays.items():
        np.save(out / f"{k}.npy", v)
    (out / "meta.json").write_text(json.dumps({"format": "eva-babbling-v1", "num_steps": n, "motor_names": names,
                                               "image_size": list(size), "num_landmarks": 478}))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny export and ci-preset checkpoints of every role for seeds 0 and 1, trained here."""
    from eva.cli.main import main

    root = tmp_path_factory.mktemp("eval")
    data = make_export(root / "export")
    ck = root / "checkpoints"
    for seed in (0, 1):
        for kind in ("generator", "inverse", "landmark-to-motor"):
            assert main(["train", kind, "--data", str(data), "--out", str(ck / kind / f"seed{seed}"),
                         "--preset", "ci", "--seed", str(seed), "--no-progress", "--json"]) == 0
        assert main(["train", "inverse", "--data", str(data), "--out", str(ck / "inverse-ri100" / f"seed{seed}"),
                     "--preset", "ci", "--seed", str(seed), "--max-iters", "3", "--no-progress", "--json"]) == 0
    return data, ck


def test_eval_end_to_end_writes_the_papers_tables(trained, tmp_path, capsys):
    from eva.cli.main import main
    from eva.learning.evaluate import EXECUTION, TABLE1, TABLE2, TABLE3

    data, ck = trained
    capsys.readouterr()
    out = tmp_path / "eval.json"
    assert main(["eval", "--data", str(data), "--checkpoints", str(ck), "--seeds", "2", "--json", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for title in ("TABLE I", "TABLE II", "TABLE III", "Pipeline Execution"):
        assert title in printed
    assert "±" in printed and "Landmark to Motor" in printed

    r = json.loads(out.read_text())
    assert set(r) == {"table1", "table2", "table3", "execution", "meta"}
    assert list(r["table1"]) == list(TABLE1) and list(r["table2"]) == list(TABLE2)
    assert list(r["table3"]) == list(TABLE3) and list(r["execution"]) == list(EXECUTION)
    for table in ("table1", "table2", "table3", "execution"):
        for row in r[table].values():
            for v in row.values():
                assert set(v) == {"mean", "se"}
    assert set(r["table1"]["RS"]) == {"image_distance", "landmark_distance_px", "face_found_pct"}
    assert set(r["table2"]["RI"]) == {"command_distance", "command_accuracy_pct"}
    assert r["meta"]["n_samples"] == 12 and r["meta"]["seeds"] == [0, 1] and r["meta"]["wall_time_s"] > 0
    assert r["meta"]["checkpoints"]["inverse-ri100"][1].endswith("inverse-ri100/seed1/best.pt")

    assert r["table2"]["RI"]["command_accuracy_pct"]["mean"] < 45  # untrained: near chance (20 %)
    w, h = 24, 32  # ci model size: the image distance is bounded by 1/sqrt(W*H*3)
    assert 0 < r["table1"]["GM (ours)"]["image_distance"]["mean"] <= 1 / np.sqrt(w * h * 3)
    ex = r["execution"]
    # Executing the true commands reproduces the target landmarks (noise and backlash only); random does not.
    assert ex["True command"]["landmark_distance_px"]["mean"] < 0.2
    assert ex["True command"]["landmark_distance_px"]["mean"] < ex["Random"]["landmark_distance_px"]["mean"]
    assert ex["Random"]["face_found_pct"]["mean"] > 90


def test_eval_limit_without_execution_and_errors(trained, tmp_path, capsys):
    from eva.cli.main import main

    data, ck = trained
    out = tmp_path / "e.json"
    assert main(["eval", "--data", str(data), "--checkpoints", str(ck), "--seeds", "1", "--limit", "4",
                 "--no-execution", "--json", str(out), "--no-progress"]) == 0
    r = json.loads(out.read_text())
    assert "execution" not in r and r["meta"]["n_samples"] == 4 and r["meta"]["seeds"] == [0]
    pytest.importorskip("onnxruntime")
    assert main(["eval", "--data", str(data), "--checkpoints", str(ck), "--seeds", "1", "--limit", "4",
                 "--no-execution", "--json", str(tmp_path / "q.json"), "--no-progress",
                 "--generator-runtime", "onnxruntime-int8"]) == 0
    q = json.loads((tmp_path / "q.json").read_text())
    assert q["meta"]["generator_runtime"] == "onnxruntime-int8" and r["meta"]["generator_runtime"] == "torch"
    gm = [x["table1"]["GM (ours)"]["image_distance"]["mean"] for x in (r, q)]
    assert gm[0] != gm[1] and abs(gm[1] - gm[0]) < 0.25 * gm[0]  # G really quantized, and still close
    with pytest.warns(UserWarning, match="--reference"):  # its own train split is the NN database
        assert main(["eval", "--data", str(data), "--checkpoints", str(ck), "--seeds", "1", "--all", "--limit", "50",
                     "--no-execution", "--json", str(out), "--no-progress"]) == 0
    r = json.loads(out.read_text())
    assert r["meta"]["split"] == "all" and r["meta"]["n_samples"] == 50
    assert r["table3"]["Landmark NN"]["command_accuracy_pct"]["mean"] > 60  # most samples find themselves
    capsys.readouterr()
    assert main(["eval", "--data", str(data), "--checkpoints", str(tmp_path), "--no-progress"]) == 1
    assert "checkpoint(s) missing" in capsys.readouterr().err
    assert main(["eval", "--data", str(tmp_path / "nothing"), "--checkpoints", str(ck)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_eval_adds_rows_for_an_inverse_model_trained_on_g(trained, tmp_path):
    import shutil

    from eva.cli.main import main
    from eva.learning.evaluate import ON_G, ON_G_EXPECTED, TABLE3

    data, ck = trained
    mine = tmp_path / "ck"
    shutil.copytree(ck, mine)
    out = tmp_path / "e.json"
    assert main(["train", "inverse", "--data", str(data), "--out", str(mine / "inverse-on-generated" / "seed0"),
                 "--preset", "ci", "--max-iters", "3", "--no-progress", "--json",
                 "--on-generated", str(mine / "generator" / "seed0" / "best.pt")]) == 0
    assert main(["eval", "--data", str(data), "--checkpoints", str(mine), "--seeds", "1", "--limit", "4",
                 "--json", str(out), "--no-progress"]) == 0
    r = json.loads(out.read_text())
    assert list(r["table3"]) == [*TABLE3[:2], ON_G, ON_G_EXPECTED, *TABLE3[2:]]
    assert ON_G_EXPECTED in r["execution"] and 0 <= r["table3"][ON_G]["command_accuracy_pct"]["mean"] <= 100
    # with seed 1 its row is only used when every seed has one; an F trained on another G is refused
    assert main(["eval", "--data", str(data), "--checkpoints", str(mine), "--seeds", "2", "--limit", "4",
                 "--no-execution", "--json", str(out), "--no-progress"]) == 0
    assert ON_G not in json.loads(out.read_text())["table3"]
    shutil.copytree(mine / "inverse-on-generated" / "seed0", mine / "inverse-on-generated" / "seed1")
    with pytest.raises(ValueError, match="trained on the images of"):
        from eva.learning.evaluate import EvalConfig, evaluate
        evaluate(EvalConfig(data=str(data), checkpoints=str(mine), seeds=2, limit=4, execution=False, progress=False))


def test_eval_all_uses_the_nn_database_shipped_with_the_checkpoints(trained, tmp_path):
    import shutil

    from eva.cli.main import main
    from eva.learning.data import BabblingData
    from eva.learning.evaluate import EvalConfig, load_samples, nn_from_train_split

    data, ck = trained
    mine = tmp_path / "ck"
    shutil.copytree(ck, mine)
    assert main(["train", "nn", "--data", str(data), "--out", str(mine / "nn"), "--no-progress"]) == 0
    cfg = EvalConfig(data=str(data), checkpoints=str(mine), all_samples=True, limit=50, progress=False)
    s = load_samples(cfg, gen_meta={})  # the generator's training data is not at hand
    assert s.nn_source.endswith("nn/nn_database.npz")
    same = nn_from_train_split(BabblingData.open(data))  # what the training data itself would give
    assert np.array_equal(s.nn(s.target), same(s.target))
    (mine / "nn" / "nn_database.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="nn_database.npz"):
        load_samples(cfg, gen_meta={})


def test_train_prior_fits_the_robots_expressions_and_the_pipeline_picks_it_up(trained, tmp_path, capsys):
    import shutil

    from eva.cli.main import main
    from eva.core.fidelity import BLENDSHAPE_NAMES
    from eva.learning.mimic import MimicModels
    from eva.learning.prior import PRIOR_FILE, ExpressionPrior

    data, ck = trained
    mine = tmp_path / "ck"
    shutil.copytree(ck, mine)
    assert MimicModels.load(mine, device="cpu").expression_prior is None  # none trained yet: the pipeline runs without
    assert main(["train", "prior", "--data", str(data), "--out", str(mine / "expression-prior"), "--samples", "60",
                 "--no-progress"]) == 0
    assert "validation R^2 per region" in capsys.readouterr().out
    prior = ExpressionPrior.load(mine / PRIOR_FILE)
    assert prior.source_size == (120, 80) and prior.samples > 20 and set(prior.r2) == {"brows", "eyes", "mouth"}
    # the robot opens its jaw by the jaw motor: MediaPipe's jawOpen moves the lower lip down (y grows)
    assert prior.displacement[BLENDSHAPE_NAMES.index("jawOpen"), 40:46, 1].mean() > 0
    models = MimicModels.load(mine, device="cpu")
    assert models.expression_prior == mine / PRIOR_FILE and models.normalizer().prior is not None
    (mine / PRIOR_FILE).write_bytes(b"junk")
    with pytest.raises(ValueError, match="expression_prior.npz"):
        models.normalizer()
