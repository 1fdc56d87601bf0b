"""Tier 3: babbling a robot in real time through the servo bridge (eva babble --robot), on the simulated robot.

The simulated robot as deployed: a local servo bridge (the Adafruit driver on an
emulated I2C bus) executes the commands, and the simulated face, filmed at 30 fps,
moves only to what the bridge reports having sent.
"""
import cv2
import numpy as np
import pytest

from eva.cli.main import main
from eva.data import count_steps, export_babbling, iter_messages, read_babbling
from eva.data.cdr import header_stamp_ns
from eva.ros.babble_graph import run_robot_babbling
from eva.ros.babbler import babble_command
from eva.sim.face import SimFace

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_every_recorded_step_shows_its_command_and_holds_the_applied_joint_state(tmp_path):
    bag = tmp_path / "bag"
    summary = run_robot_babbling(str(bag), steps=6, robot="sim_realtime", seed=4, noise=False)
    assert summary.error is None and summary.steps == 6 and not summary.interrupted
    steps = list(read_babbling(bag))
    assert len(steps) == 6
    joints = [(header_stamp_ns(raw), raw) for _, _, raw in iter_messages(bag, ["/eva/joint_states"])]
    assert len(joints) == 6  # one applied joint state per step, nothing of the 30 fps stream
    face = SimFace(noise=False)
    face.connect()
    try:
        for k, step in enumerate(steps):
            np.testing.assert_array_equal(step.command, babble_command(4, k, 10))
            assert step.landmarks is not None and step.image_stamp_ns > step.command_stamp_ns
            face.send_action(step.command)
            face.settle()
            shown = np.abs(face.render().astype(int) - step.image).mean()
            face.send_action(babble_command(4, k + 1, 10))
            face.settle()
            other = np.abs(face.render().astype(int) - step.image).mean()
            # the image is the settled commanded face (re-rendered), not the next or a half-way one
            assert shown < 0.5 < 3 < other, (k, shown, other)
    finally:
        face.disconnect()
    out = export_babbling(bag, tmp_path / "export", image_size=(120, 80))
    assert out["num_steps"] == 6

    resumed = run_robot_babbling(str(bag), steps=2, robot="sim_realtime", seed=4, noise=False, resume=True)
    assert resumed.first_step == 6 and resumed.steps == 2 and count_steps(bag) == 8
    np.testing.assert_array_equal(list(read_babbling(bag))[7].command, babble_command(4, 7, 10))


def test_rest_pauses_take_the_face_to_neutral_between_steps(tmp_path, monkeypatch):
    from eva.ros.robot_babbler import RobotBabbler
    from eva.sim.config import load_sim_config

    seen = []
    orig = RobotBabbler._on_joint_state

    def watch(self, msg):  # what the bridge reports while the babbler rests
        if self.resting_until_ns is not None:
            seen.append(dict(zip(msg.name, msg.position)))
        orig(self, msg)

    monkeypatch.setattr(RobotBabbler, "_on_joint_state", watch)
    from eva.ros.servo_bridge_node import ServoBridgeNode
    released = []
    release = ServoBridgeNode._go_neutral_and_release
    monkeypatch.setattr(ServoBridgeNode, "_go_neutral_and_release",
                        lambda self, *a, **k: (released.append(self.get_name()), release(self, *a, **k)))
    summary = run_robot_babbling(str(tmp_path / "bag"), steps=4, robot="sim_realtime", seed=2, noise=False,
                                 rest_every=2, rest_s=1.5)
    assert released == ["servo_bridge"]  # the local bridge went neutral and released its outputs at the end
    assert summary.steps == 4 and summary.rests == 1 and summary.seconds > 1.5  # after step 2, not at the end
    assert count_steps(tmp_path / "bag") == 4
    # the babbler stopped commanding: the bridge's watchdog took every face servo back to neutral (0)
    assert seen and all(abs(seen[-1][n]) < 0.01 for n in load_sim_config().motor_names), seen[-1]  # 1 PWM tick


def test_a_missing_servo_bridge_is_a_clear_error_and_records_nothing(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    face = SimFace(noise=False)
    face.connect()
    cv2.imwrite(str(frames / "robot.png"), face.render()[:, :, ::-1])
    face.disconnect()
    summary = run_robot_babbling(str(tmp_path / "bag"), steps=3, robot="real", camera=str(frames),
                                 servo_bridge="pi", overrides={"babbler": {"startup_timeout_s": 3.0}})
    assert summary.steps == 0
    assert "a servo bridge subscribed to motor_commands" in summary.error and "joint_states" in summary.error
    assert count_steps(tmp_path / "bag") == 0


def test_a_camera_that_stops_is_a_clear_error(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    face = SimFace(noise=False)
    face.connect()
    cv2.imwrite(str(frames / "robot.png"), face.render()[:, :, ::-1])  # one frame, then the camera ends
    face.disconnect()
    summary = run_robot_babbling(str(tmp_path / "bag"), steps=3, robot="real", camera=str(frames),
                                 servo_bridge="local", servo_backend="fake",
                                 overrides={"babbler": {"frame_timeout_s": 2.0}})
    assert summary.steps == 0 and "no robot landmarks for 2 s: is the robot camera running" in summary.error


def test_cli_robot_refuses_bad_input_before_starting(tmp_path, capsys):
    assert main(["babble", "--robot", "--steps", "5", "--out", str(tmp_path / "b"), "--crop", "1,2,3"]) == 1
    assert "crop must be X,Y,W,H" in capsys.readouterr().err
    assert main(["babble", "--robot", "--steps", "5", "--out", str(tmp_path / "b"), "--camera", "/dev/video77"]) == 1
    assert "video77" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["babble", "--sim", "--robot", "--steps", "5", "--out", str(tmp_path / "b")])
    with pytest.raises(ValueError, match="robot:=moon must be one of sim, real, sim_realtime"):
        run_robot_babbling(str(tmp_path / "b"), steps=1, robot="moon")


def test_ctrl_c_stops_robot_babbling_with_a_readable_bag(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    bag = tmp_path / "bag"
    proc = subprocess.Popen([sys.executable, "-m", "eva.cli.main", "babble", "--robot", "sim", "--steps", "1000",
                             "--out", str(bag), "--no-noise", "--image-size", "240x160"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not ((bag / "metadata.yaml").exists() and count_steps(bag) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else "slow"
        time.sleep(0.2)  # polling the bag on disk
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "interrupted after" in out
    n = count_steps(bag)
    assert n >= 3 and f"bag {bag}: {n} steps in all" in out
