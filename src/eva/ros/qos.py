"""QoS profiles per stream (DESIGN.md): sensor streams best effort keep-last 1, commands reliable."""
from __future__ import annotations

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy


def sensor_qos(reliable: bool = False, depth: int = 1) -> QoSProfile:
    """Camera and landmark streams: newest frame wins; ``reliable`` for recording runs."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)


def command_qos(depth: int = 1) -> QoSProfile:
    """Motor commands: reliable, keep last ``depth``."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE)
