"""The package as a ROS 2 user builds it: catkin_pkg reads package.xml, colcon builds and installs it.

The README's "On a real ROS 2 install" block is the script: from its ``cd ~/eva_ws``
line on, every line runs here in a fresh workspace (a copy of the tree), with
colcon-common-extensions from the package index in a throwaway virtual environment
that sees the project's .venv (for rclpy). ``ros2 launch`` lines run under the real
LaunchService where launch_ros can be imported (a ROS 2 install, or
``EVA_TEST_LAUNCH_PATH`` naming source folders of launch and launch_ros); in this pip
environment, which has no launch_ros, they are checked against the installed
launch files and their declared arguments instead.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import pytest

from eva.ros.graphs import GRAPHS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# What `ros2 launch PACKAGE FILE ARGS` does, minus ros2cli (not in the pip environment):
# find the file in the package's share folder through the ament index, then run it.
LAUNCH_DRIVER = '''
import sys
from ament_index_python.packages import get_package_share_directory
import launch
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import AnyLaunchDescriptionSource
package, name, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
path = get_package_share_directory(package) + "/launch/" + name
if rest == ["--show-args"]:
    from launch.launch_description_sources import get_launch_description_from_any_launch_file
    for a in get_launch_description_from_any_launch_file(path).get_launch_arguments():
        print(f"{a.name!r}: {a.description}")
    sys.exit(0)
service = launch.LaunchService(argv=rest)
service.include_launch_description(launch.LaunchDescription([IncludeLaunchDescription(
    AnyLaunchDescriptionSource(path), launch_arguments=[tuple(a.split(":=", 1)) for a in rest])]))
sys.exit(service.run())
'''


def readme_install_lines() -> list[str]:
    """The README's ROS 2 install commands from ``cd ~/eva_ws`` on (continuation lines joined)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- ros2-install:[^\n]*-->\n```bash\n(.*?)```", text, re.S)
    assert block, "README.md lost its <!-- ros2-install --> command block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    start = lines.index("cd ~/eva_ws")
    return lines[start + 1:]


def test_package_xml_is_valid_for_catkin_pkg():
    from catkin_pkg.package import parse_package

    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        package = parse_package(str(ROOT / "package.xml"), warnings=found)
    assert found == []
    package.validate(warnings=found)
    assert found == []
    assert package.name == "eva" and package.get_build_type() == "ament_python"
    assert all(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", m.email) for m in package.maintainers)


def _tree_files() -> list[str]:
    """The tree as a clean clone has it: tracked files plus untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def _run(cmd, what: str, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode:
        pytest.fail(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A colcon workspace with a copy of the tree in ``src/eva``, and a throwaway venv with colcon."""
    base = tmp_path_factory.mktemp("colcon")
    src = base / "eva_ws" / "src" / "eva"
    for rel in _tree_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    venv = base / "colcon-venv"
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    _run([str(python), "-m", "venv", str(venv)], "creating the throwaway virtual environment")
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "colcon-common-extensions"],
                          capture_output=True, text=True)
    if proc.returncode:
        pytest.fail("cannot install colcon-common-extensions from the package index, so the colcon build "
                    f"cannot be checked:\n{proc.stderr[-3000:]}")
    # The project's .venv, seen from the colcon venv: its rclpy wheels find their shared
    # libraries through LD_LIBRARY_PATH, which their bootstrap .pth sets only for its own prefix.
    site = sysconfig.get_paths()["purelib"]
    pth = ("import os, glob, site; v = {site!r}; os.environ['LD_LIBRARY_PATH'] = os.pathsep.join("
           "glob.glob(v + '/ros_*.libs') + [{lib!r}] + [p for p in os.environ.get('LD_LIBRARY_PATH', '')"
           ".split(os.pathsep) if p]); site.addsitedir(v)\n").format(site=site, lib=str(Path(sys.prefix) / "lib"))
    venv_site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], "locating the venv").stdout.strip())
    (venv_site / "eva_project_venv.pth").write_text(pth)
    (base / "launch_driver.py").write_text(LAUNCH_DRIVER)
    env = {"HOME": os.environ.get("HOME", str(base)), "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_LOG_DIR": str(base / "roslog"),
           "ROS_DOMAIN_ID": os.environ.get("ROS_DOMAIN_ID", "0"), "EVA_CACHE": os.environ.get("EVA_CACHE", "")}
    env = {k: v for k, v in env.items() if v}
    return {"base": base, "ws": base / "eva_ws", "venv": venv, "env": env}


def _bash(ws, script: str, what: str, timeout=300) -> subprocess.CompletedProcess:
    return _run(["bash", "-c", f"set -e\ncd {shlex.quote(str(ws['ws']))}\n{script}"], what, env=ws["env"],
                timeout=timeout)


def _launch_available(ws) -> str | None:
    """PYTHONPATH addition under which launch_ros imports in the sourced workspace, or None."""
    extra = os.environ.get("EVA_TEST_LAUNCH_PATH", "")
    probe = subprocess.run(["bash", "-c", f"cd {shlex.quote(str(ws['ws']))} && source install/setup.bash && "
                            "PYTHONPATH=$EXTRA:$PYTHONPATH python3 -c 'import launch, launch_ros.actions'"],
                           env=dict(ws["env"], EXTRA=extra), capture_output=True)
    return extra if probe.returncode == 0 else None


