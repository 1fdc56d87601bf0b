"""A node process's stop: SIGINT/SIGTERM end the spin between callbacks, never inside one.

Under rclpy's default handling a SIGINT raises KeyboardInterrupt wherever the
main thread is; inside rclpy's message conversion that became a RuntimeError and
a node died with exit 1 (sim_face in ``eva launch babble``). Each case runs in
its own process, which signals itself from inside a callback.
"""
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.ros

_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from rclpy.node import Node
    from eva.ros.session import ros_session

    sig = getattr(signal, sys.argv[1])
    state = {"ticks": 0, "finished": 0}
    with ros_session(poll_s=0.05) as session:
        node = Node("session_probe")

        def tick():
            state["ticks"] += 1
            if state["ticks"] == 3:
                os.kill(os.getpid(), sig)  # delivered while this callback is still running Python code
            total = 0
            for i in range(300_000):
                total += i
            state["finished"] += 1

        node.create_timer(0.01, tick)
        session.spin(node)
        alive = node.context.ok()  # still up: the node can say goodbye (neutral command, close a bag)
        node.destroy_node()
    restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print(state["ticks"], state["finished"], session.signal == sig, alive, restored)
""")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_inside_a_callback_stops_the_spin_after_the_callback(sig):
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, sig], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ticks, finished, got_signal, alive, restored = proc.stdout.split()
    assert ticks == finished == "3"  # the signalling callback ran to its end; no callback after the stop
    assert got_signal == alive == restored == "True"


def test_until_ends_the_spin_without_a_signal():
    script = textwrap.dedent("""
        from rclpy.node import Node
        from eva.ros.session import ros_session
        ticks = []
        with ros_session(poll_s=0.05) as session:
            node = Node("session_until")
            node.create_timer(0.01, lambda: ticks.append(1))
            session.spin(node, until=lambda: len(ticks) >= 5)
            node.destroy_node()
        print(len(ticks), session.stop_requested)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["5", "False"]


def test_signal_handlers_are_stop_requests_only_inside_the_session():
    script = textwrap.dedent("""
        import signal
        from eva.ros.session import ros_session
        with ros_session() as session:
            inside = signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            signal.raise_signal(signal.SIGTERM)  # no exception, no exit: a request
        print(inside, session.stop_requested, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "True"]
