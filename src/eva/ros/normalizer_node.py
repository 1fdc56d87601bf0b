"""normalizer: human landmarks -> robot landmarks (paper IV-B, plus alignment, neutral mode, smoothing).

Subscribes ``face/landmarks`` (478 MediaPipe points, camera px) and publishes
``face/landmarks_robot`` (the paper's 53 points in the generator's model px, z 0)
with the camera frame's stamp; an empty cloud (no face) passes on as an empty
cloud. The robot ranges and neutral face come from the generator checkpoint;
the mapping is :class:`eva.core.normalize.Normalizer` (its settings are parameters,
see config/mimic.yaml).
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
from sensor_msgs.msg import PointCloud2

from eva.core.landmarks import NUM_MEDIAPIPE, paper53
from eva.core.normalize import NormalizerConfig
from eva.ros.convert import MessageError, landmarks_to_cloud, read_cloud, time_to_ns
from eva.ros.model_node import ModelNode, spin_model_node
from eva.ros.qos import sensor_qos

DESCRIPTIONS = {
    "mode": "minmax (paper IV-B: per-landmark ranges), neutral (displacement from the user's first frames) or "
            "retarget (the user's neutral to the robot's rest, their expression range onto the robot's)",
    "align": "remove head pose and face size first (similarity fit on eye corners and nose bridge)",
    "min_span": "minmax without human_ranges: human span at least this fraction of the robot's",
    "neutral_frames": "neutral/retarget: face frames averaged into the user's neutral",
    "gain": "neutral/retarget: robot displacement per (scaled) aligned human displacement",
    "user_timeout_s": "a face lost this long (s) starts a new user (new neutral, new ranges)",
    "history_frames": "retarget: aligned frames the user's neutral and expression extents are estimated from",
    "neutral_pct": "retarget: per-coordinate percentile of the history taken as the user's neutral",
    "neutral_from": "retarget: calm (per region, the neutral_frames calmest face frames by the blendshapes in "
                    "the landmark cloud; without them the first frames), first (the first neutral_frames face frames) "
                    "or history (the percentile above, follows the user)",
    "calm_brows_open_eyes": "retarget calm: closed eyes count as brow activity (eyes shut pull the brows down, "
                            "which the brow scores miss), so a crying face is not taken as calm brows",
    "neutral_prior": "retarget first/calm: subtract the expression each frame's blendshapes predict (the expression "
                     "prior) from its estimate of the user's neutral, so a user who starts expressive keeps a neutral",
    "extent_pct": "retarget: percentile of the displacement from neutral mapped onto the robot's range",
    "min_extent": "retarget: human extent at least this fraction of the robot's (gain <= 1 / min_extent)",
    "clip_margin": "outputs stay within the robot ranges widened by this fraction",
    "filter": "One-Euro smoothing of the output landmarks",
    "min_cutoff_hz": "One-Euro cutoff at rest, Hz (lower = smoother, more lag)",
    "beta": "One-Euro speed coefficient per robot px/s (higher = less lag on fast motion)",
    "d_cutoff_hz": "One-Euro cutoff of the speed estimate, Hz",
}


class NormalizerNode(ModelNode):
    """Maps each human landmark frame into the robot's landmark frame."""

    stage = "normalizer"
    runs_model = False

    def __init__(self, name: str = "normalizer", **kwargs):
        super().__init__(name, **kwargs)
        for key, default in asdict(NormalizerConfig()).items():
            self.param(key, default, DESCRIPTIONS[key])
        self.param("human_ranges", "", "calibrated human ranges (.npz from eva calibrate); empty = adaptive")
        self.param("expression_prior", "", "expression prior (.npz from eva train prior); empty = the checkpoint "
                   "root's expression-prior/expression_prior.npz when there is one (none with an explicit checkpoint)")
        self.pub = self.create_lifecycle_publisher(PointCloud2, "face/landmarks_robot", sensor_qos())
        self.normalizer = None

    def load(self):
        from eva.learning.mimic import expression_prior_path, make_normalizer
        p = self.get_parameter
        loaded = self.load_kind("generator", "cpu")  # its robot ranges and neutral face
        config = NormalizerConfig.from_dict({k: p(k).value for k in asdict(NormalizerConfig())})
        prior = p("expression_prior").value or None
        if prior is None and not p("checkpoint").value:
            prior = expression_prior_path(p("checkpoints").value or None)
        if prior is None and config.uses_prior:
            self.get_logger().warning("no expression prior (eva train prior): a user who starts with an expression "
                                      "gets it as their neutral")
        if not config.align and config.mode == "retarget" and config.neutral_prior:
            self.get_logger().warning("align is false: the expression prior (aligned frame) is not used")
        self.normalizer = make_normalizer(loaded, config, p("human_ranges").value or None, prior)
        return loaded

    def connect(self) -> None:
        self.sub = self.create_subscription(PointCloud2, "face/landmarks", self._on_landmarks, sensor_qos())

    def _on_landmarks(self, msg: PointCloud2) -> None:
        self.stats.received()
        try:
            cloud = read_cloud(msg)  # one pass: the landmarks and this frame's blendshapes
            if cloud is not None and len(cloud[0]) != NUM_MEDIAPIPE:
                raise MessageError(f"human landmark cloud has {len(cloud[0])} points, expected {NUM_MEDIAPIPE}")
        except MessageError as err:
            self.stats.reject(str(err))
            return
        stamp = time_to_ns(msg.header.stamp)
        human = None if cloud is None else paper53(cloud[0])[:, :2]
        robot = self.normalizer(human, stamp / 1e9, blendshapes=None if cloud is None else cloud[2])
        if robot is None:
            self.stats.skip()
            self.pub.publish(landmarks_to_cloud(None, None, stamp, msg.header.frame_id))
            return
        conf = paper53(cloud[1][:, None])[:, 0]
        points = np.concatenate([robot, np.zeros((53, 1), np.float32)], axis=1)
        self.pub.publish(landmarks_to_cloud(points, conf, stamp, "eva_robot_model"))
        self.stats.done(stamp)


def main(args=None) -> None:
    """``ros2 run eva normalizer``."""
    spin_model_node(NormalizerNode, args)


if __name__ == "__main__":
    main()
