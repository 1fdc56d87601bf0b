"""A listening node for benchmarks: when each stage's output for each camera frame arrived.

Subscribes to every stage of the mimicry graph (``camera/camera_info`` stands in
for the image: same stamp, no pixels to copy) and records (stage, camera stamp,
receive time). Runs in a background thread with its own context, so a CLI can
run the graph in the foreground. Also samples the resident memory of this
process's children (the graph's nodes).
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2

from eva.ros.qos import command_qos, sensor_qos

PROBED = {  # stage -> (topic, type, qos)
    "camera": ("camera/camera_info", CameraInfo, sensor_qos),
    "landmarks": ("face/landmarks", PointCloud2, sensor_qos),
    "normalizer": ("face/landmarks_robot", PointCloud2, sensor_qos),
    "generator": ("self_image", Image, sensor_qos),
    "inverse": ("motor_commands", JointState, command_qos),
}


def children_rss_mb(parent: int | None = None) -> dict[str, float]:
    """Resident memory (MB) of each child process of ``parent`` (default: this process), from /proc.

    Keys are ROS node names (``__node:=NAME`` on the command line), else the pid.
    """
    parent = os.getpid() if parent is None else parent
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == parent and "VmRSS" in fields:
            try:
                args = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                args = []
            names = [a[len(b"__node:="):].decode() for a in args if a.startswith(b"__node:=")]
            out[names[0] if names else d.name] = int(fields["VmRSS"].split()[0]) / 1024
    return out


class Probe:
    """Background listener: ``start()``, run the graph, ``stop()``, then read ``records`` and ``peak_rss_mb``."""

    def __init__(self, rss_period_s: float = 0.5):
        self.records: list[tuple[str, int, int]] = []  # (stage, camera stamp ns, receive ns)
        self.peak_rss_mb = 0.0
        self.peak_rss_per_node_mb: dict[str, float] = {}
        self.bridge: dict[str, str] = {}  # the servo bridge's last /diagnostics values (when it runs)
        self._rss_period_s = rss_period_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eva-probe", daemon=True)

    def start(self, timeout_s: float = 10.0) -> "Probe":
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the benchmark probe did not start")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)

    def _run(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        from eva.ros.convert import time_to_ns

        ctx = rclpy.Context()
        rclpy.init(context=ctx)
        node = Node("bench_probe", namespace="/eva", context=ctx)
        clock = node.get_clock()
        for stage, (topic, cls, qos) in PROBED.items():
            def cb(msg, stage=stage):
                self.records.append((stage, time_to_ns(msg.header.stamp), clock.now().nanoseconds))
            node.create_subscription(cls, topic, cb, qos(10) if qos is command_qos else qos(False, 10))
        from diagnostic_msgs.msg import DiagnosticArray

        def on_diagnostics(msg):
            for st in msg.status:
                if st.name == "eva/servo_bridge":
                    self.bridge = {kv.key: kv.value for kv in st.values}
        node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        self._ready.set()
        next_rss = 0.0
        try:
            while not self._stop.is_set():
                ex.spin_once(timeout_sec=0.05)
                if time.monotonic() >= next_rss:
                    rss = children_rss_mb()
                    self.peak_rss_mb = max(self.peak_rss_mb, sum(rss.values()))
                    for name, mb in rss.items():
                        self.peak_rss_per_node_mb[name] = max(self.peak_rss_per_node_mb.get(name, 0.0), mb)
                    next_rss = time.monotonic() + self._rss_period_s
        finally:
            node.destroy_node()
            rclpy.try_shutdown(context=ctx)
