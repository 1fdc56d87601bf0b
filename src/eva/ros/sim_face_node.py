"""sim_face: the simulated Eva face and its camera, standing in for the robot.

Subscribes to ``motor_commands`` (or, with ``command_topic: joint_states``, to
what the servo bridge reports having sent: the simulated robot as deployed, with
the bridge's clamping, slew limit and watchdog in the loop; the servos take each
reported, already slew-limited position at once) and publishes what the
robot's camera sees on ``robot/image_raw``. ``capture: on_command`` (babbling) lets the servos settle
in simulated time after each command and publishes one frame of the settled
face; ``capture: continuous`` runs the servo physics in real time and films at
``rate_hz`` (mimicry). Bad commands are logged (throttled), counted, and ignored.
"""
from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from eva.ros.convert import MessageError, image_to_msg, msg_to_positions
from eva.ros.qos import command_qos, sensor_qos


class SimFaceNode(Node):
    """Executes motor commands on :class:`eva.sim.face.SimFace` and films it."""

    def __init__(self, name: str = "sim_face", **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        from eva.sim.config import load_sim_config
        from eva.sim.face import SimFace

        self.declare_parameter("config_file", "")      # empty = config/sim_face.yaml
        self.declare_parameter("seed", 0)
        self.declare_parameter("noise", True)          # camera noise and light jitter
        self.declare_parameter("capture", "on_command")  # or "continuous"
        self.declare_parameter("rate_hz", 30.0)
        self.declare_parameter("reliable", True)       # reliable images (recording runs)
        self.declare_parameter("frame_id", "eva_robot_camera")
        self.declare_parameter("width", 0)             # camera image px; 0 = from the config file
        self.declare_parameter("height", 0)
        self.declare_parameter("command_topic", "motor_commands")  # or "joint_states" (the servo bridge's)
        p = self.get_parameter
        config = load_sim_config(p("config_file").value or None)
        if p("width").value or p("height").value:
            config = config.with_size(int(p("width").value), int(p("height").value))
        self.face = SimFace(config, seed=int(p("seed").value), noise=bool(p("noise").value))
        self.face.connect()
        self.capture = p("capture").value
        if self.capture not in ("on_command", "continuous"):
            raise ValueError(f"sim_face parameter capture must be on_command or continuous, got {self.capture!r}")
        self.frame_id = p("frame_id").value
        self.rejected = 0
        self.frames = 0
        self.pub = self.create_publisher(Image, "robot/image_raw", sensor_qos(bool(p("reliable").value), 5))
        topic = p("command_topic").value
        if topic not in ("motor_commands", "joint_states"):
            raise ValueError(f"sim_face parameter command_topic must be motor_commands or joint_states, got {topic!r}")
        self._ignore_unknown = topic == "joint_states"
        # joint_states: best effort, newest wins, like a servo following its latest pulse (a reliable reader
        # would hold every later report behind one lost on a WiFi link until it is repaired)
        qos = sensor_qos(False, 1) if self._ignore_unknown else command_qos()
        self.create_subscription(JointState, topic, self._on_command, qos)
        if self.capture == "continuous":
            self._dt = 1.0 / float(p("rate_hz").value)
            self.create_timer(self._dt, self._on_tick)

    def _on_command(self, msg: JointState) -> None:
        try:
            positions = msg_to_positions(msg, self.face.motor_names, self._ignore_unknown)
        except MessageError as err:
            self.rejected += 1
            self.get_logger().warning(f"rejected motor command: {err}", throttle_duration_sec=2.0)
            return
        self.face.send_action(positions)
        if self.capture == "on_command":
            self.face.settle()
            self._publish_frame()
        elif self._ignore_unknown:
            # joint_states are the pulses the bridge sent, already slew-limited: the servos are there
            # (a real MG90S follows its pulse within a frame), not slewing a second time behind them
            self.face.settle()

    def _on_tick(self) -> None:
        self.face.step(self._dt)
        self._publish_frame()

    def _publish_frame(self) -> None:
        stamp = self.get_clock().now().nanoseconds  # the moment the virtual camera exposes
        self.pub.publish(image_to_msg(self.face.render(), stamp, self.frame_id))
        self.frames += 1

    def destroy_node(self):
        """Returns the face to neutral before going away."""
        self.face.send_action(self.face.neutral())
        self.face.disconnect()
        return super().destroy_node()


def main(args=None) -> None:
    """``ros2 run eva sim_face``."""
    from eva.ros.session import run_node
    run_node(SimFaceNode, args)


if __name__ == "__main__":
    main()
