"""Process-wide ROS settings that keep local runs local and let camera images through."""
from __future__ import annotations

import os
import tempfile


def ensure_local_defaults() -> None:
    """Keeps DDS on this host unless the user chose otherwise; gives ROS a log folder; picks a DDS profile.

    Without ``ROS_AUTOMATIC_DISCOVERY_RANGE`` Fast DDS multicasts discovery out
    of the network card. A real robot deployment sets it to SUBNET (or uses
    ROS_STATIC_PEERS) explicitly; see the README. Unless the user chose Fast DDS
    transports (``FASTDDS_DEFAULT_PROFILES_FILE`` or ``FASTDDS_BUILTIN_TRANSPORTS``),
    ``config/fastdds_local.xml`` (LOCALHOST) or ``config/fastdds_workstation.xml``
    gives shared memory segments large enough for whole camera images. Must run
    before rclpy.init.
    """
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if "ROS_LOG_DIR" not in os.environ:
        os.environ["ROS_LOG_DIR"] = os.path.join(tempfile.gettempdir(), "eva-ros-log")
    if not ({"FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_BUILTIN_TRANSPORTS"}
            & set(os.environ)):
        from eva.paths import find_config
        local = os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"].upper() == "LOCALHOST"
        try:
            profile = find_config("fastdds_local.xml" if local else "fastdds_workstation.xml")
        except FileNotFoundError:
            return  # an install without the config files: Fast DDS's defaults
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
