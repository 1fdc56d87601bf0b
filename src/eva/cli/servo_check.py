"""Move each servo slowly through its calibrated range, one at a time: for assembling and calibrating a robot.

For every servo of the calibration (or the ``--only`` ones): neutral -> 0 -> 1 ->
neutral, at most ``--speed`` of its range per second and never faster than its
calibrated ``max_speed``, printing its name, channel, board address and the pulse
widths (us) at each end. Between servos it waits for Enter (unless ``--yes``) so
you can watch each linkage. Every pulse comes from the calibration
(``eva.hardware.safety.position_to_pulse_us``), so a sweep never leaves
``[pulse_min_us, pulse_max_us]``: measure those first with a servo tester, and
stop with Ctrl-C if a linkage binds. Connecting sends every servo to neutral at
once (where the servos are before is unknown). Ctrl-C at any time brings the
servos back to neutral at the same slow speed, turns the outputs off and exits 130.
``--backend fake`` is a dry run on an emulated I2C bus; ``sim`` drives the simulated face.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time

STEP_S = 0.02  # time between pulse updates (s): one 50 Hz PWM frame


def add_arguments(p) -> None:
    p.add_argument("--calibration", metavar="FILE", help="servo calibration YAML (default: config/servos.yaml)")
    p.add_argument("--backend", choices=("pca9685", "fake", "sim"), default="pca9685",
                   help="pca9685: the real boards (default); fake: emulated I2C bus (dry run); sim: simulated face")
    p.add_argument("--only", nargs="+", metavar="NAME", help="check only these servos (calibration order)")
    p.add_argument("--speed", type=float, default=0.25,
                   help="fraction of a servo's range per second (default 0.25; capped by its max_speed)")
    p.add_argument("--hold", type=float, default=0.5, help="seconds to hold at each end (default 0.5)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter between servos")


def ramp(start: float, end: float, max_step: float) -> list[float]:
    """Evenly spaced positions after ``start`` up to ``end`` (included), each at most ``max_step`` apart."""
    n = max(1, math.ceil(abs(end - start) / max_step - 1e-9))
    return [start + (end - start) * k / n for k in range(1, n + 1)]


def select_servos(cal, only) -> list:
    """The servos to check, in calibration order; an unknown ``--only`` name is an error naming it."""
    if not only:
        return list(cal.servos)
    unknown = [n for n in only if n not in cal.names]
    if unknown:
        raise ValueError(f"--only: unknown servo(s) {', '.join(unknown)}; servos: {', '.join(cal.names)}")
    return [s for s in cal.servos if s.name in only]


class Sweeper:
    """Moves one servo at a time, slew-limited, through pulses computed from the calibration.

    Args:
        board: a connected servo board (servos at neutral).
        speed: position units per second (each servo also capped by its ``max_speed``).
        sleep: ``time.sleep`` or a fake, called with ``step_s`` after every update.
        step_s: time between updates (s).
    """

    def __init__(self, board, speed: float, sleep=time.sleep, step_s: float = STEP_S):
        self.board, self.speed, self.sleep, self.step_s = board, speed, sleep, step_s
        self.positions = {s.name: s.neutral for s in board.calibration.servos}  # last commanded, in [0, 1]

    def move(self, servo, target: float) -> float:
        """Slews ``servo`` to ``target``; returns the pulse (us) really sent at the end."""
        from eva.hardware.safety import position_to_pulse_us
        sent = position_to_pulse_us(servo, self.positions[servo.name])
        step = min(self.speed, servo.max_speed) * self.step_s
        for p in ramp(self.positions[servo.name], target, step):
            sent = self.board.send_action({servo.name: position_to_pulse_us(servo, p)})[servo.name]
            self.positions[servo.name] = p
            self.sleep(self.step_s)
        return sent

    def home_all(self) -> None:
        """Slews every servo that is away from neutral back to it."""
        for s in self.board.calibration.servos:
            if self.positions[s.name] != s.neutral:
                self.move(s, s.neutral)


def check_servo(sweeper: Sweeper, servo, hold_s: float, index: str) -> None:
    """neutral -> 0 -> 1 -> neutral for one servo, printing the pulse at each end."""
    from eva.hardware.safety import position_to_pulse_us
    speed = min(sweeper.speed, servo.max_speed)
    print(f"{index} {servo.name}: channel {servo.channel}, board 0x{servo.address:02x}, "
          f"{servo.pulse_min_us:g}-{servo.pulse_max_us:g} us{', inverted' if servo.inverted else ''}, "
          f"{speed:g} of range/s", flush=True)
    for label, target in (("0", 0.0), ("1", 1.0), ("neutral", servo.neutral)):
        sent = sweeper.move(servo, target)
        print(f"    at {label:<7} {position_to_pulse_us(servo, target):7.1f} us (sent {sent:.1f} us)", flush=True)
        sweeper.sleep(hold_s)


def _wait_for_enter(next_name: str) -> None:
    try:
        input(f"Enter: next servo ({next_name}); Ctrl-C: stop ")
    except EOFError:
        raise ValueError("no terminal to wait on: pass --yes to check the servos without pauses") from None


def _home_and_release(sweeper: Sweeper, board) -> None:
    """Back to neutral at the check's speed, then outputs off; a second Ctrl-C must not cut this short."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        sweeper.home_all()
        board.disconnect(release=True)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def run(args, sleep=time.sleep) -> int:
    from eva.hardware.calibration import load_calibration
    from eva.hardware.pca9685 import make_board

    if not (math.isfinite(args.speed) and args.speed > 0) or not (math.isfinite(args.hold) and args.hold >= 0):
        raise ValueError(f"--speed must be > 0 and --hold >= 0, got {args.speed} and {args.hold}")
    cal = load_calibration(args.calibration)
    servos = select_servos(cal, args.only)
    board = make_board(args.backend, cal)
    try:
        board.connect(send_neutral=True)
    except (RuntimeError, ValueError, OSError) as err:
        raise RuntimeError(f"cannot open the servo board: {err} (--backend fake: a dry run without it)") from None
    print(f"{len(servos)} servo(s) at neutral on backend {args.backend}; Ctrl-C returns them to neutral and stops",
          flush=True)
    sweeper, code = Sweeper(board, args.speed, sleep), 0
    try:
        for i, servo in enumerate(servos):
            if i and not args.yes:
                _wait_for_enter(servo.name)
            check_servo(sweeper, servo, args.hold, f"[{i + 1}/{len(servos)}]")
    except KeyboardInterrupt:
        print("\ninterrupted: back to neutral, then outputs off", file=sys.stderr, flush=True)
        code = 130
    finally:
        _home_and_release(sweeper, board)
    print("done: outputs off" if code == 0 else "stopped: outputs off", flush=True)
    return code
