"""CDR bytes <-> NumPy for the three babbling messages, without rclpy or DDS.

The bytes are the same as a ``raw=True`` subscription delivers (and as
``rclpy.serialization.serialize_message`` gives), so tests and the bag reader
use these and the ROS side uses :mod:`eva.ros.convert`. Landmark clouds have
float32 fields x, y, z, confidence (x, y in image pixels); an empty cloud
means no face was found in that image.
"""
from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np
from rosbags.typesys import Stores, get_typestore

JOINT_STATE = "sensor_msgs/msg/JointState"
IMAGE = "sensor_msgs/msg/Image"
POINT_CLOUD2 = "sensor_msgs/msg/PointCloud2"
LANDMARK_FIELDS = ("x", "y", "z", "confidence")
_FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32
_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}


@lru_cache(maxsize=1)
def typestore():
    """The ROS 2 Kilted typestore of rosbags (built once)."""
    return get_typestore(Stores.ROS2_KILTED)


def deserialize(cdr: bytes | memoryview, msgtype: str):
    """CDR -> rosbags message object, accepting trailing bytes after the message.

    ``rclpy.serialization.serialize_message`` can return a few bytes more than the
    message (seen: 8 for JointState), which rosbags' ``deserialize_cdr`` refuses;
    bytes received by a ``raw=True`` subscription have the exact size.
    """
    if len(cdr) < 4 or bytes(cdr[:2]) not in (b"\x00\x00", b"\x00\x01"):
        raise ValueError(f"not a CDR {msgtype}: unknown encapsulation {bytes(cdr[:2])!r}")
    ts = typestore()
    msgdef = ts.get_msgdef(msgtype)
    func = msgdef.deserialize_cdr_le if cdr[1] else msgdef.deserialize_cdr_be
    return func(memoryview(cdr)[4:], 0, msgdef.cls, ts)[0]


def header_stamp_ns(cdr: bytes | memoryview) -> int:
    """Header stamp (ns) of a CDR message whose first field is std_msgs/Header.

    Reads 8 bytes after the 4-byte encapsulation header, so images are not decoded.
    """
    little = cdr[1] & 1  # encapsulation 0x0001 = CDR little endian, 0x0000 = big endian
    sec, nsec = struct.unpack_from("<iI" if little else ">iI", cdr, 4)
    return sec * 1_000_000_000 + nsec


def _header(stamp_ns: int, frame_id: str):
    ts = typestore()
    stamp = ts.types["builtin_interfaces/msg/Time"](sec=int(stamp_ns // 1_000_000_000),
                                                    nanosec=int(stamp_ns % 1_000_000_000))
    return ts.types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def encode_joint_state(names, positions, stamp_ns: int, frame_id: str = "") -> bytes:
    """Motor names + positions -> CDR sensor_msgs/JointState (velocity, effort empty)."""
    ts = typestore()
    pos = np.asarray(positions, np.float64).reshape(-1)
    msg = ts.types[JOINT_STATE](header=_header(stamp_ns, frame_id), name=[str(n) for n in names],
                                position=pos, velocity=np.zeros(0), effort=np.zeros(0))
    return bytes(ts.serialize_cdr(msg, JOINT_STATE))


def decode_joint_state(cdr: bytes | memoryview) -> tuple[int, list[str], np.ndarray]:
    """CDR JointState -> (stamp_ns, names, positions float64)."""
    msg = deserialize(cdr, JOINT_STATE)
    return header_stamp_ns(cdr), list(msg.name), np.asarray(msg.position, np.float64)


def encode_image(rgb: np.ndarray, stamp_ns: int, frame_id: str = "", encoding: str = "rgb8") -> bytes:
    """(H, W, C) uint8 -> CDR sensor_msgs/Image with ``step = W * C``."""
    ts = typestore()
    img = np.ascontiguousarray(rgb, np.uint8)
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    msg = ts.types[IMAGE](header=_header(stamp_ns, frame_id), height=h, width=w, encoding=encoding,
                          is_bigendian=0, step=w * channels, data=img.reshape(-1))
    return bytes(ts.serialize_cdr(msg, IMAGE))


def decode_image(cdr: bytes | memoryview) -> np.ndarray:
    """CDR Image (rgb8, bgr8, rgba8, bgra8 or mono8) -> (H, W, 3) uint8 RGB.

    Raises:
        ValueError: unsupported encoding or a data size that does not match.
    """
    msg = deserialize(cdr, IMAGE)
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise ValueError(f"unsupported image encoding {msg.encoding!r} (supported: {sorted(_CHANNELS)})")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0 or step < w * channels or len(msg.data) < h * step:
        raise ValueError(f"image data size {len(msg.data)} does not match {w}x{h} step {step} {msg.encoding}")
    img = np.asarray(msg.data[: h * step]).reshape(h, step)[:, : w * channels].reshape(h, w, channels)
    if msg.encoding.startswith("bgr"):
        img = img[:, :, 2::-1]
    elif channels == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def encode_landmarks(points: np.ndarray | None, stamp_ns: int, confidence: np.ndarray | None = None,
                     frame_id: str = "") -> bytes:
    """(K, 3) float pixels (+ (K,) confidence, default 1) -> CDR PointCloud2; None -> empty cloud."""
    ts = typestore()
    field = ts.types["sensor_msgs/msg/PointField"]
    fields = [field(name=n, offset=4 * i, datatype=_FLOAT32, count=1) for i, n in enumerate(LANDMARK_FIELDS)]
    if points is None:
        data = np.zeros(0, np.uint8)
    else:
        pts = np.asarray(points, np.float32).reshape(-1, 3)
        conf = np.ones(len(pts), np.float32) if confidence is None else np.asarray(confidence, np.float32)
        data = np.concatenate([pts, conf.reshape(-1, 1)], axis=1).astype("<f4").view(np.uint8).reshape(-1)
    n = len(data) // 16
    msg = ts.types[POINT_CLOUD2](header=_header(stamp_ns, frame_id), height=1, width=n, fields=fields,
                                 is_bigendian=False, point_step=16, row_step=16 * n, data=data, is_dense=True)
    return bytes(ts.serialize_cdr(msg, POINT_CLOUD2))


def decode_landmarks(cdr: bytes | memoryview) -> tuple[np.ndarray, np.ndarray] | None:
    """CDR PointCloud2 -> ((K, 3) float32 x, y, z, (K,) float32 confidence), or None if empty.

    Raises:
        ValueError: fields x, y, z missing or not float32, or a size that does not match.
    """
    msg = deserialize(cdr, POINT_CLOUD2)
    n = int(msg.width) * int(msg.height)
    if n == 0:
        return None
    offsets = {f.name: int(f.offset) for f in msg.fields if f.datatype == _FLOAT32 and f.count == 1}
    if not {"x", "y", "z"} <= offsets.keys():
        raise ValueError(f"landmark cloud needs float32 fields x, y, z; got {[f.name for f in msg.fields]}")
    step = int(msg.point_step)
    if len(msg.data) < n * step:
        raise ValueError(f"landmark cloud data has {len(msg.data)} bytes, expected {n * step}")
    order = ">" if msg.is_bigendian else "<"
    names = [k for k in LANDMARK_FIELDS if k in offsets]
    dtype = np.dtype({"names": names, "formats": [order + "f4"] * len(names),
                      "offsets": [offsets[k] for k in names], "itemsize": step})
    rec = np.frombuffer(np.asarray(msg.data[: n * step]).tobytes(), dtype)
    points = np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float32)
    conf = rec["confidence"].astype(np.float32) if "confidence" in names else np.ones(n, np.float32)
    return points, conf
