"""robot_babbler: motor babbling on a robot, through the servo bridge and a robot camera (real time).

Step ``k``'s command is :func:`eva.ros.babbler.babble_command` (seed, k): the
paper's 5 levels for each face motor. The babbler publishes it on
``motor_commands`` (again every ``keepalive_s``), follows the bridge's
``joint_states`` until the face has arrived, waits ``settle_s`` and takes the first
robot camera frame stamped after that whose landmarks show a face
(:class:`eva.core.babble_steps.RobotStep`). It then publishes the step, and only
the step, for the recorder: the command (``babble/command``), the joint state the
bridge reported (``babble/joint_state``), the image (``babble/image``) and its
landmarks (``babble/landmarks``); the recorder writes them under the babbling
bag's usual topic names, so the bag reads like a simulated one. The next step
starts once the recorder has acknowledged all four. Every ``rest_every`` steps
the babbler stops commanding for ``rest_s`` (the bridge's watchdog takes the
face to neutral; the servos cool down); so does Ctrl-C.
"""
from __future__ import annotations

from collections import deque

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState, PointCloud2
from std_msgs.msg import Header

from eva.core.babble_steps import RobotStep, RobotStepConfig
from eva.ros.babbler import babble_command
from eva.ros.convert import joints_to_msg, time_to_ns
from eva.ros.qos import command_qos, sensor_qos, written_qos

STEP_TOPICS = {  # what the babbler publishes per step -> the bag topic the recorder writes it under
    "babble/command": "/eva/motor_commands",
    "babble/joint_state": "/eva/joint_states",
    "babble/image": "/eva/robot/image_raw",
    "babble/landmarks": "/eva/robot/landmarks",
}

PARAMETERS = {  # name: (default, description); the timing ones mirror RobotStepConfig
    "seed": (0, "seed of the command sequence"),
    "steps": (0, "steps to record (0 = until stopped)"),
    "out": ("", "the bag being recorded (read on resume to continue after its last step)"),
    "resume": (False, "continue after the bag's last step"),
    "settle_s": (0.3, "skin settle time after the servos arrive, before a frame counts (s)"),
    "tolerance": (0.02, "reported position within this of the command = arrived (position units)"),
    "keepalive_s": (0.1, "re-send the command this often; keep it under the bridge's watchdog_timeout_s"),
    "arrive_timeout_s": (3.0, "warn when the face has not arrived this long after its command (s)"),
    "max_faceless": (15, "robot frames without a face before a step is given up (not recorded) and tried again"),
    "rest_every": (0, "rest after this many steps so MG90S servos cool down (0 = never)"),
    "rest_s": (60.0, "rest length (s): no commands, the bridge's watchdog holds the face at neutral"),
    "report_gap_s": (0.25, "bridge reports further apart than this (a link gap) make the face arrive again (s)"),
    "startup_timeout_s": (20.0, "fail when the bridge, camera, landmarks or recorder are not there by then (s)"),
    "frame_timeout_s": (5.0, "fail when no robot landmarks arrive for this long (the camera stopped) (s)"),
    "arrive_fail_s": (30.0, "fail when the face has not reached a command for this long (s)"),
    "max_given_up": (20, "fail after this many steps in a row were given up (no face: is the camera on the robot?)"),
}


