"""One babbling step on a robot (pure logic, no ROS): has the face arrived, and which frame is the step's.

The babbler commands motor positions (re-sent every ``keepalive_s``: the servo
bridge's watchdog would otherwise take the face back to rest). The bridge reports
what it really sent (``joint_states``). Once every commanded motor is within
``tolerance`` of its command the face has arrived; ``settle_s`` later (the skin
settles) the first camera frame stamped after that, with a face in it, is the
step's image, provided the bridge still reports the command at a report received
after that frame. If the bridge's report leaves the command first (watchdog,
link outage, a clamp), or its reports stop for longer than ``report_gap_s`` (a
link gap, after which late reports may be stale), the step waits for the face to
arrive again: a frame that may not show the commanded face is never taken. Frames without a face are
skipped, ``max_faceless`` of them give the step up (nothing is recorded).

Times are nanoseconds on the babbler's clock: report receive times, and the
camera's frame stamps (the camera runs beside the babbler, not on the Pi).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eva.core.config import build_dataclass


@dataclass
class RobotStepConfig:
    """Timing and tolerances of robot babbling (mirrored in config/babble_robot.yaml)."""

    settle_s: float = 0.3          # skin settle time after the servos arrive, before a frame counts
    tolerance: float = 0.02        # |reported - commanded| position that counts as arrived
    keepalive_s: float = 0.1       # re-send the command this often (under the bridge's watchdog timeout)
    arrive_timeout_s: float = 3.0  # warn when the face has not arrived this long after the command
    report_gap_s: float = 0.25     # bridge reports further apart than this (a link gap): arrive again
    max_faceless: int = 15         # frames without a face before the step is given up
    rest_every: int = 0            # rest after this many steps (0 = never): the servos cool down
    rest_s: float = 60.0           # rest length; the bridge's watchdog takes the face to neutral

    def __post_init__(self):
        if self.settle_s < 0 or self.tolerance <= 0 or self.keepalive_s <= 0 or self.arrive_timeout_s <= 0 \
                or self.report_gap_s <= 0:
            raise ValueError("robot babbling needs settle_s >= 0, tolerance > 0, keepalive_s > 0, "
                             "arrive_timeout_s > 0, report_gap_s > 0; got "
                             f"{self.settle_s}, {self.tolerance}, {self.keepalive_s}, {self.arrive_timeout_s}, "
                             f"{self.report_gap_s}")
        if self.max_faceless < 1 or self.rest_every < 0 or self.rest_s < 0:
            raise ValueError("robot babbling needs max_faceless >= 1, rest_every >= 0, rest_s >= 0; got "
                             f"{self.max_faceless}, {self.rest_every}, {self.rest_s}")

    @classmethod
    def from_dict(cls, values: dict) -> "RobotStepConfig":
        """Builds a config from a mapping, naming any unknown key."""
        return build_dataclass(cls, values, "robot babbling")


class RobotStep:
    """The state of one step: ``moving`` -> ``settling`` -> ``captured`` (or ``given_up``)."""

    def __init__(self, names, command, started_ns: int, config: RobotStepConfig):
        self.names = list(names)
        self.command = np.asarray(command, np.float64)
        if self.command.shape != (len(self.names),):
            raise ValueError(f"a step needs one command per motor: {len(self.names)} names, {self.command.shape}")
        self.config = config
        self.started_ns = int(started_ns)
        self.last_sent_ns = int(started_ns)
        self.arrived_ns: int | None = None    # receive time of the report that first matched, this arrival
        self.last_report_ns: int | None = None
        self.applied: np.ndarray | None = None  # the newest reported positions of the commanded motors
        self.departures = 0                   # times the report left the command after arriving
        self.faceless = 0
        self.frame_ns: int | None = None      # the step's frame (once captured)
        self._candidate: int | None = None    # a frame waiting for a later report to confirm it
        self.state = "moving"

    @property
    def ready_ns(self) -> int | None:
        """From when on a frame can be the step's (None: not arrived)."""
        return None if self.arrived_ns is None else self.arrived_ns + int(self.config.settle_s * 1e9)

    def off_command(self, names, positions) -> list[str]:
        """Commanded motors a report leaves out or holds further than ``tolerance`` from the command."""
        got = dict(zip(names, positions))
        return [n for n, c in zip(self.names, self.command)
                if n not in got or not np.isfinite(got[n]) or abs(float(got[n]) - c) > self.config.tolerance]

    def on_joint_state(self, names, positions, received_ns: int) -> None:
        """A bridge report (positions really sent), received at ``received_ns``."""
        if self.state in ("captured", "given_up"):
            return
        got = dict(zip(names, positions))
        self.applied = np.array([got.get(n, np.nan) for n in self.names], np.float64)
        gap = self.last_report_ns is not None and received_ns - self.last_report_ns > self.config.report_gap_s * 1e9
        self.last_report_ns = int(received_ns)
        if gap and self.arrived_ns is not None:  # the link dropped reports: the bridge may have left meanwhile
            self.arrived_ns, self._candidate, self.state = None, None, "moving"
            self.departures += 1
        if not self.off_command(names, positions):
            if self.arrived_ns is None:
                self.arrived_ns = int(received_ns)
                self.state = "settling"
            self._confirm()
        elif self.arrived_ns is not None:  # left the command: nothing filmed so far counts
            self.arrived_ns, self._candidate, self.state = None, None, "moving"
            self.departures += 1

    def on_frame(self, stamp_ns: int, has_face: bool) -> None:
        """A robot camera frame's detection result (its camera stamp)."""
        if self.state != "settling" or self._candidate is not None or stamp_ns < self.ready_ns:
            return
        if not has_face:
            self.faceless += 1
            if self.faceless >= self.config.max_faceless:
                self.state = "given_up"
            return
        self._candidate = int(stamp_ns)
        self._confirm()

    def reject_frame(self) -> None:
        """The captured frame cannot be used (its image was lost): wait for the next one."""
        if self.state == "captured":
            self.state, self.frame_ns = "settling", None

    def _confirm(self) -> None:
        if self._candidate is not None and self.last_report_ns is not None and self.last_report_ns >= self._candidate:
            self.frame_ns, self._candidate, self.state = self._candidate, None, "captured"

    def keepalive_due(self, now_ns: int) -> bool:
        """True when the command should be sent again (then call :meth:`sent`)."""
        return self.state != "given_up" and now_ns - self.last_sent_ns >= self.config.keepalive_s * 1e9

    def sent(self, now_ns: int) -> None:
        """The command went out again at ``now_ns``."""
        self.last_sent_ns = int(now_ns)

    def overdue(self, now_ns: int) -> bool:
        """The face has not arrived within ``arrive_timeout_s`` of the command."""
        return self.arrived_ns is None and now_ns - self.started_ns > self.config.arrive_timeout_s * 1e9
