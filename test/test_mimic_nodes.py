"""The mimicry model nodes in-process over DDS (shipped checkpoints) and their YAML."""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState, PointCloud2

from eva.core.normalize import NormalizerConfig
from eva.ros.convert import cloud_to_landmarks, landmarks_to_cloud, time_to_ns
from eva.ros.generator_node import GeneratorNode
from eva.ros.inverse_node import InverseNode
from eva.ros.normalizer_node import NormalizerNode
from rosutil import spin_until

from eva.ros.qos import command_qos, sensor_qos

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def human_points():
    """478 MediaPipe landmarks of a real face (scikit-image's astronaut), camera px."""
    from skimage import data

    from eva.perception.detector import FaceDetector
    with FaceDetector(running_mode="image", blendshapes=False) as det:
        return det.detect(data.astronaut()).points



def test_landmarks_in_motor_commands_out_with_the_camera_stamp(context, human_points):
    nodes = [cls(context=context) for cls in (NormalizerNode, GeneratorNode, InverseNode)]
    probe = Node("probe", namespace="/eva", context=context)
    commands = []
    pub = probe.create_publisher(PointCloud2, "face/landmarks", sensor_qos())
    probe.create_subscription(JointState, "motor_commands", commands.append, command_qos(10))
    ex = SingleThreadedExecutor(context=context)
    for n in (*nodes, probe):
        ex.add_node(n)
    normalizer, generator, inverse = nodes
    # autostart: each loads its checkpoint and subscribes; wait for the whole chain to be matched
    assert spin_until(ex, lambda: pub.get_subscription_count() >= 1 and generator.sub is not None
                       and inverse.sub is not None and generator.pub.get_subscription_count() >= 1)
    stamps = [1_700_000_000_000_000_000 + k * 33_000_000 for k in range(5)]
    for k, stamp in enumerate(stamps):
        pub.publish(landmarks_to_cloud(human_points + k, None, stamp, "cam"))
        assert spin_until(ex, lambda: len(commands) > k), f"no command for frame {k}"
    names = inverse.loaded.meta["motor_names"]
    for msg, stamp in zip(commands, stamps):
        assert time_to_ns(msg.header.stamp) == stamp  # every stage carries the camera frame's stamp
        assert list(msg.name) == list(names) and len(msg.position) == len(names)
        assert all(0.0 <= p <= 1.0 for p in msg.position)
    for n in nodes:
        assert n.stats.counts["published"] == 5 and n.stats.latency.count == 5
    # /diagnostics at 1 Hz: one status per stage with its latency percentiles and counters
    diag = {}
    probe.create_subscription(DiagnosticArray, "/diagnostics",
                              lambda m: diag.update({st.name: {kv.key: kv.value for kv in st.values}
                                                     for st in m.status}), 10)
    stage_names = {"eva/normalizer", "eva/generator", "eva/inverse"}
    assert spin_until(ex, lambda: stage_names <= set(diag), timeout_s=5.0)
    for name in stage_names:
        assert diag[name]["published"] == "5" and float(diag[name]["latency_p99_ms"]) > 0

    # bad input: a cloud with the wrong number of points is rejected and counted, nothing crashes
    pub.publish(landmarks_to_cloud(np.zeros((10, 3)), None, stamps[-1] + 1, "cam"))
    assert spin_until(ex, lambda: normalizer.stats.counts["rejected"] == 1)
    assert "478" in normalizer.stats.last_error and normalizer.stats.status().level == DiagnosticStatus.WARN
    # no face: an empty cloud goes through the normalizer and stops at the generator
    pub.publish(landmarks_to_cloud(None, None, stamps[-1] + 2, "cam"))
    assert spin_until(ex, lambda: generator.stats.counts["skipped"] == 1)
    assert len(commands) == 5

    # deactivating the inverse node sends the face to neutral
    inverse.trigger_deactivate()
    assert spin_until(ex, lambda: len(commands) == 6)
    assert list(commands[-1].position) == [0.0] * len(names)
    for n in (*nodes, probe):
        n.destroy_node()


def test_a_corrupt_checkpoint_fails_configure_naming_the_file(context, tmp_path):
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"not a checkpoint")
    node = GeneratorNode(context=context, parameter_overrides=[
        Parameter("checkpoint", value=str(bad)), Parameter("autostart", value=False)])
    from rclpy.lifecycle import TransitionCallbackReturn
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.loaded is None
    node.destroy_node()


def test_mimic_yaml_mirrors_the_declared_parameters(context):
    config = yaml.safe_load((ROOT / "config" / "mimic.yaml").read_text())
    for cls, name in ((NormalizerNode, "normalizer"), (GeneratorNode, "generator"), (InverseNode, "inverse")):
        node = cls(context=context)  # never spun: autostart does not fire
        declared = {k: v.value for k, v in node.get_parameters_by_prefix("").items()
                    if k not in ("use_sim_time", "start_type_description_service")}
        assert config[f"/eva/{name}"]["ros__parameters"] == declared, name
        node.destroy_node()
    assert set(asdict(NormalizerConfig())) <= set(config["/eva/normalizer"]["ros__parameters"])


