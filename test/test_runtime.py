"""ONNX Runtime gives the shipped models' outputs (the nodes use it on the CPU)."""
import numpy as np
import pytest

from eva.learning.mimic import MimicModels, robot_ranges
from eva.learning.predict import expected_commands, generate, predict_logits
from eva.learning.runtime import OnnxModule, use_onnxruntime

pytest.importorskip("onnxruntime")


def test_onnxruntime_matches_torch_on_the_shipped_models():
    torch_models, ort_models = MimicModels.load(None, 0, "cpu"), MimicModels.load(None, 0, "cpu")
    use_onnxruntime(ort_models.generator)
    use_onnxruntime(ort_models.inverse)
    assert isinstance(ort_models.generator.model, OnnxModule)
    lo, hi = robot_ranges(torch_models.generator)
    rng = np.random.default_rng(0)
    l53 = lo + (hi - lo) * rng.uniform(size=(5, 53, 2))  # a batch of 5: the batch axis is dynamic
    img_t, img_o = generate(torch_models.generator, l53), generate(ort_models.generator, l53)
    assert np.abs(img_t.astype(int) - img_o).max() <= 1
    np.testing.assert_allclose(predict_logits(ort_models.inverse, img_t), predict_logits(torch_models.inverse, img_t),
                               atol=1e-4)
    np.testing.assert_allclose(expected_commands(ort_models.inverse, img_t),
                               expected_commands(torch_models.inverse, img_t), atol=1e-5)
