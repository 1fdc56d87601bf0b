"""The servo bridge across an emulated WiFi link, as deployed: two network namespaces, DDS over UDP only.

Root and ip netns are needed; without them the test skips and says why.
"""
import numpy as np
import pytest

from eva.net.linkemu import available
from eva.net.trial import analyze, run_trial

OK, WHY = available()


@pytest.mark.skipif(not OK, reason=f"network namespaces unavailable: {WHY}")
def test_bridge_keeps_fresh_commands_goes_neutral_in_an_outage_and_resumes(tmp_path):
    out = run_trial(reliable=False, delay_s=0.02, loss=0.05, steady_s=10.0, outage_s=10.0, after_s=6.0,
                    workdir=tmp_path)
    assert out["bridge_exit"] == 0
    assert out["frames"]["lost"]["ab"] > 0  # the link really dropped commands
    # with 20 ms delay and 5 % loss each way, the newest command wins: the bridge applies commands about
    # 40 ms old (delay + its 20 ms tick), and one over 100 ms old only where 4 in a row are lost (~1e-5)
    # or a process stalls. The share is not held to 99 %: a fresh clone run beside two training jobs on
    # this 2-core machine measured 98.98 % with stalls alone (age p50 42 ms). A queue of stale commands
    # would show in the median age.
    assert out["run_fresh_share"] >= 0.95 and out["steady"]["age_p50_ms"] < 60.0, out
    # measured from when the bridge first followed a command (its subscription matched), within seconds
    assert out["bridge_followed_after_s"] < 5.0 and out["steady"]["ticks"] >= 50 * 5
    assert out["steady"]["active_share"] == 1.0
    # outage: the watchdog (0.3 s) parks the face at neutral, smoothly, and holds it there
    assert out["timeout_after_s"] < 0.6 and out["neutral_after_s"] < 2.0 and out["neutral_through_outage"]
    # control resumes without restarts, within 3 s of the link coming back
    assert out["resumed_after_s"] < 3.0


def test_analyze_measures_the_steady_phase_from_when_the_bridge_follows():
    ms = 1_000_000
    # the source matched at 0, but the bridge's subscription matched only at 2.2 s (lossy discovery)
    rows = [(k * 20 * ms, int(k * 20 >= 2200), k * 20 * ms - 30 * ms, 0) for k in range(500)]
    out = analyze(np.array(rows, np.int64), 0, (9000 * ms, 9500 * ms), 10_000 * ms)
    assert out["bridge_followed_after_s"] == pytest.approx(2.2)
    assert out["steady"]["active_share"] == 1.0 and out["steady"]["fresh_share"] == 1.0


def test_analyze_measures_age_outage_and_resume():
    ms = 1_000_000
    rows = []
    for k in range(300):  # 50 Hz ticks over 6 s; outage from 2 s to 4 s
        now = k * 20 * ms
        if 2000 * ms <= now < 4000 * ms:
            rows.append((now, 0, 1980 * ms, int(now >= 2500 * ms)))
        else:
            rows.append((now, 1, now - (150 if k % 50 == 0 else 30) * ms, 0))
    out = analyze(np.array(rows, np.int64), 0, (2000 * ms, 4000 * ms), 6000 * ms)
    assert out["steady"]["fresh_share"] == pytest.approx(1 - 1 / 50, abs=0.01)
    assert out["bridge_followed_after_s"] == 0.0
    assert out["neutral_through_outage"] and out["timeout_after_s"] == 0.0
    assert out["neutral_after_s"] == pytest.approx(0.5) and out["resumed_after_s"] == 0.0


@pytest.mark.slow
@pytest.mark.skipif(not OK, reason=f"network namespaces unavailable: {WHY}")
def test_robot_babbling_across_the_link_records_only_true_steps_through_an_outage_and_trains(tmp_path):
    """200 steps with the bridge on another host: 20 ms delay, 5 % loss and a 3 s outage in the middle."""
    from eva.cli.main import main
    from eva.data import iter_messages, read_babbling
    from eva.net.babble_trial import run_babble_trial
    from eva.ros.babbler import babble_command
    from eva.sim.config import load_sim_config
    from eva.sim.face import SimFace

    bag = tmp_path / "bag"
    out = run_babble_trial(str(bag), steps=200, seed=5, delay_s=0.02, loss=0.05, outage_s=3.0, outage_at=0.4,
                           workdir=tmp_path)
    assert out["babble_exit"] == 0 and out["bridge_exit"] == 0, out["babble_output"]
    assert out["steps"] == 200, out["babble_output"]
    assert out["frames"]["lost"]["ab"] > 0 and out["frames"]["outage"]["ab"] > 0  # the link really failed
    assert out["bridge_inactive_in_outage"]  # the robot lost its commands: its watchdog took over
    face = SimFace(load_sim_config().with_size(240, 160), noise=False)
    face.connect()
    try:
        for k, step in enumerate(read_babbling(bag)):
            np.testing.assert_array_equal(step.command, babble_command(5, k, 10))
            face.send_action(step.command)
            face.settle()
            # every recorded image is the settled commanded face: none from the outage or a half-way pose
            assert np.abs(face.render().astype(int) - step.image).mean() < 0.5, k
    finally:
        face.disconnect()
    assert sum(1 for _ in iter_messages(bag, ["/eva/joint_states"])) == 200
    assert main(["train", "inverse", "--data", str(bag), "--out", str(tmp_path / "inverse"), "--preset", "ci",
                 "--no-progress"]) == 0
    assert (tmp_path / "inverse" / "best.pt").exists()
