"""The robot side, on the Raspberry Pi: ros2 launch eva servo_bridge.launch.py [backend:=pca9685] [params_file:=F].

Reads the same graph description as `eva launch servo_bridge` (eva.ros.graphs.GRAPHS["servo_bridge"]).
The workstation runs `mimic.launch.py` with servo_bridge:=pi (the default).
"""
from eva.ros.graphs import GRAPHS
from eva.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description(GRAPHS["servo_bridge"])
