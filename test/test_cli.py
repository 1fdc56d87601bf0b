"""The `eva` subcommands on real inputs, and their error messages."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from eva.cli.main import main


def test_sim_renders_the_named_motors(tmp_path, capsys):
    neutral, smile = tmp_path / "n.png", tmp_path / "s.png"
    assert main(["sim", "--no-noise", "--out", str(neutral)]) == 0
    assert main(["sim", "--no-noise", "--set", "mouth_corner_up_left=1", "mouth_corner_up_right=1",
                 "--out", str(smile), "--landmarks"]) == 0
    assert "face found" in capsys.readouterr().out
    a, b = cv2.imread(str(neutral)), cv2.imread(str(smile))
    assert a.shape == (320, 480, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() > 50  # the smile changed the face


def test_sim_errors_name_the_bad_input(tmp_path, capsys):
    assert main(["sim", "--set", "nose=1", "--out", str(tmp_path / "x.png")]) == 1
    assert "unknown motor 'nose'" in capsys.readouterr().err
    assert main(["sim", "--set", "jaw=2", "--out", str(tmp_path / "x.png")]) == 1
    assert "[0, 1]" in capsys.readouterr().err
    assert main(["sim", "--positions", "0,1", "--out", str(tmp_path / "x.png")]) == 1
    assert "10 motors" in capsys.readouterr().err


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Three renders of the sim face and a short video of them."""
    from eva.sim.face import SimFace
    folder = tmp_path_factory.mktemp("frames")
    face = SimFace(seed=1, noise=False)
    face.connect()
    images = []
    for k, jaw in enumerate((0.0, 0.5, 1.0)):
        face.send_action(np.r_[np.zeros(8), jaw, 0.0])
        face.settle()
        images.append(face.render())
        cv2.imwrite(str(folder / f"f{k}.png"), cv2.cvtColor(images[-1], cv2.COLOR_RGB2BGR))
    video = folder.parent / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 320))
    for img in images * 2:
        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    writer.release()
    return folder, video


def test_landmarks_on_folder_and_video(frames, tmp_path):
    folder, video = frames
    out = tmp_path / "lm.npz"
    assert main(["landmarks", str(folder), "--out", str(out), "--draw", str(tmp_path / "draw"), "--quiet"]) == 0
    z = np.load(out)
    assert z["points"].shape == (3, 478, 3) and z["subset53"].shape == (3, 53, 2) and z["found"].all()
    assert z["blendshapes"].shape == (3, 52)
    lower_lip = z["points"][:, 17, 1]  # the jaw opens: the lower lip goes down frame by frame
    assert lower_lip[0] < lower_lip[1] < lower_lip[2]
    assert len(list((tmp_path / "draw").glob("*.png"))) == 3
    assert main(["landmarks", str(video), "--mode", "video", "--out", str(tmp_path / "v.npz"), "--quiet"]) == 0
    assert np.load(tmp_path / "v.npz")["found"].sum() == 6


def test_landmarks_and_export_errors(tmp_path, capsys):
    assert main(["landmarks", str(tmp_path / "missing.mp4")]) == 1
    assert "input not found" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["landmarks", str(tmp_path / "notes.txt")]) == 1
    assert "unsupported input" in capsys.readouterr().err
    assert main(["bag-export", str(tmp_path / "nobag"), "--out", str(tmp_path / "x")]) == 1
    assert "nobag" in capsys.readouterr().err
    assert main(["bag-export", str(tmp_path), "--out", str(tmp_path / "x"), "--image-size", "big"]) == 1
    assert "240x160" in capsys.readouterr().err


def test_console_script_and_help():
    out = subprocess.run([sys.executable, "-m", "eva.cli.main", "--help"], capture_output=True, text=True)
    for cmd in ("babble", "sim", "landmarks", "bag-export"):
        assert cmd in out.stdout
