"""One description of each node graph, read by the launch files and by the pip-environment runner.

A :class:`Graph` holds its nodes (:class:`NodeSpec`), its launch arguments with
their defaults and descriptions (:class:`LaunchArg`), and its source node, whose
end ends the graph. Node parameter values may name launch
arguments as ``"$(arg)"`` strings, resolved by :func:`resolve`. A node with a
``condition`` runs only when that argument is true (or, for a non-boolean
argument, not empty/"none"); ``"arg==value"`` runs it only for that value,
``"!arg"`` only when it is false, and clauses joined by ``&`` must all hold. A
``params_file`` argument, when given, is a ROS params file layered over every
node's parameters (it wins).
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


@dataclass(frozen=True)
class LaunchArg:
    """A launch argument: its default (a string, as on a command line) and what it does."""

    default: str
    description: str
    choices: tuple[str, ...] = ()  # the values it takes (empty: any)


@dataclass(frozen=True)
class Graph:
    """A node graph with its launch arguments and the node whose end ends the graph.

    ``source`` is the node the rest of the graph consumes (the camera for mimicry,
    the babbler for babbling): when it exits 0 the graph is done. Any other node
    that exits while the graph runs stops it as a failure naming that node.
    ``None``: the graph runs until it is stopped.
    """

    name: str
    nodes: tuple[NodeSpec, ...]
    args: dict[str, LaunchArg]
    source: str | None = None

    def __post_init__(self):
        names = [n.name for n in self.nodes]
        if self.source is not None and self.source not in names:
            raise ValueError(f"graph {self.name}: source node {self.source!r} is not one of {names}")

    def defaults(self) -> dict[str, str]:
        """Launch argument name -> default value."""
        return {k: a.default for k, a in self.args.items()}

    def check(self, values: dict) -> None:
        """Raises ValueError naming an argument whose value is not one of its choices."""
        for k, a in self.args.items():
            if a.choices and str(values.get(k, a.default)) not in a.choices:
                raise ValueError(f"launch argument {k}:={values[k]} must be one of {', '.join(a.choices)}")


BABBLE_LAUNCH_ARGS = {
    "robot": LaunchArg("sim", "sim (the simulated face in simulated time, fast), real (a robot: the servo bridge "
                              "and a robot camera, real time) or sim_realtime (the simulated robot as deployed: "
                              "a local servo bridge on an emulated bus moves the simulated face, filmed in real "
                              "time)", ("sim", "real", "sim_realtime")),
    "out": LaunchArg("babble_bag", "bag directory the babbling run is recorded to"),
    "steps": LaunchArg("16000", "babbling steps to capture (the paper: 16,000)"),
    "seed": LaunchArg("0", "seed of the command sequence and of the simulated camera noise"),
    "resume": LaunchArg("false", "true: continue an existing bag at its next step (false: refuse an existing bag)"),
    "noise": LaunchArg("true", "simulated camera noise and light jitter (false: exact renders)"),
    "width": LaunchArg("0", "robot camera image width, px (0 = config/sim_face.yaml, 480)"),
    "height": LaunchArg("0", "robot camera image height, px (0 = config/sim_face.yaml, 320)"),
    "camera": LaunchArg("realsense", "robot:=real: the camera filming the robot: realsense[:SERIAL], webcam[:N] "
                                     "or /dev/videoN"),
    "crop": LaunchArg("", "robot:=real: X,Y,W,H px of the camera frame around the robot's head (the paper: "
                          "480x320); empty = whole frames"),
    "settle_s": LaunchArg("0.3", "robot: skin settle time after the servos arrive, before a frame counts (s)"),
    "rest_every": LaunchArg("0", "robot: rest after this many steps so the servos cool down (0 = never)"),
    "rest_s": LaunchArg("60", "robot: rest length (s); the face goes to neutral"),
    "servo_bridge": LaunchArg("auto", "pi (the bridge runs on the robot's Pi, not started here), local (start it "
                                      "here) or auto (real: pi, sim_realtime: local)", ("auto", "pi", "local")),
    "servo_backend": LaunchArg("pca9685", "robot:=real with servo_bridge:=local: pca9685, fake or sim",
                               ("pca9685", "fake", "sim")),
}

BABBLE_GRAPH = (
    NodeSpec("recorder", "recorder", {"out": "$(out)", "resume": "$(resume)", "split_seconds": 1.0},
             condition="robot==sim"),
    NodeSpec("recorder", "recorder", {"out": "$(out)", "resume": "$(resume)", "split_seconds": 1.0,
                                      "topics": "robot_babbling"}, condition="!robot==sim"),
    # sim: one frame rendered per command, in simulated time
    NodeSpec("sim_face", "sim_face", {"seed": "$(seed)", "noise": "$(noise)", "capture": "on_command",
                                      "reliable": True, "width": "$(width)", "height": "$(height)"},
             condition="robot==sim"),
    # sim_realtime: the simulated face follows what the bridge sent and is filmed at 30 fps
    NodeSpec("sim_face", "sim_face", {"seed": "$(seed)", "noise": "$(noise)", "capture": "continuous",
                                      "rate_hz": 30.0, "reliable": False, "width": "$(width)",
                                      "height": "$(height)", "command_topic": "joint_states"},
             condition="robot==sim_realtime"),
    NodeSpec("servo_bridge", "servo_bridge", {"backend": "fake"}, condition="robot==sim_realtime&!servo_bridge==pi"),
    # real: a camera films the robot; the bridge runs on its Pi (or here)
    NodeSpec("camera", "robot_camera", {"source": "$(camera)", "width": "$(width)", "height": "$(height)",
                                        "crop": "$(crop)", "image_topic": "robot/image_raw",
                                        "info_topic": "robot/camera_info", "frame_id": "eva_robot_camera"},
             condition="robot==real"),
    NodeSpec("servo_bridge", "servo_bridge", {"backend": "$(servo_backend)"},
             condition="robot==real&servo_bridge==local"),
    # reliable (transient local) for the simulated-time recording; live robot frames: best effort
    NodeSpec("landmarks", "robot_landmarks", {"image_topic": "robot/image_raw",
                                              "landmarks_topic": "robot/landmarks",
                                              "head_pose_topic": "robot/head_pose",
                                              "running_mode": "image", "max_faces": 1, "reliable": True},
             condition="robot==sim"),
    NodeSpec("landmarks", "robot_landmarks", {"image_topic": "robot/image_raw",
                                              "landmarks_topic": "robot/landmarks",
                                              "head_pose_topic": "robot/head_pose",
                                              "running_mode": "image", "max_faces": 1, "reliable": False},
             condition="!robot==sim"),
    NodeSpec("babbler", "babbler", {"seed": "$(seed)", "steps": "$(steps)", "out": "$(out)",
                                    "resume": "$(resume)"}, condition="robot==sim"),
    NodeSpec("robot_babbler", "babbler", {"seed": "$(seed)", "steps": "$(steps)", "out": "$(out)",
                                          "resume": "$(resume)", "settle_s": "$(settle_s)",
                                          "rest_every": "$(rest_every)", "rest_s": "$(rest_s)"},
             condition="!robot==sim"),
)


MIMIC_LAUNCH_ARGS = {
    "camera": LaunchArg("webcam:0", "webcam[:N], /dev/videoN, realsense[:SERIAL], a video file or an image folder"),
    "realtime": LaunchArg("true", "files: play at their own frame rate (false: as fast as the graph takes them)"),
    "loop": LaunchArg("false", "files: start over at the end"),
    "fps": LaunchArg("0", "camera frames/s (0 = the source's own)"),
    "max_frames": LaunchArg("0", "the camera ends after this many frames, and with it the graph (0 = no limit)"),
    "checkpoints": LaunchArg("", "folder in the <role>/seed<k>/best.pt layout; empty = the shipped sim checkpoints"),
    "seed": LaunchArg("0", "which seed's normalizer ranges, generator and inverse model"),
    "device": LaunchArg("auto", "auto (GPU when present), cpu or cuda"),
    "runtime": LaunchArg("auto", "generator/inverse: auto (ONNX Runtime on the CPU), torch or onnxruntime"),
    "int8": LaunchArg("true", "generator: 8-bit ONNX Runtime model on the CPU (false: fp32)"),
    "mode": LaunchArg("retarget", "normalizer: retarget (the user's neutral to the robot's rest, their range onto "
                                  "the robot's), minmax (the paper's ranges) or neutral (the user's first frames)"),
    "continuous": LaunchArg("true", "inverse: expected level (true) or the most likely level (false, the paper)"),
    "inverse_role": LaunchArg("auto", "inverse: auto (F trained on G's images if shipped), inverse or "
                                      "inverse-on-generated"),
    "use_sim": LaunchArg("true", "run the simulated robot (no robot attached): a local servo bridge on an emulated "
                                 "I2C bus executes the commands and the simulated face follows what it sent"),
    "sim_width": LaunchArg("240", "simulated robot camera width, px (the shipped models' source size)"),
    "sim_height": LaunchArg("160", "simulated robot camera height, px"),
    "record": LaunchArg("", "bag directory: record the run's topics there (empty: no bag)"),
    "servo_bridge": LaunchArg("pi", "without use_sim: pi (the bridge runs on the robot's Pi, not started here) or "
                                    "local (start it here)"),
    "servo_backend": LaunchArg("pca9685", "with servo_bridge:=local: pca9685 (a board on this machine), fake or sim"),
    "params_file": LaunchArg("", "ROS params file layered over every node's parameters (it wins)"),
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
    # The simulated robot as deployed: the bridge (its safety logic, the Adafruit driver on an emulated
    # I2C bus) executes the commands, and the simulated face moves to what it reports having sent.
    NodeSpec("sim_face", "sim_face", {"capture": "continuous", "rate_hz": 30.0, "reliable": False,
                                      "width": "$(sim_width)", "height": "$(sim_height)",
                                      "command_topic": "joint_states"}, condition="use_sim"),
    NodeSpec("recorder", "recorder", {"out": "$(record)", "topics": "mimic"}, condition="record"),
    NodeSpec("servo_bridge", "servo_bridge", {"backend": "fake"}, condition="use_sim"),
    NodeSpec("servo_bridge", "servo_bridge", {"backend": "$(servo_backend)"}, condition="servo_bridge==local&!use_sim"),
)

# The robot side alone (on the Raspberry Pi): ros2 launch eva servo_bridge.launch.py
SERVO_LAUNCH_ARGS = {
    "backend": LaunchArg("pca9685", "pca9685 (the boards on I2C), fake (the Adafruit driver on an emulated bus) "
                                    "or sim (the simulated face)"),
    "params_file": LaunchArg("", "ROS params file layered over the bridge's parameters (it wins)"),
}
SERVO_GRAPH = (NodeSpec("servo_bridge", "servo_bridge", {"backend": "$(backend)"}),)

GRAPHS = {
    "babble": Graph("babble", BABBLE_GRAPH, BABBLE_LAUNCH_ARGS, source="babbler"),
    "mimic": Graph("mimic", MIMIC_GRAPH, MIMIC_LAUNCH_ARGS, source="camera"),
    "servo_bridge": Graph("servo_bridge", SERVO_GRAPH, SERVO_LAUNCH_ARGS),
}

# name -> default, for callers that fill in arguments (eva demo, eva bench, tests)
BABBLE_ARGS = GRAPHS["babble"].defaults()
MIMIC_ARGS = GRAPHS["mimic"].defaults()
SERVO_ARGS = GRAPHS["servo_bridge"].defaults()


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
    return all(_clause(c.strip(), args, node) for c in condition.split("&"))


def _clause(condition: str, args: dict, node: str) -> bool:
    if condition.startswith("!"):
        return not _clause(condition[1:], args, node)
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
