"""The shared graph description that launch files and runners read."""
import pytest

from eva.ros.graphs import BABBLE_ARGS, BABBLE_GRAPH, MIMIC_ARGS, MIMIC_GRAPH, SERVO_GRAPH, resolve


def test_babble_graph_resolves_typed_arguments():
    nodes = {n.name: n for n in resolve(BABBLE_GRAPH, dict(BABBLE_ARGS, steps="25", noise="false", out="x"))}
    assert nodes["babbler"].parameters["steps"] == 25
    assert nodes["sim_face"].parameters["noise"] is False
    assert nodes["recorder"].parameters["out"] == "x"
    assert nodes["robot_landmarks"].parameters["landmarks_topic"] == "robot/landmarks"


def test_babble_graph_robot_variants():
    def nodes(**kw):
        return {n.name: n for n in resolve(BABBLE_GRAPH, dict(BABBLE_ARGS, **kw))}

    sim = nodes()
    assert sim["babbler"].executable == "babbler" and sim["recorder"].parameters.get("topics", "babbling") == "babbling"
    assert "servo_bridge" not in sim and "robot_camera" not in sim
    real = nodes(robot="real", camera="webcam:1", crop="80,40,480,320", settle_s="0.5", rest_s="30")
    assert set(real) == {"recorder", "robot_camera", "robot_landmarks", "babbler"}  # the bridge is on the Pi
    assert real["babbler"].executable == "robot_babbler" and real["babbler"].parameters["settle_s"] == 0.5
    assert real["robot_camera"].parameters["crop"] == "80,40,480,320"
    assert real["robot_camera"].parameters["image_topic"] == "robot/image_raw"
    assert real["recorder"].parameters["topics"] == "robot_babbling"
    assert real["robot_landmarks"].parameters["reliable"] is False  # live frames: best effort like the camera
    local = nodes(robot="real", servo_bridge="local", servo_backend="fake")
    assert local["servo_bridge"].parameters["backend"] == "fake"
    simrt = nodes(robot="sim_realtime")
    assert set(simrt) == {"recorder", "sim_face", "servo_bridge", "robot_landmarks", "babbler"}
    assert simrt["sim_face"].parameters["command_topic"] == "joint_states"  # moved only by the bridge
    assert simrt["sim_face"].parameters["capture"] == "continuous"
    assert "servo_bridge" not in nodes(robot="sim_realtime", servo_bridge="pi")  # the bridge on another host
    from eva.ros.graphs import GRAPHS
    with pytest.raises(ValueError, match="robot:=moon must be one of sim, real, sim_realtime"):
        GRAPHS["babble"].check(dict(BABBLE_ARGS, robot="moon"))


def test_missing_argument_is_named():
    with pytest.raises(KeyError, match="out"):
        resolve(BABBLE_GRAPH, {"steps": "1", "robot": "sim"})
    with pytest.raises(KeyError, match="condition needs launch argument 'robot'"):
        resolve(BABBLE_GRAPH, {"steps": "1"})


def test_every_executable_is_an_entry_point():
    import re
    from pathlib import Path
    setup = (Path(__file__).parents[1] / "setup.py").read_text()
    scripts = set(re.findall(r'"(\w+) = eva\.', setup))
    assert {n.executable for n in BABBLE_GRAPH + MIMIC_GRAPH + SERVO_GRAPH} <= scripts


def test_mimic_graph_conditions_and_params_file():
    names = lambda args: [n.name for n in resolve(MIMIC_GRAPH, dict(MIMIC_ARGS, **args))]  # noqa: E731
    base = ["camera", "landmarks", "normalizer", "generator", "inverse"]
    assert names({}) == base + ["sim_face", "servo_bridge"]      # no bag unless asked, sim by default
    assert names({"use_sim": "false", "record": "b"}) == base + ["recorder"]
    assert names({"use_sim": "false", "servo_bridge": "local"}) == base + ["servo_bridge"]  # not for "pi"
    # the simulated robot as deployed: the bridge executes, on an emulated bus whatever servo_backend says,
    # and the face follows what the bridge sent
    for extra in ({}, {"servo_bridge": "local", "servo_backend": "pca9685"}):
        by = {n.name: n for n in resolve(MIMIC_GRAPH, dict(MIMIC_ARGS, **extra))}
        assert by["servo_bridge"].parameters["backend"] == "fake"
        assert by["sim_face"].parameters["command_topic"] == "joint_states"
    assert names({"use_sim": "true", "servo_bridge": "local"}).count("servo_bridge") == 1
    nodes = resolve(MIMIC_GRAPH, dict(MIMIC_ARGS, params_file="/p.yaml", seed="2", continuous="false"))
    assert all(n.params_files == ("/p.yaml",) for n in nodes)
    by = {n.name: n for n in nodes}
    assert by["inverse"].parameters["seed"] == 2 and by["inverse"].parameters["continuous"] is False
    # the camera waits until every model stage subscribes to its input
    waits = dict(item.split(":") for item in by["camera"].parameters["wait_for"].split(","))
    assert waits == {"landmarks": "camera/image_raw", "normalizer": "face/landmarks",
                     "generator": "face/landmarks_robot", "inverse": "self_image"}


def test_runner_passes_user_params_files_after_the_graphs(tmp_path):
    from eva.ros.runner import node_command
    spec = resolve(MIMIC_GRAPH, dict(MIMIC_ARGS, params_file="/user.yaml"))[2]
    cmd = node_command(spec, tmp_path / "own.yaml")
    files = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--params-file"]
    assert files == [str(tmp_path / "own.yaml"), "/user.yaml"]  # later files win in ROS 2


def test_config_found_under_an_install_prefix(tmp_path, monkeypatch):
    from eva.paths import find_config
    target = tmp_path / "share" / "eva" / "config" / "only_installed.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("x: 1\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    assert find_config("only_installed.yaml") == target
    monkeypatch.delenv("AMENT_PREFIX_PATH")
    with pytest.raises(FileNotFoundError, match="only_installed.yaml"):
        find_config("only_installed.yaml")
