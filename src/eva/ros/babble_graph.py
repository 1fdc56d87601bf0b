"""The babbling graph in one process: babbler, sim_face, landmarks, recorder.

The four nodes talk over DDS (localhost) exactly as they would as separate
processes, but share one single-threaded executor: no process start-up, no
scheduling races, and one frame in flight at a time (see the README for the
measured comparison). The run stops after ``steps`` captured steps, on SIGINT
or SIGTERM; in every case the bag is closed cleanly.
"""
from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from eva.ros.graphs import BABBLE_ARGS, BABBLE_GRAPH, GRAPHS, resolve


def _node_classes():
    """Executable name -> node class, for every node the babble graph can start."""
    from eva.ros.babbler import Babbler
    from eva.ros.camera_node import CameraNode
    from eva.ros.landmarks_node import LandmarksNode
    from eva.ros.recorder import RecorderNode
    from eva.ros.robot_babbler import RobotBabbler
    from eva.ros.servo_bridge_node import ServoBridgeNode
    from eva.ros.sim_face_node import SimFaceNode
    return {"babbler": Babbler, "camera": CameraNode, "landmarks": LandmarksNode, "recorder": RecorderNode,
            "robot_babbler": RobotBabbler, "servo_bridge": ServoBridgeNode, "sim_face": SimFaceNode}


@dataclass
class BabbleSummary:
    """What a babbling run did."""

    steps: int            # steps captured in this run
    first_step: int       # index of the first (> 0 when resumed)
    faces_found: int      # steps whose robot image MediaPipe found a face in
    retries: int          # commands re-sent after a capture timeout
    seconds: float
    interrupted: bool
    latency_ms: dict      # robot frame stamp -> its landmarks published: p50, p99

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    @property
    def detection_rate(self) -> float:
        return self.faces_found / self.steps if self.steps else 0.0


def _params(**values) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in values.items()]


def wait_for_matches(executor, checks, timeout_s: float = 20.0) -> None:
    """Spins until every (description, callable -> bool) holds; raises TimeoutError naming the missing ones."""
    deadline = time.monotonic() + timeout_s
    while True:
        missing = [name for name, ok in checks if not ok()]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"DDS discovery did not match within {timeout_s:.0f} s: {', '.join(missing)}")
        executor.spin_once(timeout_sec=0.02)


def _spin_until_done(executor, babbler, stop: dict, progress) -> None:
    """Spins until the babbler is done or a stop was asked for, reporting its captured steps."""
    reported = 0
    while not babbler.done and not stop["flag"]:
        executor.spin_once(timeout_sec=0.05)
        if progress is not None and babbler.captured != reported:
            reported = babbler.captured
            progress(reported)


