"""One description of each node graph, read by the launch files and by the pip-environment runner.

A graph is a list of :class:`NodeSpec`; parameter values may name launch
arguments as ``"$(arg)"`` strings, resolved by :func:`resolve`. A node with a
``condition`` runs only when that argument is true (or, for a non-boolean
argument, not empty/"none"); ``"arg==value"`` runs it only for that value. A ``params_file`` argument, when given, is a ROS
params file layered over every node's parameters (it wins).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph: its ``ros2 run eva <executable>`` name and parameters."""

    executable: str
    name: str
    parameters: dict = field(default_factory=dict)
    condition: str | None = None          # launch argument that must be true / non-empty
    params_files: tuple[str, ...] = ()    # user params files, applied after ``parameters``


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


# Launch arguments of the mimicry graph and their defaults.
MIMIC_ARGS = {
    "camera": "webcam:0",     # webcam[:N], /dev/videoN, realsense[:SERIAL], a video file or an image folder
    "realtime": "true",       # files: play at their own frame rate (false: as fast as the graph takes them)
    "loop": "false",          # files: start over at the end
    "fps": "0",               # camera frames/s (0 = the source's own)
    "max_frames": "0",        # the camera ends after this many frames (0 = no limit)
    "checkpoints": "",        # <role>/seed<k>/best.pt layout; empty = the shipped sim checkpoints
    "seed": "0",              # which seed's generator and inverse model
    "device": "auto",         # auto (GPU when present), cpu, cuda
    "runtime": "auto",        # generator/inverse: auto (ONNX Runtime on CPU), torch, onnxruntime
    "int8": "true",           # generator: 8-bit ONNX Runtime model on the CPU (false: fp32)
    "mode": "minmax",         # normalizer: minmax (paper) or neutral
    "continuous": "true",     # inverse: expected level (true) or argmax (paper)
    "inverse_role": "auto",   # inverse: auto (F trained on G's images if shipped), inverse, inverse-on-generated
    "use_sim": "true",        # run the simulated face (no robot attached)
    "sim_width": "240",       # simulated robot camera px (the shipped models' source size)
    "sim_height": "160",
    "record": "",             # bag directory: record the run's topics there
    "servo_bridge": "pi",     # pi: it runs on the robot's Pi (not started here); local: start it here
    "servo_backend": "pca9685",  # servo_bridge:=local: pca9685 (board on this machine), fake or sim
    "params_file": "",        # ROS params file layered over every node's parameters
}

MIMIC_GRAPH = (
    NodeSpec("camera", "camera", {"source": "$(camera)", "realtime": "$(realtime)", "loop": "$(loop)",
                                  "fps": "$(fps)", "max_frames": "$(max_frames)",
                                  "wait_for": "landmarks:camera/image_raw,normalizer:face/landmarks,"
                                              "generator:face/landmarks_robot,inverse:self_image"}),
    NodeSpec("landmarks", "landmarks", {"running_mode": "video", "max_faces": 2}),
    NodeSpec("normalizer", "normalizer", {"checkpoints": "$(checkpoints)", "seed": "$(seed)", "mode": "$(mode)"}),
    NodeSpec("generator", "generator", {"checkpoints": "$(checkpoints)", "seed": "$(seed)", "device": "$(device)",
                                        "runtime": "$(runtime)", "int8": "$(int8)"}),
    NodeSpec("inverse", "inverse", {"checkpoints": "$(checkpoints)", "seed": "$(seed)", "device": "$(device)",
                                    "runtime": "$(runtime)", "continuous": "$(continuous)",
                                    "role": "$(inverse_role)"}),
    NodeSpec("sim_face", "sim_face", {"capture": "continuous", "rate_hz": 30.0, "reliable": False,
                                      "width": "$(sim_width)", "height": "$(sim_height)"}, condition="use_sim"),
    NodeSpec("recorder", "recorder", {"out": "$(record)", "topics": "mimic"}, condition="record"),
    NodeSpec("servo_bridge", "servo_bridge", {"backend": "$(servo_backend)"}, condition="servo_bridge==local"),
)

# The robot side alone (on the Raspberry Pi): ros2 launch eva servo_bridge.launch.py
SERVO_ARGS = {"backend": "pca9685", "params_file": ""}
SERVO_GRAPH = (NodeSpec("servo_bridge", "servo_bridge", {"backend": "$(backend)"}),)


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


def _holds(condition: str, args: dict, node: str) -> bool:
    name, eq, want = condition.partition("==")
    if name not in args:
        raise KeyError(f"node {node}: condition needs launch argument {name!r}")
    flag = str(args[name]).strip()
    if eq:
        return flag == want
    return flag.lower() not in ("", "false", "0", "none", "no", "off")


def resolve(graph, args: dict) -> list[NodeSpec]:
    """Fills ``$(name)`` parameter values from ``args`` (strings, typed on the way).

    Raises:
        KeyError: a parameter names an argument that was not given.
    """
    out = []
    extra = tuple(str(args[k]) for k in ("params_file",) if str(args.get(k, "")).strip())
    for spec in graph:
        if spec.condition is not None and not _holds(spec.condition, args, spec.name):
            continue
        params = {}
        for key, value in spec.parameters.items():
            if isinstance(value, str) and value.startswith("$(") and value.endswith(")"):
                arg = value[2:-1]
                if arg not in args:
                    raise KeyError(f"node {spec.name}: parameter {key} needs launch argument {arg!r}")
                value = _convert(str(args[arg]))
            params[key] = value
        out.append(NodeSpec(spec.executable, spec.name, params, None, spec.params_files + extra))
    return out
