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


def test_int8_generator_stays_close_and_keeps_the_inverse_models_answers():
    from eva.learning.runtime import calibration_inputs

    fp32, int8 = MimicModels.load(None, 0, "cpu"), MimicModels.load(None, 0, "cpu")
    use_onnxruntime(fp32.generator)
    use_onnxruntime(int8.generator, int8=True)
    lo, hi = robot_ranges(fp32.generator)
    rng = np.random.default_rng(1)
    l53 = lo + (hi - lo) * rng.uniform(size=(16, 53, 2))
    img_f, img_q = generate(fp32.generator, l53).astype(int), generate(int8.generator, l53).astype(int)
    assert int8.generator.model.int8 and not fp32.generator.model.int8
    diff = np.abs(img_f - img_q)
    assert 0 < diff.mean() < 1.5 and diff.max() < 25  # quantized (not the fp32 model), yet close
    same = expected_commands(fp32.inverse, img_f.astype(np.uint8)), expected_commands(fp32.inverse, img_q.astype(np.uint8))
    assert np.abs(same[0] - same[1]).mean() < 0.03  # command units (a level step is 0.25)
    a, b = calibration_inputs(fp32.generator, n=4), calibration_inputs(fp32.generator, n=4)
    assert all(np.array_equal(x["mask"], y["mask"]) for x, y in zip(a, b)) and a[0]["mask"].shape[1] == 2
    with pytest.raises(ValueError, match="generators only"):
        use_onnxruntime(MimicModels.load(None, 0, "cpu").inverse, int8=True)
