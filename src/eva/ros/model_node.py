"""A lifecycle node that owns a model: load on configure, connect on activate, neutral on deactivate.

``autostart`` (default true) walks the node through configure and activate by
itself, so ``ros2 run``/``eva launch`` need no lifecycle manager; with it false a
manager (``ros2 lifecycle set``) drives the transitions. Shutdown works from any
state.
"""
from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from eva.ros.diagnostics import StageStats


class ModelNode(LifecycleNode):
    """Base of the generator and inverse nodes (``stage`` names the diagnostics entry)."""

    stage = "model"
    runs_model = True  # False: the node only reads the checkpoint's meta (the normalizer)

    def __init__(self, name: str, **kwargs):
        super().__init__(name, namespace="/eva", **kwargs)
        self.param("checkpoints", "", "folder of the checkpoint layout <role>/seed<k>/best.pt; empty = shipped")
        self.param("seed", 0, "which seed's checkpoint to load")
        self.param("checkpoint", "", "explicit checkpoint file (overrides checkpoints/seed)")
        self.param("device", "auto", "auto (GPU when present), cpu or cuda")
        self.param("threads", 1, "torch CPU threads (0 = torch's default)")
        self.param("autostart", True, "configure and activate at start, without a lifecycle manager")
        if self.runs_model:
            self.param("runtime", "auto", "auto (ONNX Runtime on CPU when installed, else torch), torch or onnxruntime")
        self.stats = StageStats(self, self.stage)
        self.loaded = None
        self.sub = None  # the input subscription, while active
        if self.get_parameter("autostart").value:
            self._autostart = self.create_timer(0.0, self._start)

    def param(self, name: str, default, description: str):
        """Declares a parameter with its description; returns its value."""
        return self.declare_parameter(name, default, ParameterDescriptor(description=description)).value

    def _start(self) -> None:
        self.destroy_timer(self._autostart)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        import torch

        from eva.learning.checkpoint import CheckpointError
        threads = int(self.get_parameter("threads").value)
        if threads > 0:
            torch.set_num_threads(threads)
        try:
            self.loaded = self.load()
            runtime = self._runtime() if self.runs_model else "meta only"
            if runtime == "onnxruntime":
                from eva.learning.runtime import use_onnxruntime
                int8 = self.int8()
                try:
                    use_onnxruntime(self.loaded, max(threads, 1), int8=int8)
                except ImportError as err:
                    if not int8:
                        raise
                    # onnxruntime's quantization tools need the onnx package: run fp32 instead
                    self.get_logger().warning(f"{self.stage}: cannot quantize ({err}); running fp32")
                    int8 = False
                    use_onnxruntime(self.loaded, max(threads, 1))
                runtime += " int8" if int8 else ""
            elif self.int8():
                self.get_logger().info(f"{self.stage}: int8 applies to ONNX Runtime on the CPU; running {runtime} fp32")
        except (CheckpointError, ValueError, FileNotFoundError, ImportError) as err:
            self.get_logger().error(f"cannot load the {self.stage} model: {err}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"{self.stage}: loaded {self.loaded.path} ({runtime})")
        return TransitionCallbackReturn.SUCCESS

    def _runtime(self) -> str:
        """The runtime the ``runtime`` parameter and the model's device call for."""
        choice = self.get_parameter("runtime").value
        if choice not in ("auto", "torch", "onnxruntime"):
            raise ValueError(f"{self.stage} parameter runtime must be auto, torch or onnxruntime, got {choice!r}")
        on_cpu = next(self.loaded.model.parameters()).device.type == "cpu"
        if choice == "onnxruntime" and not on_cpu:
            raise ValueError(f"{self.stage}: runtime onnxruntime runs on the CPU; the model is on a GPU")
        if choice == "auto":
            import importlib.util
            return "onnxruntime" if on_cpu and importlib.util.find_spec("onnxruntime") else "torch"
        return choice

    def int8(self) -> bool:
        """Whether the model runs quantized to 8 bits (the generator's ``int8`` parameter)."""
        return False

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.connect()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.disconnect()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.loaded = None
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if state.label == "active":
            self.disconnect()
        self.loaded = None
        return TransitionCallbackReturn.SUCCESS

    def checkpoint_file(self, role: str):
        """The checkpoint this node's parameters name."""
        from eva.learning.mimic import checkpoint_path
        p = self.get_parameter
        return checkpoint_path(p("checkpoints").value or None, role, int(p("seed").value),
                               p("checkpoint").value or None)

    def load_kind(self, role: str, device: str | None = None, kind: str | None = None):
        """Loads this node's checkpoint for ``role`` and checks it holds ``kind`` (default: the role's name)."""
        from eva.learning.checkpoint import load_checkpoint
        from eva.learning.mimic import resolve_device
        kind = kind or role
        loaded = load_checkpoint(self.checkpoint_file(role),
                                 device or resolve_device(self.get_parameter("device").value))
        if loaded.kind != kind:
            raise ValueError(f"{loaded.path} holds a {loaded.kind} model; the {self.stage} node needs a {kind}")
        return loaded

    def load(self):
        """Loads and returns the model (on configure)."""
        raise NotImplementedError

    def connect(self) -> None:
        """Creates the input subscription ``self.sub`` (on activate)."""
        raise NotImplementedError

    def disconnect(self) -> None:
        """Removes the input subscription (on deactivate / shutdown)."""
        if self.sub is not None:
            self.destroy_subscription(self.sub)
            self.sub = None


def spin_model_node(node_class, args=None) -> None:
    """``main()`` of a ModelNode: init, spin, and on Ctrl-C/SIGTERM shut down through the lifecycle.

    rclpy's own signal handlers would shut the context down before the node could
    say goodbye; in :func:`eva.ros.session.ros_session` SIGINT/SIGTERM only end the
    spin loop, so shutdown runs while the context is still up (the inverse node
    publishes a neutral command, the servo bridge slews to neutral).
    """
    from eva.ros.session import run_node
    run_node(node_class, args, goodbye=_lifecycle_goodbye)


def _lifecycle_goodbye(node) -> None:
    """Shuts ``node`` down through its lifecycle while the context is still up."""
    import rclpy

    if rclpy.ok():
        try:
            node.trigger_shutdown()
        except RuntimeError:  # stopped mid-transition (e.g. while loading): nothing is active yet
            node.get_logger().info("stopped during a lifecycle transition")
