"""Runs a node graph as one process per node: the pip environment's stand-in for ``ros2 launch``.

Each :class:`~eva.ros.graphs.NodeSpec` (already resolved) becomes
``python -m eva.ros.runner eva.ros.<module>:main --ros-args -r __node:=NAME
-r __ns:=/eva --params-file FILE``, with the parameters in a temporary ROS
params file (types survive: a string ``"1"`` stays a string). Every child's
output lines are prefixed with its node name.

Stopping: Ctrl-C or SIGTERM to the runner sends one SIGINT to each child,
waits ``stop_timeout_s``, then SIGTERM, then SIGKILL. Children run in their
own process group, so a terminal's Ctrl-C reaches them only once, through the
runner, and they get SIGTERM if the runner dies. A node that exits on its own
stops the graph: cleanly when it is the ``until`` node and exits 0 (the
babbler after its steps), as a failure naming it otherwise.

Why the ``eva.ros.runner`` bootstrap instead of ``python -m eva.ros.<module>``:
once a node is up, :func:`eva.ros.session.ros_session` turns SIGINT/SIGTERM
into a stop request, but a SIGINT that arrives while the node is still
importing (before its session exists) raises ``KeyboardInterrupt``; the
bootstrap maps that to exit 0 (a stop request, not a crash), and a context shut
down from elsewhere (``ExternalShutdownException``) likewise, so exit codes mean
what they say.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eva.ros.graphs import NodeSpec

NAMESPACE = "/eva"
_PARENT_ENV = "EVA_RUNNER_PID"  # the runner's pid, so a child can tell its parent died


def entry_point(executable: str) -> str:
    """``module:function`` of the ``eva`` console script ``executable`` (from the installed package).

    Raises:
        ValueError: no such console script of this package is installed.
    """
    from importlib import metadata

    for ep in metadata.entry_points(group="console_scripts"):
        if ep.name == executable and ep.value.startswith("eva."):
            return ep.value
    raise ValueError(f"no eva console script {executable!r} is installed (pip install -e . in the repository)")


def _check_param(node: str, key: str, value) -> None:
    scalars = (bool, int, float, str)
    ok = isinstance(value, scalars) or (
        isinstance(value, (list, tuple)) and value and all(type(v) is type(value[0]) for v in value)
        and isinstance(value[0], scalars))
    if not ok:
        raise ValueError(f"node {node}: parameter {key}={value!r} is not a ROS parameter value "
                         "(bool, int, float, str or a non-empty list of one of them)")


def write_params_file(spec: NodeSpec, directory) -> Path:
    """Writes ``spec.parameters`` as a ROS params file (``/**: ros__parameters: ...``) in ``directory``."""
    import yaml

    params = {}
    for key, value in spec.parameters.items():
        _check_param(spec.name, key, value)
        params[key] = list(value) if isinstance(value, tuple) else value
    path = Path(directory) / f"{spec.name}.params.yaml"
    # safe_dump quotes strings that would read as another type ("true", "1"), so they stay strings.
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}, sort_keys=False))
    return path


def node_command(spec: NodeSpec, params_file, namespace: str = NAMESPACE) -> list[str]:
    """The command line that runs ``spec`` as its own process."""
    return [sys.executable, "-m", "eva.ros.runner", entry_point(spec.executable),
            "--ros-args", "-r", f"__node:={spec.name}", "-r", f"__ns:={namespace}",
            "--params-file", str(params_file)] + [a for f in spec.params_files for a in ("--params-file", f)]


@dataclass
class GraphResult:
    """How a graph run ended."""

    returncodes: dict[str, int]   # node name -> exit status (negative: killed by that signal)
    reason: str                   # "until": the until node finished; "interrupted"; "failed"
    failed: list[str] = field(default_factory=list)  # nodes that died early, failed or would not stop
    seconds: float = 0.0

    @property
    def exit_status(self) -> int:
        """0 when finished with every node exiting 0; 130 when interrupted cleanly; 1 otherwise."""
        if self.failed or any(self.returncodes.values()):
            return 1
        return 130 if self.reason == "interrupted" else 0


class _Child:
    def __init__(self, spec: NodeSpec, proc: subprocess.Popen):
        self.spec, self.proc = spec, proc
        self.partial = b""
        self.signals: list[str] = []  # what the runner sent, in order

    @property
    def name(self) -> str:
        return self.spec.name


class _StopRequests:
    """Counts SIGINT/SIGTERM to the runner while installed (main thread only)."""

    def __init__(self):
        self.count = 0
        self._old: dict = {}

    def __enter__(self):
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: the caller stops us some other way
            pass
        return self

    def _handle(self, *_):
        self.count += 1

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class GraphRunner:
    """Starts the nodes, relays their output, watches them and stops them.

    Args:
        specs: resolved node specs (see :func:`eva.ros.graphs.resolve`).
        until: name of the node whose exit 0 ends the run cleanly (None: run until stopped).
        stream: where prefixed output lines go (default sys.stdout).
        stop_timeout_s: wait after SIGINT before SIGTERM, and again before SIGKILL.
        until_grace_s: after the until node exits, time for the others to take its last
            messages off the wire before they are stopped.
    """

    def __init__(self, specs, until: str | None = None, namespace: str = NAMESPACE, stream=None,
                 stop_timeout_s: float = 10.0, until_grace_s: float = 0.5, env: dict | None = None):
        self.specs = list(specs)
        names = [s.name for s in self.specs]
        if len(set(names)) != len(names):
            raise ValueError(f"node names must be unique, got {names}")
        if until is not None and until not in names:
            raise ValueError(f"until node {until!r} is not in the graph {names}")
        self.until, self.namespace, self.stream = until, namespace, stream or sys.stdout
        self.stop_timeout_s, self.until_grace_s = stop_timeout_s, until_grace_s
        self.env = dict(os.environ if env is None else env)
        self.children: list[_Child] = []
        self._sel = selectors.DefaultSelector()

    def log(self, text: str) -> None:
        """A line from the runner itself, prefixed ``[launch]``."""
        self._write("launch", text)

    def _write(self, name: str, line: str) -> None:
        self.stream.write(f"[{name}] {line}\n")
        self.stream.flush()

    def start(self, tmpdir) -> None:
        """Starts every node (in graph order)."""
        env = dict(self.env, PYTHONUNBUFFERED="1", **{_PARENT_ENV: str(os.getpid())})
        for spec in self.specs:
            cmd = node_command(spec, write_params_file(spec, tmpdir), self.namespace)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, process_group=0)
            child = _Child(spec, proc)
            self.children.append(child)
            os.set_blocking(proc.stdout.fileno(), False)
            self._sel.register(proc.stdout, selectors.EVENT_READ, child)
            self.log(f"started {spec.name} (pid {proc.pid}): {spec.executable}")

    def pump(self, timeout: float) -> None:
        """Relays whatever output arrives within ``timeout`` seconds, line by line."""
        if not self._sel.get_map():
            time.sleep(timeout)
            return
        for key, _ in self._sel.select(timeout):
            child: _Child = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not data:  # EOF: the child closed its output (exited)
                self._sel.unregister(key.fileobj)
                key.fileobj.close()
                if child.partial:
                    self._write(child.name, child.partial.decode(errors="replace"))
                    child.partial = b""
                continue
            *lines, child.partial = (child.partial + data).split(b"\n")
            for line in lines:
                self._write(child.name, line.decode(errors="replace").rstrip("\r"))

    def running(self) -> list[_Child]:
        """The children that have not exited (reaps those that have)."""
        return [c for c in self.children if c.proc.poll() is None]

    def signal_all(self, sig: signal.Signals) -> None:
        """Sends ``sig`` to every child still running."""
        for c in self.running():
            c.signals.append(sig.name)
            try:
                c.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def stop(self, requests: _StopRequests) -> None:
        """SIGINT to every child, then SIGTERM and SIGKILL to those still running after each timeout.

        A further stop request (second Ctrl-C) skips straight to the next signal.
        """
        seen = requests.count
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if not self.running():
                return
            if sig != signal.SIGINT:
                self.log(f"{', '.join(c.name for c in self.running())} still running: sending {sig.name}")
            self.signal_all(sig)
            deadline = time.monotonic() + self.stop_timeout_s
            while self.running() and time.monotonic() < deadline and requests.count == seen:
                self.pump(0.05)
            seen = requests.count
        while self.running():  # SIGKILL cannot be refused; just reap
            self.pump(0.05)

    def run(self) -> GraphResult:
        """Starts the graph and blocks until it has ended; never leaves a child running."""
        t0 = time.monotonic()
        reason, failed = "interrupted", []
        with tempfile.TemporaryDirectory(prefix="eva-launch-") as tmpdir, _StopRequests() as requests:
            try:
                self.start(tmpdir)
                reason, failed = self._watch(requests)
            finally:
                self.stop(requests)
                while self._sel.get_map():  # the rest of their output
                    self.pump(0.05)
                self._sel.close()
        for c in self.children:
            self.log(f"{c.name} exited with {c.proc.returncode}"
                     + (f" after {', '.join(c.signals)}" if c.signals else ""))
            if c.signals[1:] and c.name not in failed:  # needed more than SIGINT to stop
                failed.append(c.name)
        codes = {c.name: c.proc.returncode for c in self.children}
        return GraphResult(codes, reason, failed, time.monotonic() - t0)

    def _watch(self, requests: _StopRequests) -> tuple[str, list[str]]:
        while True:
            self.pump(0.1)
            if requests.count:
                self.log("stop requested: stopping every node")
                return "interrupted", []
            for c in self.children:
                code = c.proc.poll()
                if code is None:
                    continue
                if c.name == self.until and code == 0:
                    self.log(f"{c.name} finished: stopping the others")
                    deadline = time.monotonic() + self.until_grace_s
                    while time.monotonic() < deadline and not requests.count:
                        self.pump(0.05)
                    return "until", []
                self.log(f"{c.name} exited early with {code}: stopping the others")
                return "failed", [c.name]


def run_graph(specs, until: str | None = None, **kwargs) -> GraphResult:
    """Runs ``specs`` as one process per node until ``until`` exits 0, a node dies, or Ctrl-C/SIGTERM.

    Keyword arguments go to :class:`GraphRunner`.
    """
    from eva.ros.env import ensure_local_defaults

    ensure_local_defaults()  # before copying the environment for the children
    return GraphRunner(specs, until=until, **kwargs).run()


def _watch_parent() -> None:
    """Asks Linux for SIGTERM when the runner dies, and exits now if it already has."""
    parent = os.environ.get(_PARENT_ENV)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent and os.getppid() != int(parent):
        sys.exit(0)


def _child_main(argv: list[str]) -> int:
    """``python -m eva.ros.runner MODULE:FUNCTION --ros-args ...``: runs one node's main."""
    import importlib

    target, ros_args = argv[0], argv[1:]
    module, _, function = target.partition(":")
    _watch_parent()
    sys.argv = [module, *ros_args]
    try:
        from rclpy.executors import ExternalShutdownException
        main = getattr(importlib.import_module(module), function or "main")
        try:
            return int(main() or 0)  # a main may return its exit status (camera: 2 = no such source)
        except ExternalShutdownException:  # SIGINT/SIGTERM via rclpy's handler; main's finally cleaned up
            pass
    except KeyboardInterrupt:  # SIGINT before rclpy.init installed its handler: still starting
        print(f"stopped while starting ({module})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
