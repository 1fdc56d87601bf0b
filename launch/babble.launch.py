"""Motor babbling on the simulated face into a bag: ros2 launch eva babble.launch.py out:=BAG steps:=16000.

Reads the same graph description as `eva babble` (eva.ros.graphs.BABBLE_GRAPH).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from eva.ros.graphs import BABBLE_ARGS, BABBLE_GRAPH, resolve


def _nodes(context):
    args = {k: LaunchConfiguration(k).perform(context) for k in BABBLE_ARGS}
    return [Node(package="eva", executable=s.executable, name=s.name, namespace="eva",
                 parameters=[s.parameters], output="screen")
            for s in resolve(BABBLE_GRAPH, args)]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(k, default_value=v) for k, v in BABBLE_ARGS.items()]
        + [OpaqueFunction(function=_nodes)])