def test_generator_int8_parameter_picks_the_quantized_onnx_model(context):
    pytest.importorskip("onnxruntime")
    from rclpy.lifecycle import TransitionCallbackReturn

    from eva.learning.runtime import OnnxModule

    def configured(**params):
        node = GeneratorNode(context=context, parameter_overrides=[
            Parameter("autostart", value=False), *(Parameter(k, value=v) for k, v in params.items())])
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        model = node.loaded.model
        node.destroy_node()
        return model

    fp32, int8 = configured(runtime="onnxruntime", int8=False), configured(runtime="onnxruntime")  # default: int8
    assert isinstance(fp32, OnnxModule) and isinstance(int8, OnnxModule)
    assert int8.int8 and not fp32.int8
    assert not isinstance(configured(runtime="torch", int8=True), OnnxModule)  # int8 needs onnxruntime: fp32 torch


def test_generator_without_quantization_tools_runs_fp32(context, monkeypatch):
    pytest.importorskip("onnxruntime")
    import eva.learning.runtime as runtime
    from rclpy.lifecycle import TransitionCallbackReturn

    real = runtime.use_onnxruntime

    def no_onnx(loaded, threads=1, int8=False):
        if int8:
            raise ImportError("No module named 'onnx'")
        return real(loaded, threads)

    monkeypatch.setattr(runtime, "use_onnxruntime", no_onnx)
    node = GeneratorNode(context=context, parameter_overrides=[Parameter("autostart", value=False)])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS  # int8 by default, yet it still runs
    assert isinstance(node.loaded.model, runtime.OnnxModule) and not node.loaded.model.int8
    node.destroy_node()


def test_inverse_role_picks_f_trained_on_g_when_shipped(context, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn

    def configure(**params):
        node = InverseNode(context=context, parameter_overrides=[
            Parameter("autostart", value=False), *(Parameter(k, value=v) for k, v in params.items())])
        ok = node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        path = node.loaded.path if ok else None
        node.destroy_node()
        return path

    assert Path(configure()).parts[-3:] == ("inverse-on-generated", "seed0", "best.pt")  # auto, shipped
    assert Path(configure(role="inverse")).parts[-3:] == ("inverse", "seed0", "best.pt")  # the paper's F
    assert configure(role="nonsense") is None  # refused at configure, named in the log
    mine = tmp_path / "ck"  # a layout without the role: auto falls back to the paper's F
    (mine / "inverse" / "seed0").mkdir(parents=True)
    import shutil
    shutil.copy(ROOT / "checkpoints" / "sim" / "inverse" / "seed0" / "best.pt", mine / "inverse" / "seed0")
    assert Path(configure(checkpoints=str(mine))).parts[-3:] == ("inverse", "seed0", "best.pt")


def test_normalizer_takes_the_users_rest_from_the_blendshapes_in_the_cloud(context, human_points):
    # The same clouds twice: brows raised for 40 frames, then relaxed for 40. With MediaPipe's
    # blendshapes in the clouds (as the landmarks node sends them) the relaxed brows are the
    # robot's rest; without them the first frames are, and relaxed brows read as lowered.
    from eva.core.fidelity import BLENDSHAPE_NAMES
    from eva.core.landmarks import PAPER53_MEDIAPIPE

    node = NormalizerNode(context=context)
    probe = Node("probe", namespace="/eva", context=context)
    out = []
    pub = probe.create_publisher(PointCloud2, "face/landmarks", sensor_qos(True, 10))
    probe.create_subscription(PointCloud2, "face/landmarks_robot", out.append, sensor_qos(False, 10))
    ex = SingleThreadedExecutor(context=context)
    for n in (node, probe):
        ex.add_node(n)
    assert spin_until(ex, lambda: pub.get_subscription_count() >= 1 and node.pub.get_subscription_count() >= 1)
    assert node.normalizer.prior is not None  # the shipped checkpoints' expression prior
    raised = human_points.copy()
    raised[list(PAPER53_MEDIAPIPE[:10]), 1] -= 6.0  # the 10 brow points, 6 camera px up
    blend_raised, blend_relaxed = np.zeros(52, np.float32), np.zeros(52, np.float32)
    blend_raised[BLENDSHAPE_NAMES.index("browInnerUp")] = 0.5
    blend_relaxed[BLENDSHAPE_NAMES.index("browInnerUp")] = 0.05
    brows_below_rest = {}
    for with_blend in (True, False):
        node.normalizer.reset()
        for k in range(80):
            pts, blend = (raised, blend_raised) if k < 40 else (human_points, blend_relaxed)
            stamp = 1_700_000_000_000_000_000 + k * 33_000_000
            msg = landmarks_to_cloud(pts, None, stamp, "cam", blend if with_blend else None)
            for _ in range(3):  # best effort both ways: a frame lost on loopback is sent again
                pub.publish(msg)
                if spin_until(ex, lambda: out and time_to_ns(out[-1].header.stamp) == stamp, timeout_s=1.0):
                    break
            else:
                pytest.fail(f"no output for frame {k}")
        last = cloud_to_landmarks(out[-1])[0][:10, :2]  # the robot's 53 points; brows first
        brows_below_rest[with_blend] = float((last[:, 1] - node.normalizer.r_neutral[:10, 1]).mean())
    assert abs(brows_below_rest[True]) < 0.3, brows_below_rest
    assert brows_below_rest[False] > 1.0, brows_below_rest
    for n in (node, probe):
        n.destroy_node()
