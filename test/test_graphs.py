"""The shared graph description that launch files and runners read."""
import pytest

from eva.ros.graphs import BABBLE_ARGS, BABBLE_GRAPH, resolve


def test_babble_graph_resolves_typed_arguments():
    nodes = {n.name: n for n in resolve(BABBLE_GRAPH, dict(BABBLE_ARGS, steps="25", noise="false", out="x"))}
    assert nodes["babbler"].parameters["steps"] == 25
    assert nodes["sim_face"].parameters["noise"] is False
    assert nodes["recorder"].parameters["out"] == "x"
    assert nodes["robot_landmarks"].parameters["landmarks_topic"] == "robot/landmarks"


def test_missing_argument_is_named():
    with pytest.raises(KeyError, match="out"):
        resolve(BABBLE_GRAPH, {"steps": "1"})


def test_every_executable_is_an_entry_point():
    import re
    from pathlib import Path
    setup = (Path(__file__).parents[1] / "setup.py").read_text()
    scripts = set(re.findall(r'"(\w+) = eva\.', setup))
    assert {n.executable for n in BABBLE_GRAPH} <= scripts


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
