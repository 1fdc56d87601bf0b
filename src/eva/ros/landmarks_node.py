"""landmarks: MediaPipe face landmarks on every frame of an image topic.

Publishes a PointCloud2 (x, y, z, confidence; 478 points, pixels; with
``blendshapes``, MediaPipe's 52 expression scores in a fifth field, see
:mod:`eva.ros.convert`) stamped with the source frame's stamp, an empty cloud
when no face is found, and the head pose as geometry_msgs/PoseStamped. Used for
the human camera (``camera/image_raw`` -> ``face/landmarks``) and for the robot
camera during babbling (``robot/image_raw`` -> ``robot/landmarks``).
"""
from __future__ import annotations

from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image, PointCloud2

from eva.core.fidelity import blendshape_vector
from eva.core.pose import matrix_to_quaternion
from eva.ros.convert import MessageError, landmarks_to_cloud, msg_to_rgb, time_to_ns
from eva.ros.diagnostics import StageStats
from eva.ros.qos import sensor_qos


PARAMETERS = {  # name: (default, description)
    "image_topic": ("camera/image_raw", "input images (rgb8, bgr8 or mono8)"),
    "landmarks_topic": ("face/landmarks", "output PointCloud2: x, y (px), z, confidence; 478 points, empty = no face"),
    "head_pose_topic": ("face/head_pose", "output PoseStamped: head pose from MediaPipe's face transform"),
    "model_path": ("", "face_landmarker.task; empty = the verified cached model"),
    "running_mode": ("video", "video (tracks between frames) or image (exact, reproducible)"),
    "max_faces": (2, "faces MediaPipe looks for; with several the largest is followed, then the nearest to it"),
    "blendshapes": (True, "also publish MediaPipe's 52 blendshape scores in the cloud's 'blendshape' field "
                          "(the normalizer's calm neutral reads them)"),
    "reliable": (False, "reliable QoS with a queue of 5, transient local out (recording runs); default best effort, newest frame only"),
}


class LandmarksNode(Node):
    """Image in, landmarks + head pose out, one for one."""

    def __init__(self, name: str = "landmarks", **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        from eva.perception.detector import FaceDetector

        for key, (default, text) in PARAMETERS.items():
            self.declare_parameter(key, default, ParameterDescriptor(description=text))
        p = self.get_parameter
        self.detector = FaceDetector(p("model_path").value or None, running_mode=p("running_mode").value,
                                     max_faces=int(p("max_faces").value), blendshapes=bool(p("blendshapes").value))
        reliable = bool(p("reliable").value)
        qos = sensor_qos(reliable, 5 if reliable else 1)  # live: newest frame only, no backlog
        # recording runs: a recorder that matched late still gets the last 5 clouds (eva.ros.qos)
        out_qos = sensor_qos(reliable, 5 if reliable else 1, transient_local=reliable)
        self.pub = self.create_publisher(PointCloud2, p("landmarks_topic").value, out_qos)
        self.pose_pub = self.create_publisher(PoseStamped, p("head_pose_topic").value, out_qos)
        self.create_subscription(Image, p("image_topic").value, self._on_image, qos)
        self.frames = 0
        self.faces = 0
        self.stats = StageStats(self, "landmarks")  # /diagnostics at 1 Hz
        self.latency = self.stats.latency  # camera frame stamp -> landmarks published

    def _on_image(self, msg: Image) -> None:
        self.stats.received()
        try:
            rgb = msg_to_rgb(msg)
        except MessageError as err:
            self.stats.reject(f"rejected image: {err}")
            return
        stamp = time_to_ns(msg.header.stamp)
        face = self.detector.detect(rgb, timestamp_ms=stamp // 1_000_000)
        self.frames += 1
        if face is None:
            self.stats.skip()
            self.get_logger().info("no face in frame", throttle_duration_sec=5.0)
            self.pub.publish(landmarks_to_cloud(None, None, stamp, msg.header.frame_id))
            self._log_latency(stamp)
            return
        self.faces += 1
        blend = blendshape_vector(face.blendshapes) if face.blendshapes else None
        self.pub.publish(landmarks_to_cloud(face.points, face.confidence, stamp, msg.header.frame_id, blend))
        self._log_latency(stamp)
        if face.transform is not None:
            pose = PoseStamped()
            pose.header = msg.header
            t = face.transform[:3, 3] / 100.0  # MediaPipe gives cm
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = map(float, t)
            q = matrix_to_quaternion(face.transform)
            o = pose.pose.orientation
            o.x, o.y, o.z, o.w = map(float, q)
            self.pose_pub.publish(pose)

    def _log_latency(self, stamp_ns: int) -> None:
        self.stats.done(stamp_ns)

    def destroy_node(self):
        """Releases the MediaPipe graph."""
        self.detector.close()
        return super().destroy_node()


def main(args=None) -> None:
    """``ros2 run eva landmarks``."""
    from eva.ros.session import run_node
    run_node(LandmarksNode, args)


if __name__ == "__main__":
    main()
