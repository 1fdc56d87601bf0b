"""eva.data: crash-safe babbling bags (rosbag2, MCAP) and their export to training arrays.

Pure tests: messages are serialized with the rosbags typestore, no DDS. Crash
tests run a recorder in a subprocess and kill it (SIGKILL, SIGINT).
"""
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader

from eva.data import (BABBLING_TOPICS, TOPIC_COMMANDS, TOPIC_IMAGES, TOPIC_LANDMARKS, BagExistsError,
                      BagRecorder, RecorderError, bag_summary, count_steps, export_babbling, pair_steps,
                      read_babbling, split_indices)
from eva.data.cdr import (decode_image, decode_joint_state, decode_landmarks, encode_image,
                          encode_joint_state, encode_landmarks, typestore)

NAMES = [f"motor_{i}" for i in range(10)]
SPLIT_S = 0.2
T0 = 1_700_000_000_000_000_000


def command(step: int) -> np.ndarray:
    return np.array([(step + j) % 5 / 4 for j in range(10)])


def image(step: int, w: int = 48, h: int = 32) -> np.ndarray:
    img = np.full((h, w, 3), 100, np.uint8)
    img[: h // 4, : w // 4, :2] = step % 256, step // 256  # the step number, kept by INTER_AREA resizing
    img[h // 2:, w // 2:] = 200
    return img


def points(step: int) -> np.ndarray:
    rng = np.random.default_rng(step)
    return (rng.random((478, 3)) * [48, 32, 10]).astype(np.float32)


def step_messages(step: int, t_ns: int, face: bool = True, size=(48, 32)):
    """(topic, receive time, CDR) of one babbling step: command, its image 1 ms later, landmarks."""
    ti = t_ns + 1_000_000
    return [(TOPIC_COMMANDS, t_ns, encode_joint_state(NAMES, command(step), t_ns, f"step{step}")),
            (TOPIC_IMAGES, ti, encode_image(image(step, *size), ti, f"step{step}")),
            (TOPIC_LANDMARKS, ti + 500, encode_landmarks(points(step) if face else None, ti, frame_id=f"step{step}"))]


def frame_ids(bag, topic: str) -> list[str]:
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        return [typestore().deserialize_cdr(raw, c.msgtype).header.frame_id for c, _, raw in reader.messages(conns)]


def listed_files(bag) -> list[str]:
    try:
        meta = yaml.safe_load((Path(bag) / "metadata.yaml").read_text())
    except (FileNotFoundError, yaml.YAMLError):
        return []
    return meta["rosbag2_bagfile_information"]["relative_file_paths"]


# -- pure ------------------------------------------------------------------------------------

def test_cdr_matches_rclpy_serialization():
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import JointState

    msg = JointState(name=NAMES, position=list(command(3)))
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = 12, 345, "step3"
    ours = encode_joint_state(NAMES, command(3), 12_000_000_345, "step3")
    back = deserialize_message(ours, JointState)
    assert (back.name, list(back.position), back.header.stamp.nanosec) == (NAMES, list(command(3)), 345)
    stamp, names, pos = decode_joint_state(serialize_message(msg))  # rclpy adds padding bytes at the end
    assert (stamp, names) == (12_000_000_345, NAMES) and np.array_equal(pos, command(3))
    assert decode_image(encode_image(image(7), 1)).tolist() == image(7).tolist()
    pts, conf = decode_landmarks(encode_landmarks(points(1), 5, np.full(478, 0.5)))
    assert np.array_equal(pts, points(1)) and np.all(conf == 0.5)
    assert decode_landmarks(encode_landmarks(None, 5)) is None
    stamp, names, pos = decode_joint_state(encode_joint_state(NAMES, command(2), 7))
    assert (stamp, names) == (7, NAMES) and np.array_equal(pos, command(2))


def test_pair_steps_first_image_between_commands():
    # cmd 10 -> image 12 (13 is a later frame); cmd 20 resent at 25 -> only 25 pairs (image 30);
    # cmd 40 has no image before cmd 50 -> dropped; cmd 50 -> 55; an image before any command is ignored.
    pairs = pair_steps([10, 20, 25, 40, 50], [5, 12, 13, 30, 55])
    assert pairs == [(0, 12), (2, 30), (4, 55)]
    assert pair_steps([30, 10], [20, 40]) == [(1, 20), (0, 40)]
    assert pair_steps([10, 10], [11]) == [(1, 11)]  # equal stamps: one step, not two
    assert pair_steps([], [1]) == [] and pair_steps([1], []) == []


def test_split_is_fixed_14_1_1():
    train, val, test = split_indices(16_000)
    assert (len(train), len(val), len(test)) == (14_000, 1_000, 1_000)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(16_000))
    again = split_indices(16_000)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(split_indices(16_000, seed=1)[2], test)
    assert [len(s) for s in split_indices(37)] == [37 - 2 * 2, 2, 2]  # train takes the remainder


# -- writing and reading ---------------------------------------------------------------------

def write_steps(rec, steps, t0=T0, no_face=(), size=(48, 32)):
    for k, step in enumerate(steps):
        for msg in step_messages(step, t0 + k * 10_000_000, face=step not in no_face, size=size):
            rec.write(*msg)


def test_round_trip_and_export(tmp_path):
    bag = tmp_path / "bag"
    with BagRecorder(bag, BABBLING_TOPICS, max_split_bytes=40_000, custom={"motor_names": NAMES}) as rec:
        write_steps(rec, range(40), no_face={3, 17})
        rec.write(TOPIC_COMMANDS, T0 + 10**9, encode_joint_state(NAMES, command(99), T0 + 10**9))  # no image
    assert len(rec.files) >= 3  # split by size
    with Reader(bag) as reader:  # rosbags reads the directory of split files
        assert {t: i.msgcount for t, i in reader.topics.items()} == {
            TOPIC_COMMANDS: 41, TOPIC_IMAGES: 40, TOPIC_LANDMARKS: 40}
        assert sum(1 for _ in reader.messages()) == 121
    assert frame_ids(bag, TOPIC_IMAGES) == [f"step{i}" for i in range(40)]
    summary = bag_summary(bag)
    assert summary["steps"] == 40 and summary["messages"] == 121 and summary["bytes"] > 40 * 48 * 32 * 3

    meta = export_babbling(bag, tmp_path / "out")
    out = tmp_path / "out"
    images = np.load(out / "images.npy", mmap_mode="r")
    assert images.shape == (40, 32, 48, 3) and images.dtype == np.uint8
    assert np.array_equal(images[5], image(5))
    commands = np.load(out / "commands.npy")
    assert commands.shape == (40, 10) and commands.dtype == np.float32
    assert np.array_equal(commands, np.array([command(i) for i in range(40)], np.float32))
    landmarks, found = np.load(out / "landmarks.npy"), np.load(out / "face_found.npy")
    assert landmarks.shape == (40, 478, 3) and np.array_equal(landmarks[4], points(4))
    assert found.sum() == 38 and not found[3] and not found[17] and not landmarks[3].any()
    stamps = np.load(out / "stamps_ns.npy")
    assert np.all(np.diff(stamps) > 0)
    assert meta["motor_names"] == NAMES and meta["image_size"] == [48, 32] and meta["num_steps"] == 40
    parts = [np.load(out / meta["split"]["files"][k]) for k in ("train", "val", "test")]
    assert [len(p) for p in parts] == [36, 2, 2]
    assert all(np.array_equal(p, q) for p, q in zip(parts, split_indices(40)))

    with pytest.raises(FileExistsError):
        export_babbling(bag, out)
    small = export_babbling(bag, tmp_path / "small", image_size=(24, 16))
    assert small["image_size"] == [24, 16]
    assert np.load(tmp_path / "small" / "images.npy").shape == (40, 16, 24, 3)
    scaled = np.load(tmp_path / "small" / "landmarks.npy")[4]
    assert np.allclose(scaled, points(4) * [0.5, 0.5, 0.5])
    assert np.array_equal(np.load(tmp_path / "small" / "split_test.npy"), parts[2])  # deterministic


def test_read_babbling_uses_header_stamps(tmp_path):
    bag = tmp_path / "bag"
    with BagRecorder(bag, BABBLING_TOPICS) as rec:
        msgs = step_messages(0, T0) + step_messages(1, T0 + 10**8)
        for topic, _, raw in reversed(msgs):  # receive times out of order; header stamps decide
            rec.write(topic, T0, raw)
    steps = sorted(read_babbling(bag), key=lambda s: s.index)
    assert [int(s.image[0, 0, 0]) for s in steps] == [0, 1]
    assert np.array_equal(steps[1].command, command(1).astype(np.float32))
    assert np.array_equal(steps[0].landmarks, points(0))


def test_offered_qos_is_recorded_and_kept_on_resume(tmp_path):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    bag = tmp_path / "bag"
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    with BagRecorder(bag, BABBLING_TOPICS, qos={TOPIC_IMAGES: [best_effort]}) as rec:
        write_steps(rec, range(2))
    with BagRecorder(bag, BABBLING_TOPICS, resume=True, qos={TOPIC_IMAGES: []}) as rec:  # the bag's QoS wins
        write_steps(rec, range(2, 4), t0=T0 + 10**9)
    with Reader(bag) as reader:
        qos = reader.topics[TOPIC_IMAGES].connections[0].ext.offered_qos_profiles
        assert [q.reliability.name for q in qos] == ["BEST_EFFORT"] and qos[0].depth == 1
        assert sum(1 for _ in reader.messages()) == 12  # every file's connections match the metadata's
    assert frame_ids(bag, TOPIC_IMAGES) == [f"step{i}" for i in range(4)]


def test_existing_bag_is_refused_without_resume(tmp_path):
    bag = tmp_path / "bag"
    with BagRecorder(bag, BABBLING_TOPICS) as rec:
        write_steps(rec, range(2))
    before = (bag / "metadata.yaml").read_bytes()
    with pytest.raises(BagExistsError, match="--resume"):
        BagRecorder(bag, BABBLING_TOPICS)
    assert (bag / "metadata.yaml").read_bytes() == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(BagExistsError):
        BagRecorder(tmp_path / "other", BABBLING_TOPICS)


def test_writer_failure_is_reported(tmp_path, monkeypatch):
    rec = BagRecorder(tmp_path / "bag", BABBLING_TOPICS, split_seconds=0.05)

    def fail(batch):
        raise OSError("disk full")
    monkeypatch.setattr(rec, "_write_split", fail)
    with pytest.raises(RecorderError, match="disk full"):
        for k in range(200):
            write_steps(rec, [k], t0=T0 + k)
            time.sleep(0.01)
    with pytest.raises(RecorderError):
        rec.close()


def test_resume_adopts_unlisted_file_and_salvages_cut_file(tmp_path):
    bag, other = tmp_path / "bag", tmp_path / "other" / "bag"
    with BagRecorder(bag, BABBLING_TOPICS) as rec:
        write_steps(rec, range(3))
    with BagRecorder(other, BABBLING_TOPICS) as rec:  # a complete file, as if moved in just before a crash
        write_steps(rec, range(3, 5), t0=T0 + 10**9)
    shutil.copy(other / "bag_0.mcap", bag / "bag_1.mcap")
    with BagRecorder(other, BABBLING_TOPICS, resume=True) as rec:  # a file of ~1 MiB chunks, then cut
        write_steps(rec, range(5, 20), t0=T0 + 2 * 10**9, size=(320, 240))
    full = (other / "bag_1.mcap").read_bytes()
    (bag / ".staging" / "bag_2").mkdir(parents=True)
    (bag / ".staging" / "bag_2" / "bag_2.mcap").write_bytes(full[: int(len(full) * 0.6)])

    with pytest.raises(BagExistsError):
        BagRecorder(bag, BABBLING_TOPICS)
    with BagRecorder(bag, BABBLING_TOPICS, resume=True) as rec:
        assert any("adopted" in n for n in rec.notes) and any("salvaged" in n for n in rec.notes)
        done = rec.last_step()
        assert 5 + 3 <= done < 20  # 3 + 2 adopted + the complete steps of the cut file's first chunks
        write_steps(rec, range(done, done + 4), t0=T0 + 3 * 10**9)
    assert (bag / "bag_2.mcap.incomplete").read_bytes() == full[: int(len(full) * 0.6)]  # kept, unchanged
    assert not (bag / ".staging").exists()
    ids = frame_ids(bag, TOPIC_IMAGES)
    assert ids[:5] == [f"step{i}" for i in range(5)]
    meta = export_babbling(bag, tmp_path / "out", image_size=(48, 32))
    steps = np.load(tmp_path / "out" / "images.npy")[:, 0, 0, 0]
    assert meta["num_steps"] == done + 4 and steps.tolist() == list(range(done + 4))


# -- crashes ----------------------------------------------------------------------------------

RECORDER_SCRIPT = """
import sys, time
sys.path[:0] = [{test_dir!r}]
from test_bag import BagRecorder, BABBLING_TOPICS, step_messages
path, resume = sys.argv[1], sys.argv[2] == "1"
written = 0
try:
    with BagRecorder(path, BABBLING_TOPICS, split_seconds={split}, resume=resume, fsync=False) as rec:
        step = rec.last_step()
        while True:
            for msg in step_messages(step, time.time_ns()):
                rec.write(*msg)
                written += 1
            print("step", step, flush=True)
            step += 1
            time.sleep(0.005)
except KeyboardInterrupt:
    print("\\nwritten", written, flush=True)
"""


class Recording:
    """A recorder subprocess; its stdout lines are collected with their arrival times."""

    def __init__(self, bag: Path, resume: bool = False):
        script = RECORDER_SCRIPT.format(test_dir=str(Path(__file__).parent), split=SPLIT_S)
        self.proc = subprocess.Popen([sys.executable, "-c", script, str(bag), "1" if resume else "0"],
                                     stdout=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, list[str]]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.bag = bag

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.split()))

    def wait_for_files(self, n: int, min_s: float, timeout: float = 20.0):
        end = time.monotonic() + timeout
        while len(listed_files(self.bag)) < n or not self.lines or time.monotonic() - self.lines[0][0] < min_s:
            assert self.proc.poll() is None, "recorder exited early"
            assert time.monotonic() < end, "recorder did not close split files in time"
            time.sleep(0.02)

    def stop(self, sig) -> float:
        at = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        self.reader.join(timeout=5)
        return at


