"""Tier 1: one robot babbling step (eva.core.babble_steps) and the camera crop, no ROS."""
import numpy as np
import pytest

from eva.core.babble_steps import RobotStep, RobotStepConfig
from eva.core.crop import crop_image, parse_crop

NAMES = ["a", "b"]
MS = 1_000_000


def _step(**kw):
    kw.setdefault("report_gap_s", 10.0)  # these tests send sparse reports; the gap rule has its own test
    return RobotStep(NAMES, [0.5, 1.0], started_ns=0, config=RobotStepConfig(settle_s=0.3, **kw))


def test_a_frame_counts_only_after_arrival_plus_settle_and_a_later_report():
    s = _step()
    s.on_frame(50 * MS, True)                       # before the face arrived
    s.on_joint_state(NAMES, [0.3, 0.9], 100 * MS)   # still slewing
    assert s.state == "moving" and s.ready_ns is None
    s.on_joint_state(NAMES, [0.51, 0.99], 200 * MS)  # within 0.02: arrived
    assert s.state == "settling" and s.ready_ns == 500 * MS
    s.on_frame(450 * MS, True)                      # the skin has not settled yet
    assert s.state == "settling"
    s.on_frame(520 * MS, True)                      # settled, but no report since this frame yet
    assert s.state == "settling"
    s.on_joint_state(NAMES, [0.5, 1.0], 530 * MS)   # the bridge still holds the command after the frame
    assert s.state == "captured" and s.frame_ns == 520 * MS
    np.testing.assert_allclose(s.applied, [0.5, 1.0])


def test_leaving_the_command_before_the_frame_is_confirmed_drops_it_and_waits_for_a_new_arrival():
    s = _step()
    s.on_joint_state(NAMES, [0.5, 1.0], 100 * MS)
    s.on_frame(450 * MS, True)                      # a candidate, not yet confirmed
    s.on_joint_state(NAMES, [0.0, 0.0], 460 * MS)   # the watchdog took the face to rest (link outage)
    assert s.state == "moving" and s.departures == 1 and s.frame_ns is None
    s.on_joint_state(NAMES, [0.5, 1.0], 900 * MS)   # back at the command: settle again from here
    s.on_frame(1000 * MS, True)
    s.on_joint_state(NAMES, [0.5, 1.0], 1010 * MS)
    assert s.state == "settling"                    # 1000 ms < 900 + 300 ms
    s.on_frame(1250 * MS, True)
    s.on_joint_state(NAMES, [0.5, 1.0], 1260 * MS)
    assert s.state == "captured" and s.frame_ns == 1250 * MS


def test_a_gap_in_the_reports_makes_the_face_arrive_again():
    s = _step(report_gap_s=0.25)
    s.on_joint_state(NAMES, [0.5, 1.0], 100 * MS)
    s.on_frame(420 * MS, True)                      # a candidate, not yet confirmed
    # the link dropped the reports for 0.4 s (the watchdog may have fired); late ones still say "there"
    s.on_joint_state(NAMES, [0.5, 1.0], 500 * MS)
    assert s.state == "settling" and s.departures == 1 and s.arrived_ns == 500 * MS and s.frame_ns is None
    s.on_frame(520 * MS, True)                      # too early for the new arrival
    s.on_joint_state(NAMES, [0.5, 1.0], 530 * MS)
    assert s.state == "settling"


def test_a_report_missing_a_motor_or_nan_is_not_arrival():
    s = _step()
    s.on_joint_state(["a"], [0.5], 100 * MS)
    assert s.state == "moving"
    s.on_joint_state(NAMES, [0.5, float("nan")], 110 * MS)
    assert s.state == "moving" and s.off_command(NAMES, [0.5, float("nan")]) == ["b"]


def test_faceless_frames_give_the_step_up_and_a_lost_image_waits_for_the_next_frame():
    s = _step(max_faceless=3)
    s.on_joint_state(NAMES, [0.5, 1.0], 0)
    for t in (400, 433, 466):
        s.on_frame(t * MS, False)
    assert s.state == "given_up"
    s = _step()
    s.on_joint_state(NAMES, [0.5, 1.0], 0)
    s.on_frame(400 * MS, True)
    s.on_joint_state(NAMES, [0.5, 1.0], 410 * MS)
    s.reject_frame()
    assert s.state == "settling" and s.frame_ns is None
    s.on_frame(433 * MS, True)
    s.on_joint_state(NAMES, [0.5, 1.0], 440 * MS)
    assert s.frame_ns == 433 * MS


def test_keepalive_and_overdue():
    s = _step(keepalive_s=0.1, arrive_timeout_s=1.0)
    assert not s.keepalive_due(50 * MS) and s.keepalive_due(100 * MS)
    s.sent(100 * MS)
    assert not s.keepalive_due(150 * MS)
    assert not s.overdue(900 * MS) and s.overdue(1100 * MS)
    s.on_joint_state(NAMES, [0.5, 1.0], 1200 * MS)
    assert not s.overdue(5000 * MS)


def test_bad_config_and_command_are_refused():
    with pytest.raises(ValueError, match="tolerance"):
        RobotStepConfig(tolerance=0)
    with pytest.raises(ValueError, match="max_faceless"):
        RobotStepConfig(max_faceless=0)
    with pytest.raises(ValueError, match="unknown"):
        RobotStepConfig.from_dict({"settle": 1})
    with pytest.raises(ValueError, match="one command per motor"):
        RobotStep(NAMES, [0.5], 0, RobotStepConfig())


def test_crop():
    assert parse_crop("") is None and parse_crop(" 80, 40, 480,320 ") == (80, 40, 480, 320)
    for bad in ("1,2,3", "a,b,c,d", "-1,0,10,10", "0,0,0,10"):
        with pytest.raises(ValueError, match="crop"):
            parse_crop(bad)
    img = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    out = crop_image(img, (2, 1, 4, 3))
    assert out.shape == (3, 4, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, img[1:4, 2:6])
    with pytest.raises(ValueError, match="outside the 8x6"):
        crop_image(img, (5, 0, 4, 3))
