"""Crash-safe rosbag2 (MCAP) recording of raw CDR messages.

``write`` only queues the bytes; a writer thread turns the queue into one
closed MCAP file every ``split_seconds`` (or ``max_split_bytes``), written by
rosbags' ``Writer`` in ``<bag>/.staging/<name>/``, fsynced, moved into the bag
and listed in metadata.yaml (rewritten atomically). A SIGKILL therefore loses
at most the queue (about ``split_seconds``) and a file being written; SIGINT
(KeyboardInterrupt in the main thread) never interrupts the writer thread, and
``close`` writes the rest. ``resume=True`` adopts complete files a crash left
unlisted, salvages the complete messages of a cut file (kept as
``<file>.incomplete``; nothing is deleted) and appends new files.
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer

from eva.data.catalog import METADATA, BagCatalog, custom_strings, fsync_path, rihs01
from eva.data.cdr import typestore
from eva.data.salvage import is_complete_mcap, salvage_mcap

STAGING = ".staging"
TOPIC_COMMANDS = "/eva/motor_commands"
TOPIC_IMAGES = "/eva/robot/image_raw"
TOPIC_LANDMARKS = "/eva/robot/landmarks"
BABBLING_TOPICS = {TOPIC_COMMANDS: "sensor_msgs/msg/JointState",
                   TOPIC_IMAGES: "sensor_msgs/msg/Image",
                   TOPIC_LANDMARKS: "sensor_msgs/msg/PointCloud2"}
_INDEX = re.compile(r"_(\d+)(?:\.mcap.*)?$")
log = logging.getLogger(__name__)


class BagExistsError(FileExistsError):
    """The output path already holds a bag (or other files) and resuming was not asked for."""


class RecorderError(RuntimeError):
    """The recorder cannot take more messages (closed, or its writer thread failed)."""


def holds_bag(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory with a bag (metadata.yaml, MCAP files or a staging folder)."""
    path = Path(path)
    return path.is_dir() and ((path / METADATA).exists() or (path / STAGING).exists()
                              or any(path.glob("*.mcap*")))


def _split_index(name: str) -> int:
    m = _INDEX.search(name)
    return int(m.group(1)) if m else -1


