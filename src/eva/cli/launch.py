"""Start a node graph as one process per node, like ros2 launch: eva launch mimic camera:=webcam:0.

Arguments take ros2 launch's ``name:=value`` form; ``--show-args`` lists a
graph's arguments with their descriptions and defaults (the same text as
``ros2 launch eva <graph>.launch.py --show-args``). Each node's output lines are prefixed with its
name. Ctrl-C (or SIGTERM) stops every node cleanly and exits 130; a node that
dies stops the rest and the run exits 1 naming it. ``babble`` ends by itself
once the babbler has captured its steps, and prints what the bag holds;
``mimic`` ends when a file camera source reaches its end (a live camera runs
until Ctrl-C).
The same graphs run under real ROS 2 with ``ros2 launch eva <graph>.launch.py``.
"""
from __future__ import annotations


def _graphs() -> dict:
    """graph name -> :class:`eva.ros.graphs.Graph` (nodes, described arguments, source node)."""
    from eva.ros.graphs import GRAPHS

    return GRAPHS


def show_args(graph) -> str:
    """The graph's launch arguments with descriptions and defaults, as ``ros2 launch --show-args`` lists them."""
    lines = ["Arguments (pass arguments as '<name>:=<value>'):"]
    for name, arg in graph.args.items():
        text = arg.description
        if arg.choices:  # as launch's DeclareLaunchArgument words it
            text += ("" if text.endswith(".") else ".") + f" Valid choices are: {list(arg.choices)}"
        lines += ["", f"    '{name}':", f"        {text}", f"        (default: '{arg.default}')"]
    return "\n".join(lines)


def add_arguments(p) -> None:
    p.add_argument("graph", choices=sorted(_graphs()), help="which node graph to start")
    p.add_argument("launch_args", nargs="*", metavar="NAME:=VALUE", help="launch arguments, e.g. steps:=500")
    p.add_argument("--show-args", action="store_true", help="list the graph's launch arguments and exit")
    p.add_argument("--stop-timeout", type=float, default=10.0,
                   help="seconds a node gets after SIGINT (then SIGTERM, then SIGKILL)")


def parse_launch_args(items: list[str], defaults: dict, graph: str = "graph") -> dict:
    """``["steps:=5", ...]`` -> the defaults updated with them (values stay strings).

    Raises:
        ValueError: an item is not ``name:=value`` or names no argument of the graph.
    """
    valid = ", ".join(f"{k} (default {v})" for k, v in defaults.items())
    values = dict(defaults)
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise ValueError(f"launch argument {item!r} is not NAME:=VALUE; {graph} takes: {valid}")
        if name not in defaults:
            raise ValueError(f"unknown launch argument {name!r}; {graph} takes: {valid}")
        values[name] = value
    return values


def _report_babble(values: dict) -> None:
    from eva.data import bag_summary

    info = bag_summary(values["out"])
    print(f"bag {values['out']}: {info['steps']} steps in all, {info['bytes'] / 1e6:.1f} MB on disk")


def run(args) -> int:
    from eva.ros.graphs import resolve
    from eva.ros.runner import run_graph

    graph = _graphs()[args.graph]
    if args.show_args:
        print(show_args(graph))
        return 0
    values = parse_launch_args(args.launch_args, graph.defaults(), args.graph)
    graph.check(values)
    result = run_graph(resolve(graph.nodes, values), until=graph.source, stop_timeout_s=args.stop_timeout)
    if result.failed:
        print(f"eva launch {args.graph}: failed: {', '.join(result.failed)} "
              f"(exit codes: {', '.join(f'{k} {v}' for k, v in result.returncodes.items())})")
    else:
        print(f"eva launch {args.graph}: {'interrupted' if result.reason == 'interrupted' else 'finished'} "
              f"after {result.seconds:.1f} s, every node exited cleanly")
    if args.graph == "babble" and result.reason != "failed":
        _report_babble(values)
    return result.exit_status
