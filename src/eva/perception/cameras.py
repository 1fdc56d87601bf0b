"""Camera sources: RealSense, webcam (V4L2), video file, image folder — one interface.

``open_camera("webcam:0")`` and friends return an unopened :class:`Camera`;
``with camera:`` opens it and ``camera.read()`` gives :class:`Frame` objects
(``None`` at the end of a finite source). No rclpy here: the ``camera`` node
wraps this. ``pyrealsense2`` is imported only when a RealSense is chosen.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from eva.perception.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_rgb

SOURCE_FORMS = ("realsense", "realsense:SERIAL", "webcam", "webcam:N", "/dev/videoN",
                "a video file (" + ", ".join(sorted(VIDEO_SUFFIXES)) + ")",
                "an image file", "a folder of images")


class CameraError(RuntimeError):
    """A camera that is missing or cannot be opened; the message says what to do."""


@dataclass(frozen=True)
class Frame:
    """One captured image."""

    rgb: np.ndarray  # (H, W, 3) uint8 RGB
    stamp_ns: int    # time.time_ns() at capture (wall clock, like ROS stamps)
    index: int       # 0, 1, 2, ... frames delivered since open (keeps counting across loops)


@dataclass(frozen=True)
class SourceInfo:
    """What a camera delivers; width/height are 0 until known (after open)."""

    name: str
    width: int   # px
    height: int  # px
    fps: float   # frames/s; 0 = unknown


class _Pacer:
    """Sleeps so that successive calls are ``1 / fps`` s apart (fps <= 0: never sleeps)."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps if fps > 0 else 0.0
        self._due: float | None = None

    def wait(self) -> None:
        if not self.period:
            return
        now = time.monotonic()
        if self._due is None or now - self._due > self.period:
            self._due = now  # first frame, or over a frame late: restart the schedule rather than burst
        else:
            time.sleep(max(0.0, self._due - now))
        self._due += self.period


