"""The launch files build the shared graph descriptions: described arguments, nodes, and how a graph ends.

launch/launch_ros are not installable in the pip environment, so these tests give
the launch files minimal stand-ins that record what they build; the same files
under the real LaunchService are tested in ``test_colcon.py`` where launch_ros exists.
"""
import runpy
import sys
import types
from pathlib import Path

import pytest

from eva.ros.graphs import GRAPHS, resolve
from eva.ros.launch_support import on_node_exit

ROOT = Path(__file__).resolve().parents[1]


class _Action:
    def __init__(self, *args, **kw):
        self.args, self.kw = args, kw


@pytest.fixture
def fake_launch(monkeypatch):
    """Stand-ins for the launch/launch_ros classes eva uses; each records its arguments."""
    kinds = {name: type(name, (_Action,), {}) for name in (
        "DeclareLaunchArgument", "OpaqueFunction", "EmitEvent", "LogInfo", "TimerAction", "Shutdown", "Node")}

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    mods = {"launch": types.SimpleNamespace(LaunchDescription=list),
            "launch.actions": types.SimpleNamespace(**{k: kinds[k] for k in (
                "DeclareLaunchArgument", "OpaqueFunction", "EmitEvent", "LogInfo", "TimerAction")}),
            "launch.events": types.SimpleNamespace(Shutdown=kinds["Shutdown"]),
            "launch.substitutions": types.SimpleNamespace(LaunchConfiguration=LaunchConfiguration),
            "launch_ros": types.SimpleNamespace(), "launch_ros.actions": types.SimpleNamespace(Node=kinds["Node"])}
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return kinds


def _load(name):
    return runpy.run_path(str(ROOT / "launch" / f"{name}.launch.py"))["generate_launch_description"]()


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_every_launch_argument_is_declared_with_its_description(fake_launch, name):
    declared = [a for a in _load(name) if isinstance(a, fake_launch["DeclareLaunchArgument"])]
    assert [a.args[0] for a in declared] == list(GRAPHS[name].args)
    for action in declared:
        arg = GRAPHS[name].args[action.args[0]]
        assert action.kw["default_value"] == arg.default
        assert action.kw["description"] == arg.description and len(arg.description) > 10, action.args[0]


def test_mimic_launch_file_starts_the_graph_description(fake_launch):
    ld = _load("mimic")
    args = dict(GRAPHS["mimic"].defaults(), camera="clip.mp4", use_sim="false", params_file="/tmp/p.yaml")
    nodes = ld[-1].kw["function"](args)
    expected = resolve(GRAPHS["mimic"].nodes, args)
    assert [n.kw["name"] for n in nodes] == [s.name for s in expected]
    assert "sim_face" not in [n.kw["name"] for n in nodes] and "recorder" not in [n.kw["name"] for n in nodes]
    for node, spec in zip(nodes, expected):
        assert node.kw["executable"] == spec.executable and node.kw["namespace"] == "eva"
        assert node.kw["parameters"] == [spec.parameters, "/tmp/p.yaml"]  # the user's file wins
    assert nodes[0].kw["parameters"][0]["source"] == "clip.mp4"


def _exit(node, returncode, shutting_down=False):
    return node.kw["on_exit"](types.SimpleNamespace(returncode=returncode),
                              types.SimpleNamespace(is_shutdown=shutting_down))


@pytest.mark.parametrize("name,source", [("mimic", "camera"), ("babble", "babbler")])
def test_the_source_node_ending_stops_the_graph_and_any_other_exit_stops_it_naming_the_node(
        fake_launch, name, source):
    ld = _load(name)
    nodes = {n.kw["name"]: n for n in ld[-1].kw["function"](GRAPHS[name].defaults())}
    log, timer = _exit(nodes[source], 0)  # end of the clip / babbling done: a grace period, then shutdown
    assert isinstance(timer, fake_launch["TimerAction"]) and timer.kw["period"] > 0
    (emit,) = timer.kw["actions"]
    assert emit.kw["event"].kw["reason"] == f"{source} finished"
    for node, code in ((source, 2), *((n, 0) for n in nodes if n != source), *((n, -9) for n in nodes)):
        log, emit = _exit(nodes[node], code)  # at once, naming the node and its exit code
        assert isinstance(emit, fake_launch["EmitEvent"]), node
        assert f"node {node} exited with code {code}" in log.kw["msg"] and node in emit.kw["event"].kw["reason"]
    assert all(_exit(n, 1, shutting_down=True) is None for n in nodes.values())  # exits during shutdown


def test_servo_bridge_graph_runs_until_stopped_and_reports_a_dead_bridge(fake_launch):
    (bridge,) = _load("servo_bridge")[-1].kw["function"](GRAPHS["servo_bridge"].defaults())
    log, emit = _exit(bridge, 0)  # no source: even a clean exit is unexpected
    assert isinstance(emit, fake_launch["EmitEvent"]) and "servo_bridge exited with code 0" in log.kw["msg"]


def test_exit_rule_clean_only_for_the_source_and_silent_during_shutdown():
    mimic = GRAPHS["mimic"]
    assert on_node_exit(mimic, "camera", 0, False)[2] is True
    assert on_node_exit(mimic, "camera", 1, False)[2] is False
    assert on_node_exit(mimic, "inverse", 0, False)[2] is False
    assert on_node_exit(mimic, "inverse", 1, True) is None


def test_eva_launch_show_args_lists_the_same_descriptions(capsys):
    from eva.cli.main import main
    assert main(["launch", "mimic", "--show-args"]) == 0
    out = capsys.readouterr().out
    for name, arg in GRAPHS["mimic"].args.items():
        assert f"    '{name}':\n        {arg.description}\n        (default: '{arg.default}')" in out
