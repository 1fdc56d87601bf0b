"""Process-wide ROS settings that keep local runs local."""
from __future__ import annotations

import os
import tempfile


def ensure_local_defaults() -> None:
    """Keeps DDS on this host unless the user chose otherwise; gives ROS a log folder.

    Without ``ROS_AUTOMATIC_DISCOVERY_RANGE`` Fast DDS multicasts discovery out
    of the network card. A real robot deployment sets it to SUBNET (or uses
    ROS_STATIC_PEERS) explicitly; see the README. Must run before rclpy.init.
    """
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if "ROS_LOG_DIR" not in os.environ:
        os.environ["ROS_LOG_DIR"] = os.path.join(tempfile.gettempdir(), "eva-ros-log")
