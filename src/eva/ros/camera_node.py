"""camera: the human camera of the mimicry graph (RealSense, webcam, video file or images).

Publishes ``camera/image_raw`` (rgb8) and ``camera/camera_info``, both stamped
with the moment the frame was captured. A reading thread owns the device:
from a live camera only the newest frame is kept (the ones overwritten are
counted as dropped); a file source waits until its frame is published. At the
end of a finite source the node logs it once and stops; ``main()`` exits 0.
A source that cannot be opened is one error line and exit code 2.
"""
from __future__ import annotations

import sys
import threading

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from eva.core.crop import crop_image, parse_crop
from eva.perception.cameras import CameraError, Frame, camera_info, open_camera
from eva.ros.convert import image_to_msg, ns_to_time
from eva.ros.diagnostics import StageStats
from eva.ros.qos import sensor_qos

PARAMETERS = {  # name: (default, description)
    "source": ("webcam:0", "realsense[:SERIAL], webcam[:N], /dev/videoN, a video file, an image or a folder"),
    "width": (0, "requested image width in px (0 = the device's default)"),
    "height": (0, "requested image height in px (0 = the device's default)"),
    "fps": (0.0, "frames/s: a request to devices, the playback rate of files (0 = the source's own)"),
    "realtime": (True, "files play at their rate; false = as fast as they are read"),
    "loop": (False, "files start again at their end instead of stopping the node"),
    "frame_id": ("eva_camera", "header.frame_id of the images and camera info"),
    "reliable": (False, "reliable QoS (recording runs); default best effort, keep last 1"),
    "min_subscribers": (0, "start reading once both topics have this many matched subscribers"),
    "max_frames": (0, "end after this many frames, like the end of a file (0 = no limit; benchmarks)"),
    "image_topic": ("camera/image_raw", "topic of the images (robot babbling: robot/image_raw)"),
    "info_topic": ("camera/camera_info", "topic of the camera info (robot babbling: robot/camera_info)"),
    "crop": ("", "X,Y,W,H px: publish only this part of each frame (the paper crops 480x320 around the robot's "
                 "head); empty = whole frames"),
    "wait_for": ("", "comma-separated NODE:TOPIC pairs: reading starts once each node subscribes to its topic "
                     "(the pipeline is up, so a clip is not half over before the last stage is ready)"),
}


def _parse_wait_for(text: str) -> list[tuple[str, str]]:
    """``"landmarks:camera/image_raw,..."`` -> [(node name, fully qualified topic)]; ValueError on a bad item."""
    pairs = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        node, sep, topic = item.partition(":")
        if not sep or not node or not topic:
            raise ValueError(f"camera parameter wait_for: {item!r} is not NODE:TOPIC")
        pairs.append((node, topic if topic.startswith("/") else f"/eva/{topic}"))
    return pairs