class RobotBabbler(Node):
    """Random motor babbling on a robot, paced by the bridge's reports, the camera and the recorder."""

    def __init__(self, name: str = "babbler", motor_names=None, **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        if motor_names is None:
            from eva.sim.config import load_sim_config
            motor_names = load_sim_config().motor_names
        self.declare_parameter("motor_names", list(motor_names))
        for key, (default, text) in PARAMETERS.items():  # seconds may come as integers (rest_s:=60)
            self.declare_parameter(key, default, ParameterDescriptor(
                description=text, dynamic_typing=isinstance(default, float)))
        p = lambda key: self.get_parameter(key).value  # noqa: E731
        self.motor_names = list(p("motor_names"))
        self.seed, self.steps = int(p("seed")), int(p("steps"))
        self.config = RobotStepConfig(settle_s=float(p("settle_s")), tolerance=float(p("tolerance")),
                                      keepalive_s=float(p("keepalive_s")),
                                      arrive_timeout_s=float(p("arrive_timeout_s")),
                                      max_faceless=int(p("max_faceless")), rest_every=int(p("rest_every")),
                                      rest_s=float(p("rest_s")), report_gap_s=float(p("report_gap_s")))
        self._frame_timeout_ns = int(float(p("frame_timeout_s")) * 1e9)
        self._arrive_fail_ns = int(float(p("arrive_fail_s")) * 1e9)
        self._resume_bag = p("out") if p("resume") else ""
        self._startup_ns = int(float(p("startup_timeout_s")) * 1e9)
        self._max_given_up = int(p("max_given_up"))
        self.step_index = 0
        self.first_step = 0
        self.captured = 0            # steps recorded in this run
        self.given_up = 0            # steps given up (no face within max_faceless frames)
        self.departures = 0          # times the face left its command before a frame was taken
        self.rests = 0               # rest pauses taken
        self.done = False
        self.error: str | None = None
        self.step: RobotStep | None = None
        self.resting_until_ns: int | None = None
        self._given_up_in_row = 0
        self._published: dict | None = None   # bag topic -> stamp the recorder must acknowledge
        self._published_ns = 0
        # stamps the recorder acknowledged, per bag topic (exact: the Pi's clock may step back)
        self.written: dict[str, deque] = {t: deque(maxlen=64) for t in STEP_TOPICS.values()}
        self._last_cloud_ns = 0
        self._images: deque = deque(maxlen=30)   # (stamp, Image) of recent robot frames
        self._clouds: deque = deque(maxlen=30)   # (stamp, PointCloud2) of their landmarks
        self._joint_msg: JointState | None = None
        self._created_ns = self.get_clock().now().nanoseconds
        self._started = False

        self.pub = self.create_publisher(JointState, "motor_commands", command_qos())
        step_qos = command_qos(10, transient_local=True)  # a late-matched recorder still gets the step
        self.step_pubs = {t: self.create_publisher(cls, t, step_qos) for t, cls in (
            ("babble/command", JointState), ("babble/joint_state", JointState), ("babble/image", Image),
            ("babble/landmarks", PointCloud2))}
        # best effort: after a link gap, resent old reports would claim a pose the bridge has left
        self.create_subscription(JointState, "joint_states", self._on_joint_state, sensor_qos(False, 10))
        self.create_subscription(Image, "robot/image_raw", self._on_image, sensor_qos(False, 5))
        self.create_subscription(PointCloud2, "robot/landmarks", self._on_landmarks, sensor_qos(False, 5))
        self._written_sub = self.create_subscription(Header, "recorder/written", self._on_written, written_qos())
        self.create_timer(0.01, self._tick)

    # ---- graph ----------------------------------------------------------------------------------
    def missing_peers(self) -> list[str]:
        """What the babbler still waits for before the first step (empty: all there)."""
        checks = {
            "a servo bridge subscribed to motor_commands": self.pub.get_subscription_count() >= 1,
            "the bridge's joint_states": self.count_publishers("/eva/joint_states") >= 1,
            "a robot camera on robot/image_raw": self.count_publishers("/eva/robot/image_raw") >= 1,
            "robot landmarks on robot/landmarks": self.count_publishers("/eva/robot/landmarks") >= 1,
            "the recorder": self._written_sub.get_publisher_count() >= 1
            and all(pub.get_subscription_count() >= 1 for pub in self.step_pubs.values()),
        }
        return [what for what, ok in checks.items() if not ok]

    def _start(self) -> None:
        self._started = True
        self._last_cloud_ns = self.get_clock().now().nanoseconds
        if self._resume_bag:
            from eva.data import count_steps
            self.step_index = count_steps(self._resume_bag)
            self.get_logger().info(f"resuming {self._resume_bag} at step {self.step_index}")
        self.first_step = self.step_index
        self._new_step()

    def _fail(self, text: str) -> None:
        self.error, self.done = text, True
        self.get_logger().error(text)

    # ---- steps ----------------------------------------------------------------------------------
    def _new_step(self) -> None:
        if self.step is not None:
            self.departures += self.step.departures
        self.step = self._published = None
        if self.steps and self.captured >= self.steps:
            self.done = True
            return
        now = self.get_clock().now().nanoseconds
        command = babble_command(self.seed, self.step_index, len(self.motor_names))
        self.step = RobotStep(self.motor_names, command, now, self.config)
        self._send(now)

    def _send(self, now_ns: int) -> None:
        self.pub.publish(joints_to_msg(self.motor_names, self.step.command, now_ns))
        self.step.sent(now_ns)

    def _on_joint_state(self, msg: JointState) -> None:
        self._joint_msg = msg
        if self.step is not None:
            self.step.on_joint_state(list(msg.name), list(msg.position), self.get_clock().now().nanoseconds)
            self._maybe_publish()

    def _on_image(self, msg: Image) -> None:
        self._images.append((time_to_ns(msg.header.stamp), msg))

    def _on_landmarks(self, msg: PointCloud2) -> None:
        stamp = time_to_ns(msg.header.stamp)
        self._clouds.append((stamp, msg))
        self._last_cloud_ns = self.get_clock().now().nanoseconds
        if self.step is not None and self._published is None:
            self.step.on_frame(stamp, msg.width * msg.height > 0)
            self._maybe_publish()

    def _maybe_publish(self) -> None:
        step = self.step
        if step is None or self._published is not None or step.state != "captured":
            return
        image = next((m for s, m in self._images if s == step.frame_ns), None)
        cloud = next((m for s, m in self._clouds if s == step.frame_ns), None)
        if image is None or cloud is None:  # the camera stream (best effort) lost it on the way: a later frame
            step.reject_frame()
            return
        command = joints_to_msg(self.motor_names, step.command, step.started_ns)
        joint = self._joint_msg
        self._published_ns = self.get_clock().now().nanoseconds
        self._published = {"/eva/motor_commands": step.started_ns, "/eva/joint_states": time_to_ns(joint.header.stamp),
                           "/eva/robot/image_raw": step.frame_ns, "/eva/robot/landmarks": step.frame_ns}
        for topic, msg in (("babble/command", command), ("babble/joint_state", joint), ("babble/image", image),
                           ("babble/landmarks", cloud)):
            self.step_pubs[topic].publish(msg)
        self._advance_if_written()

    def _on_written(self, msg: Header) -> None:
        if msg.frame_id in self.written:
            self.written[msg.frame_id].append(time_to_ns(msg.stamp))
            self._advance_if_written()

    def missing_in_recording(self) -> list[str]:
        """Bag topics of the published step the recorder has not acknowledged yet."""
        if self._published is None:
            return []
        return [t for t, stamp in self._published.items() if stamp not in self.written[t]]

    def _advance_if_written(self) -> None:
        if self._published is None or self.missing_in_recording():
            return
        self.captured += 1
        self._given_up_in_row = 0
        self.step_index += 1
        self._next_or_rest()

    def _next_or_rest(self) -> None:
        cfg = self.config
        if cfg.rest_every and self.captured and self.captured % cfg.rest_every == 0 and not self.done \
                and not (self.steps and self.captured >= self.steps):
            self.departures += self.step.departures
            self.step = self._published = None
            self.resting_until_ns = self.get_clock().now().nanoseconds + int(cfg.rest_s * 1e9)
            self.rests += 1
            self.get_logger().info(f"resting {cfg.rest_s:g} s after {self.captured} steps (servos cool down)")
            return
        self._new_step()

    def _tick(self) -> None:
        now = self.get_clock().now().nanoseconds
        if self.done:
            return
        if not self._started:
            missing = self.missing_peers()
            if not missing:
                self._start()
            elif now - self._created_ns > self._startup_ns:
                self._fail(f"robot babbling cannot start, still missing after {self._startup_ns / 1e9:g} s: "
                           f"{'; '.join(missing)}")
            return
        if self.resting_until_ns is not None:
            if now < self.resting_until_ns:
                return
            self.resting_until_ns = None
            self._last_cloud_ns = now
            self._new_step()
            return
        if now - self._last_cloud_ns > self._frame_timeout_ns:
            self._fail(f"no robot landmarks for {self._frame_timeout_ns / 1e9:g} s: is the robot camera running "
                       "(and the robot_landmarks node)?")
            return
        step = self.step
        if step is None:
            return
        if step.state == "given_up":
            self.given_up += 1
            self._given_up_in_row += 1
            self.get_logger().warning(f"step {self.step_index}: no face in {self.config.max_faceless} robot frames; "
                                      "not recorded, trying it again")
            if self._given_up_in_row >= self._max_given_up:
                self._fail(f"no face on the robot camera in {self._given_up_in_row} steps in a row: "
                           "is the camera pointed at the robot's face, and lit?")
                return
            self._new_step()  # the same step again: step k of the bag always has command k
            return
        if step.keepalive_due(now):
            self._send(now)
        if step.overdue(now):
            off = self.motor_names if step.applied is None else step.off_command(self.motor_names, step.applied)
            text = (f"step {self.step_index}: the face has not reached its command after {{:g}} s (off: "
                    f"{', '.join(off)}); is the servo bridge running, and accepting the commands (see its log)?")
            if now - step.started_ns > self._arrive_fail_ns:
                self._fail(text.format(self._arrive_fail_ns / 1e9))
                return
            self.get_logger().warning(text.format(self.config.arrive_timeout_s), throttle_duration_sec=5.0)
        if self._published is not None and now - self._published_ns > 2e9 and self.missing_in_recording():
            self.get_logger().warning(f"step {self.step_index}: waiting for the recorder to write "
                                      f"{', '.join(self.missing_in_recording())}", throttle_duration_sec=5.0)


def main(args=None) -> None:
    """``ros2 run eva robot_babbler``."""
    from eva.ros.session import ros_session
    with ros_session(args) as session:
        node = RobotBabbler()
        try:
            session.spin(node, until=lambda: node.done)
        finally:
            node.destroy_node()
        if node.error:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
