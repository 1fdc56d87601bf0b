"""MediaPipe face landmarks (Tasks FaceLandmarker), offline.

Why Tasks and not the legacy FaceMesh solution of mediapipe 0.10.21: the legacy
graph is faster (it bundles its models) but gives neither blendshape scores nor
the facial transformation matrix, pins an old protobuf, and is no longer
maintained; mediapipe 1.2.3's FaceLandmarker gives all 478 points, 52
blendshapes and the head transform at 11-21 ms per 480x320 frame here. See the
README's perception section for the numbers.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np

from eva.core.landmarks import paper53
from eva.core.pose import matrix_to_rpy
from eva.perception.model import resolve_model_path

log = logging.getLogger(__name__)


@dataclass
class FaceLandmarks:
    """One detected face, in the pixel frame of the image it came from.

    Attributes:
        points: (478, 3) float32: x, y in pixels (x right, y down), z relative
            depth in x's pixel scale (smaller = nearer the camera).
        confidence: (478,) float32 per-landmark confidence. MediaPipe's face
            landmarker reports a face only when its face-presence score passes
            ``min_presence``, and gives no per-point score, so detected points
            carry 1.0.
        image_size: (width, height) of the source image.
        transform: 4x4 facial transformation matrix (canonical face -> camera, cm), or None.
        blendshapes: name -> score in [0, 1] (52 ARKit-style names), empty when off.
    """

    points: np.ndarray
    confidence: np.ndarray
    image_size: tuple[int, int]
    transform: np.ndarray | None = None
    blendshapes: dict[str, float] = field(default_factory=dict)

    @property
    def subset53(self) -> np.ndarray:
        """(53, 2) pixel x, y of the paper's 53 landmarks (OpenPose order 17..69)."""
        return paper53(self.points)[:, :2]

    @property
    def head_rpy(self) -> np.ndarray | None:
        """Head roll, pitch, yaw in radians from ``transform``, or None."""
        return None if self.transform is None else matrix_to_rpy(self.transform)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """x_min, y_min, x_max, y_max in pixels."""
        p = self.points[:, :2]
        return (*p.min(axis=0), *p.max(axis=0))


def _select_face(faces: list[FaceLandmarks], previous: FaceLandmarks | None) -> FaceLandmarks:
    """Largest face, or the one nearest the previously followed face (consistent tracking)."""
    if previous is not None:
        centre = previous.points[:, :2].mean(axis=0)
        return min(faces, key=lambda f: float(np.linalg.norm(f.points[:, :2].mean(axis=0) - centre)))

    def area(f: FaceLandmarks) -> float:
        x0, y0, x1, y1 = f.bbox
        return (x1 - x0) * (y1 - y0)
    return max(faces, key=area)


class FaceDetector:
    """MediaPipe Tasks FaceLandmarker on RGB uint8 frames.

    Args:
        model_path: a ``face_landmarker.task``; default: the verified cached model.
        running_mode: "image" (exact, reproducible) or "video" (tracking, faster;
            needs increasing timestamps, given or generated).
        max_faces: faces looked for; with several, the largest is followed and
            then the one nearest it frame to frame.
        blendshapes: compute the 52 blendshape scores.
        min_presence: MediaPipe's minimum face detection/presence confidence.
    """

    def __init__(self, model_path=None, running_mode: str = "image", max_faces: int = 1,
                 blendshapes: bool = True, min_presence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ INFO/WARNING chatter
        import mediapipe as mp  # heavy: imported only when a detector is built
        from mediapipe.tasks.python import BaseOptions, vision

        if running_mode not in ("image", "video"):
            raise ValueError(f"running_mode must be 'image' or 'video', got {running_mode!r}")
        self._mp = mp
        self.model_path = resolve_model_path(model_path)
        self.running_mode = running_mode
        mode = vision.RunningMode.IMAGE if running_mode == "image" else vision.RunningMode.VIDEO
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=mode, num_faces=max_faces,
            min_face_detection_confidence=min_presence, min_face_presence_confidence=min_presence,
            output_face_blendshapes=blendshapes, output_facial_transformation_matrixes=True)
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._last_ts_ms = -1
        self._previous: FaceLandmarks | None = None

    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> FaceLandmarks | None:
        """Detects the followed face in an (H, W, 3) uint8 RGB image; None if no face.

        Raises:
            ValueError: the image is not (H, W, 3) uint8.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.running_mode == "image":
            result = self._landmarker.detect(image)
        else:
            ts = self._last_ts_ms + 1 if timestamp_ms is None else max(int(timestamp_ms), self._last_ts_ms + 1)
            self._last_ts_ms = ts
            result = self._landmarker.detect_for_video(image, ts)
        faces = self._to_faces(result, (rgb.shape[1], rgb.shape[0]))
        if not faces:
            self._previous = None
            return None
        face = _select_face(faces, self._previous)
        self._previous = face
        return face

    @staticmethod
    def _to_faces(result, image_size: tuple[int, int]) -> list[FaceLandmarks]:
        w, h = image_size
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            transform = None
            if result.facial_transformation_matrixes and i < len(result.facial_transformation_matrixes):
                transform = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
            shapes = {}
            if result.face_blendshapes and i < len(result.face_blendshapes):
                shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
            faces.append(FaceLandmarks(pts, np.ones(len(pts), np.float32), image_size, transform, shapes))
        return faces

    def close(self) -> None:
        """Releases the MediaPipe graph (safe to call twice)."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: MediaPipe's C handles may be gone
            pass