class Camera:
    """Base of all sources: ``open`` / ``read`` / ``close``, usable as a context manager.

    Attributes:
        live: a device that films in real time (frames not taken are lost),
            as opposed to a file source that can wait for its reader.
        intrinsics: (fx, fy, cx, cy) in px when the device reports them, else None.
        distortion: plumb_bob coefficients (k1 k2 p1 p2 k3) with the intrinsics, else None.
    """

    live = False

    def __init__(self, name: str, width: int = 0, height: int = 0, fps: float = 0.0):
        self._info = SourceInfo(name, int(width), int(height), float(fps))
        self.intrinsics: tuple[float, float, float, float] | None = None
        self.distortion: list[float] | None = None
        self._count = 0

    @property
    def info(self) -> SourceInfo:
        """Name, size and rate (the requested ones before :meth:`open`, the real ones after)."""
        return self._info

    def open(self) -> "Camera":
        """Starts the source; raises :class:`CameraError` if it cannot."""
        raise NotImplementedError

    def read(self) -> Frame | None:
        """The next frame, or None at the end of a finite source."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases the device or file (safe to call twice)."""

    def _frame_size(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        if (w, h) != (self._info.width, self._info.height):
            self._info = SourceInfo(self._info.name, w, h, self._info.fps)

    def _frame(self, rgb: np.ndarray) -> Frame:
        self._frame_size(rgb)
        frame = Frame(np.ascontiguousarray(rgb, np.uint8), time.time_ns(), self._count)
        self._count += 1
        return frame

    def __enter__(self) -> "Camera":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


class RealSenseCamera(Camera):
    """Intel RealSense (the paper's D435i) colour stream, rgb8, with its factory intrinsics."""

    live = True

    def __init__(self, serial: str | None = None, width: int = 640, height: int = 480, fps: float = 30):
        super().__init__(f"realsense:{serial}" if serial else "realsense", width, height, fps)
        self.serial = serial
        self._pipeline = None

    def open(self) -> "RealSenseCamera":
        try:
            import pyrealsense2 as rs
        except ImportError as err:  # not installed, or its libusb is missing
            raise CameraError(f"RealSense camera: pyrealsense2 cannot be loaded ({err}); install it with "
                              "`pip install pyrealsense2` (it needs libusb: `apt-get install libusb-1.0-0`)") from err
        devices = rs.context().query_devices()
        serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
        if not serials:
            raise CameraError("no RealSense device found: plug the D435i into a USB 3 port (check with "
                              "`rs-enumerate-devices`), or choose source webcam:0 or a video file")
        if self.serial and self.serial not in serials:
            raise CameraError(f"no RealSense device with serial {self.serial}; connected: {', '.join(serials)}")
        info = self._info
        config = rs.config()
        if self.serial:
            config.enable_device(self.serial)
        config.enable_stream(rs.stream.color, info.width, info.height, rs.format.rgb8, int(info.fps))
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as err:
            raise CameraError(f"{info.name}: cannot start the colour stream {info.width}x{info.height} rgb8 at "
                              f"{info.fps:g} fps ({err}); try 640x480 at 30 fps") from err
        self._pipeline = pipeline
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self.intrinsics = (float(intr.fx), float(intr.fy), float(intr.ppx), float(intr.ppy))
        self.distortion = [float(c) for c in intr.coeffs]  # Brown-Conrady k1 k2 p1 p2 k3
        self._info = SourceInfo(info.name, int(intr.width), int(intr.height), info.fps)
        return self

    def read(self) -> Frame:
        try:
            frames = self._pipeline.wait_for_frames(2000)  # ms; raises RuntimeError on timeout
        except RuntimeError as err:
            raise CameraError(f"{self._info.name} stopped delivering frames ({err}); unplugged?") from err
        return self._frame(np.asanyarray(frames.get_color_frame().get_data()).copy())

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None


class _CaptureCamera(Camera):
    """Common part of the sources read through ``cv2.VideoCapture``."""

    _cap = None

    def _opened(self, cap, fps: float) -> None:
        self._cap = cap
        self._info = SourceInfo(self._info.name, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), float(fps))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class OpenCVCamera(_CaptureCamera):
    """A webcam through OpenCV's V4L2 backend: an index (0 = /dev/video0) or a /dev/videoN path."""

    live = True

    def __init__(self, device: int | str = 0, width: int = 0, height: int = 0, fps: float = 0.0):
        super().__init__(f"webcam:{device}" if isinstance(device, int) else str(device), width, height, fps)
        self.device = device

    def open(self) -> "OpenCVCamera":
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our error says it better
        try:
            cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            path = f"/dev/video{self.device}" if isinstance(self.device, int) else self.device
            raise CameraError(f"cannot open webcam {self.device} (does {path} exist? is it in use?)")
        want = self._info
        if want.width and want.height:  # requests: the driver picks the nearest mode it has
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, want.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, want.height)
        if want.fps:
            cap.set(cv2.CAP_PROP_FPS, want.fps)
        self._opened(cap, cap.get(cv2.CAP_PROP_FPS))
        return self

    def read(self) -> Frame:
        ok, bgr = self._cap.read()
        if not ok:
            raise CameraError(f"{self._info.name} stopped delivering frames (unplugged?)")
        return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class VideoFileCamera(_CaptureCamera):
    """A video file played as a camera: at its own fps when ``realtime``, else as fast as decoded."""

    def __init__(self, path, realtime: bool = True, loop: bool = False, fps: float = 0.0):
        super().__init__(str(path), fps=fps)  # fps > 0 overrides the file's rate for pacing
        self.path, self.realtime, self.loop = Path(path), realtime, loop
        self._pacer = _Pacer(0.0)

    def open(self) -> "VideoFileCamera":
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise CameraError(f"cannot open video file {self.path} (corrupt, or a codec OpenCV lacks?)")
        fps = self._info.fps or cap.get(cv2.CAP_PROP_FPS) or 30.0  # some containers report 0
        self._opened(cap, fps)
        self._pacer = _Pacer(fps if self.realtime else 0.0)
        return self

    def read(self) -> Frame | None:
        ok, bgr = self._cap.read()
        if not ok and self.loop and self._count:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok:
            return None
        self._pacer.wait()
        return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class ImageFolderCamera(Camera):
    """Images of a folder in sorted name order (or one image file), paced at ``fps``."""

    def __init__(self, path, fps: float = 10.0, loop: bool = False, realtime: bool = True):
        super().__init__(str(path), fps=fps)
        self.path, self.loop = Path(path), loop
        self._pacer = _Pacer(fps if realtime else 0.0)
        self.files: list[Path] = []

    def open(self) -> "ImageFolderCamera":
        if self.path.is_dir():
            self.files = sorted(f for f in self.path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            self.files = [self.path] if self.path.suffix.lower() in IMAGE_SUFFIXES else []
        if not self.files:
            raise CameraError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.path}")
        self._next = 0
        self._frame_size(self._load(self.files[0]))  # the size to announce; later images may differ
        return self

    def _load(self, path: Path) -> np.ndarray:
        try:
            return read_rgb(path)
        except ValueError as err:
            raise CameraError(str(err)) from err

    def read(self) -> Frame | None:
        if self._next >= len(self.files):
            if not self.loop:
                return None
            self._next = 0
        rgb = self._load(self.files[self._next])
        self._next += 1
        self._pacer.wait()
        return self._frame(rgb)


