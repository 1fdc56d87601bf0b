"""Builds ``ros2 launch`` descriptions from eva's graph descriptions (real ROS 2 installs only).

launch/launch_ros are imported here, not by the rest of eva: the pip
environment runs the same graphs with ``eva launch`` (:mod:`eva.ros.runner`).
"""
from __future__ import annotations


def launch_description(graph, defaults: dict):
    """A LaunchDescription declaring ``defaults`` as arguments and starting ``graph``'s nodes."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from eva.ros.graphs import resolve

    def nodes(context):
        args = {k: LaunchConfiguration(k).perform(context) for k in defaults}
        return [Node(package="eva", executable=s.executable, name=s.name, namespace="eva",
                     parameters=[s.parameters, *s.params_files], output="screen")
                for s in resolve(graph, args)]

    return LaunchDescription([DeclareLaunchArgument(k, default_value=v) for k, v in defaults.items()]
                             + [OpaqueFunction(function=nodes)])