class CameraNode(Node):
    """Publishes the frames of an :mod:`eva.perception.cameras` source."""

    def __init__(self, name: str = "camera", **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        for key, (default, text) in PARAMETERS.items():  # fps also takes an integer (30)
            self.declare_parameter(key, default, ParameterDescriptor(description=text, dynamic_typing=key == "fps"))
        p = lambda key: self.get_parameter(key).value  # noqa: E731
        self.source, self.frame_id = p("source"), p("frame_id")
        self._wait_for = _parse_wait_for(str(p("wait_for")))
        try:
            self.camera = open_camera(self.source, int(p("width")), int(p("height")), float(p("fps")),
                                      realtime=bool(p("realtime")), loop=bool(p("loop"))).open()
        except CameraError:
            super().destroy_node()
            raise
        try:
            self.crop = parse_crop(str(p("crop")))
        except ValueError as err:
            self.camera.close()
            super().destroy_node()
            raise CameraError(f"camera parameter {err}") from None
        info = self.camera.info
        if self.crop is not None and info.width and info.height and (
                self.crop[0] + self.crop[2] > info.width or self.crop[1] + self.crop[3] > info.height):
            self.camera.close()
            super().destroy_node()
            raise CameraError(f"camera parameter crop {','.join(map(str, self.crop))} reaches outside the "
                              f"{info.width}x{info.height} frames of {self.source}")
        qos = sensor_qos(bool(p("reliable")), 1)
        self.image_pub = self.create_publisher(Image, str(p("image_topic")), qos)
        self.info_pub = self.create_publisher(CameraInfo, str(p("info_topic")), qos)
        self.stats = StageStats(self, "camera")  # /diagnostics at 1 Hz: capture -> publish latency, dropped
        self.frames = 0          # published
        self.dropped = 0         # read from a live camera but overwritten before publishing
        self.done = False        # the source ended (or failed): main() stops spinning
        self.error: Exception | None = None
        self._min_subscribers = int(p("min_subscribers"))
        self._info_msg: CameraInfo | None = None
        self._latest: Frame | None = None
        self._ended = False
        self._lock = threading.Lock()
        self._taken = threading.Event()  # a file source's frame has been published
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name="camera-reader", daemon=True)
        self._wake = self.create_guard_condition(self._publish)
        self._start_timer = self.create_timer(0.05, self._maybe_start)
        info = self.camera.info
        self.get_logger().info(f"camera {info.name}: {info.width}x{info.height} at {info.fps:g} fps")

    def _maybe_start(self) -> None:
        matched = min(self.image_pub.get_subscription_count(), self.info_pub.get_subscription_count())
        if matched >= self._min_subscribers and all(self._subscribed(n, t) for n, t in self._wait_for):
            self._start_timer.cancel()
            self._thread.start()

    def _subscribed(self, node: str, topic: str) -> bool:
        return any(info.node_name == node for info in self.get_subscriptions_info_by_topic(topic))

    def _read_loop(self) -> None:
        """Reader thread: newest frame wins for live cameras, files wait for their reader."""
        limit, count = int(self.get_parameter("max_frames").value), 0
        try:
            while not self._stop.is_set() and not (limit and count >= limit):
                frame = self.camera.read()
                count += 1
                if frame is None:
                    break
                with self._lock:
                    self.dropped += self._latest is not None
                    self._latest = frame
                self._wake.trigger()
                if not self.camera.live:
                    while not self._taken.wait(0.1):
                        if self._stop.is_set():
                            return
                    self._taken.clear()
        except Exception as err:  # noqa: BLE001 - reported by the executor thread, then the node stops
            self.error = err
        self._ended = True
        try:
            self._wake.trigger()
        except Exception:  # noqa: BLE001 - the node is already being destroyed
            pass

    def _publish(self) -> None:
        with self._lock:
            frame, self._latest = self._latest, None
        if frame is not None:
            stamp = frame.stamp_ns  # capture time: end-to-end latency is measured from here
            if self.crop is not None:
                try:
                    frame = Frame(crop_image(frame.rgb, self.crop), frame.stamp_ns, frame.index)
                except ValueError as err:  # the device delivers smaller frames than the crop needs
                    self.error, self._ended = err, True
                    self._stop.set()
                    frame = None
        if frame is not None:
            self.image_pub.publish(image_to_msg(frame.rgb, stamp, self.frame_id))
            self.info_pub.publish(self._camera_info(frame, stamp))
            self.frames += 1
            self.stats.done(stamp)
            self.stats.counts["dropped"] = self.dropped
            self._taken.set()
            self.get_logger().info(f"{self.frames} frames, {self.dropped} dropped", throttle_duration_sec=10.0)
        if self._ended and self._latest is None and not self.done:
            self.done = True
            if self.error is not None:
                self.get_logger().error(f"{self.source} failed after {self.frames} frames: {self.error}")
            else:
                self.get_logger().info(f"end of {self.source} after {self.frames} frames ({self.dropped} dropped)")

    def _camera_info(self, frame: Frame, stamp_ns: int) -> CameraInfo:
        h, w = frame.rgb.shape[:2]
        msg = self._info_msg
        if msg is None or (msg.width, msg.height) != (w, h):  # computed once per image size
            cal = camera_info(self.camera)
            fx, fy, cx, cy = cal["fx"], cal["fy"], cal["cx"], cal["cy"]
            k = list(cal["K"])
            if self.crop is not None:  # the principal point moves with the crop's corner
                cx, cy = cx - self.crop[0], cy - self.crop[1]
                k[2], k[5] = cx, cy
            msg = self._info_msg = CameraInfo(
                width=w, height=h, distortion_model="plumb_bob", d=cal["D"], k=k,
                r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])
            if cal["estimated"]:
                self.get_logger().info("no calibration for this source: camera_info holds a pinhole guess "
                                       f"(fx = fy = {fx:g} px, centred)", once=True)
        msg.header.stamp = ns_to_time(stamp_ns)
        msg.header.frame_id = self.frame_id
        return msg

    def destroy_node(self):
        """Stops the reader thread and releases the device."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)  # a device read returns within its own 2 s timeout
        self.camera.close()
        return super().destroy_node()


def main(args=None) -> int:
    """``ros2 run eva camera``: 0 at the end of a finite source or on Ctrl-C, 1 if it failed, 2 if it
    could not be opened."""
    from eva.ros.session import ros_session
    with ros_session(args) as session:
        try:
            node = CameraNode()
        except CameraError as err:
            rclpy.logging.get_logger("eva.camera").error(f"cannot start: {err}")
            return 2
        try:
            session.spin(node, until=lambda: node.done)
            return 0 if node.error is None else 1  # a stop request is a normal end too
        finally:
            node.destroy_node()


if __name__ == "__main__":
    sys.exit(main())
