"""Test-wide settings: DDS stays on this host, ROS logs go to a temporary folder.

Set before anything imports rclpy. Each pytest process gets its own DDS domain
so concurrent runs on one machine never see each other's topics.
"""
import os
import signal
import tempfile

import pytest

# A shell without job control starts background commands with SIGINT ignored, and
# children inherit that: the tests that Ctrl-C a child process would then see it
# ignore the signal. Give this process (and so its children) Python's usual handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOG_DIR"] = tempfile.mkdtemp(prefix="eva-test-roslog-")
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
os.environ.setdefault("GLOG_minloglevel", "2")

from eva.ros.env import ensure_local_defaults  # noqa: E402  (after the variables above)

ensure_local_defaults()  # the DDS profile every eva process uses on one machine


@pytest.fixture
def context():
    """A fresh rclpy context for one in-process ROS test, shut down afterwards."""
    import rclpy
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)