class BagRecorder:
    """Writes raw CDR messages into a rosbag2 bag of closed MCAP files; usable as a context manager.

    Args:
        path: Bag directory (created; must not hold a bag unless ``resume``).
        topics: Topic name -> message type, e.g. ``{"/eva/motor_commands": "sensor_msgs/msg/JointState"}``.
        split_seconds: Wall time between closed files: the most a SIGKILL loses (s).
        resume: Continue an existing bag at ``path`` (recovering what a crash left).
        custom: Extra ``custom_data`` for metadata.yaml (non-string values stored as JSON).
        qos: Topic -> the publishers' offered QoS (rosbags ``Qos`` or rclpy ``QoSProfile`` list) for the bag.
        max_split_bytes: Also close a file once this many message bytes are queued.
        fsync: fsync each file and metadata.yaml (survives a power cut, not only a crash).

    Raises:
        BagExistsError: ``path`` holds a bag and ``resume`` is False, or holds other files.
        eva.data.catalog.BagFormatError: resuming a bag that is not uncompressed MCAP.
    """

    def __init__(self, path, topics: dict[str, str], split_seconds: float = 1.0, resume: bool = False,
                 custom: dict | None = None, *, qos: dict | None = None, max_split_bytes: int = 64 << 20,
                 fsync: bool = True):
        if split_seconds <= 0 or max_split_bytes <= 0:
            raise ValueError("split_seconds and max_split_bytes must be positive")
        self.path = Path(path)
        self.split_seconds = float(split_seconds)
        self.max_split_bytes = int(max_split_bytes)
        self.fsync = fsync
        self.notes: list[str] = []  # what resuming found and did, for the user
        self.messages_written = 0
        self.bytes_written = 0
        self._stem = self.path.resolve().name or "bag"
        existing = holds_bag(self.path)
        if existing and not resume:
            raise BagExistsError(f"{self.path} already holds a bag; use --resume to continue it, "
                                 f"or choose another --out")
        if not existing and self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise BagExistsError(f"{self.path} exists and is not an empty directory; choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        has_meta = (self.path / METADATA).exists()
        self._catalog = BagCatalog.load(self.path) if has_meta else BagCatalog(self.path)
        self._catalog.custom.update({"eva.writer": "eva.data.bag", **custom_strings(custom)})
        self._topics = dict(topics)
        for topic, msgtype in self._topics.items():
            self._catalog.add_topic(topic, msgtype, (qos or {}).get(topic))
        self._typeinfo: dict[str, tuple[str, str]] = {}
        self._index = 1 + max([_split_index(p.name) for p in self._names()], default=-1)
        if existing:
            self._recover()
        self._catalog.save(self.fsync)
        self._files_at_open = [f["path"] for f in self._catalog.files]
        self._steps_at_open: int | None = None if existing else 0

        self._pending: list[tuple[str, int, bytes]] = []
        self._pending_bytes = 0
        self._closed = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"bag-writer {self.path.name}", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- public API ---------------------------------------------------------------------------

    def write(self, topic: str, timestamp_ns: int, cdr_bytes: bytes | memoryview | bytearray) -> None:
        """Queues one serialized message (as a ``raw=True`` subscription delivers it).

        Args:
            topic: One of the recorder's topics.
            timestamp_ns: Receive time (ns) noted in the bag.
            cdr_bytes: The CDR-serialized message.

        Raises:
            KeyError: topic not recorded by this recorder.
            RecorderError: closed, or the writer thread failed (the cause is chained).
        """
        if topic not in self._topics:
            raise KeyError(f"{topic} is not recorded here (topics: {sorted(self._topics)})")
        data = cdr_bytes if isinstance(cdr_bytes, bytes) else bytes(cdr_bytes)
        with self._cond:
            self._check()
            self._pending.append((topic, int(timestamp_ns), data))
            self._pending_bytes += len(data)
            self.messages_written += 1
            self.bytes_written += len(data)
            if self._pending_bytes >= self.max_split_bytes:
                self._cond.notify_all()
                while self._pending_bytes >= 4 * self.max_split_bytes:  # disk slower than input: wait
                    self._cond.wait(1.0)
                    self._check()

    def close(self) -> None:
        """Writes the queued messages as a last file and stops (safe to call again).

        Raises:
            RecorderError: the writer thread failed; messages queued after the failure are lost.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        atexit.unregister(self.close)
        try:
            (self.path / STAGING).rmdir()
        except OSError:
            pass
        if self._error is not None:
            raise RecorderError(f"writing {self.path} failed: {self._error}") from self._error

    def last_step(self, command_topic: str = TOPIC_COMMANDS, image_topic: str = TOPIC_IMAGES) -> int:
        """Complete babbling steps (commands with their image) already in the bag when it was opened.

        This is the index the next step continues with (0 for a new bag). Counting reads
        the bag once, on the first call.
        """
        if self._steps_at_open is None:
            from eva.data.babbling import count_steps
            self._steps_at_open = count_steps(self.path, command_topic, image_topic, files=self._files_at_open)
        return self._steps_at_open

    @property
    def files(self) -> list[str]:
        """The MCAP files listed in metadata.yaml so far."""
        return [f["path"] for f in self._catalog.files]

    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writer thread ------------------------------------------------------------------------

    def _check(self) -> None:
        if self._error is not None:
            raise RecorderError(f"writing {self.path} failed: {self._error}") from self._error
        if self._closed:
            raise RecorderError(f"recorder for {self.path} is closed")

    def _run(self) -> None:
        while True:
            deadline = time.monotonic() + self.split_seconds
            with self._cond:
                while (not self._closed and self._pending_bytes < self.max_split_bytes
                       and (left := deadline - time.monotonic()) > 0):
                    self._cond.wait(left)
                cut, size = 0, 0
                while cut < len(self._pending) and size < self.max_split_bytes:  # at most ~max bytes a file
                    size += len(self._pending[cut][2])
                    cut += 1
                batch, self._pending = self._pending[:cut], self._pending[cut:]
                self._pending_bytes -= size
                closing = self._closed and not self._pending
                self._cond.notify_all()
            try:
                if batch:
                    self._write_split(batch)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller by write/close
                log.error("bag writer for %s failed, %d messages lost: %s", self.path, len(batch), exc)
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            if closing:
                return

    def _type_info(self, msgtype: str) -> tuple[str, str]:
        if msgtype not in self._typeinfo:
            self._typeinfo[msgtype] = (typestore().generate_msgdef(msgtype, ros_version=2)[0],
                                       rihs01(msgtype))
        return self._typeinfo[msgtype]

    def _write_split(self, batch: list[tuple[str, int, bytes]]) -> str:
        """Writes one closed file in staging, moves it into the bag and lists it; returns its name."""
        batch.sort(key=lambda m: m[1])  # time-ordered files read without an index, too
        name = f"{self._stem}_{self._index}"
        self._index += 1
        stage = self.path / STAGING / name
        with Writer(stage, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            conns = {}
            for topic in dict.fromkeys([*self._topics, *(m[0] for m in batch)]):
                meta = self._catalog.topics[topic]
                msgdef, digest = self._type_info(meta["type"])
                conns[topic] = writer.add_connection(topic, meta["type"], msgdef=msgdef, rihs01=digest,
                                                     offered_qos_profiles=meta["qos"])
            for topic, ts, data in batch:
                writer.write(conns[topic], ts, data)
        src = stage / f"{name}.mcap"
        if self.fsync:
            fsync_path(src)
        os.replace(src, self.path / src.name)
        self._catalog.add_file(self.path / src.name)
        self._catalog.save(self.fsync)
        (stage / METADATA).unlink(missing_ok=True)
        stage.rmdir()
        return src.name

    # -- resuming -----------------------------------------------------------------------------

    def _names(self) -> list[Path]:
        staging = self.path / STAGING
        return [*self.path.iterdir(), *(staging.iterdir() if staging.is_dir() else [])]

    def _set_aside(self, mcap: Path) -> Path:
        dst = self.path / f"{mcap.name}.incomplete"
        n = 1
        while dst.exists():
            dst, n = self.path / f"{mcap.name}.incomplete.{n}", n + 1
        os.replace(mcap, dst)
        return dst

    def _recover(self) -> None:
        """Adopts complete unlisted files, sets cut ones aside and rewrites their complete messages."""
        cut: list[Path] = []
        staging = self.path / STAGING
        for stage in sorted(staging.iterdir() if staging.is_dir() else [], key=lambda p: _split_index(p.name)):
            mcap = stage / f"{stage.name}.mcap"
            if mcap.exists():
                if is_complete_mcap(mcap):
                    os.replace(mcap, self.path / mcap.name)  # adopted below with the others
                else:
                    cut.append(self._set_aside(mcap))
            (stage / METADATA).unlink(missing_ok=True)  # rosbags' per-file metadata, rebuilt from the file
            try:
                stage.rmdir()
            except OSError:
                self.notes.append(f"left {stage} in place: it holds files eva did not write")
        listed = {f["path"] for f in self._catalog.files}
        for mcap in sorted(self.path.glob("*.mcap"), key=lambda p: _split_index(p.name)):
            if mcap.name in listed:
                continue
            if is_complete_mcap(mcap):
                self._catalog.add_file(mcap)
                self.notes.append(f"adopted complete file {mcap.name} that was not yet listed")
            else:
                cut.append(self._set_aside(mcap))
        for path in cut:
            msgs = salvage_mcap(path)
            if not msgs:
                self.notes.append(f"moved cut file aside as {path.name}: no complete messages in it")
                continue
            for topic, msgtype, qos, _, _ in msgs:
                self._catalog.add_topic(topic, msgtype, qos)
            name = self._write_split([(t, ts, data) for t, _, _, ts, data in msgs])
            self.notes.append(f"salvaged {len(msgs)} complete messages of cut file {path.name} into {name}; "
                              f"the cut file stays as {path.name}")
        for note in self.notes:
            log.warning("%s: %s", self.path, note)
