"""Motor babbling on the simulated face into a bag: ros2 launch eva babble.launch.py out:=BAG steps:=16000.

Reads the same graph description as `eva babble` / `eva launch babble` (eva.ros.graphs.BABBLE_GRAPH).
"""
from eva.ros.graphs import BABBLE_ARGS, BABBLE_GRAPH
from eva.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description(BABBLE_GRAPH, BABBLE_ARGS)
