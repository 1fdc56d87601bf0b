"""The camera node in-process over DDS: every frame of a folder, CameraInfo, end of source, exit codes."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
import yaml
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

import eva.ros.camera_node as camera_node
from eva.perception.cameras import Camera, CameraError
from eva.ros.camera_node import PARAMETERS, CameraNode
from eva.ros.convert import msg_to_rgb, time_to_ns
from rosutil import spin_until

from eva.ros.qos import sensor_qos

pytestmark = pytest.mark.ros
N_IMAGES, FPS = 6, 50.0
CONFIG = Path(__file__).resolve().parents[1] / "config" / "camera.yaml"


@pytest.fixture
def folder(tmp_path):
    """6 PNGs of 32x24, each a distinct colour, named so that sorted order = frame order."""
    images = []
    for k in range(N_IMAGES):
        rgb = np.full((24, 32, 3), (40 * k, 255 - 40 * k, 100), np.uint8)
        rgb[k, k] = (255, 255, 255)
        cv2.imwrite(str(tmp_path / f"frame_{k:02d}.png"), rgb[:, :, ::-1])
        images.append(rgb)
    return tmp_path, images



def test_publishes_every_frame_of_a_folder_with_camera_info_then_stops(context, folder):
    path, images = folder
    listener = Node("listener", namespace="/eva", context=context)
    got_images, got_infos = [], []
    image_sub = listener.create_subscription(Image, "camera/image_raw", got_images.append, sensor_qos(True, 50))
    info_sub = listener.create_subscription(CameraInfo, "camera/camera_info", got_infos.append, sensor_qos(True, 50))
    node = CameraNode(context=context, parameter_overrides=[
        Parameter("source", value=str(path)), Parameter("fps", value=FPS), Parameter("reliable", value=True),
        Parameter("min_subscribers", value=1), Parameter("frame_id", value="test_cam")])
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(listener)
    # the camera node is not spun yet, so it cannot start before both subscriptions see it
    assert spin_until(ex, lambda: image_sub.get_publisher_count() >= 1 and info_sub.get_publisher_count() >= 1)
    ex.add_node(node)
    assert spin_until(ex, lambda: node.done and len(got_infos) >= N_IMAGES), \
        f"got {len(got_images)} images, {len(got_infos)} infos, node done={node.done}"
    spin_until(ex, lambda: False, timeout_s=0.1)  # anything extra would arrive now
    assert (node.frames, node.dropped, node.error) == (N_IMAGES, 0, None)
    assert len(got_images) == len(got_infos) == N_IMAGES
    stamps = [time_to_ns(m.header.stamp) for m in got_images]
    for msg, info, rgb in zip(got_images, got_infos, images):
        assert msg.encoding == "rgb8" and msg.header.frame_id == "test_cam"
        np.testing.assert_array_equal(msg_to_rgb(msg), rgb)
        assert info.header.stamp == msg.header.stamp and info.header.frame_id == "test_cam"
        assert (info.width, info.height) == (32, 24)
        np.testing.assert_allclose(info.k, [32, 0, 16, 0, 32, 12, 0, 0, 1])  # pinhole guess for files
    gaps_s = np.diff(stamps) / 1e9  # capture stamps, paced at 50 fps (realtime)
    assert np.median(gaps_s) == pytest.approx(1 / FPS, abs=0.004) and gaps_s.sum() > 0.95 * (N_IMAGES - 1) / FPS
    node.destroy_node()
    listener.destroy_node()


class _FakeLiveCamera(Camera):
    """A live device that films ``n`` frames (k-th grey level k) as fast as it can, then fails or ends."""

    live = True

    def __init__(self, n, fail=False):
        super().__init__("fake_live", 8, 6, 30.0)
        self.n, self.fail, self.closed, self.frames = n, fail, False, []

    def open(self):
        return self

    def read(self):
        if self._count >= self.n:
            if self.fail:
                raise CameraError("fake_live stopped delivering frames")
            return None
        self.frames.append(self._frame(np.full((6, 8, 3), self._count, np.uint8)))
        return self.frames[-1]

    def close(self):
        self.closed = True


@pytest.mark.parametrize("fail", [False, True])
def test_live_camera_keeps_only_the_newest_frame(context, monkeypatch, fail):
    fake = _FakeLiveCamera(20, fail)
    monkeypatch.setattr(camera_node, "open_camera", lambda *a, **kw: fake)
    node = CameraNode(context=context)
    sent = []
    publish = node.image_pub.publish
    node.image_pub.publish = lambda msg: (sent.append((msg_to_rgb(msg)[0, 0, 0], time_to_ns(msg.header.stamp))),
                                          publish(msg))
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    ex.spin_once(timeout_sec=1.0)  # the start timer: the reader thread begins, nothing is published yet
    node._thread.join(timeout=5.0)  # all 20 frames read while the executor was not spinning
    assert spin_until(ex, lambda: node.done)
    assert sent == [(19, fake.frames[19].stamp_ns)]  # the newest frame, stamped when it was captured
    assert (node.frames, node.dropped) == (1, 19)
    assert (node.error is not None) == fail
    node.destroy_node()
    assert fake.closed


def test_default_qos_is_best_effort_keep_last_1_and_yaml_mirrors_the_parameters(context, folder):
    node = CameraNode(context=context, parameter_overrides=[Parameter("source", value=str(folder[0]))])
    for pub in (node.image_pub, node.info_pub):
        assert pub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT and pub.qos_profile.depth == 1
    assert node.get_parameter("source").value == str(folder[0])
    described = node.describe_parameters(list(PARAMETERS))
    assert all(d.description for d in described)
    node.destroy_node()
    params = yaml.safe_load(CONFIG.read_text())["/eva/camera"]["ros__parameters"]
    assert params == {key: default for key, (default, _) in PARAMETERS.items()}


def test_main_exits_0_at_the_end_of_a_folder(folder, capfd):
    args = ["camera", "--ros-args", "-p", f"source:={folder[0]}", "-p", "realtime:=false", "-p", "fps:=30"]
    assert camera_node.main(args) == 0
    err = capfd.readouterr().err
    assert err.count(f"end of {folder[0]} after {N_IMAGES} frames") == 1


def test_main_exits_2_with_one_error_line_when_the_source_cannot_open(tmp_path, capfd):
    missing = tmp_path / "nothing_here"
    assert camera_node.main(["camera", "--ros-args", "-p", f"source:={missing}"]) == 2
    out = capfd.readouterr()
    errors = [line for line in (out.out + out.err).splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"{missing}" in errors[0] and "does not exist" in errors[0]
    assert "Traceback" not in out.out + out.err
    assert not rclpy.ok()  # the default context was shut down


def test_max_frames_ends_a_looping_source(context, folder):
    path, _ = folder
    node = CameraNode(context=context, parameter_overrides=[
        Parameter("source", value=str(path)), Parameter("fps", value=200.0), Parameter("loop", value=True),
        Parameter("max_frames", value=N_IMAGES + 3)])
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    assert spin_until(ex, lambda: node.done, timeout_s=10.0)
    assert node.frames == N_IMAGES + 3  # past the end of the folder (looped), then stopped
    node.destroy_node()


def test_wait_for_holds_the_first_frame_until_the_node_subscribes(context, folder):
    path, _ = folder
    node = CameraNode(context=context, parameter_overrides=[
        Parameter("source", value=str(path)), Parameter("fps", value=FPS),
        Parameter("wait_for", value="late_stage:camera/image_raw")])
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    other = Node("other_stage", namespace="/eva", context=context)
    other.create_subscription(Image, "camera/image_raw", lambda m: None, sensor_qos())
    ex.add_node(other)
    spin_until(ex, lambda: False, timeout_s=0.5)
    assert node.frames == 0  # another node's subscription does not count
    late = Node("late_stage", namespace="/eva", context=context)
    late.create_subscription(Image, "camera/image_raw", lambda m: None, sensor_qos())
    ex.add_node(late)
    assert spin_until(ex, lambda: node.frames > 0, timeout_s=10.0)
    for n in (node, other, late):
        n.destroy_node()


def test_wait_for_must_name_node_and_topic(context, folder):
    with pytest.raises(ValueError, match="NODE:TOPIC"):
        CameraNode(context=context, parameter_overrides=[
            Parameter("source", value=str(folder[0])), Parameter("wait_for", value="just_a_topic")])


def test_crop_publishes_the_part_on_the_chosen_topics_and_moves_the_principal_point(context, folder):
    path, images = folder
    listener = Node("listener", namespace="/eva", context=context)
    got_images, got_infos = [], []
    image_sub = listener.create_subscription(Image, "robot/image_raw", got_images.append, sensor_qos(True, 50))
    listener.create_subscription(CameraInfo, "robot/camera_info", got_infos.append, sensor_qos(True, 50))
    node = CameraNode(context=context, parameter_overrides=[
        Parameter("source", value=str(path)), Parameter("fps", value=FPS), Parameter("reliable", value=True),
        Parameter("min_subscribers", value=1), Parameter("crop", value="4,2,20,16"),
        Parameter("image_topic", value="robot/image_raw"), Parameter("info_topic", value="robot/camera_info")])
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(listener)
    assert spin_until(ex, lambda: image_sub.get_publisher_count() >= 1)
    ex.add_node(node)
    assert spin_until(ex, lambda: node.done and len(got_infos) >= N_IMAGES)
    for msg, info, rgb in zip(got_images, got_infos, images):
        np.testing.assert_array_equal(msg_to_rgb(msg), rgb[2:18, 4:24])
        assert (info.width, info.height) == (20, 16)
        np.testing.assert_allclose(info.k, [32, 0, 12, 0, 32, 10, 0, 0, 1])  # cx 16 - 4, cy 12 - 2
    node.destroy_node()
    listener.destroy_node()


def test_a_bad_crop_or_one_larger_than_the_frames_is_an_error(context, folder):
    with pytest.raises(CameraError, match="crop must be X,Y,W,H"):
        CameraNode(context=context, parameter_overrides=[
            Parameter("source", value=str(folder[0])), Parameter("crop", value="1,2")])
    with pytest.raises(CameraError, match="crop 0,0,64,48 reaches outside the 32x24 frames"):
        CameraNode(context=context, parameter_overrides=[
            Parameter("source", value=str(folder[0])), Parameter("crop", value="0,0,64,48")])


def test_a_crop_larger_than_a_live_cameras_frames_stops_it_with_the_error(context, monkeypatch):
    fake = _FakeLiveCamera(3)
    fake._info = fake._info.__class__(fake._info.name, 0, 0, 30.0)  # a device that says its size only by its frames
    monkeypatch.setattr(camera_node, "open_camera", lambda *a, **k: fake)
    node = CameraNode(context=context, parameter_overrides=[Parameter("crop", value="0,0,64,48")])
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    assert spin_until(ex, lambda: node.done)
    assert node.frames == 0 and "outside the" in str(node.error)
    node.destroy_node()
