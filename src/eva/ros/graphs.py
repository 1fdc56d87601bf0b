"""One description of each node graph, read by the launch files and by the pip-environment runner.

A graph is a list of :class:`NodeSpec`; parameter values may name launch
arguments as ``"$(arg)"`` strings, resolved by :func:`resolve`.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph: its ``ros2 run eva <executable>`` name and parameters."""

    executable: str
    name: str
    parameters: dict = field(default_factory=dict)


# Launch arguments of the babbling graph and their defaults.
BABBLE_ARGS = {"out": "babble_bag", "steps": "16000", "seed": "0", "resume": "false", "noise": "true",
               "width": "0", "height": "0"}  # image size 0 = config/sim_face.yaml (480x320)

BABBLE_GRAPH = (
    NodeSpec("recorder", "recorder", {"out": "$(out)", "resume": "$(resume)", "split_seconds": 1.0}),
    NodeSpec("sim_face", "sim_face", {"seed": "$(seed)", "noise": "$(noise)", "capture": "on_command",
                                      "reliable": True, "width": "$(width)", "height": "$(height)"}),
    NodeSpec("landmarks", "robot_landmarks", {"image_topic": "robot/image_raw",
                                              "landmarks_topic": "robot/landmarks",
                                              "head_pose_topic": "robot/head_pose",
                                              "running_mode": "image", "max_faces": 1, "reliable": True}),
    NodeSpec("babbler", "babbler", {"seed": "$(seed)", "steps": "$(steps)", "out": "$(out)",
                                    "resume": "$(resume)"}),
)


def _convert(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def resolve(graph, args: dict) -> list[NodeSpec]:
    """Fills ``$(name)`` parameter values from ``args`` (strings, typed on the way).

    Raises:
        KeyError: a parameter names an argument that was not given.
    """
    out = []
    for spec in graph:
        params = {}
        for key, value in spec.parameters.items():
            if isinstance(value, str) and value.startswith("$(") and value.endswith(")"):
                arg = value[2:-1]
                if arg not in args:
                    raise KeyError(f"node {spec.name}: parameter {key} needs launch argument {arg!r}")
                value = _convert(str(args[arg]))
            params[key] = value
        out.append(NodeSpec(spec.executable, spec.name, params))
    return out
