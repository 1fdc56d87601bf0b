"""servo_bridge: motor commands -> servo pulses on the Raspberry Pi, where safety lives.

Subscribes ``motor_commands`` (sensor_msgs/JointState, positions in [0, 1]) and,
when ``follow_head``, ``face/head_pose`` (the neck copies the human head, paper
IV-A); every ``1/rate_hz`` s it asks :class:`eva.hardware.safety.BridgeLogic` for
the pulses (rejects malformed/stale/out-of-order commands, clamps, slew-limits,
returns to neutral when commands stop for ``watchdog_timeout_s``) and writes them
to the board. Publishes ``joint_states`` (positions really sent) and
``/diagnostics`` (state, counters, age of the command in force, latency from the
command's camera stamp to its arrival and to the first pulse written: meaningful
where the clocks are in sync). Deactivate and
shutdown slew to neutral, then release the PWM outputs. Imports neither torch
nor MediaPipe: the Pi image has neither.
"""
from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile
from sensor_msgs.msg import JointState

from eva.core.latency import LatencyStats
from eva.ros.convert import joints_to_msg, time_to_ns
from eva.ros.qos import command_qos, sensor_qos

PARAMETERS = {  # name: (default, description)
    "calibration_file": ("", "servo calibration YAML; empty = config/servos.yaml"),
    "backend": ("pca9685", "pca9685 (the real board), fake (the Adafruit driver on an emulated I2C bus: dry run) "
                           "or sim (the simulated face)"),
    "rate_hz": (50.0, "servo update rate, Hz (a 50 Hz PWM frame is 20 ms)"),
    "watchdog_timeout_s": (0.3, "a motor without a valid command this long returns to neutral"),
    "max_age_s": (0.5, "commands older than this are rejected (stamp corrected by the sender's estimated clock "
                       "offset, judged on this clock); 0 = no check"),
    "max_future_s": (0.1, "commands stamped further ahead than this (offset-corrected) are rejected; 0 = no check"),
    "reliable": (False, "reliable command QoS; best effort (default) lets the newest command win on a lossy link"),
    "follow_head": (True, "the neck follows face/head_pose"),
    "mirror": (True, "the neck mirrors the human (a face opposite the user)"),
    "head_gain": (1.0, "neck rotation per human head rotation"),
    "trace_file": ("", "CSV of every tick (now_ns, state, applied command stamp, at neutral): for link analysis"),
    "autostart": (True, "configure and activate at start, without a lifecycle manager"),
}


