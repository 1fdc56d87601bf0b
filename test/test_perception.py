"""MediaPipe landmarks on a real photo (scikit-image's astronaut), offline."""
import numpy as np
import pytest
from skimage import data

from eva.core.landmarks import PAPER53_GROUPS, landmark_mask
from eva.perception.detector import FaceDetector
from eva.perception.model import MODEL_SHA256, ModelError, resolve_model_path, sha256_file


@pytest.fixture(scope="module")
def face():
    with FaceDetector() as det:
        return det.detect(data.astronaut())


def test_model_is_the_verified_file():
    assert sha256_file(resolve_model_path()) == MODEL_SHA256


def test_missing_or_corrupt_model_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="not found"):
        resolve_model_path(tmp_path / "nope.task")
    monkeypatch.setenv("EVA_CACHE", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "face_landmarker.task").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="SHA-256"):
        resolve_model_path()


def test_detects_478_points_with_pose_and_blendshapes(face):
    assert face is not None
    assert face.points.shape == (478, 3)
    x0, y0, x1, y1 = face.bbox
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 220  # the astronaut's face in the 512x512 photo
    assert len(face.blendshapes) == 52
    assert np.all(np.abs(face.head_rpy) < np.radians(30))


def test_paper53_index_map_is_anatomically_ordered(face):
    s = face.subset53
    g = {k: s[v] for k, v in PAPER53_GROUPS.items()}
    # subject's right is the image's left
    assert g["right_brow"][:, 0].mean() < g["left_brow"][:, 0].mean()
    assert g["right_eye"][:, 0].mean() < g["left_eye"][:, 0].mean()
    # brows above eyes above nose base above lips
    assert g["right_brow"][:, 1].mean() < g["right_eye"][:, 1].mean() < g["nose_base"][:, 1].mean() \
        < g["outer_lips"][:, 1].mean()
    # brows run outer -> inner (right) and inner -> outer (left), as OpenPose 17..26
    assert np.all(np.diff(g["right_brow"][:, 0]) > 0) and np.all(np.diff(g["left_brow"][:, 0]) > 0)
    # nose bridge goes down, pupils sit inside their eyes
    assert np.all(np.diff(g["nose_bridge"][:, 1]) > 0)
    for k, eye in ((0, "right_eye"), (1, "left_eye")):
        assert eye_contains(g[eye], g["pupils"][k])
    # outer mouth corners are OpenPose 48 and 54, the leftmost and rightmost lip points
    lips = g["outer_lips"]
    assert lips[0, 0] == lips[:, 0].min() and lips[6, 0] == lips[:, 0].max()


def eye_contains(eye, p):
    return eye[:, 0].min() < p[0] < eye[:, 0].max() and eye[:, 1].min() - 3 < p[1] < eye[:, 1].max() + 3


def test_mask_from_detection(face):
    m = landmark_mask(face.subset53, (120, 80), source_size=face.image_size)
    assert m.shape == (2, 80, 120)
    assert 40 <= m[0].sum() <= 53  # a few of the 53 may share a pixel at this size


def test_no_face_and_bad_input():
    with FaceDetector() as det:
        assert det.detect(np.full((240, 320, 3), 128, np.uint8)) is None
        with pytest.raises(ValueError, match="uint8"):
            det.detect(np.zeros((10, 10, 3), np.float32))


@pytest.mark.parametrize("shade", [0, 128, 255])
def test_video_panel_labels_are_white_on_a_dark_box_on_any_background(shade):
    from eva.perception.draw import side_by_side

    panel = np.full((120, 90, 3), shade, np.uint8)
    frame = side_by_side([panel, None], ["human, frame 60", "robot (sim)"], height=120)
    assert frame.shape[0] == 120 and frame[:, 90:].max() > 0  # the grey tile is there
    box = frame[2:20, 2:88]  # the first label's box (clipped to its 90 px tile)
    glyphs = box.max(axis=2) >= 200
    assert glyphs.sum() > 40, "no white label text"
    background = box[~glyphs].astype(float)
    assert background.mean() < 100, f"label background {background.mean():.0f} is not dark: unreadable text"
    assert (frame[40:, :90] == shade).all()  # the label touches only its corner
