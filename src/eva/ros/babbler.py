"""babbler: random discrete motor commands, one per captured robot frame (paper IV-E).

Publishes a command on ``motor_commands``, waits until the robot's landmarks
for a frame captured after it arrive on ``robot/landmarks`` (the face has
settled and was filmed) and, with ``wait_for_recorder``, until the recorder
has acknowledged writing the step's command, image and landmarks on
``recorder/written``; then sends the next. A capture that does not arrive
within ``capture_timeout_s`` (or whose image the recorder never got) is
retried with the same command and the same header stamp, so the step is
one step in the bag however many frames answered it. Step ``k``'s command
depends only on (seed, k), so a resumed run continues the sequence.
"""
from __future__ import annotations

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import Header

from eva import MOTOR_COMMAND_LEVELS
from eva.ros.convert import joints_to_msg, time_to_ns
from eva.ros.qos import command_qos, sensor_qos, written_qos

COMMANDS, IMAGES, LANDMARKS = "/eva/motor_commands", "/eva/robot/image_raw", "/eva/robot/landmarks"


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
        self.declare_parameter("wait_for_recorder", True)  # a step ends once the recorder wrote it
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
        self._last_frame_ns: int | None = None  # newest frame of this step the babbler has seen
        self._wait_for_recorder = bool(p("wait_for_recorder").value)
        self.written = {COMMANDS: -1, IMAGES: -1, LANDMARKS: -1}  # newest stamp the recorder wrote, per topic
        # transient local: a recorder that matched late still gets the command (eva.ros.qos)
        self.pub = self.create_publisher(JointState, "motor_commands", command_qos(transient_local=True))
        self.create_subscription(PointCloud2, "robot/landmarks", self._on_landmarks, sensor_qos(True, 5))
        self._written_sub = None
        if self._wait_for_recorder:
            self._written_sub = self.create_subscription(Header, "recorder/written", self._on_written,
                                                         written_qos())
        self._waiting_since_ns: int | None = None  # filmed, waiting for the recorder since
        self.create_timer(0.1, self._watchdog)
        self._started = False
        self._created_ns = self.get_clock().now().nanoseconds
        self._autostart = bool(p("autostart").value)
        self._min_subscribers = int(p("min_subscribers").value)

    def graph_ready(self) -> bool:
        """The robot, its landmark detector and the recorder are all listening."""
        n = self._min_subscribers
        return (self.pub.get_subscription_count() >= n and self.count_publishers(LANDMARKS) >= 1
                and self.count_subscribers(IMAGES) >= n and self.count_subscribers(LANDMARKS) >= n
                and (self._written_sub is None or self._written_sub.get_publisher_count() >= 1))

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
        self._waiting_since_ns = None
        if new:
            self._command = babble_command(self.seed, self.step, len(self.motor_names))
            self._step_stamp_ns, self._sends, self._frames = self._cmd_stamp_ns, 0, 0
            self._last_frame_ns = None
        self._sends += 1
        # A resend carries the step's first stamp: in the bag the step's commands share one stamp,
        # so it pairs with one image (eva.data.babbling.pair_steps) however many frames answered it.
        self.pub.publish(joints_to_msg(self.motor_names, self._command, self._step_stamp_ns))

    def _on_landmarks(self, msg: PointCloud2) -> None:
        stamp = time_to_ns(msg.header.stamp)
        if self._step_stamp_ns is None or stamp <= self._step_stamp_ns:
            return  # a frame from before this step's first command
        self._frames += 1
        self._last_frame_ns = max(stamp, self._last_frame_ns or stamp)
        if self._frames == 1:
            self.faces_found += int(msg.width * msg.height > 0)
        self._advance_if_complete()

    def _on_written(self, msg: Header) -> None:
        if msg.frame_id in self.written:
            self.written[msg.frame_id] = max(self.written[msg.frame_id], time_to_ns(msg.stamp))
            self._advance_if_complete()

    def missing_in_recording(self) -> list[str]:
        """This step's topics the recorder has not acknowledged yet (empty without ``wait_for_recorder``)."""
        if not self._wait_for_recorder or self._last_frame_ns is None:
            return []
        needed = {COMMANDS: self._step_stamp_ns, IMAGES: self._last_frame_ns, LANDMARKS: self._last_frame_ns}
        return [t for t, stamp in needed.items() if self.written[t] < stamp]

    def _advance_if_complete(self) -> None:
        # After a resend, every command of this step is answered by one frame: wait for all
        # of them, so that no late frame of this step is stamped after the next command.
        if self._cmd_stamp_ns is None or self._frames < self._sends:
            return
        if self.missing_in_recording():
            if self._waiting_since_ns is None:
                self._waiting_since_ns = self.get_clock().now().nanoseconds
            return
        self._next_step()

    def _next_step(self) -> None:
        self.captured += 1
        self.step += 1
        self._cmd_stamp_ns = self._step_stamp_ns = None
        self._send(new=True)

    def _watchdog(self) -> None:
        if self._autostart and not self._started:
            if self.graph_ready():
                self.start()
            elif self._written_sub is not None and self._written_sub.get_publisher_count() == 0 \
                    and self.get_clock().now().nanoseconds - self._created_ns > 5e9:
                self.get_logger().warning("waiting for eva's recorder on recorder/written (it acknowledges every "
                                          "step it writes); without one, set wait_for_recorder:=false",
                                          throttle_duration_sec=10.0)
        if self._cmd_stamp_ns is None or self.done:
            return
        now = self.get_clock().now().nanoseconds
        if self._waiting_since_ns is not None and now - self._waiting_since_ns > self.timeout_ns:
            missing = self.missing_in_recording()
            if not missing:
                self._next_step()
                return
            if IMAGES not in missing:
                # the command and the clouds come from transient-local writers: they arrive once matched
                self.get_logger().warning(f"step {self.step}: waiting for the recorder to write {', '.join(missing)}",
                                          throttle_duration_sec=5.0)
                return
            # the recorder never got this step's image (the camera's stream is volatile): film it again
            self.retries += 1
            self.get_logger().warning(f"step {self.step}: the recorder did not get the robot image; resending",
                                      throttle_duration_sec=5.0)
            self._send(new=False)
            return
        if self._waiting_since_ns is None and now - self._cmd_stamp_ns > self.timeout_ns:
            if self._frames >= 1:  # filmed, but a resent command's frame never came
                if not self.missing_in_recording():
                    self._next_step()
                else:
                    self._waiting_since_ns = now
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
