"""Message <-> NumPy conversions for the standard messages eva uses.

No cv_bridge or sensor_msgs_py here (not installable from PyPI), so Image and
PointCloud2 are packed by hand. Landmark clouds have float32 fields x, y, z,
confidence (x, y in image pixels); an empty cloud means "no face in that frame".
A human landmark cloud may carry a fifth float32 field, ``blendshape``: point i
< 52 holds MediaPipe's score of blendshape i (``eva.core.fidelity.BLENDSHAPE_NAMES``
order), the other points NaN. It travels in the same message so that the
normalizer reads the expression of exactly that frame.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image, JointState, PointCloud2, PointField

LANDMARK_FIELDS = ("x", "y", "z", "confidence")
BLENDSHAPE_FIELD = "blendshape"
N_BLENDSHAPES = 52
_ENCODINGS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


class MessageError(ValueError):
    """A message that cannot be converted; the text names the field at fault."""


def ns_to_time(ns: int) -> Time:
    """Nanoseconds since the epoch -> builtin_interfaces/Time."""
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def time_to_ns(stamp: Time) -> int:
    """builtin_interfaces/Time -> nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def image_to_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = "rgb8") -> Image:
    """(H, W, 3) uint8 -> sensor_msgs/Image."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg = Image()
    msg.header.stamp = ns_to_time(stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = rgb.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * (rgb.shape[2] if rgb.ndim == 3 else 1)
    msg.data = rgb.tobytes()
    return msg


def msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8 or mono8) -> (H, W, 3) uint8 RGB.

    Raises:
        MessageError: unsupported encoding or a data size that does not match.
    """
    channels = _ENCODINGS.get(msg.encoding)
    if channels is None:
        raise MessageError(f"unsupported image encoding {msg.encoding!r} (supported: {sorted(_ENCODINGS)})")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0 or step < w * channels or len(msg.data) < h * step:
        raise MessageError(f"image data size {len(msg.data)} does not match {w}x{h} step {step} {msg.encoding}")
    buf = np.frombuffer(bytes(msg.data), np.uint8)[: h * step].reshape(h, step)[:, : w * channels]
    img = buf.reshape(h, w, channels)
    if msg.encoding == "bgr8":
        img = img[:, :, ::-1]
    elif msg.encoding == "mono8":
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img)


def joints_to_msg(names, positions, stamp_ns: int) -> JointState:
    """Motor names + positions -> sensor_msgs/JointState."""
    msg = JointState()
    msg.header.stamp = ns_to_time(stamp_ns)
    msg.name = list(names)
    msg.position = [float(p) for p in positions]
    return msg


def msg_to_positions(msg: JointState, names, ignore_unknown: bool = False) -> np.ndarray:
    """JointState -> positions in the order of ``names``.

    Args:
        ignore_unknown: other joints may be present (the bridge's joint_states also hold eyes and neck).

    Raises:
        MessageError: wrong lengths, unknown (unless ignored) or missing names, NaN/inf values.
    """
    names = list(names)
    if len(msg.name) != len(msg.position):
        raise MessageError(f"JointState has {len(msg.name)} names but {len(msg.position)} positions")
    given = dict(zip(msg.name, msg.position))
    unknown = [] if ignore_unknown else sorted(set(given) - set(names))
    missing = [n for n in names if n not in given]
    if unknown or missing:
        raise MessageError(f"JointState names do not match the motors: unknown {unknown}, missing {missing}")
    pos = np.array([given[n] for n in names], dtype=np.float64)
    if not np.isfinite(pos).all():
        bad = [n for n, p in zip(names, pos) if not np.isfinite(p)]
        raise MessageError(f"JointState has non-finite positions for {bad}")
    return pos