@pytest.fixture(scope="module")
def killed_bag(tmp_path_factory):
    """A bag whose recorder was killed with SIGKILL after closing >= 3 files; (bag, steps durable)."""
    bag = tmp_path_factory.mktemp("kill") / "bag"
    rec = Recording(bag)
    rec.wait_for_files(3, min_s=1.0)
    killed_at = rec.stop(signal.SIGKILL)
    assert rec.proc.returncode == -signal.SIGKILL
    margin = SPLIT_S + 0.5  # one split, plus writing and slow-machine slack
    durable = [int(words[1]) for t, words in rec.lines if words[0] == "step" and t < killed_at - margin]
    assert len(durable) > 20
    last = max(int(words[1]) for _, words in rec.lines if len(words) == 2 and words[0] == "step")
    return bag, durable, last


def test_sigkill_leaves_readable_bag_up_to_last_split(killed_bag):
    bag, durable, last_printed = killed_bag
    ids = frame_ids(bag, TOPIC_COMMANDS)  # rosbags opens it: metadata lists only closed files
    steps = [int(i[4:]) for i in ids]
    assert steps == list(range(len(steps)))  # a prefix, no gaps, no duplicates
    assert steps[-1] >= durable[-1]  # everything older than ~one split survived
    assert len(steps) <= last_printed + 2
    assert count_steps(bag) >= len(durable)


