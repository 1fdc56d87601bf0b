"""The user-space WiFi emulator between two network namespaces (root only; skipped with the reason otherwise)."""
import subprocess
import sys
import time

import pytest

from eva.net.linkemu import EmulatedLink, available, zero_udp_checksum

OK, WHY = available()
needs_netns = pytest.mark.skipif(not OK, reason=f"network namespaces unavailable: {WHY}")

ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('{addr}', 9999))
while True:
    d, a = s.recvfrom(2048); s.sendto(d, a)
"""
PING = """
import socket, statistics, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.25)
for _ in range({warm}):  # wait for the echo server (and ARP) through the lossy link
    try:
        s.sendto(b'hi', ('{addr}', 9999)); s.recvfrom(64); break
    except socket.timeout:
        pass
rtts, lost = [], 0
for i in range({n}):
    t = time.monotonic(); s.sendto(str(i).encode(), ('{addr}', 9999))
    try:
        while s.recvfrom(64)[0] != str(i).encode():
            pass
        rtts.append(time.monotonic() - t)
    except socket.timeout:
        lost += 1
print(statistics.median(rtts) if rtts else -1, lost)
"""


def _ping(link, n, warm=50):
    out = subprocess.run(link.command("a", [sys.executable, "-c", PING.format(addr=link.addr_b, n=n, warm=warm)]),
                         capture_output=True, text=True, timeout=120)
    rtt, lost = out.stdout.split()
    return float(rtt), int(lost)


@needs_netns
def test_link_adds_delay_and_loss_and_outages():
    with EmulatedLink(f"t{time.monotonic_ns() % 10000}", delay_s=0.02, loss=0.05, subnet=7) as link:
        echo = subprocess.Popen(link.command("b", [sys.executable, "-c", ECHO.format(addr=link.addr_b)]))
        try:
            rtt, lost = _ping(link, 200)
            assert 0.038 < rtt < 0.08           # 20 ms each way
            assert 4 <= lost <= 45              # ~10 % of round trips (5 % each way)
            assert link.stats.lost["ab"] > 0 and link.stats.lost["ba"] > 0
            link.outage(5.0)
            rtt, lost = _ping(link, 5, warm=0)
            assert (rtt, lost) == (-1, 5)       # nothing gets through an outage
            assert link.stats.outage["ab"] >= 5
        finally:
            echo.kill()


def test_udp_checksum_is_zeroed_only_on_first_ipv4_udp_fragments():
    eth = b"\x00" * 12 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 17, 0, 0]) + b"\x0a\x00\x00\x01\x0a\x00\x00\x02"
    udp = b"\x30\x39\x30\x39\x00\x10\xab\xcd" + b"payload!"
    out = zero_udp_checksum(eth + ip + udp)
    assert out[14 + 20 + 6:14 + 20 + 8] == b"\x00\x00" and out[-8:] == b"payload!"
    frag = bytearray(eth + ip + udp)
    frag[20:22] = (0x2000 | 0x0010).to_bytes(2, "big")  # a later fragment: no UDP header there
    assert zero_udp_checksum(bytes(frag)) == bytes(frag)
    tcp = bytearray(eth + ip + udp)
    tcp[23] = 6
    assert zero_udp_checksum(bytes(tcp)) == bytes(tcp)
