"""metadata.yaml (rosbag2 version 9) of a bag made of several closed MCAP files.

The catalog lists only files that were closed completely; it is rewritten
atomically (tmp file + ``os.replace``) after each one, so whatever a crash
leaves behind, ``metadata.yaml`` describes a readable bag. Per-file numbers are
read back from each MCAP's own summary, so the catalog can also adopt a
complete file that a crash left unlisted.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import Reader
from rosbags.rosbag2.metadata import dump_qos_v9, parse_qos

from eva.data.cdr import typestore

METADATA = "metadata.yaml"
VERSION = 9
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BagFormatError(ValueError):
    """A bag this module cannot continue (other storage, compression or version)."""


def fsync_path(path: Path) -> None:
    """Flushes a file (or directory entry) to the disk; a crash of the machine keeps it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rihs01(msgtype: str) -> str:
    """The type description hash of ``msgtype`` in the Kilted typestore ('' if unknown)."""
    try:
        return typestore().hash_rihs01(msgtype)
    except Exception:  # noqa: BLE001 - a type the store does not know still records
        return ""


def to_bag_qos(profile) -> Qos:
    """A rosbags ``Qos`` from itself or from an rclpy ``QoSProfile`` (read by attribute; no rclpy import).

    The policy enums of rclpy and rosbags share their rmw values; durations become sec/nsec.
    """
    if isinstance(profile, Qos):
        return profile

    def t(duration) -> QosTime:
        ns = int(getattr(duration, "nanoseconds", 0))
        return QosTime(ns // 1_000_000_000, ns % 1_000_000_000)

    p = profile
    return Qos(QosHistory(int(p.history)), int(p.depth), QosReliability(int(p.reliability)),
               QosDurability(int(p.durability)), t(p.deadline), t(p.lifespan), QosLiveliness(int(p.liveliness)),
               t(p.liveliness_lease_duration), bool(p.avoid_ros_namespace_conventions))


class BagCatalog:
    """Files, topics and counts of a bag directory, saved as its metadata.yaml.

    Attributes:
        path: The bag directory.
        files: One rosbag2 ``files`` entry per closed MCAP file, in order.
        topics: Topic name -> {"type", "qos" (list of rosbags Qos), "hash", "count"}.
        custom: String key -> string value, saved as ``custom_data``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.files: list[dict] = []
        self.topics: dict[str, dict] = {}
        self.custom: dict[str, str] = {}

    @classmethod
    def load(cls, path: str | os.PathLike) -> BagCatalog:
        """Reads ``path/metadata.yaml``.

        Raises:
            BagFormatError: not an uncompressed MCAP bag of version <= 9.
        """
        cat = cls(path)
        info = yaml.load((cat.path / METADATA).read_text(), Loader=_Loader)["rosbag2_bagfile_information"]
        if info.get("storage_identifier") != "mcap" or info.get("compression_mode") or info["version"] > VERSION:
            raise BagFormatError(f"{cat.path}: can only continue uncompressed MCAP bags of version <= {VERSION} "
                                 f"(found {info.get('storage_identifier')!r}, compression "
                                 f"{info.get('compression_mode')!r}, version {info['version']})")
        for item in info.get("topics_with_message_count") or []:
            meta = item["topic_metadata"]
            cat.topics[meta["name"]] = {"type": meta["type"], "qos": parse_qos(meta.get("offered_qos_profiles", [])),
                                        "hash": meta.get("type_description_hash", ""),
                                        "count": int(item["message_count"])}
        names = info.get("relative_file_paths") or []
        by_path = {f["path"]: f for f in info.get("files") or []}
        cat.files = [by_path.get(n) or {"path": n, "starting_time": {"nanoseconds_since_epoch": 0},
                                        "duration": {"nanoseconds": 0}, "message_count": 0} for n in names]
        cat.custom = dict(info.get("custom_data") or {})
        return cat

    def add_topic(self, name: str, msgtype: str, qos: list | None = None) -> list[Qos]:
        """Registers a topic; returns the QoS to write it with (the bag's own, if already known).

        ``qos`` holds rosbags ``Qos`` or rclpy ``QoSProfile`` objects (the publishers' offered QoS).

        Raises:
            BagFormatError: the topic is already in the bag with another type.
        """
        known = self.topics.get(name)
        if known is not None:
            if known["type"] != msgtype:
                raise BagFormatError(f"{name} is {known['type']} in {self.path}, not {msgtype}")
            return known["qos"]
        self.topics[name] = {"type": msgtype, "qos": [to_bag_qos(q) for q in qos or []], "hash": rihs01(msgtype),
                             "count": 0}
        return self.topics[name]["qos"]

    def add_file(self, mcap: Path) -> dict:
        """Lists a closed MCAP file (in this directory), with counts read from its summary.

        Raises:
            rosbags.rosbag2.ReaderError: the file is not a complete MCAP file.
        """
        with Reader(mcap) as reader:
            counts: dict[str, int] = {}
            for conn in reader.connections:
                self.add_topic(conn.topic, conn.msgtype, conn.ext.offered_qos_profiles)
                counts[conn.topic] = counts.get(conn.topic, 0) + conn.msgcount
            n = reader.message_count
            start = reader.start_time if n else 0
            duration = reader.end_time - 1 - start if n else 0
        for topic, count in counts.items():
            self.topics[topic]["count"] += count
        entry = {"path": mcap.name, "starting_time": {"nanoseconds_since_epoch": start},
                 "duration": {"nanoseconds": duration}, "message_count": n}
        self.files.append(entry)
        return entry

    @property
    def message_count(self) -> int:
        """Messages in all listed files."""
        return sum(f["message_count"] for f in self.files)

    def span_ns(self) -> tuple[int, int]:
        """(starting time, duration) over the listed files that hold messages; (0, 0) if none."""
        spans = [(f["starting_time"]["nanoseconds_since_epoch"], f["duration"]["nanoseconds"])
                 for f in self.files if f["message_count"]]
        if not spans:
            return 0, 0
        start = min(s for s, _ in spans)
        return start, max(s + d for s, d in spans) - start

    def to_dict(self) -> dict:
        """The metadata.yaml content."""
        start, duration = self.span_ns()
        topics = [{"topic_metadata": {"name": name, "type": t["type"], "serialization_format": "cdr",
                                      "offered_qos_profiles": dump_qos_v9(t["qos"]),
                                      "type_description_hash": t["hash"]},
                   "message_count": t["count"]} for name, t in self.topics.items()]
        return {"rosbag2_bagfile_information": {
            "version": VERSION, "storage_identifier": "mcap",
            "relative_file_paths": [f["path"] for f in self.files],
            "duration": {"nanoseconds": duration}, "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": self.message_count, "topics_with_message_count": topics,
            "compression_format": "", "compression_mode": "", "files": self.files,
            "custom_data": dict(self.custom), "ros_distro": "kilted"}}

    def to_yaml(self) -> str:
        """metadata.yaml text; the per-file lists (thousands in a long run) are formatted directly."""
        info = dict(self.to_dict()["rosbag2_bagfile_information"])
        del info["version"], info["storage_identifier"]
        names = [json.dumps(f["path"]) for f in info.pop("files")]  # JSON strings are YAML scalars
        del info["relative_file_paths"]
        rest = yaml.dump(info, Dumper=_Dumper, default_flow_style=False, sort_keys=False)
        lines = ["rosbag2_bagfile_information:", f"  version: {VERSION}", "  storage_identifier: mcap",
                 "  relative_file_paths:" + ("" if names else " []")]
        lines += [f"  - {n}" for n in names]
        lines.append("  files:" + ("" if names else " []"))
        for name, f in zip(names, self.files):
            lines += [f"  - path: {name}", "    starting_time:",
                      f"      nanoseconds_since_epoch: {int(f['starting_time']['nanoseconds_since_epoch'])}",
                      "    duration:", f"      nanoseconds: {int(f['duration']['nanoseconds'])}",
                      f"    message_count: {int(f['message_count'])}"]
        lines += ["  " + line for line in rest.splitlines()]
        return "\n".join(lines) + "\n"

    def save(self, fsync: bool = True) -> None:
        """Atomically rewrites metadata.yaml (tmp file, fsync, os.replace, fsync of the directory)."""
        tmp = self.path / (METADATA + ".tmp")
        with open(tmp, "w", encoding="utf8") as f:
            f.write(self.to_yaml())
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.path / METADATA)
        if fsync:
            fsync_path(self.path)


def custom_strings(custom: dict | None) -> dict[str, str]:
    """custom_data must map strings to strings: other values are stored as JSON."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (custom or {}).items()}


def iter_messages(bag: str | os.PathLike, topics=None, files: list[str] | None = None):
    """Yields (topic, timestamp ns, CDR bytes) of a bag, one file open at a time.

    rosbags' directory Reader opens every file of a bag at once, which a long
    recording with one-second splits (thousands of files) would exceed the open
    file limit with; this reads the files in their listed order instead.

    Args:
        bag: Bag directory.
        topics: Topic names to keep (None: all).
        files: File names to read (None: all files listed in metadata.yaml).
    """
    bag = Path(bag)
    if files is None:
        try:
            files = [f["path"] for f in BagCatalog.load(bag).files]
        except BagFormatError:  # sqlite3 or compressed: let rosbags handle the whole directory
            files = None
    for path in ([bag / f for f in files] if files is not None else [bag]):
        with Reader(path) as reader:
            conns = [c for c in reader.connections if topics is None or c.topic in topics]
            if conns:
                for conn, ts, raw in reader.messages(conns):
                    yield conn.topic, ts, raw
