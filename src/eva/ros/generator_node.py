"""generator: robot landmarks -> the robot's self-image, G(M, I_s) (paper IV-C).

Subscribes ``face/landmarks_robot`` (53 points, model px, from the normalizer) and
publishes ``self_image`` (rgb8, model size) with the camera frame's stamp. An
empty cloud (no face) is counted and produces nothing. Lifecycle: the
checkpoint is loaded on configure (see :mod:`eva.ros.model_node`).
"""
from __future__ import annotations

from sensor_msgs.msg import Image, PointCloud2

from eva.ros.convert import MessageError, cloud_to_landmarks, image_to_msg, time_to_ns
from eva.ros.model_node import ModelNode, spin_model_node
from eva.ros.qos import sensor_qos


class GeneratorNode(ModelNode):
    """Runs the generator checkpoint on every robot-landmark message."""

    stage = "generator"

    def __init__(self, name: str = "generator", **kwargs):
        super().__init__(name, **kwargs)
        self.param("int8", True, "with ONNX Runtime on the CPU: 8-bit weights and activations (G 4.1 vs 8.6 ms "
                                 "a frame here; GM IM 80.5 vs 80.9 %: eva eval --generator-runtime)")
        self.pub = self.create_lifecycle_publisher(Image, "self_image", sensor_qos())

    def int8(self) -> bool:
        return bool(self.get_parameter("int8").value)

    def load(self):
        return self.load_kind("generator")

    def connect(self) -> None:
        self.sub = self.create_subscription(PointCloud2, "face/landmarks_robot", self._on_landmarks, sensor_qos())

    def _on_landmarks(self, msg: PointCloud2) -> None:
        from eva.learning.predict import generate
        self.stats.received()
        try:
            cloud = cloud_to_landmarks(msg)
            if cloud is not None and len(cloud[0]) != 53:
                raise MessageError(f"robot landmark cloud has {len(cloud[0])} points, expected 53")
        except MessageError as err:
            self.stats.reject(str(err))
            return
        if cloud is None:
            self.stats.skip()
            return
        image = generate(self.loaded, cloud[0][:, :2][None], cloud[1][None])[0]
        stamp = time_to_ns(msg.header.stamp)
        self.pub.publish(image_to_msg(image, stamp, msg.header.frame_id))
        self.stats.done(stamp)


def main(args=None) -> None:
    """``ros2 run eva generator``."""
    spin_model_node(GeneratorNode, args)


if __name__ == "__main__":
    main()