def landmarks_to_cloud(points: np.ndarray | None, confidence: np.ndarray | None,
                       stamp_ns: int, frame_id: str, blendshapes: np.ndarray | None = None) -> PointCloud2:
    """(N, 3) landmarks + (N,) confidence -> PointCloud2 (x, y, z, confidence float32).

    ``points=None`` gives an empty cloud: no face in that frame. ``blendshapes``:
    the face's (52,) scores, carried in a fifth field (see the module text).
    """
    names = LANDMARK_FIELDS + ((BLENDSHAPE_FIELD,) if blendshapes is not None and points is not None else ())
    msg = PointCloud2()
    msg.header.stamp = ns_to_time(stamp_ns)
    msg.header.frame_id = frame_id
    msg.fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                  for i, n in enumerate(names)]
    step = 4 * len(names)
    msg.point_step = step
    msg.is_bigendian = False
    msg.is_dense = True
    msg.height = 1
    if points is None:
        msg.width, msg.row_step, msg.data = 0, 0, b""
        return msg
    pts = np.asarray(points, np.float32).reshape(-1, 3)
    conf = np.ones(len(pts), np.float32) if confidence is None else np.asarray(confidence, np.float32)
    cols = [pts, conf.reshape(-1, 1)]
    if blendshapes is not None:
        b = np.asarray(blendshapes, np.float32).reshape(-1)
        if len(b) != N_BLENDSHAPES or len(pts) < N_BLENDSHAPES:
            raise ValueError(f"blendshapes: expected {N_BLENDSHAPES} scores on a cloud of at least as many points, "
                             f"got {len(b)} on {len(pts)}")
        col = np.full((len(pts), 1), np.nan, np.float32)
        col[:N_BLENDSHAPES, 0] = b
        cols.append(col)
    arr = np.concatenate(cols, axis=1).astype("<f4")
    msg.width = len(pts)
    msg.row_step = step * len(pts)
    msg.data = arr.tobytes()
    return msg


def _cloud_array(msg: PointCloud2) -> np.ndarray | None:
    """The cloud's (N, 4 or 5) float32 values, or None for an empty cloud; checks eva's layout."""
    names = tuple(f.name for f in msg.fields)
    layouts = (LANDMARK_FIELDS, LANDMARK_FIELDS + (BLENDSHAPE_FIELD,))
    ok = names in layouts and all(f.datatype == PointField.FLOAT32 and f.count == 1 and f.offset == 4 * i
                                  for i, f in enumerate(msg.fields))
    if not ok or msg.point_step != 4 * len(names) or msg.is_bigendian:
        raise MessageError(f"landmark cloud must have little-endian float32 fields {LANDMARK_FIELDS}, optionally "
                           f"followed by {BLENDSHAPE_FIELD!r}, packed; got {names}, point_step {msg.point_step}")
    n = int(msg.width) * int(msg.height)
    if n == 0:
        return None
    step = int(msg.point_step)
    if len(msg.data) != step * n:
        raise MessageError(f"landmark cloud data has {len(msg.data)} bytes, expected {step * n}")
    return np.frombuffer(bytes(msg.data), "<f4").reshape(n, len(names))


def cloud_to_landmarks(msg: PointCloud2) -> tuple[np.ndarray, np.ndarray] | None:
    """PointCloud2 -> ((N, 3) points, (N,) confidence), or None for an empty cloud.

    Raises:
        MessageError: fields or sizes other than eva's landmark layout.
    """
    cloud = read_cloud(msg)
    return None if cloud is None else cloud[:2]


def read_cloud(msg: PointCloud2) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """PointCloud2 -> ((N, 3) points, (N,) confidence, (52,) blendshapes or None), or None for an empty cloud.

    One pass over the data, for readers that want the landmarks and the expression.

    Raises:
        MessageError: a malformed cloud, or a blendshape field with fewer than 52 points.
    """
    arr = _cloud_array(msg)
    if arr is None:
        return None
    blend = None
    if arr.shape[1] > len(LANDMARK_FIELDS):
        if len(arr) < N_BLENDSHAPES:
            raise MessageError(f"landmark cloud has a {BLENDSHAPE_FIELD!r} field but {len(arr)} points, "
                               f"fewer than its {N_BLENDSHAPES} scores")
        blend = arr[:N_BLENDSHAPES, 4].astype(np.float32)
    return arr[:, :3].astype(np.float32), arr[:, 3].astype(np.float32), blend


def cloud_blendshapes(msg: PointCloud2) -> np.ndarray | None:
    """The (52,) blendshape scores a landmark cloud carries, or None (empty cloud, or a cloud without them).

    Raises:
        MessageError: a malformed cloud, or a blendshape field with fewer than 52 points.
    """
    cloud = read_cloud(msg)
    return None if cloud is None else cloud[2]
