"""babbler: random discrete motor commands, one per captured robot frame (paper IV-E).

Publishes a command on ``motor_commands``, waits until the robot's landmarks
for a frame captured after it arrive on ``robot/landmarks`` (the face has
settled and was filmed), then sends the next. A capture that does not arrive
within ``capture_timeout_s`` is retried with the same command. Step ``k``'s
command depends only on (seed, k), so a resumed run continues the sequence.
"""
from __future__ import annotations

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2

from eva import MOTOR_COMMAND_LEVELS
from eva.ros.convert import joints_to_msg, time_to_ns
from eva.ros.qos import command_qos, sensor_qos


def babble_command(seed: int, step: int, num_motors: int, levels=MOTOR_COMMAND_LEVELS) -> np.ndarray:
    """The command of babbling step ``step``: each motor drawn uniformly from ``levels``."""
    rng = np.random.default_rng([int(seed), int(step)])
    return np.asarray(levels, dtype=np.float64)[rng.integers(0, len(levels), size=num_motors)]


class Babbler(Node):
    """Random motor babbling, paced by the robot's captured frames."""

    def __init__(self, name: str = "babbler", motor_names=None, **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        if motor_names is None:
            from eva.sim.config import load_sim_config
            motor_names = load_sim_config().motor_names
        self.declare_parameter("motor_names", list(motor_names))
        self.declare_parameter("seed", 0)
        self.declare_parameter("steps", 0)          # 0 = until stopped
        self.declare_parameter("start_step", 0)     # first step index
        self.declare_parameter("out", "")           # the bag being recorded ...
        self.declare_parameter("resume", False)     # ... and if resuming it, continue after its last step
        self.declare_parameter("capture_timeout_s", 3.0)
        self.declare_parameter("autostart", True)   # start once subscribers are matched
        self.declare_parameter("min_subscribers", 2)  # per topic: robot + recorder, detector + recorder, ...
        p = self.get_parameter
        self.motor_names = list(p("motor_names").value)
        self.seed = int(p("seed").value)
        self.steps = int(p("steps").value)
        self.step = int(p("start_step").value)
        self._resume_bag = p("out").value if p("resume").value else ""
        self.timeout_ns = int(float(p("capture_timeout_s").value) * 1e9)
        self.captured = 0         # steps completed in this run
        self.faces_found = 0
        self.retries = 0
        self.done = False
        self.first_step = self.step
        self._cmd_stamp_ns: int | None = None   # last send of this step's command
        self._step_stamp_ns: int | None = None  # first send of this step's command
        self._sends = self._frames = 0
        self._command = None
        self.pub = self.create_publisher(JointState, "motor_commands", command_qos())
        self.create_subscription(PointCloud2, "robot/landmarks", self._on_landmarks, sensor_qos(True, 5))
        self.create_timer(0.1, self._watchdog)
        self._started = False
        self._autostart = bool(p("autostart").value)
        self._min_subscribers = int(p("min_subscribers").value)

    def graph_ready(self) -> bool:
        """The robot, its landmark detector and the recorder are all listening."""
        n = self._min_subscribers
        return (self.pub.get_subscription_count() >= n and self.count_publishers("/eva/robot/landmarks") >= 1
                and self.count_subscribers("/eva/robot/image_raw") >= n
                and self.count_subscribers("/eva/robot/landmarks") >= n)

    def start(self) -> None:
        """Sends the first command (call once subscribers are matched)."""
        if not self._started:
            self._started = True
            if self._resume_bag:  # the recorder has recovered the bag before subscribing
                from eva.data import count_steps
                self.step = count_steps(self._resume_bag)
                self.get_logger().info(f"resuming {self._resume_bag} at step {self.step}")
            self.first_step = self.step
            self._send(new=True)

    def _send(self, new: bool) -> None:
        if self.steps and self.captured >= self.steps:
            self.done = True
            return
        self._cmd_stamp_ns = self.get_clock().now().nanoseconds
        if new:
            self._command = babble_command(self.seed, self.step, len(self.motor_names))
            self._step_stamp_ns, self._sends, self._frames = self._cmd_stamp_ns, 0, 0
        self._sends += 1
        self.pub.publish(joints_to_msg(self.motor_names, self._command, self._cmd_stamp_ns))

    def _on_landmarks(self, msg: PointCloud2) -> None:
        if self._step_stamp_ns is None or time_to_ns(msg.header.stamp) <= self._step_stamp_ns:
            return  # a frame from before this step's first command
        self._frames += 1
        if self._frames == 1:
            self.faces_found += int(msg.width * msg.height > 0)
        # After a resend, every command of this step is answered by one frame: wait for all
        # of them, so that no late frame of this step is stamped after the next command.
        if self._frames >= self._sends:
            self._next_step()

    def _next_step(self) -> None:
        self.captured += 1
        self.step += 1
        self._cmd_stamp_ns = self._step_stamp_ns = None
        self._send(new=True)

    def _watchdog(self) -> None:
        if self._autostart and not self._started and self.graph_ready():
            self.start()
        if self._cmd_stamp_ns is None or self.done:
            return
        if self.get_clock().now().nanoseconds - self._cmd_stamp_ns > self.timeout_ns:
            if self._frames >= 1:  # filmed, but a resent command's frame never came: move on
                self._next_step()
                return
            self.retries += 1
            self.get_logger().warning(f"no robot frame for step {self.step} within the timeout; resending",
                                      throttle_duration_sec=5.0)
            self._send(new=False)


def main(args=None) -> None:
    """``ros2 run eva babbler``."""
    from eva.ros.session import ros_session
    with ros_session(args) as session:
        node = Babbler()
        try:
            session.spin(node, until=lambda: node.done)
        finally:
            node.destroy_node()


if __name__ == "__main__":
    main()
