"""Per-stage bookkeeping of the mimicry nodes: latency from the camera frame, counters, /diagnostics at 1 Hz."""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import QoSProfile

from eva.core.latency import LatencyStats


class StageStats:
    """Latency (camera stamp -> this stage's output) and counters of one node, published on /diagnostics.

    Args:
        node: the owning node.
        stage: the stage name in diagnostics (e.g. "generator").
        warn_ms: p99 latency above which the status is WARN.
        period_s: diagnostics period.
    """

    def __init__(self, node: Node, stage: str, warn_ms: float = 100.0, period_s: float = 1.0):
        self.node, self.stage, self.warn_ms = node, stage, warn_ms
        self.latency = LatencyStats()
        self.counts = {"received": 0, "published": 0, "rejected": 0, "skipped": 0}
        self.last_error = ""
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", QoSProfile(depth=10))
        self._timer = node.create_timer(period_s, self.publish)

    def received(self) -> None:
        """One input message arrived."""
        self.counts["received"] += 1

    def reject(self, reason: str) -> None:
        """An input could not be used: counted, logged (throttled), shown in diagnostics."""
        self.counts["rejected"] += 1
        self.last_error = reason
        self.node.get_logger().warning(f"{self.stage}: {reason}", throttle_duration_sec=2.0)

    def skip(self) -> None:
        """An input that needs no output (e.g. no face in the frame)."""
        self.counts["skipped"] += 1

    def done(self, stamp_ns: int) -> float:
        """One output published for the camera frame of ``stamp_ns``; returns its latency in ms."""
        self.counts["published"] += 1
        ms = self.latency.add(stamp_ns, self.node.get_clock().now().nanoseconds)
        self.node.get_logger().debug(f"{self.stage} {ms:.1f} ms after the frame")
        self.node.get_logger().info(f"{self.stage}: {self.latency.summary()}", throttle_duration_sec=10.0)
        return ms

    def status(self) -> DiagnosticStatus:
        """The current DiagnosticStatus (OK, WARN on slow p99 or rejected input)."""
        p = self.latency.percentiles()
        st = DiagnosticStatus(name=f"eva/{self.stage}", hardware_id=self.node.get_fully_qualified_name())
        slow = p["p99"] == p["p99"] and p["p99"] > self.warn_ms  # NaN (no data yet) is not slow
        st.level = DiagnosticStatus.WARN if slow or self.counts["rejected"] else DiagnosticStatus.OK
        st.message = (f"p99 latency {p['p99']:.0f} ms > {self.warn_ms:.0f} ms" if slow
                      else f"{self.counts['rejected']} rejected: {self.last_error}" if self.counts["rejected"]
                      else "ok")
        values = {"latency_p50_ms": f"{p['p50']:.2f}", "latency_p99_ms": f"{p['p99']:.2f}",
                  **{k: str(v) for k, v in self.counts.items()}}
        st.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        return st

    def publish(self) -> None:
        """Publishes one DiagnosticArray."""
        msg = DiagnosticArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.status = [self.status()]
        self._pub.publish(msg)
