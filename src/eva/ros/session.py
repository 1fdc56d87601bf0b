"""One node process's life: init, spin until Ctrl-C/SIGTERM (or done), shut down cleanly.

Why not ``rclpy.spin`` with rclpy's signal handlers: SIGINT then raises
``KeyboardInterrupt`` from Python's handler wherever the main thread happens to
be. Landing inside rclpy's message conversion (``take_message``), pybind11 turns
it into ``RuntimeError: Unable to convert call argument`` and the node dies
with a traceback and exit status 1 instead of stopping (seen in
``eva launch babble`` under load). Here rclpy installs no handlers; SIGINT and
SIGTERM only set a flag, and the spin loop checks it between callbacks (at
least every ``poll_s``), so a stop never cuts a callback or a take in half and
the node still has its context for its goodbye (neutral command, closed bag).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Session:
    """Stop requests (``stop_requested``) and the spin loop of one node process."""

    def __init__(self, poll_s: float = 0.1):
        self.poll_s = poll_s
        self._stop = threading.Event()
        self.signal: int | None = None

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _handle(self, signum, frame) -> None:
        if self.signal is None:
            self.signal = signum  # the first one: what stopped the node
        self._stop.set()

    def spin(self, node, until: Callable[[], bool] | None = None) -> None:
        """Runs ``node``'s callbacks until a stop request, ``until()`` is true, or the context ends."""
        from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

        executor = SingleThreadedExecutor(context=node.context)
        executor.add_node(node)
        try:
            while not self._stop.is_set() and node.context.ok() and not (until and until()):
                executor.spin_once(timeout_sec=self.poll_s)
        except ExternalShutdownException:
            pass  # the context was shut down from elsewhere: a normal stop
        finally:
            executor.remove_node(node)
            executor.shutdown(timeout_sec=0)


@contextmanager
def ros_session(args=None, poll_s: float = 0.1) -> Iterator[Session]:
    """``rclpy.init`` with SIGINT/SIGTERM as stop requests; ``rclpy.try_shutdown`` on exit.

    The previous signal handlers come back when the block ends.
    """
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from eva.ros.env import ensure_local_defaults

    ensure_local_defaults()
    session = Session(poll_s)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, session._handle) for s in _SIGNALS} if main_thread else {}
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        try:
            yield session
        finally:
            rclpy.try_shutdown()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_node(node_class, args=None, goodbye: Callable | None = None) -> None:
    """``main()`` of a node: build it, spin until a stop request, ``goodbye(node)``, destroy it, shut down."""
    with ros_session(args) as session:
        node = node_class()
        try:
            session.spin(node)
        finally:
            if goodbye is not None:
                goodbye(node)
            node.destroy_node()
