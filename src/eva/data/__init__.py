"""Babbling data: rosbag2 (MCAP) writing with crash-safe splits, reading and export to training arrays."""
from eva.data.babbling import (
    BabblingIndex,
    BabblingStep,
    bag_summary,
    count_steps,
    export_babbling,
    pair_steps,
    read_babbling,
    split_indices,
)
from eva.data.bag import (
    BABBLING_TOPICS,
    TOPIC_COMMANDS,
    TOPIC_IMAGES,
    TOPIC_LANDMARKS,
    BagExistsError,
    BagRecorder,
    RecorderError,
    holds_bag,
)
from eva.data.catalog import BagFormatError, iter_messages, to_bag_qos
from eva.data.cdr import (
    decode_image,
    decode_joint_state,
    decode_landmarks,
    encode_image,
    encode_joint_state,
    encode_landmarks,
    header_stamp_ns,
)

__all__ = [
    "BABBLING_TOPICS", "TOPIC_COMMANDS", "TOPIC_IMAGES", "TOPIC_LANDMARKS",
    "BabblingIndex", "BabblingStep", "BagExistsError", "BagFormatError", "BagRecorder", "RecorderError",
    "bag_summary", "count_steps", "export_babbling", "holds_bag", "iter_messages", "pair_steps",
    "read_babbling", "split_indices", "to_bag_qos",
    "decode_image", "decode_joint_state", "decode_landmarks", "encode_image", "encode_joint_state",
    "encode_landmarks", "header_stamp_ns",
]
