"""The babbler's pacing against a fake robot over DDS: lost and late frames."""
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image, JointState, PointCloud2

from eva.data.babbling import pair_steps
from eva.ros.babbler import Babbler, babble_command
from eva.ros.convert import landmarks_to_cloud, time_to_ns
from eva.ros.qos import command_qos, sensor_qos

pytestmark = pytest.mark.ros
NAMES = [f"m{i}" for i in range(10)]


class FakeRobot(Node):
    """Answers each command with one landmark cloud, except as told: drop or delay some."""

    def __init__(self, context, drop=(), delay=()):
        super().__init__("fake_robot", namespace="/eva", context=context)
        self.drop, self.delay = set(drop), set(delay)
        self.commands = []      # (stamp_ns, positions)
        self.frames = []        # stamps of frames sent
        self.pending = []       # delayed commands
        self.pub = self.create_publisher(PointCloud2, "robot/landmarks", sensor_qos(True, 5))
        self.create_subscription(JointState, "motor_commands", self._on_command, command_qos())
        self.create_subscription(Image, "robot/image_raw", lambda _: None, sensor_qos(True, 5))  # its "detector"

    def _on_command(self, msg):
        k = len(self.commands)
        self.commands.append((time_to_ns(msg.header.stamp), np.array(msg.position)))
        if k in self.drop:
            return
        if k in self.delay:
            self.pending.append(k)
            return
        self.frame()

    def frame(self):
        stamp = self.get_clock().now().nanoseconds
        self.frames.append(stamp)
        self.pub.publish(landmarks_to_cloud(np.zeros((478, 3)), None, stamp, "cam"))


def _run(drop=(), delay=(), steps=3):
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        robot = FakeRobot(context, drop, delay)
        babbler = Babbler(motor_names=NAMES, context=context, parameter_overrides=[
            Parameter("seed", value=11), Parameter("steps", value=steps),
            Parameter("capture_timeout_s", value=0.3), Parameter("min_subscribers", value=1),
            Parameter("wait_for_recorder", value=False)])
        ex = SingleThreadedExecutor(context=context)
        ex.add_node(robot)
        ex.add_node(babbler)
        deadline = time.monotonic() + 30
        answered = None
        while not babbler.done and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.02)
            if robot.pending and answered is None and len(robot.commands) > max(robot.pending) + 1:
                answered = time.monotonic()  # the resend has been answered
            if robot.pending and answered is not None and time.monotonic() - answered > 0.15:
                robot.pending.pop()  # now the late frame of the original command (within the timeout)
                robot.frame()
        assert babbler.done, "babbler did not finish"
        return robot, babbler
    finally:
        rclpy.try_shutdown(context=context)


def test_paces_one_command_per_frame_in_sequence():
    robot, babbler = _run(steps=4)
    assert babbler.captured == 4 and babbler.retries == 0
    for k, (_, pos) in enumerate(robot.commands):
        np.testing.assert_array_equal(pos, babble_command(11, k, 10))


def test_lost_frame_is_retried_with_the_same_command():
    robot, babbler = _run(drop={1}, steps=3)
    assert babbler.retries == 1 and babbler.captured == 3
    cmds = [pos for _, pos in robot.commands]
    np.testing.assert_array_equal(cmds[1], cmds[2])  # the resend repeats step 1
    np.testing.assert_array_equal(cmds[3], babble_command(11, 2, 10))


def test_late_frame_of_a_resent_step_comes_before_the_next_command():
    robot, babbler = _run(delay={1}, steps=3)
    assert babbler.retries == 1 and babbler.captured == 3
    next_cmd_stamp = robot.commands[3][0]  # step 2's command
    # both frames answering step 1 (the resend's and the late original) precede step 2's command
    step1_frames = [f for f in robot.frames if robot.commands[1][0] < f < next_cmd_stamp]
    assert len(step1_frames) == 2
    # ... and the bag holds step 1 once: the resend carries the step's stamp, so the two commands
    # pair with one image (a CI run under load recorded 12 steps for 11 when each paired its own)
    assert robot.commands[1][0] == robot.commands[2][0]
    pairs = pair_steps([t for t, _ in robot.commands], robot.frames)
    assert len(pairs) == 3
    for k, (pos, _) in enumerate(pairs):
        np.testing.assert_array_equal(robot.commands[pos][1], babble_command(11, k, 10))
