"""recorder: writes a graph's topics, as received (raw CDR), into a crash-safe rosbag2 bag.

``topics``: ``babbling`` (commands, robot images and landmarks, reliable),
``robot_babbling`` (the steps a robot babbler chose, see ``ROBOT_BABBLING_TOPICS``) or
``mimic`` (every stage of the mimicry graph, best effort like its publishers).

While recording babbling, the recorder acknowledges every message it has
written on ``recorder/written`` (std_msgs/Header: the message's header stamp,
frame_id the topic). The babbler moves to the next step only once the recorder
has written the step's command, image and landmarks, so a recorder that
discovered the graph late, or fell behind, never loses a step.

Raw subscriptions (``raw=True``) hand over the serialized bytes, so nothing is
decoded or re-encoded on the way to disk. The bag rolls to a new MCAP file
every ``split_seconds`` and rewrites metadata.yaml after each, so a killed run
keeps everything up to the last split (see :mod:`eva.data`).
"""
from __future__ import annotations

from rclpy.node import Node
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2
from std_msgs.msg import Header

from eva.data.cdr import header_stamp_ns
from eva.ros.convert import ns_to_time
from eva.ros.qos import command_qos, sensor_qos, written_qos

WRITTEN_TOPIC = "recorder/written"
# topic (relative to /eva) -> (message class, rosbag2 type name, QoS maker)
# Commands and landmarks come from eva's own transient-local writers (babbler, landmarks node);
# the robot camera may be any driver, so its images are read volatile (compatible with all).
BABBLING_TOPICS = {
    "motor_commands": (JointState, "sensor_msgs/msg/JointState", lambda: command_qos(10, transient_local=True)),
    "robot/image_raw": (Image, "sensor_msgs/msg/Image", lambda: sensor_qos(True, 10)),
    "robot/landmarks": (PointCloud2, "sensor_msgs/msg/PointCloud2",
                        lambda: sensor_qos(True, 10, transient_local=True)),
}
_IMAGE = (Image, "sensor_msgs/msg/Image", lambda: sensor_qos(False, 10))
_CLOUD = (PointCloud2, "sensor_msgs/msg/PointCloud2", lambda: sensor_qos(False, 10))
MIMIC_TOPICS = {
    "camera/image_raw": _IMAGE,
    # small: every frame's stamp, even when its large image is dropped on the way to the recorder
    "camera/camera_info": (CameraInfo, "sensor_msgs/msg/CameraInfo", lambda: sensor_qos(False, 10)),
    "face/landmarks": _CLOUD,
    "face/head_pose": (PoseStamped, "geometry_msgs/msg/PoseStamped", lambda: sensor_qos(False, 10)),
    "face/landmarks_robot": _CLOUD,
    "self_image": _IMAGE,
    "motor_commands": (JointState, "sensor_msgs/msg/JointState", lambda: command_qos(10)),
    "robot/image_raw": _IMAGE,
}
# Robot babbling (eva.ros.robot_babbler): only each step's chosen messages, which the babbler publishes
# on babble/*, written under the babbling bag's topic names (so it reads like a simulated bag), plus
# the joint state the servo bridge reported. All come from the babbler's transient-local writers.
_STEP_QOS = lambda: command_qos(10, transient_local=True)  # noqa: E731
ROBOT_BABBLING_TOPICS = {
    "motor_commands": (JointState, "sensor_msgs/msg/JointState", _STEP_QOS, "babble/command"),
    "joint_states": (JointState, "sensor_msgs/msg/JointState", _STEP_QOS, "babble/joint_state"),
    "robot/image_raw": (Image, "sensor_msgs/msg/Image", _STEP_QOS, "babble/image"),
    "robot/landmarks": (PointCloud2, "sensor_msgs/msg/PointCloud2", _STEP_QOS, "babble/landmarks"),
}
TOPIC_SETS = {"babbling": BABBLING_TOPICS, "mimic": MIMIC_TOPICS, "robot_babbling": ROBOT_BABBLING_TOPICS}
ACKNOWLEDGED = ("babbling", "robot_babbling")  # topic sets whose writes go out on recorder/written


class RecorderNode(Node):
    """Records a topic set into ``out`` (refuses an existing bag unless ``resume``)."""

    def __init__(self, name: str = "recorder", **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        from eva.data.bag import BagRecorder

        self.bag = None

        self.declare_parameter("out", "")
        self.declare_parameter("resume", False)
        self.declare_parameter("split_seconds", 1.0)
        self.declare_parameter("topics", "babbling")  # babbling | mimic
        p = self.get_parameter
        out = p("out").value
        if not out:
            raise ValueError("recorder parameter out (bag directory) is required")
        if p("topics").value not in TOPIC_SETS:
            raise ValueError(f"recorder parameter topics must be one of {sorted(TOPIC_SETS)}, got {p('topics').value!r}")
        # bag topic -> (message class, type name, QoS maker, subscribed topic)
        self.topics = {f"/eva/{t}": (spec[0], spec[1], spec[2], f"/eva/{spec[3] if len(spec) > 3 else t}")
                       for t, spec in TOPIC_SETS[p("topics").value].items()}
        self.bag = BagRecorder(out, {t: spec[1] for t, spec in self.topics.items()},
                               split_seconds=float(p("split_seconds").value), resume=bool(p("resume").value),
                               qos={t: [spec[2]()] for t, spec in self.topics.items()})
        self.counts = {t: 0 for t in self.topics}
        self.written_pub = None
        if p("topics").value in ACKNOWLEDGED:
            self.written_pub = self.create_publisher(Header, WRITTEN_TOPIC, written_qos())
        for topic, (cls, _, qos, source) in self.topics.items():
            self.create_subscription(cls, source, self._writer(topic), qos(), raw=True)

    def _writer(self, topic: str):
        def write(data: bytes) -> None:
            self.bag.write(topic, self.get_clock().now().nanoseconds, data)
            self.counts[topic] += 1
            if self.written_pub is not None:
                self.written_pub.publish(Header(stamp=ns_to_time(header_stamp_ns(data)), frame_id=topic))
        return write

    def close(self) -> None:
        """Finishes the bag (safe to call twice)."""
        if self.bag is not None:
            self.bag.close()
            self.bag = None

    def destroy_node(self):
        """Closes the bag before going away."""
        self.close()
        return super().destroy_node()


def main(args=None) -> None:
    """``ros2 run eva recorder --ros-args -p out:=BAG``."""
    from eva.ros.session import run_node
    run_node(RecorderNode, args)


if __name__ == "__main__":
    main()
