"""What a colcon/Docker install gets: data files, console scripts, and the Dockerfile's inputs."""
import re
import runpy
from pathlib import Path

import pytest
import setuptools

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup_kwargs():
    captured = {}
    mp = pytest.MonkeyPatch()
    mp.setattr(setuptools, "setup", lambda **kw: captured.update(kw))
    mp.chdir(ROOT)
    try:
        runpy.run_path(str(ROOT / "setup.py"))
    finally:
        mp.undo()
    return captured


def test_install_carries_launch_files_configs_and_shipped_checkpoints(setup_kwargs):
    installed = {str(Path(dest) / Path(f).name) for dest, files in setup_kwargs["data_files"] for f in files}
    for name in ("mimic.launch.py", "babble.launch.py", "servo_bridge.launch.py"):
        assert f"share/eva/launch/{name}" in installed
    for cfg in ("camera.yaml", "mimic.yaml", "sim_face.yaml", "learning.yaml", "servos.yaml", "servo_bridge.yaml"):
        assert f"share/eva/config/{cfg}" in installed
    for role in ("generator", "inverse"):  # what `ros2 launch eva mimic.launch.py` loads by default
        assert f"share/eva/checkpoints/sim/{role}/seed0/best.pt" in installed
    assert "share/eva/checkpoints/sim/expression-prior/expression_prior.npz" in installed  # the normalizer's


def test_every_node_of_the_graphs_is_a_console_script(setup_kwargs):
    from eva.ros.graphs import BABBLE_GRAPH, MIMIC_GRAPH, SERVO_GRAPH
    scripts = {s.split("=")[0].strip() for s in setup_kwargs["entry_points"]["console_scripts"]}
    assert {n.executable for n in BABBLE_GRAPH + MIMIC_GRAPH + SERVO_GRAPH} <= scripts


def test_shipped_checkpoints_are_looked_for_under_install_prefixes(tmp_path, monkeypatch):
    from eva.paths import data_candidates, shipped_checkpoints
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    candidates = data_candidates("checkpoints/sim")
    assert candidates[0] == ROOT / "checkpoints" / "sim"  # a source checkout first
    assert tmp_path / "share" / "eva" / "checkpoints" / "sim" in candidates
    assert shipped_checkpoints() == ROOT / "checkpoints" / "sim"


def test_dockerfile_inputs_exist():
    text = (ROOT / "docker" / "Dockerfile.workstation").read_text()
    assert re.search(r"^FROM ros:kilted$", text, re.M)
    for module in re.findall(r"python3 -m (eva(?:\.\w+)+)", text):
        assert (ROOT / "src" / Path(*module.split("."))).with_suffix(".py").is_file(), module
    assert "colcon build --packages-select eva" in text


@pytest.mark.parametrize("env,expect", [
    ({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}, "fastdds_local.xml"),
    ({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}, "fastdds_workstation.xml"),
    ({"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "FASTDDS_BUILTIN_TRANSPORTS": "UDPv4"}, None),
    ({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}, "/mine.xml"),
])
def test_dds_profile_choice(monkeypatch, env, expect):
    from eva.ros.env import ensure_local_defaults
    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE",
                "FASTDDS_BUILTIN_TRANSPORTS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ensure_local_defaults()
    got = __import__("os").environ.get("FASTDDS_DEFAULT_PROFILES_FILE")
    assert (got is None) if expect is None else got.endswith(expect)


def test_dds_profiles_give_whole_images_shared_memory_and_keep_local_runs_local():
    import xml.etree.ElementTree as ET
    ns = {"f": "http://www.eprosima.com"}
    for name, loopback_only in (("fastdds_local.xml", True), ("fastdds_workstation.xml", False)):
        root = ET.parse(ROOT / "config" / name).getroot()
        shm = [t for t in root.iterfind(".//f:transport_descriptor", ns) if t.findtext("f:type", None, ns) == "SHM"]
        assert int(shm[0].findtext("f:segment_size", None, ns)) >= 4 * 640 * 360 * 3  # several 640x360 frames
        allowed = [a.text for a in root.iterfind(".//f:interfaceWhiteList/f:address", ns)]
        assert allowed == (["127.0.0.1"] if loopback_only else [])
        assert root.findtext(".//f:useBuiltinTransports", None, ns) == "false"
