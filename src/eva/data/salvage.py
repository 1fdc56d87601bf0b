"""Reading what a killed writer left in an MCAP file that never got its footer.

An MCAP file is a magic, then records (1-byte opcode, uint64 length, body).
rosbags' writer puts messages into chunk records of about 1 MiB and writes the
summary and footer only on close, so a killed writer leaves the complete
records of the file intact and the last one cut. Appending a DataEnd record and
an empty footer after the last complete record gives a file that rosbags reads
by scanning (no index needed).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from rosbags.rosbag2 import Reader

MAGIC = b"\x89MCAP0\r\n"
_HEADER, _FOOTER, _DATA_END = 0x01, 0x02, 0x0F


def is_complete_mcap(path: str | Path) -> bool:
    """Whether rosbags opens ``path`` as it is (header, summary and footer intact)."""
    try:
        with Reader(Path(path)):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not complete"
        return False


def complete_records_end(data: bytes) -> int:
    """Byte offset after the last complete record before any footer or summary (0: no header)."""
    if not data.startswith(MAGIC):
        return 0
    pos = end = len(MAGIC)
    while pos + 9 <= len(data):
        op = data[pos]
        nxt = pos + 9 + int.from_bytes(data[pos + 1:pos + 9], "little")
        if nxt > len(data) or op in (_FOOTER, _DATA_END) or (pos == len(MAGIC)) != (op == _HEADER):
            break
        pos = end = nxt
    return end if end > len(MAGIC) else 0


def salvage_mcap(path: str | Path) -> list[tuple[str, str, list, int, bytes]]:
    """The complete messages of a truncated MCAP file (left unchanged), in file order.

    Args:
        path: A rosbag2 MCAP file whose writer died (any name; it is only read).

    Returns:
        (topic, msgtype, offered QoS, timestamp ns, CDR bytes) per message; empty when
        no complete chunk made it to the disk.
    """
    data = Path(path).read_bytes()
    end = complete_records_end(data)
    if not end:
        return []
    tail = (bytes([_DATA_END]) + (4).to_bytes(8, "little") + bytes(4)
            + bytes([_FOOTER]) + (20).to_bytes(8, "little") + bytes(20) + MAGIC)
    with tempfile.TemporaryDirectory(prefix="eva-salvage-") as tmp:
        repaired = Path(tmp) / "repaired.mcap"
        repaired.write_bytes(data[:end] + tail)
        del data
        found: list[tuple[str, str, list, int, bytes]] = []
        try:
            with Reader(repaired) as reader:
                for c, ts, raw in reader.messages():
                    found.append((c.topic, c.msgtype, list(c.ext.offered_qos_profiles), ts, bytes(raw)))
        except Exception:  # noqa: BLE001 - keep the messages read before the damage
            pass
        return found
