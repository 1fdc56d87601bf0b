"""An emulated WiFi link between two network namespaces, in user space (the kernel here has no netem).

Layout (all created by :class:`EmulatedLink`, all removed on ``close``)::

    netns A: veth "a0" (10.231.X.1/24)  <->  "A-b" in this namespace
                                              |  user-space bridge: delay, loss, outages
    netns B: veth "b0" (10.231.X.2/24)  <->  "B-b" in this namespace

The bridge reads whole Ethernet frames from the two host-side veth ends with
AF_PACKET sockets and writes them to the other end after ``delay_s``, dropping
each with probability ``loss`` (independently per direction) and everything
during an outage. Traffic never leaves the two namespaces: their only
interfaces are loopback and their veth end. Frames are forwarded as is,
except that the UDP checksum of IPv4 frames is set to 0 ("none", valid for
IPv4): veth leaves checksums to offloading, which a frame copied in user space
no longer gets.

Needs root (``ip netns``); :func:`available` says whether it can run here.
"""
from __future__ import annotations

import heapq
import os
import random
import select
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def available() -> tuple[bool, str]:
    """(True, "") when namespaces can be made here, else (False, the reason)."""
    if os.geteuid() != 0:
        return False, "needs root for ip netns"
    if shutil.which("ip") is None:
        return False, "the ip command (iproute2) is missing"
    probe = f"evaprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return False, f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")


def zero_udp_checksum(frame: bytes) -> bytes:
    """The frame with its IPv4 UDP checksum set to 0 (first fragment only; others carry no UDP header)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 17:  # IPv4, protocol UDP
        return frame
    ihl = (frame[14] & 0x0F) * 4
    frag_offset = int.from_bytes(frame[20:22], "big") & 0x1FFF
    off = 14 + ihl + 6
    if frag_offset or len(frame) < off + 2:
        return frame
    return frame[:off] + b"\x00\x00" + frame[off + 2:]


@dataclass
class LinkStats:
    """Frames per direction ("ab", "ba"): forwarded, lost at random, lost in outages."""

    forwarded: dict = field(default_factory=lambda: {"ab": 0, "ba": 0})
    lost: dict = field(default_factory=lambda: {"ab": 0, "ba": 0})
    outage: dict = field(default_factory=lambda: {"ab": 0, "ba": 0})


class EmulatedLink:
    """Two namespaces joined by an emulated lossy, delayed link (a context manager).

    Args:
        tag: short unique tag (namespace and interface names derive from it).
        delay_s: one-way delay added to every frame.
        loss: probability that a frame is dropped, each direction independently.
        subnet: the third octet of 10.231.X.0/24 used inside the namespaces.
        seed: random seed of the losses.
    """

    def __init__(self, tag: str, delay_s: float = 0.02, loss: float = 0.05, subnet: int = 0, seed: int = 0):
        if not 0.0 <= loss < 1.0 or delay_s < 0:
            raise ValueError(f"need 0 <= loss < 1 and delay_s >= 0, got loss {loss}, delay_s {delay_s}")
        self.tag, self.delay_s, self.loss = tag[:6], float(delay_s), float(loss)
        self.ns_a, self.ns_b = f"eva{self.tag}a", f"eva{self.tag}b"
        self.addr_a, self.addr_b = f"10.231.{subnet}.1", f"10.231.{subnet}.2"
        self.stats = LinkStats()
        self._rng = random.Random(seed)
        self._down_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socks: dict[str, socket.socket] = {}

    # --- setup -------------------------------------------------------------------
    def open(self) -> "EmulatedLink":
        """Creates the namespaces and veth pairs and starts the bridge thread."""
        for ns, inner, outer, addr in ((self.ns_a, "a0", f"{self.tag}ab", self.addr_a),
                                       (self.ns_b, "b0", f"{self.tag}bb", self.addr_b)):
            _ip("netns", "add", ns)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
            _ip("link", "set", outer, "up")
            _ip("addr", "add", f"{addr}/24", "dev", inner, ns=ns)
            _ip("link", "set", inner, "up", ns=ns)
            _ip("link", "set", "lo", "up", ns=ns)
            _ip("route", "add", "default", "dev", inner, ns=ns)  # multicast discovery needs a route; veth is all there is
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((outer, 0))
            sock.setblocking(False)
            self._socks[ns] = sock
        self._thread = threading.Thread(target=self._run, name="eva-linkemu", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stops the bridge and deletes both namespaces (their veth pairs go with them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for sock in self._socks.values():
            sock.close()
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def __enter__(self) -> "EmulatedLink":
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # --- control -----------------------------------------------------------------
    def outage(self, duration_s: float) -> None:
        """Drops every frame, both ways, for the next ``duration_s`` seconds."""
        self._down_until = time.monotonic() + duration_s

    @property
    def down(self) -> bool:
        """True during an outage."""
        return time.monotonic() < self._down_until

    def command(self, ns_side: str, argv: list[str]) -> list[str]:
        """``argv`` prefixed to run inside namespace ``"a"`` or ``"b"``."""
        return ["ip", "netns", "exec", self.ns_a if ns_side == "a" else self.ns_b, *argv]

    # --- the bridge --------------------------------------------------------------
    def _run(self) -> None:
        peer = {self.ns_a: (self.ns_b, "ab"), self.ns_b: (self.ns_a, "ba")}
        by_fd = {s.fileno(): ns for ns, s in self._socks.items()}
        queue: list[tuple[float, int, str, bytes]] = []  # (due, seq, destination ns, frame)
        seq = 0
        while not self._stop.is_set():
            timeout = 0.05 if not queue else max(0.0, min(0.05, queue[0][0] - time.monotonic()))
            ready, _, _ = select.select(list(by_fd), [], [], timeout)
            now = time.monotonic()
            for fd in ready:
                src = by_fd[fd]
                while True:
                    try:
                        frame, addr = self._socks[src].recvfrom(65535)
                    except BlockingIOError:
                        break
                    if addr[2] == PACKET_OUTGOING:  # what this bridge itself sent out
                        continue
                    dst, way = peer[src]
                    if now < self._down_until:
                        self.stats.outage[way] += 1
                    elif self._rng.random() < self.loss:
                        self.stats.lost[way] += 1
                    else:
                        seq += 1
                        heapq.heappush(queue, (now + self.delay_s, seq, dst, zero_udp_checksum(frame)))
            while queue and queue[0][0] <= time.monotonic():
                _, _, dst, frame = heapq.heappop(queue)
                try:
                    self._socks[dst].send(frame)
                    self.stats.forwarded["ab" if dst == self.ns_b else "ba"] += 1
                except OSError:
                    pass  # e.g. the interface is going away at close