def test_resume_after_kill_appends_without_duplicates(killed_bag, tmp_path):
    bag = tmp_path / "bag"
    shutil.copytree(killed_bag[0], bag)
    with pytest.raises(BagExistsError):
        BagRecorder(bag, BABBLING_TOPICS)
    with BagRecorder(bag, BABBLING_TOPICS, split_seconds=SPLIT_S, resume=True) as rec:
        done = rec.last_step()
        assert done >= len(killed_bag[1])
        write_steps(rec, range(done, done + 10), t0=time.time_ns())
    meta = export_babbling(bag, tmp_path / "out")
    steps = np.load(tmp_path / "out" / "images.npy")[:, 0, 0, :2].astype(int) @ [1, 256]
    assert meta["num_steps"] == done + 10 and steps.tolist() == list(range(done + 10))
    assert not (bag / ".staging").exists()


def test_sigint_closes_cleanly_with_all_messages(tmp_path):
    bag = tmp_path / "bag"
    rec = Recording(bag)
    rec.wait_for_files(2, min_s=0.3)
    rec.stop(signal.SIGINT)
    assert rec.proc.returncode == 0
    assert rec.lines[-1][1][0] == "written"
    written = int(rec.lines[-1][1][1])
    with Reader(bag) as reader:
        total = sum(1 for _ in reader.messages())
    assert total in (written, written + 1)  # +1: interrupted after write() returned, before counting
    assert not (bag / ".staging").exists()
    ids = frame_ids(bag, TOPIC_COMMANDS)
    assert [int(i[4:]) for i in ids] == list(range(len(ids)))
