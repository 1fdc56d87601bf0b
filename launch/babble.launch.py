"""Motor babbling on the simulated face into a bag: ros2 launch eva babble.launch.py out:=BAG steps:=16000.

Reads the same graph description as `eva babble` / `eva launch babble` (eva.ros.graphs.GRAPHS["babble"]).
"""
from eva.ros.graphs import GRAPHS
from eva.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description(GRAPHS["babble"])