def open_camera(source: str, width: int = 0, height: int = 0, fps: float = 0.0,
                realtime: bool = True, loop: bool = False) -> Camera:
    """Chooses the camera for ``source`` (not yet opened: use ``with`` or ``.open()``).

    Args:
        source: "realsense", "realsense:SERIAL", "webcam", "webcam:N", "/dev/videoN",
            a video file, an image file or a folder of images.
        width, height: requested size in px for devices (0 = the device's default).
        fps: frames/s; for devices a request, for files the playback rate (0 = the
            video's own rate, 10 for images).
        realtime: files play at their rate; False = as fast as they are read.
        loop: files start again at their end instead of ending.

    Raises:
        CameraError: a path that does not exist or a source of no accepted form.
    """
    kind, _, arg = source.partition(":")
    if kind == "realsense":
        return RealSenseCamera(arg or None, width or 640, height or 480, fps or 30)
    if kind == "webcam" or source.startswith("/dev/video"):
        if source.startswith("/dev/video"):
            return OpenCVCamera(source, width, height, fps)
        if not (arg or "0").isdigit():
            raise CameraError(f"bad webcam source {source!r}: expected webcam:N with N the /dev/videoN number")
        return OpenCVCamera(int(arg or 0), width, height, fps)
    path = Path(source).expanduser()
    if not path.exists():
        raise CameraError(f"camera source {source!r} does not exist (accepted: {', '.join(SOURCE_FORMS)})")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFolderCamera(path, fps=fps or 10.0, loop=loop, realtime=realtime)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileCamera(path, realtime=realtime, loop=loop, fps=fps)
    raise CameraError(f"unsupported camera source {source!r} (accepted: {', '.join(SOURCE_FORMS)})")


def camera_info(camera: Camera) -> dict:
    """Pinhole calibration of an opened camera, for sensor_msgs/CameraInfo.

    Returns:
        dict with width, height (px), fx, fy, cx, cy (px), K (row-major 3x3 list),
        D (distortion coefficients, plumb_bob; zeros when unknown) and estimated:
        True when no intrinsics are known and a guess is given instead
        (fx = fy = width, about a 53 degree horizontal field of view; centred).
    """
    w, h = camera.info.width, camera.info.height
    if camera.intrinsics is not None:
        fx, fy, cx, cy = camera.intrinsics
        dist, estimated = list(camera.distortion or [0.0] * 5), False
    else:
        fx = fy = float(w)
        cx, cy, dist, estimated = w / 2.0, h / 2.0, [0.0] * 5, True
    return {"width": w, "height": h, "fx": fx, "fy": fy, "cx": cx, "cy": cy,
            "K": [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0], "D": dist, "estimated": estimated}
