"""Robot babbling across an emulated WiFi link: the servo bridge on one host, the babbling graph on another.

Host B (netns) runs ``servo_bridge`` (the real node, Adafruit driver on the fake
I2C bus, tracing every tick), as the robot's Pi would. Host A runs
``eva babble --robot sim --servo-bridge pi``: the babbler, the simulated face as
the robot camera (it renders the joint states the bridge reports), MediaPipe and
the recorder. Commands and joint states cross :class:`eva.net.linkemu.EmulatedLink`
(delay, loss), DDS over UDPv4 only as between two hosts; once the bag holds
``outage_at`` of the steps the link goes down for ``outage_s``.

``python -m eva.net.babble_trial --out DIR [--steps 200]`` (root).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from eva.net.linkemu import EmulatedLink
from eva.net.trial import host_env, interrupt, read_trace, start_bridge


def run_babble_trial(out: str, steps: int = 200, seed: int = 0, delay_s: float = 0.02, loss: float = 0.05,
                     outage_s: float = 3.0, outage_at: float = 0.4, settle_s: float = 0.2,
                     image_size: str = "240x160", timeout_s: float = 600.0, workdir=None) -> dict:
    """Runs the trial (needs root) into the bag ``out``; returns what happened.

    Returns:
        dict with ``steps`` (in the bag), ``babble_exit``, ``bridge_exit``, ``babble_output`` (its
        last lines), ``outage_ns`` (start, end), ``bridge_inactive_in_outage`` (the bridge's
        watchdog fired: the robot really lost its commands) and the link's frame counts.
    """
    from eva.data import count_steps

    work = Path(workdir or tempfile.mkdtemp(prefix="eva-babble-wifi-"))
    trace = work / "bridge_trace.csv"
    env = host_env(work, 190 + os.getpid() % 40)
    tag = f"b{os.getpid() % 10000}"
    o0 = o1 = None
    with EmulatedLink(tag, delay_s, loss, subnet=40 + (os.getpid() + 7) % 200) as link:
        bridge = start_bridge(link, env, trace)
        log = open(work / "babble.log", "w+")
        babble = subprocess.Popen(link.command("a", [
            sys.executable, "-m", "eva.cli.main", "babble", "--robot", "sim", "--servo-bridge", "pi",
            "--steps", str(steps), "--out", str(out), "--seed", str(seed), "--settle-s", str(settle_s),
            "--no-noise", "--image-size", image_size]), env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while babble.poll() is None and time.monotonic() < deadline:
                if o0 is None and (Path(out) / "metadata.yaml").exists() and count_steps(out) >= outage_at * steps:
                    o0 = time.time_ns()
                    link.outage(outage_s)
                if o0 is not None and o1 is None and not link.down:
                    o1 = time.time_ns()
                time.sleep(0.1)  # polling the bag on disk and the link, not DDS
        finally:
            interrupt([(babble, 30), (bridge, 20)])
        stats = link.stats
    log.seek(0)
    lines = log.read().splitlines()
    log.close()
    inactive = None
    if o0 is not None and o1 is not None and trace.exists():
        now, active = read_trace(trace)[:, :2].T
        inactive = bool((active[(now >= o0) & (now < o1)] == 0).any())
    return {"steps": count_steps(out) if (Path(out) / "metadata.yaml").exists() else 0,
            "babble_exit": babble.returncode, "bridge_exit": bridge.returncode,
            "babble_output": [ln for ln in lines if not ln.startswith(("W0000", "I0000", "INFO:"))][-12:],
            "outage_ns": (o0, o1), "bridge_inactive_in_outage": inactive,
            "frames": {"forwarded": stats.forwarded, "lost": stats.lost, "outage": stats.outage}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="bag directory")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args(argv)
    result = run_babble_trial(args.out, steps=args.steps)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0 if result["babble_exit"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
