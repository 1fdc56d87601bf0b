"""The servo_bridge node in-process with the fake PCA9685 bus: commands to pulses, rejection, watchdog, release."""
from pathlib import Path

import pytest
import yaml
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import spin_until
from sensor_msgs.msg import JointState

from eva.hardware.safety import pulse_us_to_ticks
from eva.ros.convert import joints_to_msg
from eva.ros.qos import command_qos
from eva.ros.servo_bridge_node import PARAMETERS, ServoBridgeNode

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bridge(context):
    node = ServoBridgeNode(context=context, parameter_overrides=[Parameter("backend", value="fake"),
                                                                 Parameter("follow_head", value=False)])
    probe = Node("probe", namespace="/eva", context=context)
    states = []
    pub = probe.create_publisher(JointState, "motor_commands", command_qos())
    probe.create_subscription(JointState, "joint_states", states.append, 10)
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    ex.add_node(probe)
    assert spin_until(ex, lambda: pub.get_subscription_count() >= 1 and len(states) > 0, timeout_s=10)
    yield node, probe, pub, states, ex
    for n in (node, probe):
        n.destroy_node()


def _send(probe, pub, ex, names, positions, stamp=None, n=1):
    for _ in range(n):
        pub.publish(joints_to_msg(names, positions, probe.get_clock().now().nanoseconds if stamp is None else stamp))
        spin_until(ex, lambda: False, timeout_s=0.04)


def test_commands_reach_the_board_within_calibration(bridge):
    node, probe, pub, states, ex = bridge
    cal = node.logic.calibration
    _send(probe, pub, ex, ["jaw", "brow_up_left"], [1.0, 7.0], n=30)  # 7.0 is clamped to 1
    i2c = node.board.i2c
    for name in ("jaw", "brow_up_left"):
        s = cal[name]
        expect = pulse_us_to_ticks(s.pulse_min_us if s.inverted else s.pulse_max_us, cal.pwm_frequency_hz)
        assert abs(i2c.channel(s.address, s.channel)[1] - expect) <= 1, name
    last = dict(zip(states[-1].name, states[-1].position))
    assert last["jaw"] == pytest.approx(1.0, abs=0.01) and last["brow_up_left"] == pytest.approx(1.0, abs=0.01)
    assert node.logic.diagnostics()["clamped"] >= 1


def test_latency_from_the_camera_stamp_to_arrival_and_to_the_first_pulse(bridge):
    node, probe, pub, states, ex = bridge
    for k in range(20):
        stamp = probe.get_clock().now().nanoseconds - 30_000_000  # the frame was filmed 30 ms ago
        _send(probe, pub, ex, ["jaw"], [0.05 * k], stamp=stamp)
    arrival, pulse = node.arrival.percentiles(), node.to_pulse.percentiles()
    assert node.arrival.count == node.to_pulse.count == 20  # every command reached the board, once each
    assert 30 <= arrival["p50"] <= pulse["p50"] <= arrival["p50"] + 25  # the bridge waits at most one 20 ms tick


def test_bad_commands_are_rejected_and_counted(bridge):
    node, probe, pub, states, ex = bridge
    _send(probe, pub, ex, ["jaw"], [float("nan")])
    _send(probe, pub, ex, ["no_such_motor"], [0.5])
    _send(probe, pub, ex, ["jaw"], [0.5], stamp=1)  # decades old
    d = node.logic.diagnostics()
    assert (d["rejected_nonfinite"], d["rejected_unknown_name"], d["rejected_stale"]) == (1, 1, 1)
    assert d["accepted"] == 0 and node.logic.state == "timeout"


def test_watchdog_returns_to_neutral_then_deactivate_releases(bridge):
    node, probe, pub, states, ex = bridge
    _send(probe, pub, ex, ["jaw"], [1.0], n=15)
    assert node.logic.state == "active"
    assert spin_until(ex, lambda: node.logic.state == "timeout" and node.logic.at_neutral(1e-3), timeout_s=3)
    neutral = node.logic.calibration["jaw"].neutral
    jaw = lambda: dict(zip(states[-1].name, states[-1].position))["jaw"]  # noqa: E731
    assert spin_until(ex, lambda: abs(jaw() - neutral) < 0.01, timeout_s=2)  # joint_states say so too
    i2c = node.board.i2c
    node.trigger_deactivate()
    for s in node.logic.calibration.servos:  # released: full-off bit (bit 4 of LEDn_OFF_H) on every channel
        on, off = i2c.channel(s.address, s.channel)
        assert off & 0x1000, s.name


def test_yaml_mirrors_the_declared_parameters(context):
    config = yaml.safe_load((ROOT / "config" / "servo_bridge.yaml").read_text())["/eva/servo_bridge"]
    assert config["ros__parameters"] == {k: v for k, (v, _) in PARAMETERS.items()}
    node = ServoBridgeNode(context=context)  # never spun: autostart does not fire
    declared = {k: v.value for k, v in node.get_parameters_by_prefix("").items()
                if k not in ("use_sim_time", "start_type_description_service")}
    assert declared == config["ros__parameters"]
    node.destroy_node()


def test_broken_head_poses_are_rejected_and_counted_not_read_as_no_rotation(context):
    from geometry_msgs.msg import PoseStamped

    from eva.ros.qos import sensor_qos
    node = ServoBridgeNode(context=context, parameter_overrides=[Parameter("backend", value="fake")])
    probe = Node("probe", namespace="/eva", context=context)
    pub = probe.create_publisher(PoseStamped, "face/head_pose", sensor_qos())
    ex = SingleThreadedExecutor(context=context)
    ex.add_node(node)
    ex.add_node(probe)
    try:
        assert spin_until(ex, lambda: pub.get_subscription_count() >= 1, timeout_s=10)

        def send(x, y, z, w):
            msg = PoseStamped()
            msg.header.stamp = probe.get_clock().now().to_msg()
            msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = x, y, z, w
            pub.publish(msg)

        bad = [(float("nan"), 0.0, 0.0, 1.0), (0.0, 0.0, 0.0, float("inf")), (0.0, 0.0, 0.0, 0.0), (1e30, 0.0, 0.0, 1e30)]
        for k, q in enumerate(bad, 1):  # keep-last-1 streams: one at a time
            send(*q)
            assert spin_until(ex, lambda: node.logic.diagnostics()["rejected_bad_pose"] == k, timeout_s=5), q
        assert node.logic.diagnostics()["accepted"] == 0 and node.logic.state == "timeout"  # watchdog not fed
        send(0.0, 0.0, 0.0, 1.0)  # a good one after them is followed
        assert spin_until(ex, lambda: node.logic.diagnostics()["accepted"] == 1, timeout_s=5)
    finally:
        for n in (node, probe):
            n.destroy_node()
