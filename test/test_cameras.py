"""Camera sources (eva.perception.cameras): files, folders, parsing, errors, intrinsics. No DDS."""
import subprocess
import sys
import time
import types

import cv2
import numpy as np
import pytest

from eva.perception.cameras import (CameraError, ImageFolderCamera, OpenCVCamera, RealSenseCamera, SourceInfo,
                                    VideoFileCamera, camera_info, open_camera)

N_VIDEO, VIDEO_FPS = 12, 50.0
COLOURS = np.array([(10 + 20 * k, 128, 245 - 20 * k) for k in range(N_VIDEO)], np.float64)  # RGB per frame


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """12 frames of 64x48 at 50 fps, frame k a solid COLOURS[k]."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, (64, 48))
    assert writer.isOpened()
    for rgb in COLOURS:
        writer.write(np.full((48, 64, 3), rgb[::-1], np.uint8))  # OpenCV writes BGR
    writer.release()
    return path


def _colour_index(frame) -> int:
    """Which of COLOURS a (lossy-coded) frame shows."""
    mean = frame.rgb.reshape(-1, 3).mean(axis=0)
    return int(np.argmin(np.linalg.norm(COLOURS - mean, axis=1)))


def _write_images(folder, names):
    """Solid PNGs, one COLOURS[k] per name in the given (creation) order; returns the RGB arrays."""
    folder.mkdir(exist_ok=True)
    images = {}
    for k, name in enumerate(names):
        rgb = np.full((24, 32, 3), COLOURS[k], np.uint8)
        rgb[0, 0] = (k, k, k)  # exact pixel: PNG is lossless
        cv2.imwrite(str(folder / name), rgb[:, :, ::-1])
        images[name] = rgb
    return images


def _read_all(camera, limit=100):
    frames = []
    while len(frames) < limit:
        frame = camera.read()
        if frame is None:
            break
        frames.append(frame)
    return frames


def test_video_frames_come_in_order_with_increasing_stamps(video):
    with open_camera(str(video), realtime=False) as cam:
        assert isinstance(cam, VideoFileCamera)
        assert (cam.info.width, cam.info.height, cam.info.fps) == (64, 48, VIDEO_FPS)
        frames = _read_all(cam)
        assert cam.read() is None  # stays ended
    assert [_colour_index(f) for f in frames] == list(range(N_VIDEO))
    assert [f.index for f in frames] == list(range(N_VIDEO))
    assert all(f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 for f in frames)
    stamps = [f.stamp_ns for f in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert abs(stamps[-1] - time.time_ns()) < 5e9  # wall clock, like ROS header stamps


def test_video_loop_restarts_at_the_end(video):
    with open_camera(str(video), realtime=False, loop=True) as cam:
        frames = _read_all(cam, limit=2 * N_VIDEO + 5)
    assert len(frames) == 2 * N_VIDEO + 5
    assert [_colour_index(f) for f in frames] == [k % N_VIDEO for k in range(2 * N_VIDEO + 5)]
    assert frames[-1].index == 2 * N_VIDEO + 4  # the index keeps counting across loops


def test_video_realtime_paces_to_its_fps_and_off_is_fast(video):
    t0 = time.monotonic()
    with VideoFileCamera(video, realtime=False) as cam:
        assert len(_read_all(cam)) == N_VIDEO
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    with VideoFileCamera(video, realtime=True) as cam:
        paced_frames = _read_all(cam)
    paced = time.monotonic() - t0
    assert paced >= (N_VIDEO - 1) / VIDEO_FPS  # 0.22 s: 11 periods of 20 ms
    assert fast < 0.15
    gaps = np.diff([f.stamp_ns for f in paced_frames]) / 1e9  # s; a late frame is followed by a short gap
    assert np.median(gaps) == pytest.approx(1 / VIDEO_FPS, abs=0.003) and gaps.sum() > 0.95 * (N_VIDEO - 1) / VIDEO_FPS
    with open_camera(str(video), fps=100.0) as cam:  # fps overrides the file's rate
        assert cam.info.fps == 100.0
        t0 = time.monotonic()
        _read_all(cam)
        assert (N_VIDEO - 1) / 100 <= time.monotonic() - t0 < (N_VIDEO - 1) / VIDEO_FPS


def test_folder_gives_images_in_sorted_name_order_and_skips_other_files(tmp_path):
    images = _write_images(tmp_path / "imgs", ["c.png", "a.png", "b.png"])
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    cam = open_camera(str(tmp_path / "imgs"), realtime=False)
    assert isinstance(cam, ImageFolderCamera)
    with cam:
        assert (cam.info.width, cam.info.height, cam.info.fps) == (32, 24, 10.0)  # known at open
        frames = _read_all(cam)
    assert len(frames) == 3
    for frame, name in zip(frames, ["a.png", "b.png", "c.png"]):
        np.testing.assert_array_equal(frame.rgb, images[name])
    assert (cam.info.width, cam.info.height) == (32, 24)
    with open_camera(str(tmp_path / "imgs"), realtime=False, loop=True) as cam:
        looped = _read_all(cam, limit=7)
    np.testing.assert_array_equal(looped[6].rgb, images["a.png"])  # 7th = first again


def test_folder_paces_at_the_requested_fps(tmp_path):
    _write_images(tmp_path / "imgs", [f"{k}.png" for k in range(5)])
    with open_camera(str(tmp_path / "imgs"), fps=50.0) as cam:
        t0 = time.monotonic()
        frames = _read_all(cam)
        took = time.monotonic() - t0
    assert len(frames) == 5 and took >= 4 / 50.0


def test_single_image_is_one_frame_or_a_still_stream(tmp_path):
    images = _write_images(tmp_path, ["face.png"])
    with open_camera(str(tmp_path / "face.png"), realtime=False) as cam:
        frames = _read_all(cam)
    assert len(frames) == 1
    np.testing.assert_array_equal(frames[0].rgb, images["face.png"])
    with open_camera(str(tmp_path / "face.png"), fps=200.0, loop=True) as cam:
        assert len(_read_all(cam, limit=4)) == 4


def test_source_strings_choose_the_camera():
    rs = open_camera("realsense:0123456789")
    assert isinstance(rs, RealSenseCamera) and rs.serial == "0123456789"
    assert (rs.info.width, rs.info.height, rs.info.fps) == (640, 480, 30)  # the D435i defaults
    assert open_camera("realsense").serial is None
    assert open_camera("webcam").device == 0
    cam = open_camera("webcam:2", 320, 240, 15.0)
    assert isinstance(cam, OpenCVCamera) and cam.device == 2
    assert cam.info == SourceInfo("webcam:2", 320, 240, 15.0)  # the requests, until opened
    assert open_camera("/dev/video3").device == "/dev/video3"


@pytest.mark.parametrize("source,match", [
    ("/no/such/clip.mp4", "'/no/such/clip.mp4' does not exist"),
    ("webcam:x", "webcam:N"),
    ("realsens", "accepted: realsense"),
])
def test_bad_sources_are_named(source, match):
    with pytest.raises(CameraError, match=match):
        open_camera(source)


def test_unsupported_empty_or_corrupt_files_are_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CameraError, match="unsupported camera source .*accepted: realsense"):
        open_camera(str(tmp_path / "notes.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match="no images"):
        open_camera(str(tmp_path / "empty")).open()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_text("not a png")
    with pytest.raises(CameraError, match="cannot read image .*a.png"):
        open_camera(str(tmp_path / "bad")).open()
    (tmp_path / "broken.mp4").write_text("not a video")
    with pytest.raises(CameraError, match="cannot open video file"):
        open_camera(str(tmp_path / "broken.mp4")).open()


def test_missing_webcam_says_which_device_to_check():
    with pytest.raises(CameraError, match=r"cannot open webcam 57 \(does /dev/video57 exist\? is it in use\?\)"):
        open_camera("webcam:57").open()
    with pytest.raises(CameraError, match="/dev/video58 exist"):
        open_camera("/dev/video58").open()


def test_camera_info_without_calibration_is_a_flagged_pinhole_guess(tmp_path):
    _write_images(tmp_path / "imgs", ["a.png"])
    with open_camera(str(tmp_path / "imgs")) as cam:
        cam.read()
        info = camera_info(cam)
    assert info["estimated"] is True
    assert (info["width"], info["height"], info["fx"], info["fy"], info["cx"], info["cy"]) == (32, 24, 32, 32, 16, 12)
    assert info["K"] == [32, 0, 16, 0, 32, 12, 0, 0, 1] and info["D"] == [0.0] * 5


def test_realsense_without_a_device_is_a_camera_error():
    """True here whether pyrealsense2 is installed (no device) or not (install hint)."""
    with pytest.raises(CameraError, match="RealSense"):
        RealSenseCamera().open()


def _fake_rs(serials):
    """A pyrealsense2 stand-in: devices with ``serials``, a colour stream of solid frames."""
    intr = types.SimpleNamespace(width=64, height=48, fx=61.5, fy=61.0, ppx=31.2, ppy=23.9, coeffs=[0.1, 0, 0, 0, 0])
    started = {}

    class Config:
        def enable_device(self, serial):
            started["serial"] = serial

        def enable_stream(self, stream, w, h, fmt, fps):
            started["stream"] = (stream, w, h, fmt, fps)

    class Pipeline:
        def start(self, config):
            started["running"] = True
            stream = types.SimpleNamespace(as_video_stream_profile=lambda: types.SimpleNamespace(
                get_intrinsics=lambda: intr))
            return types.SimpleNamespace(get_stream=lambda s: stream)

        def wait_for_frames(self, timeout_ms):
            data = np.full((48, 64, 3), 7, np.uint8)
            return types.SimpleNamespace(get_color_frame=lambda: types.SimpleNamespace(get_data=lambda: data))

        def stop(self):
            started["running"] = False

    devices = [types.SimpleNamespace(get_info=lambda key, s=s: s) for s in serials]
    return types.SimpleNamespace(
        context=lambda: types.SimpleNamespace(query_devices=lambda: devices), config=Config, pipeline=Pipeline,
        camera_info=types.SimpleNamespace(serial_number="serial"), stream=types.SimpleNamespace(color="color"),
        format=types.SimpleNamespace(rgb8="rgb8")), started


def test_realsense_streams_rgb8_and_reports_its_intrinsics(monkeypatch):
    rs, started = _fake_rs(["111", "222"])
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    with open_camera("realsense:222") as cam:
        assert started == {"serial": "222", "stream": ("color", 640, 480, "rgb8", 30), "running": True}
        frame = cam.read()
        assert frame.rgb.shape == (48, 64, 3) and frame.rgb[0, 0, 0] == 7 and frame.index == 0
        info = camera_info(cam)
    assert started["running"] is False  # closed by the with block
    assert info["estimated"] is False and (info["width"], info["height"]) == (64, 48)
    assert (info["fx"], info["fy"], info["cx"], info["cy"]) == (61.5, 61.0, 31.2, 23.9) and info["D"][0] == 0.1
    with pytest.raises(CameraError, match="no RealSense device with serial 333; connected: 111, 222"):
        RealSenseCamera("333").open()
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_rs([])[0])
    with pytest.raises(CameraError, match="no RealSense device found"):
        RealSenseCamera().open()
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # import fails: not installed
    with pytest.raises(CameraError, match="pip install pyrealsense2"):
        RealSenseCamera().open()


def test_module_imports_neither_rclpy_nor_pyrealsense2():
    code = "import sys, eva.perception.cameras; print([m for m in ('rclpy', 'pyrealsense2') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
