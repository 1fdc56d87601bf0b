"""QoS profiles per stream (DESIGN.md): sensor streams best effort keep-last 1, commands reliable.

Recording runs (babbling) add ``transient_local`` on the writers we own: a
recorder whose reader matched a writer late (DDS discovery is not symmetric)
still receives that writer's last ``depth`` messages, so nothing the babbler
waited for is lost. A transient-local writer still serves volatile readers.
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def _durability(transient_local: bool) -> DurabilityPolicy:
    return DurabilityPolicy.TRANSIENT_LOCAL if transient_local else DurabilityPolicy.VOLATILE


def sensor_qos(reliable: bool = False, depth: int = 1, transient_local: bool = False) -> QoSProfile:
    """Camera and landmark streams: newest frame wins; ``reliable`` for recording runs."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=_durability(transient_local))


def command_qos(depth: int = 1, transient_local: bool = False) -> QoSProfile:
    """Motor commands: reliable, keep last ``depth``."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=_durability(transient_local))


def written_qos() -> QoSProfile:
    """The recorder's ``recorder/written`` acknowledgements: reliable, transient local, last 16."""
    return command_qos(16, transient_local=True)
