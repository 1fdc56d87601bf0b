"""The WiFi trial: servo bridge and command source on two emulated hosts, through a lossy, delayed link.

Host B (netns) runs ``servo_bridge`` (the real node, Adafruit driver on the fake
I2C bus, tracing every tick); host A runs a 30 Hz command source standing in for
the workstation graph. They talk over DDS on UDPv4 only (no shared memory) through
:class:`eva.net.linkemu.EmulatedLink`: ``steady_s`` of delay and loss, a total
outage of ``outage_s``, then ``after_s`` more. :func:`analyze` turns the trace into
the numbers the README quotes: how old the command in force is, how fast the
watchdog reaches neutral in the outage, how fast control resumes after it.

``python -m eva.net.trial [--reliable] [--json OUT]`` (root).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eva.net.linkemu import EmulatedLink


def analyze(trace: np.ndarray, start_ns: int, outage_ns: tuple[int, int], end_ns: int,
            fresh_ms: float = 100.0) -> dict:
    """Numbers from a bridge trace ((N, 4) int64: now_ns, active 0/1, applied stamp ns, at neutral 0/1).

    The steady phase is measured from 1 s after the bridge first followed a command
    (its subscription matched the source's publisher, which can be later than the
    publisher matching the subscription on a lossy link), not from the source's match.

    Args:
        start_ns: when the command source started (its publisher matched the bridge).
        outage_ns: (start, end) of the outage.
        end_ns: when the command source stopped publishing.
    """
    now, active, applied, neutral = (trace[:, k] for k in range(4))
    age_ms = (now - applied) / 1e6

    def fresh(t0, t1):
        sel = (now >= t0) & (now < t1)
        ok = age_ms[sel & (active == 1)] <= fresh_ms
        return {"ticks": int(sel.sum()), "active_share": float(active[sel].mean()) if sel.any() else float("nan"),
                "fresh_share": float(ok.sum() / max(sel.sum(), 1)),
                "age_p50_ms": float(np.percentile(age_ms[sel & (active == 1)], 50)) if (sel & (active == 1)).any()
                else float("nan"),
                "age_p99_ms": float(np.percentile(age_ms[sel & (active == 1)], 99)) if (sel & (active == 1)).any()
                else float("nan")}

    def first(cond, after):
        idx = np.flatnonzero(cond & (now >= after))
        return float((now[idx[0]] - after) / 1e9) if idx.size else float("nan")

    o0, o1 = outage_ns
    followed = np.flatnonzero((active == 1) & (now >= start_ns) & (now < o0))
    bridge_start = int(now[followed[0]]) if followed.size else o0  # never followed: an empty steady phase
    steady, after = fresh(bridge_start + int(1e9), o0), fresh(o1 + int(3e9), end_ns - int(0.3e9))
    ticks = steady["ticks"] + after["ticks"]
    run_fresh = (steady["fresh_share"] * steady["ticks"] + after["fresh_share"] * after["ticks"]) / max(ticks, 1)
    return {"steady": steady, "after": after, "run_fresh_share": float(run_fresh),
            "bridge_followed_after_s": float((bridge_start - start_ns) / 1e9) if followed.size else float("nan"),
            "timeout_after_s": first(active == 0, o0), "neutral_after_s": first((active == 0) & (neutral == 1), o0),
            "neutral_through_outage": bool(neutral[(now >= o0 + int(1.5e9)) & (now < o1)].all()),
            "resumed_after_s": first(active == 1, o1)}


def host_env(work: Path, domain_id: int) -> dict:
    """The environment of a process on an emulated host: DDS over UDPv4 only (shared memory would
    bypass the link), discovery on the subnet, its own domain and ROS log folder."""
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET", FASTDDS_BUILTIN_TRANSPORTS="UDPv4",
               ROS_DOMAIN_ID=str(domain_id), ROS_LOG_DIR=str(Path(work) / "roslog"), PYTHONUNBUFFERED="1",
               GLOG_minloglevel="2")
    for key in ("ROS_STATIC_PEERS", "FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
        env.pop(key, None)  # UDPv4 only, as between two hosts
    return env


def start_bridge(link: EmulatedLink, env: dict, trace: Path, reliable: bool = False) -> subprocess.Popen:
    """The real servo_bridge node on host B (fake I2C bus, neck not following), tracing every tick."""
    return subprocess.Popen(link.command("b", [
        sys.executable, "-m", "eva.ros.runner", "eva.ros.servo_bridge_node:main", "--ros-args",
        "-p", "backend:=fake", "-p", f"trace_file:={trace}", "-p", f"reliable:={str(reliable).lower()}",
        "-p", "follow_head:=false"]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def interrupt(procs_timeouts) -> None:
    """SIGINT to each (process, timeout_s) still running, then waits for each in turn."""
    for proc, _ in procs_timeouts:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, timeout in procs_timeouts:
        proc.wait(timeout=timeout)


def read_trace(path: Path) -> np.ndarray:
    """A bridge trace file -> (N, 4) int64: now_ns, active 0/1, applied stamp ns, at neutral 0/1."""
    rows = [r.split(",") for r in Path(path).read_text().splitlines() if r.count(",") == 3]
    return np.array([[int(a), int(b == "active"), int(c), int(d)] for a, b, c, d in rows], np.int64).reshape(-1, 4)


def run_trial(reliable: bool = False, delay_s: float = 0.02, loss: float = 0.05, steady_s: float = 10.0,
              outage_s: float = 10.0, after_s: float = 6.0, rate_hz: float = 30.0, workdir=None) -> dict:
    """Runs the trial (needs root) and returns :func:`analyze`'s numbers plus the link's frame counts."""
    work = Path(workdir or tempfile.mkdtemp(prefix="eva-wifi-"))
    trace = work / "trace.csv"
    env = host_env(work, 150 + os.getpid() % 80)
    tag = f"w{os.getpid() % 10000}"
    with EmulatedLink(tag, delay_s, loss, subnet=40 + os.getpid() % 200) as link:
        bridge = start_bridge(link, env, trace, reliable)
        source = subprocess.Popen(link.command("a", [
            sys.executable, "-m", "eva.net.command_source", "--rate", str(rate_hz),
            "--duration", str(steady_s + outage_s + after_s)]), env=env, stdout=subprocess.PIPE, text=True)
        try:
            line = source.stdout.readline()
            if not line.startswith("matched"):
                raise RuntimeError(f"the command source never matched the bridge: {line.strip()!r}")
            start_ns = int(line.split()[1])
            time.sleep(steady_s)
            o0 = time.time_ns()
            link.outage(outage_s)
            time.sleep(outage_s)
            o1 = time.time_ns()
            source.wait(timeout=after_s + 30)
        finally:
            interrupt([(bridge, 20), (source, 5)])
        stats = link.stats
    out = analyze(read_trace(trace), start_ns, (o0, o1), start_ns + int((steady_s + outage_s + after_s) * 1e9))
    out.update(qos="reliable" if reliable else "best_effort", delay_ms=delay_s * 1e3, loss=loss,
               outage_s=outage_s, bridge_exit=bridge.returncode,
               frames={"forwarded": stats.forwarded, "lost": stats.lost, "outage": stats.outage})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reliable", action="store_true", help="reliable command QoS at the bridge (default best effort)")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args(argv)
    out = run_trial(reliable=args.reliable)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
