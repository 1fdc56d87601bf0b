"""Faster CPU inference: a loaded checkpoint's model run by ONNX Runtime instead of torch.

Measured here (1 thread, the shipped 96x128 generator, one frame): torch eager
9.3 ms, TorchScript frozen 9.2 ms, channels_last 7.1 ms, ONNX Runtime 6.1 ms, with
outputs equal to 4e-7. :func:`use_onnxruntime` exports the model once (cached
beside nothing: a temporary file, a second or so) and swaps ``loaded.model`` for
a module with the same call signature, so :mod:`eva.learning.predict` works
unchanged. On a GPU keep torch.
"""
from __future__ import annotations

import os
import tempfile
import warnings

import torch

from eva.learning.checkpoint import Loaded


class OnnxModule:
    """Callable like the eva models: tensors in, ``(output, None)`` out, computed by an ONNX Runtime session."""

    def __init__(self, session, input_names):
        self.session, self.input_names = session, list(input_names)
        self._device_probe = torch.empty(0)

    def __call__(self, *inputs: torch.Tensor):
        feed = {name: t.detach().cpu().numpy() for name, t in zip(self.input_names, inputs)}
        return torch.from_numpy(self.session.run(None, feed)[0]), None

    def parameters(self):
        """One empty CPU tensor: what callers read the device from."""
        return iter([self._device_probe])

    def eval(self):
        return self


class _FirstOutput(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *inputs):
        return self.model(*inputs)[0]


def example_inputs(loaded: Loaded) -> tuple[torch.Tensor, ...]:
    """Zero inputs of the right shapes for one sample of ``loaded``'s model."""
    w, h = loaded.meta["crop"]["size"]
    if loaded.kind == "generator":
        return torch.zeros(1, 2, h, w), torch.zeros(1, 3, h, w)
    channels = 3 if loaded.kind == "inverse" else 2
    return (torch.zeros(1, channels, h, w),)


def use_onnxruntime(loaded: Loaded, threads: int = 1) -> Loaded:
    """Replaces ``loaded.model`` (CPU) with an ONNX Runtime session of the same network; returns ``loaded``.

    Raises:
        ImportError: onnxruntime is not installed.
    """
    import onnxruntime as ort

    inputs = example_inputs(loaded)
    names = ["mask", "static"] if loaded.kind == "generator" else ["x"]
    fd, path = tempfile.mkstemp(suffix=".onnx", prefix=f"eva-{loaded.kind}-")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notices
            torch.onnx.export(_FirstOutput(loaded.model.cpu().eval()), inputs, path, input_names=names,
                              output_names=["out"], dynamic_axes={n: {0: "batch"} for n in names + ["out"]},
                              opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(int(threads), 1)
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    finally:
        os.unlink(path)
    loaded.model = OnnxModule(session, names)
    return loaded
