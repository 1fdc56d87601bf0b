"""Message <-> NumPy conversions (no DDS needed)."""
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image, JointState, PointCloud2

from eva.data.cdr import decode_landmarks as read_landmarks_cdr
from eva.ros.convert import (MessageError, cloud_blendshapes, cloud_to_landmarks, image_to_msg, joints_to_msg,
                             landmarks_to_cloud, msg_to_positions, msg_to_rgb, time_to_ns)


def test_image_round_trip_through_cdr():
    rgb = np.random.default_rng(0).integers(0, 255, (7, 9, 3), dtype=np.uint8)
    msg = deserialize_message(serialize_message(image_to_msg(rgb, 1_700_000_000_123_456_789, "cam")), Image)
    assert time_to_ns(msg.header.stamp) == 1_700_000_000_123_456_789
    np.testing.assert_array_equal(msg_to_rgb(msg), rgb)
    msg.encoding = "bgr8"
    np.testing.assert_array_equal(msg_to_rgb(msg), rgb[:, :, ::-1])


def test_bad_images_are_named():
    msg = image_to_msg(np.zeros((4, 4, 3), np.uint8), 0, "cam")
    msg.encoding = "yuv422"
    with pytest.raises(MessageError, match="yuv422"):
        msg_to_rgb(msg)
    msg = image_to_msg(np.zeros((4, 4, 3), np.uint8), 0, "cam")
    msg.height = 5
    with pytest.raises(MessageError, match="size"):
        msg_to_rgb(msg)


def test_joint_state_order_and_rejections():
    names = ["a", "b", "c"]
    msg = joints_to_msg(["c", "a", "b"], [0.3, 0.1, 0.2], 5)
    np.testing.assert_allclose(msg_to_positions(msg, names), [0.1, 0.2, 0.3])
    with pytest.raises(MessageError, match="unknown"):
        msg_to_positions(joints_to_msg(["a", "b", "x"], [0, 0, 0], 0), names)
    with pytest.raises(MessageError, match="non-finite"):
        msg_to_positions(joints_to_msg(names, [0, float("nan"), 0], 0), names)
    bad = JointState(name=names, position=[0.0, 1.0])
    with pytest.raises(MessageError, match="3 names but 2"):
        msg_to_positions(bad, names)
    # the bridge's joint_states also hold the eyes and neck: the face takes its own joints
    both = joints_to_msg(["neck_0", "c", "a", "eye_yaw", "b"], [0.9, 0.3, 0.1, 0.5, 0.2], 0)
    np.testing.assert_allclose(msg_to_positions(both, names, ignore_unknown=True), [0.1, 0.2, 0.3])
    with pytest.raises(MessageError, match="missing"):
        msg_to_positions(joints_to_msg(["a", "neck_0"], [0, 0], 0), names, ignore_unknown=True)


def test_landmark_cloud_round_trip_and_empty():
    pts = np.random.default_rng(1).normal(size=(478, 3)).astype(np.float32)
    conf = np.linspace(0, 1, 478).astype(np.float32)
    msg = deserialize_message(serialize_message(landmarks_to_cloud(pts, conf, 42, "cam")), PointCloud2)
    got_pts, got_conf = cloud_to_landmarks(msg)
    np.testing.assert_array_equal(got_pts, pts)
    np.testing.assert_array_equal(got_conf, conf)
    assert [f.name for f in msg.fields] == ["x", "y", "z", "confidence"]
    assert cloud_to_landmarks(landmarks_to_cloud(None, None, 42, "cam")) is None
    msg.fields = msg.fields[:3]
    with pytest.raises(MessageError, match="fields"):
        cloud_to_landmarks(msg)


def test_landmark_cloud_carries_the_frames_blendshapes():
    pts = np.random.default_rng(2).normal(size=(478, 3)).astype(np.float32)
    blend = np.linspace(0, 1, 52).astype(np.float32)
    msg = deserialize_message(serialize_message(landmarks_to_cloud(pts, None, 7, "cam", blend)), PointCloud2)
    assert [f.name for f in msg.fields] == ["x", "y", "z", "confidence", "blendshape"]
    np.testing.assert_array_equal(cloud_to_landmarks(msg)[0], pts)  # readers of the landmarks are unaffected
    np.testing.assert_array_equal(cloud_blendshapes(msg), blend)
    assert cloud_blendshapes(landmarks_to_cloud(pts, None, 7, "cam")) is None  # a cloud without them
    assert cloud_blendshapes(landmarks_to_cloud(None, None, 7, "cam", blend)) is None  # no face
    points, _ = read_landmarks_cdr(serialize_message(msg))  # the bag reader takes the wider layout too
    np.testing.assert_array_equal(points, pts)
    short = landmarks_to_cloud(pts[:60], None, 7, "cam", blend)
    short.width = 10
    short.row_step = 200
    short.data = short.data[:200]
    with pytest.raises(MessageError, match="fewer than"):
        cloud_blendshapes(short)
    with pytest.raises(ValueError, match="blendshapes"):
        landmarks_to_cloud(pts, None, 7, "cam", blend[:10])
    msg.fields[4].datatype = 8  # float64 where float32 belongs
    with pytest.raises(MessageError, match="float32"):
        cloud_blendshapes(msg)
