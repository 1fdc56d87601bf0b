"""Builds ``ros2 launch`` descriptions from eva's graph descriptions (real ROS 2 installs only).

launch/launch_ros are imported here, not by the rest of eva: the pip
environment runs the same graphs with ``eva launch`` (:mod:`eva.ros.runner`),
which ends a graph by the same rule as :func:`on_node_exit`.
"""
from __future__ import annotations

# After the source node ends cleanly, the rest of the graph gets this long to take its
# last frame (as eva.ros.runner's until_grace_s) before everything is stopped.
SOURCE_GRACE_S = 0.5


def on_node_exit(graph, node: str, returncode: int | None, shutting_down: bool) -> tuple[str, str, bool] | None:
    """What the graph does when ``node`` exits: ``(log line, shutdown reason, clean)`` or None (nothing).

    The source node (camera, babbler) exiting 0 ends the graph cleanly; any node
    exiting while the graph runs (the source with an error included) stops the
    graph as a failure naming it. Exits during a shutdown are expected.
    """
    if shutting_down:
        return None
    if node == graph.source and returncode == 0:
        return (f"[eva] {node} finished: stopping the {graph.name} graph", f"{node} finished", True)
    return (f"[eva] node {node} exited with code {returncode} while the {graph.name} graph ran: stopping the graph",
            f"node {node} exited with code {returncode}", False)


def launch_description(graph):
    """A LaunchDescription declaring ``graph``'s described arguments and starting its nodes.

    Args:
        graph: an :class:`eva.ros.graphs.Graph`.
    """
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, TimerAction
    from launch.events import Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from eva.ros.graphs import resolve

    def exit_handler(name):
        def handle(event, context):
            decision = on_node_exit(graph, name, event.returncode, context.is_shutdown)
            if decision is None:
                return None
            line, reason, clean = decision
            stop = EmitEvent(event=Shutdown(reason=reason))
            return [LogInfo(msg=line), TimerAction(period=SOURCE_GRACE_S, actions=[stop]) if clean else stop]
        return handle

    def nodes(context):
        args = {k: LaunchConfiguration(k).perform(context) for k in graph.args}
        return [Node(package="eva", executable=s.executable, name=s.name, namespace="eva",
                     parameters=[s.parameters, *s.params_files], output="screen", on_exit=exit_handler(s.name))
                for s in resolve(graph.nodes, args)]

    return LaunchDescription([DeclareLaunchArgument(k, default_value=a.default, description=a.description,
                                                    choices=list(a.choices) or None)
                              for k, a in graph.args.items()] + [OpaqueFunction(function=nodes)])
