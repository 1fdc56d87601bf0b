"""A fake I2C bus with PCA9685 chips on it, for tests and ``--fake`` runs without a Raspberry Pi.

`FakeI2C` has the methods of a Blinka ``busio.I2C`` that Adafruit's drivers call
(``try_lock``, ``unlock``, ``writeto``, ``readfrom_into``, ``writeto_then_readfrom``,
``scan``) and records every write. Each `FakePca9685` emulates the register
behaviour a driver depends on (datasheet rev. 4):

- the first byte of a write sets the register pointer; further bytes go to
  successive registers only when MODE1's auto-increment bit (AI) is set,
  otherwise they all land on the same register;
- PRE_SCALE only takes a write while MODE1's SLEEP bit is set;
- a write to ALL_LED_ON/OFF_L/H sets that byte of all 16 channels (reads give 0);
- power-on state: MODE1 = 0x11 (SLEEP, ALLCALL), MODE2 = 0x04, PRE_SCALE = 0x1E,
  every LEDn full off (LEDn_OFF_H bit 4).
"""
from __future__ import annotations

import errno
from dataclasses import dataclass

MODE1, MODE2, PRESCALE = 0x00, 0x01, 0xFE
LED0_ON_L = 0x06  # channel n's ON_L, ON_H, OFF_L, OFF_H are at 0x06 + 4n .. 0x09 + 4n
ALL_LED_ON_L, ALL_LED_ON_H, ALL_LED_OFF_L, ALL_LED_OFF_H = 0xFA, 0xFB, 0xFC, 0xFD
MODE1_AI, MODE1_SLEEP = 0x20, 0x10
FULL = 0x1000  # bit 12 of an ON or OFF count: full on / full off
OSC_HZ = 25_000_000  # internal oscillator


@dataclass(frozen=True)
class I2CWrite:
    """One recorded write transaction."""

    address: int  # 7-bit device address
    data: bytes  # as sent: register pointer first (empty for a probe)


class FakePca9685:
    """The registers of one PCA9685."""

    def __init__(self):
        self.regs = bytearray(256)
        self.regs[MODE1], self.regs[MODE2], self.regs[PRESCALE] = 0x11, 0x04, 0x1E
        for ch in range(16):
            self.regs[LED0_ON_L + 4 * ch + 3] = 0x10  # full off
        self.pointer = 0

    def _advance(self) -> None:
        if self.regs[MODE1] & MODE1_AI:
            self.pointer = 0 if self.pointer == 0x45 else (self.pointer + 1) & 0xFF

    def write(self, data: bytes) -> None:
        """Applies one write transaction."""
        if not data:
            return
        self.pointer = data[0]
        for byte in data[1:]:
            reg = self.pointer
            if reg == PRESCALE:
                if self.regs[MODE1] & MODE1_SLEEP:  # blocked while the oscillator runs
                    self.regs[reg] = byte
            elif ALL_LED_ON_L <= reg <= ALL_LED_OFF_H:
                for ch in range(16):
                    self.regs[LED0_ON_L + 4 * ch + (reg - ALL_LED_ON_L)] = byte
            else:
                self.regs[reg] = byte
            self._advance()

    def read(self, n: int) -> bytes:
        """Reads ``n`` bytes from the register pointer on."""
        out = bytearray()
        for _ in range(n):
            reg = self.pointer
            out.append(0 if ALL_LED_ON_L <= reg <= ALL_LED_OFF_H else self.regs[reg])
            self._advance()
        return bytes(out)

    def channel(self, ch: int) -> tuple[int, int]:
        """(ON, OFF) counts of channel ``ch``, 13 bits each (bit 12 = full on/off)."""
        r = self.regs[LED0_ON_L + 4 * ch: LED0_ON_L + 4 * ch + 4]
        return r[0] | r[1] << 8, r[2] | r[3] << 8

    @property
    def frequency_hz(self) -> float:
        """PWM frequency set by PRE_SCALE: 25 MHz / (4096 * (PRE_SCALE + 1))."""
        return OSC_HZ / (4096 * (self.regs[PRESCALE] + 1))

    @property
    def sleeping(self) -> bool:
        """True while MODE1's SLEEP bit is set (oscillator off: no PWM output)."""
        return bool(self.regs[MODE1] & MODE1_SLEEP)


class FakeI2C:
    """A Blinka-like I2C bus with fake PCA9685 boards at ``addresses``.

    Args:
        addresses: 7-bit addresses that answer (default 0x40).
    """

    def __init__(self, addresses=(0x40,)):
        self.devices = {int(a): FakePca9685() for a in addresses}
        self.writes: list[I2CWrite] = []  # every write, in order
        self._locked = False

    # ------------------------------------------------------------ busio.I2C API
    def try_lock(self) -> bool:
        """Takes the bus lock; False when already held."""
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self) -> None:
        """Releases the bus lock."""
        self._locked = False

    def scan(self) -> list[int]:
        """Addresses that answer."""
        self._require_lock()
        return sorted(self.devices)

    def writeto(self, address: int, buffer, *, start: int = 0, end: int | None = None, stop: bool = True) -> None:
        """Writes ``buffer[start:end]`` to the device (an empty write is a probe)."""
        self._require_lock()
        data = bytes(memoryview(buffer)[start:end])
        self.writes.append(I2CWrite(address, data))
        self._device(address).write(data)

    def readfrom_into(self, address: int, buffer, *, start: int = 0, end: int | None = None) -> None:
        """Reads into ``buffer[start:end]`` from the register pointer on."""
        self._require_lock()
        end = len(buffer) if end is None else end
        buffer[start:end] = self._device(address).read(end - start)

    def writeto_then_readfrom(self, address: int, buffer_out, buffer_in, *, out_start: int = 0,
                              out_end: int | None = None, in_start: int = 0, in_end: int | None = None) -> None:
        """A write (usually the register pointer) then a repeated-start read."""
        self.writeto(address, buffer_out, start=out_start, end=out_end, stop=False)
        self.readfrom_into(address, buffer_in, start=in_start, end=in_end)

    def deinit(self) -> None:
        """Nothing to free."""

    def __enter__(self) -> "FakeI2C":
        return self

    def __exit__(self, *exc) -> None:
        self.deinit()

    # ------------------------------------------------------------ test helpers
    def _require_lock(self) -> None:
        if not self._locked:
            raise RuntimeError("Function requires lock")  # what CircuitPython's busio says

    def _device(self, address: int) -> FakePca9685:
        if address not in self.devices:
            raise OSError(errno.EREMOTEIO, f"no device at 0x{address:02x}")  # Linux: NACK
        return self.devices[address]

    def channel(self, address: int, ch: int) -> tuple[int, int]:
        """(ON, OFF) counts now in channel ``ch`` of the board at ``address``."""
        return self.devices[address].channel(ch)

    def register(self, address: int, reg: int) -> int:
        """A register's value now (without moving the pointer)."""
        return self.devices[address].regs[reg]

    def led_writes(self, address: int) -> list[tuple[int, int, int]]:
        """Channel writes so far, as (channel, ON, OFF) from 4-byte LEDn writes (auto-increment)."""
        out = []
        for w in self.writes:
            if w.address == address and len(w.data) == 5 and LED0_ON_L <= w.data[0] <= 0x42:
                reg = w.data[0] - LED0_ON_L
                if reg % 4 == 0:
                    d = w.data[1:]
                    out.append((reg // 4, d[0] | d[1] << 8, d[2] | d[3] << 8))
        return out