@pytest.fixture(scope="module")
def installed(workspace):
    """The README's lines run in the workspace, up to (not including) the first ``ros2 launch``."""
    lines = readme_install_lines()
    setup_lines = [ln for ln in lines if not ln.startswith("ros2 ")]
    assert setup_lines == lines[:len(setup_lines)], "the README's ros2 lines come after the build and setup"
    assert "colcon build --packages-select eva" in setup_lines and "source install/setup.bash" in setup_lines
    script = "\n".join(setup_lines)
    _bash(workspace, script, "the README's install lines:\n" + script)
    return dict(workspace, install=workspace["ws"] / "install" / "eva", lines=lines, setup=script)


def test_colcon_types_the_package_ament_python(workspace):
    out = _bash(workspace, "colcon list", "colcon list").stdout
    assert re.search(r"^eva\s+src/eva\s+\(ros\.ament_python\)$", out, re.M), out


def test_install_holds_what_ros2_launch_and_ros2_run_need(installed):
    inst = installed["install"]
    assert (inst / "share/ament_index/resource_index/packages/eva").is_file()
    assert (inst / "share/eva/package.xml").read_text() == (ROOT / "package.xml").read_text()
    for folder, pattern in (("launch", "*.launch.py"), ("config", "*")):
        shipped = {p.name for p in (ROOT / folder).glob(pattern)}
        assert shipped and shipped <= {p.name for p in (inst / "share/eva" / folder).iterdir()}, folder
    checkpoints = sorted(p.relative_to(ROOT) for p in (ROOT / "checkpoints").rglob("*") if p.is_file())
    assert checkpoints and all((inst / "share/eva" / p).is_file() for p in checkpoints)
    executables = {n.executable for g in GRAPHS.values() for n in g.nodes} | {"eva"}
    for name in sorted(executables):
        exe = inst / "lib/eva" / name
        assert exe.is_file() and os.access(exe, os.X_OK), f"lib/eva/{name} missing: ros2 launch cannot start it"


def test_sourcing_the_install_alone_lets_ament_find_the_package(installed):
    out = _bash(installed, "source install/setup.bash\necho AMENT_PREFIX_PATH=$AMENT_PREFIX_PATH\n"
                "python3 -c 'import eva; from ament_index_python.packages import get_package_share_directory as g; "
                "print(\"share=\" + g(\"eva\")); print(\"module=\" + eva.__file__)'\n"
                "install/eva/lib/eva/eva launch mimic --show-args", "sourcing install/setup.bash").stdout
    inst = installed["install"]
    assert f"AMENT_PREFIX_PATH={inst}\n" in out                         # nothing else was on it before
    assert f"share={inst / 'share' / 'eva'}\n" in out                   # what `ros2 launch eva ...` looks up
    assert f"module={inst}/lib/" in out                                 # the installed package, not the tree
    assert GRAPHS["mimic"].args["max_frames"].description in out


def _ros2_launch_lines(installed):
    lines = [ln for ln in installed["lines"] if ln.startswith("ros2 launch ")]
    assert any(ln.endswith("--show-args") for ln in lines) and any("max_frames:=" in ln for ln in lines)
    return lines


def test_readme_ros2_launch_lines_name_installed_files_and_declared_arguments(installed):
    for line in _ros2_launch_lines(installed):
        _, _, package, name, *args = shlex.split(line)
        assert package == "eva" and (installed["install"] / "share/eva/launch" / name).is_file(), line
        graph = GRAPHS[name.removesuffix(".launch.py")]
        for arg in args:
            assert arg == "--show-args" or arg.split(":=")[0] in graph.args, (line, arg)


def test_readme_ros2_launch_lines_under_the_real_launch_service(installed):
    extra = _launch_available(installed)
    if extra is None:
        pytest.skip("launch/launch_ros are not importable (they are not on the package index; a ROS 2 install "
                    "has them, or set EVA_TEST_LAUNCH_PATH to their source folders)")
    driver = installed["base"] / "launch_driver.py"
    for line in _ros2_launch_lines(installed):
        if "camera:=webcam" in line:
            continue  # no webcam here
        run = line.replace("ros2 launch ", f"python3 {driver} ", 1)
        out = _bash(installed, f"source install/setup.bash\nexport PYTHONPATH={extra}:$PYTHONPATH\n{run}",
                    line, timeout=240).stdout
        if line.endswith("--show-args"):
            for name, arg in GRAPHS["mimic"].args.items():
                assert f"{name!r}: {arg.description}" in out
            continue
        # the camera's end stops the graph: every node started, then stopped cleanly
        assert "[eva] camera finished: stopping the mimic graph" in out, out[-3000:]
        started = re.findall(r"\[INFO\] \[(\w+)-\d+\]: process started", out)
        clean = re.findall(r"\[INFO\] \[(\w+)-\d+\]: process has finished cleanly", out)
        assert started and sorted(started) == sorted(clean), out[-3000:]
    # a node that dies early stops the graph, naming it
    out = _bash(installed, f"source install/setup.bash\nexport PYTHONPATH={extra}:$PYTHONPATH\n"
                f"python3 {driver} eva mimic.launch.py camera:=/no/such/clip.mp4", "a dying camera",
                timeout=240).stdout
    assert "[eva] node camera exited with code 2 while the mimic graph ran: stopping the graph" in out, out[-3000:]
