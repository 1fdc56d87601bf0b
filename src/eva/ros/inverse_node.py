"""inverse: the robot's self-image -> motor commands, F(I) (paper IV-D).

Subscribes ``self_image`` and publishes ``motor_commands`` (sensor_msgs/JointState:
motor names, positions in [0, 1]; reliable, keep last 1) with the camera frame's
stamp. ``continuous`` publishes the probability-weighted level (smoother, and
measured closer to the target than the paper's argmax; see the README).
On deactivate and shutdown it publishes the neutral (all-zeros) command.
"""
from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image, JointState

from eva.ros.convert import MessageError, joints_to_msg, msg_to_rgb, time_to_ns
from eva.ros.model_node import ModelNode, spin_model_node
from eva.ros.qos import command_qos, sensor_qos


class InverseNode(ModelNode):
    """Runs the inverse checkpoint on every self-image."""

    stage = "inverse"

    def __init__(self, name: str = "inverse", **kwargs):
        super().__init__(name, **kwargs)
        self.param("continuous", True, "expected level (true) or the most likely level per motor (paper)")
        self.param("role", "auto", "auto (F trained on G's images when the checkpoints have it), inverse (the "
                                   "paper's F, trained on camera images) or inverse-on-generated")
        self.pub = self.create_lifecycle_publisher(JointState, "motor_commands", command_qos())

    def load(self):
        from eva.learning.mimic import inverse_role
        p = self.get_parameter
        role = inverse_role(p("checkpoints").value or None, int(p("seed").value), p("role").value)
        return self.load_kind(role, kind="inverse")

    def connect(self) -> None:
        self.sub = self.create_subscription(Image, "self_image", self._on_image, sensor_qos())

    def disconnect(self) -> None:
        super().disconnect()
        if self.loaded is not None:  # go neutral
            names = self.loaded.meta["motor_names"]
            self.pub.publish(joints_to_msg(names, np.zeros(len(names)), self.get_clock().now().nanoseconds))
            self.pub.wait_for_all_acked(timeout_sec=0.5)  # delivered before the process ends

    def _on_image(self, msg: Image) -> None:
        from eva.learning.predict import expected_commands, face_crop, predict_commands
        self.stats.received()
        size = face_crop(self.loaded).size
        try:
            rgb = msg_to_rgb(msg)
            if rgb.shape[:2] != (size[1], size[0]):
                raise MessageError(f"self-image is {rgb.shape[1]}x{rgb.shape[0]}, the inverse model takes "
                                   f"{size[0]}x{size[1]} (generator and inverse from different runs?)")
        except MessageError as err:
            self.stats.reject(str(err))
            return
        fn = expected_commands if self.get_parameter("continuous").value else predict_commands
        commands = np.clip(fn(self.loaded, rgb[None])[0], 0.0, 1.0)
        stamp = time_to_ns(msg.header.stamp)
        self.pub.publish(joints_to_msg(self.loaded.meta["motor_names"], commands, stamp))
        self.stats.done(stamp)


def main(args=None) -> None:
    """``ros2 run eva inverse``."""
    spin_model_node(InverseNode, args)


if __name__ == "__main__":
    main()
