"""`eva launch`: the babbling graph as one process per node (over DDS on localhost)."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from eva.cli.launch import parse_launch_args
from eva.cli.main import main
from eva.data import bag_summary, count_steps
from eva.ros.graphs import NodeSpec
from eva.ros.runner import write_params_file


def _launch(*launch_args, mark):
    """`eva launch babble ...` as a child process whose whole tree carries the env var ``mark``."""
    env = dict(os.environ, EVA_TEST_MARK=mark, GLOG_minloglevel="2")
    return subprocess.Popen([sys.executable, "-m", "eva.cli.main", "launch", "babble", *launch_args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _marked_processes(mark: str) -> list[int]:
    """Pids of live processes (not zombies) whose environment holds EVA_TEST_MARK=mark."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"EVA_TEST_MARK={mark}".encode() in (proc / "environ").read_bytes().split(b"\0") \
                    and ") Z " not in (proc / "stat").read_text():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


@pytest.mark.ros
def test_params_file_keeps_types_through_rcl(tmp_path):
    import rclpy
    from rclpy.node import Node
    spec = NodeSpec("x", "n", {"s": "1", "t": "true", "e": "", "b": False, "i": 3, "f": 1.0, "l": ["a", "b"]})
    path = write_params_file(spec, tmp_path)
    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "-r", "__node:=n", "--params-file", str(path)],
               signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    try:
        node = Node("other", context=context, automatically_declare_parameters_from_overrides=True)
        got = {k: node.get_parameter(k).value for k in spec.parameters}
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    assert got == spec.parameters
    assert [type(v) for v in got.values()] == [type(v) for v in spec.parameters.values()]
    with pytest.raises(ValueError, match="n: parameter bad"):
        write_params_file(NodeSpec("x", "n", {"bad": []}), tmp_path)


def test_unknown_argument_is_refused_with_the_valid_ones(capsys):
    assert main(["launch", "babble", "stepz:=5"]) == 1
    err = capsys.readouterr().err
    assert "unknown launch argument 'stepz'" in err and "steps (default 16000)" in err and "out" in err
    with pytest.raises(ValueError, match="not NAME:=VALUE"):
        parse_launch_args(["steps=5"], {"steps": "1"})


@pytest.mark.ros
@pytest.mark.slow
def test_launch_babble_records_exactly_the_steps_and_leaves_nothing(tmp_path):
    bag, mark = tmp_path / "bag", uuid.uuid4().hex
    proc = _launch(f"out:={bag}", "steps:=15", mark=mark)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert count_steps(bag) == 15
    for node in ("recorder", "sim_face", "robot_landmarks", "babbler"):
        assert f"[launch] {node} exited with 0" in out
    assert _marked_processes(mark) == []


@pytest.mark.ros
def test_a_node_that_dies_stops_the_rest_and_is_named(tmp_path):
    bag, mark = tmp_path / "bag", uuid.uuid4().hex
    bag.mkdir()
    (bag / "metadata.yaml").write_text("not a bag")  # the recorder refuses to overwrite it
    proc = _launch(f"out:={bag}", "steps:=15", mark=mark)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "failed: recorder" in out
    assert _marked_processes(mark) == []


@pytest.mark.ros
@pytest.mark.slow
def test_ctrl_c_stops_every_node_and_leaves_a_readable_bag(tmp_path):
    bag, mark = tmp_path / "bag", uuid.uuid4().hex
    proc = _launch(f"out:={bag}", "steps:=100000", mark=mark)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and proc.poll() is None:  # until a step is on disk
        try:
            if count_steps(bag) > 0:
                break
        except (OSError, ValueError):
            pass  # bag not created yet
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "every node exited cleanly" in out
    assert _marked_processes(mark) == []
    info = bag_summary(bag)
    assert info["steps"] > 0 and not info["incomplete_files"]


@pytest.mark.ros
@pytest.mark.slow
def test_launch_resume_continues_the_command_sequence(tmp_path):
    import numpy as np

    from eva.data import read_babbling
    from eva.ros.babbler import babble_command
    bag = tmp_path / "bag"
    for steps, resume in ((6, "false"), (5, "true")):
        proc = _launch(f"out:={bag}", f"steps:={steps}", "seed:=4", f"resume:={resume}", mark=uuid.uuid4().hex)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
    commands = [s.command for s in read_babbling(bag)]
    assert len(commands) == 11
    for k, command in enumerate(commands):
        np.testing.assert_array_equal(command, babble_command(4, k, 10))
