"""A stand-in for the workstation graph's output: motor commands at a steady rate (``python -m``).

Publishes ``/eva/motor_commands`` as the inverse node does (sensor_msgs/JointState,
reliable, keep last 1), stamped at publication, with every motor tracing a slow
sine so each command differs. Used by the WiFi trial (:mod:`eva.net.trial`).
"""
from __future__ import annotations

import argparse
import math
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=30.0, help="commands per second")
    ap.add_argument("--duration", type=float, required=True, help="seconds to publish once a subscriber matched")
    ap.add_argument("--names", default="brow_up_left,brow_up_right,brow_down_left,brow_down_right,mouth_corner_up_left,"
                    "mouth_corner_up_right,mouth_corner_down_left,mouth_corner_down_right,jaw,lower_lip")
    ap.add_argument("--match-timeout", type=float, default=30.0)
    args = ap.parse_args(argv)

    import rclpy
    from sensor_msgs.msg import JointState

    from eva.ros.convert import joints_to_msg
    from eva.ros.qos import command_qos

    names = args.names.split(",")
    rclpy.init()
    node = rclpy.create_node("command_source", namespace="/eva")
    pub = node.create_publisher(JointState, "motor_commands", command_qos())
    deadline = time.monotonic() + args.match_timeout
    while pub.get_subscription_count() < 1:
        if time.monotonic() > deadline:
            print("no subscriber matched", flush=True)
            return 1
        rclpy.spin_once(node, timeout_sec=0.05)
    print(f"matched {time.time_ns()}", flush=True)
    period, start = 1.0 / args.rate, time.monotonic()
    k = 0
    while time.monotonic() - start < args.duration:
        t = k * period
        positions = [0.5 + 0.4 * math.sin(2 * math.pi * 0.5 * t + i) for i in range(len(names))]
        pub.publish(joints_to_msg(names, positions, node.get_clock().now().nanoseconds))
        k += 1
        time.sleep(max(0.0, start + k * period - time.monotonic()))
    print(f"sent {k}", flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
