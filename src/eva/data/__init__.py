"""Babbling data: rosbag2 (MCAP) writing with crash-safe splits, reading and export to training arrays."""
