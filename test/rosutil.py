"""Helpers of the in-process ROS tests (the ``context`` fixture is in conftest.py)."""
import time


def spin_until(executor, condition, timeout_s=30.0) -> bool:
    """Spins ``executor`` until ``condition()`` holds or ``timeout_s`` passes; returns ``condition()``."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.02)
    return condition()
