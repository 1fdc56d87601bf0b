"""Layer rules from DESIGN.md: eva.core is NumPy only; the sim needs neither ROS nor torch."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module,forbidden", [
    ("eva.core.landmarks", ("rclpy", "torch", "cv2", "mediapipe")),
    ("eva.core.pose", ("rclpy", "torch", "cv2", "mediapipe")),
    ("eva.sim.face", ("rclpy", "torch", "mediapipe")),
    ("eva.data", ("rclpy", "torch", "mediapipe")),
    ("eva.perception.model", ("rclpy", "torch", "mediapipe")),
    ("eva.core.normalize", ("rclpy", "torch", "cv2", "mediapipe")),
    ("eva.core.filters", ("rclpy", "torch", "cv2", "mediapipe")),
    ("eva.core.config", ("rclpy", "torch", "cv2", "mediapipe", "numpy")),
    ("eva.perception.cameras", ("rclpy", "torch", "mediapipe", "pyrealsense2")),
    ("eva.data.mimic_bag", ("rclpy", "torch", "mediapipe")),
    ("eva.learning.mimic", ("rclpy", "mediapipe")),
])
def test_module_does_not_pull_in(module, forbidden):
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {forbidden!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


def test_the_eva_command_starts_without_torch_or_mediapipe():
    """`eva servo-check` runs on the Pi, which installs neither."""
    code = ("import sys, eva.cli.main as m; m.build_parser(); "
            "print(','.join(k for k in ('torch', 'cv2', 'mediapipe', 'tqdm') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