class ServoBridgeNode(LifecycleNode):
    """Commands in, safe servo pulses out."""

    def __init__(self, name: str = "servo_bridge", **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        for key, (default, text) in PARAMETERS.items():
            self.declare_parameter(key, default, ParameterDescriptor(description=text))
        self.logic = self.board = self.neck = self._timer = self._trace = None
        self._subs = []
        self.applied_stamp_ns = None   # camera stamp of the newest accepted face command
        self.age = LatencyStats()      # age of the command in force at each tick (ms)
        self.arrival = LatencyStats()  # camera stamp -> an accepted face command arrives here (ms)
        self.to_pulse = LatencyStats()  # camera stamp -> the first tick that writes it to the board (ms)
        self._last_pulsed_ns = None
        self._applied_camera_ns = None  # the raw camera stamp of the command in force (for the latencies)
        self.joint_pub = self.create_lifecycle_publisher(JointState, "joint_states", QoSProfile(depth=10))
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", QoSProfile(depth=10))
        self.create_timer(1.0, self._publish_diagnostics)
        if self.get_parameter("autostart").value:
            self._autostart = self.create_timer(0.0, self._start)

    def _start(self) -> None:
        self.destroy_timer(self._autostart)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    def p(self, key: str):
        return self.get_parameter(key).value

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from eva.hardware.calibration import load_calibration
        from eva.hardware.pca9685 import make_board
        from eva.hardware.safety import BridgeLogic
        try:
            cal = load_calibration(self.p("calibration_file") or None)
            self.board = make_board(self.p("backend"), cal)
        except (ValueError, FileNotFoundError, RuntimeError) as err:
            self.get_logger().error(f"cannot configure the servo bridge: {err}")
            return TransitionCallbackReturn.FAILURE
        self.logic = BridgeLogic(cal, self.p("max_age_s") or None, self.p("max_future_s") or None,
                                 float(self.p("watchdog_timeout_s")))
        if self.p("follow_head") and cal.neck is not None:
            from eva.hardware.neck import StewartNeck
            self.neck = StewartNeck(cal.neck)
        self.get_logger().info(f"servo bridge: {len(cal.names)} servos, backend {self.p('backend')}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.board.connect(send_neutral=True)
        except (RuntimeError, OSError, ValueError) as err:
            self.get_logger().error(f"cannot open the servo board: {err}")
            return TransitionCallbackReturn.FAILURE
        self.logic.unpark()
        qos = command_qos() if self.p("reliable") else sensor_qos()
        self._subs = [self.create_subscription(JointState, "motor_commands", self._on_command, qos)]
        if self.neck is not None:
            self._subs.append(self.create_subscription(PoseStamped, "face/head_pose", self._on_head, sensor_qos()))
        if self.p("trace_file"):
            self._trace = open(self.p("trace_file"), "a", buffering=1)
        self._timer = self.create_timer(1.0 / float(self.p("rate_hz")), self._tick)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._go_neutral_and_release()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if state.label == "active":
            self._go_neutral_and_release()
        return TransitionCallbackReturn.SUCCESS

    def _on_command(self, msg: JointState) -> None:
        now = self.get_clock().now().nanoseconds
        stamp = time_to_ns(msg.header.stamp)
        result = self.logic.on_command(list(msg.name), list(msg.position), stamp, now)
        if result.accepted:
            self.applied_stamp_ns = result.sent_ns  # on this clock (skew-corrected), never after arrival
            self._applied_camera_ns = stamp
            self.arrival.add(stamp, now)  # raw stamps: a latency only where the clocks are in sync
        else:
            self.get_logger().warning(f"rejected motor command: {result.reason}", throttle_duration_sec=2.0)

    def _on_head(self, msg: PoseStamped) -> None:
        from eva.core.pose import matrix_to_rpy, quaternion_to_matrix, unit_quaternion
        from eva.hardware.neck import NECK_SERVOS
        o = msg.pose.orientation
        try:
            q = unit_quaternion([o.x, o.y, o.z, o.w])
        except ValueError as err:
            self.logic.reject_pose()
            self.get_logger().warning(f"rejected head pose: {err}", throttle_duration_sec=2.0)
            return
        roll, pitch, yaw = matrix_to_rpy(quaternion_to_matrix(q)) * float(self.p("head_gain"))
        sign = -1.0 if self.p("mirror") else 1.0
        pose = np.array([sign * roll, pitch, sign * yaw, 0.0, 0.0, 0.0])
        positions, _ = self.neck.pose_to_positions(pose, self.logic.calibration.subset("neck_"))
        now = self.get_clock().now().nanoseconds
        self.logic.on_command(list(NECK_SERVOS), list(positions), time_to_ns(msg.header.stamp), now)

    def _tick(self) -> None:
        now = self.get_clock().now().nanoseconds
        sent = self.board.send_action(self.logic.tick(now))
        self._publish_joints(sent, now)
        active = self.logic.state == "active" and self.applied_stamp_ns is not None
        if active:
            self.age.add(self.applied_stamp_ns, now)
            if self.applied_stamp_ns != self._last_pulsed_ns:  # a new command reached the board this tick
                self.to_pulse.add(self._applied_camera_ns, now)
                self._last_pulsed_ns = self.applied_stamp_ns
        if self._trace is not None:
            self._trace.write(f"{now},{self.logic.state},{self.applied_stamp_ns or 0},{int(self.logic.at_neutral(1e-3))}\n")

    def _publish_joints(self, sent: dict, now_ns: int) -> None:
        from eva.hardware.safety import pulse_us_to_position
        cal = self.logic.calibration
        self.joint_pub.publish(joints_to_msg(list(sent), [pulse_us_to_position(cal[n], us) for n, us in sent.items()],
                                             now_ns))

    def _go_neutral_and_release(self, timeout_s: float = 5.0) -> None:
        """Slews every servo to neutral at its speed limit, then turns the PWM outputs off."""
        import time
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        self.logic.park()
        period = 1.0 / float(self.p("rate_hz"))
        deadline = time.monotonic() + timeout_s
        while not self.logic.at_neutral(1e-3) and time.monotonic() < deadline:
            self.board.send_action(self.logic.tick(self.get_clock().now().nanoseconds))
            time.sleep(period)
        self.board.send_action(self.logic.neutral_pulses())
        self.board.disconnect(release=True)
        if self._trace is not None:
            self._trace.close()
            self._trace = None

    def _publish_diagnostics(self) -> None:
        if self.logic is None:
            return
        d = self.logic.diagnostics()
        st = DiagnosticStatus(name="eva/servo_bridge", hardware_id=str(self.p("backend")))
        st.level = DiagnosticStatus.OK if d["state"] == "active" else DiagnosticStatus.WARN
        st.message = {"active": "following commands", "timeout": "no commands: holding neutral",
                      "parked": "parked at neutral"}.get(d["state"], d["state"])
        ages, arrival, pulse = self.age.percentiles(), self.arrival.percentiles(), self.to_pulse.percentiles()
        d.update(command_age_p50_ms=f"{ages['p50']:.1f}", command_age_p99_ms=f"{ages['p99']:.1f}",
                 camera_to_bridge_p50_ms=f"{arrival['p50']:.1f}", camera_to_bridge_p99_ms=f"{arrival['p99']:.1f}",
                 camera_to_pulse_p50_ms=f"{pulse['p50']:.1f}", camera_to_pulse_p99_ms=f"{pulse['p99']:.1f}")
        st.values = [KeyValue(key=k, value=str(v)) for k, v in d.items()]
        msg = DiagnosticArray(status=[st])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args=None) -> None:
    """``ros2 run eva servo_bridge``."""
    from eva.ros.model_node import spin_model_node
    spin_model_node(ServoBridgeNode, args)


if __name__ == "__main__":
    main()