@contextmanager
def _ros_run():
    """A fresh rclpy context with SIGINT/SIGTERM turned into a stop flag; yields (context, stop)."""
    from eva.ros.env import ensure_local_defaults

    ensure_local_defaults()
    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    stop = {"flag": False}
    old = {s: signal.signal(s, lambda *_: stop.update(flag=True)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield context, stop
    finally:
        rclpy.try_shutdown(context=context)
        for s, h in old.items():
            signal.signal(s, h)


def run_babbling(out: str, steps: int, seed: int = 0, resume: bool = False, noise: bool = True,
                 config_file: str = "", split_seconds: float = 1.0, image_size: tuple[int, int] | None = None,
                 progress=None) -> BabbleSummary:
    """Babbles ``steps`` steps on the simulated face into the bag ``out``.

    Args:
        image_size: (width, height) of the robot camera; None = the sim config's (480x320).
        progress: optional callable(captured_steps) called as steps complete.
    """
    with _ros_run() as (context, stop):
        return _babble_sim(context, stop, out, steps, seed, resume, noise, config_file, split_seconds, image_size,
                           progress)


def _babble_sim(context, stop, out, steps, seed, resume, noise, config_file, split_seconds, image_size,
                progress) -> BabbleSummary:
    nodes = {}
    try:
        width, height = image_size or (0, 0)
        args = dict(BABBLE_ARGS, robot="sim", out=str(out), steps=str(steps), seed=str(seed),
                    resume=str(resume).lower(), noise=str(noise).lower(), width=str(width), height=str(height))
        classes = _node_classes()
        for spec in resolve(BABBLE_GRAPH, args):
            params = dict(spec.parameters)
            if spec.executable == "recorder":
                params["split_seconds"] = split_seconds
            if spec.executable == "sim_face":
                params["config_file"] = config_file
            if spec.executable == "babbler":
                params["autostart"] = False
                params["motor_names"] = list(nodes["sim_face"].face.motor_names)
            nodes[spec.executable] = classes[spec.executable](spec.name, context=context,
                                                              parameter_overrides=_params(**params))
        recorder, face, lms, babbler = (nodes[k] for k in ("recorder", "sim_face", "landmarks", "babbler"))
        executor = SingleThreadedExecutor(context=context)
        for n in nodes.values():
            executor.add_node(n)
        wait_for_matches(executor, [
            ("sim_face <- motor_commands", lambda: babbler.pub.get_subscription_count() >= 2),
            ("landmarks <- robot/image_raw", lambda: face.pub.get_subscription_count() >= 2),
            ("babbler <- robot/landmarks", lambda: lms.pub.get_subscription_count() >= 2),
            ("babbler <- recorder/written", lambda: recorder.written_pub.get_subscription_count() >= 1),
        ])
        t0 = time.monotonic()
        babbler.start()
        first = babbler.first_step
        _spin_until_done(executor, babbler, stop, progress)
        seconds = time.monotonic() - t0
        # Let the recorder take the last step's messages off the wire before closing.
        lm_topic = "/eva/robot/landmarks"
        deadline = time.monotonic() + 2.0
        while recorder.counts[lm_topic] < babbler.captured and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
        return BabbleSummary(babbler.captured, first, babbler.faces_found, babbler.retries, seconds, stop["flag"],
                             lms.latency.percentiles())
    finally:
        for n in reversed(list(nodes.values())):
            n.destroy_node()


@dataclass
class RobotBabbleSummary:
    """What a robot babbling run did."""

    steps: int            # steps recorded in this run
    first_step: int
    given_up: int         # step attempts without a face in max_faceless frames (tried again)
    departures: int       # times the face left its command before a frame was taken
    rests: int            # rest pauses taken (rest_every)
    seconds: float
    interrupted: bool
    error: str | None     # why the babbler stopped early (missing bridge, camera, face)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def run_robot_babbling(out: str, steps: int, robot: str = "real", progress=None, overrides: dict | None = None,
                       **launch_args) -> RobotBabbleSummary:
    """Babbles ``steps`` steps on a robot (``robot="real"``) or the simulated robot as deployed
    (``"sim_realtime"``), in real time, into the bag ``out``: the babble graph's nodes in one process.

    Args:
        launch_args: the babble graph's launch arguments (``seed``, ``resume``, ``camera``, ``crop``,
            ``settle_s``, ``rest_every``, ``rest_s``, ``servo_bridge``, ``servo_backend``, ``width``, ...).
        overrides: node name -> extra parameters (tests: e.g. the babbler's ``startup_timeout_s``).
        progress: optional callable(recorded_steps).
    """
    if robot == "sim":
        raise ValueError("robot='sim' babbles in simulated time: use run_babbling")
    args = dict(BABBLE_ARGS, robot=robot, out=str(out), steps=str(steps),
                **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in launch_args.items()})
    unknown = sorted(set(args) - set(BABBLE_ARGS))
    if unknown:
        raise ValueError(f"unknown babble graph arguments {unknown}; it takes {sorted(BABBLE_ARGS)}")
    GRAPHS["babble"].check(args)
    with _ros_run() as (context, stop):
        return _babble_robot(context, stop, args, overrides, progress)


def _babble_robot(context, stop, args, overrides, progress) -> RobotBabbleSummary:
    nodes = {}
    executor = None
    try:
        classes = _node_classes()
        for spec in resolve(BABBLE_GRAPH, args):
            params = dict(spec.parameters, **(overrides or {}).get(spec.name, {}))
            nodes[spec.name] = classes[spec.executable](spec.name, context=context,
                                                         parameter_overrides=_params(**params))
        babbler = nodes["babbler"]
        executor = SingleThreadedExecutor(context=context)
        for n in nodes.values():
            executor.add_node(n)
        t0 = time.monotonic()
        _spin_until_done(executor, babbler, stop, progress)
        return RobotBabbleSummary(babbler.captured, babbler.first_step, babbler.given_up, babbler.departures,
                                  babbler.rests, time.monotonic() - t0, stop["flag"], babbler.error)
    finally:
        for n in nodes.values():  # a local servo bridge slews to neutral and releases the PWM outputs
            if hasattr(n, "trigger_shutdown") and context.ok():
                try:
                    n.trigger_shutdown()
                except RuntimeError:  # stopped mid-transition: nothing was active yet
                    pass
        if executor is not None:
            executor.shutdown(timeout_sec=1.0)
        for n in reversed(list(nodes.values())):
            n.destroy_node()
