"""CRC-16/ARC (the LAME tag's music and tag checksums), a block at a time.

The checksum covers every byte of an MP3's audio, megabytes for a long
session, so it is computed with numpy rather than a Python loop per byte:
the CRC (init 0, no final XOR) is linear over GF(2), so a block's CRC is the
XOR of one table entry per byte, looked up in a table for that byte's
position in the block; and for a reflected 16-bit CRC the running state
enters the next block as an XOR into its first two bytes.
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["crc16", "crc16_combine"]

_POLY = 0xA001          # 0x8005 reflected
_BLOCK = 1024           # bytes a position table covers
_SMALL = 64             # below this, the plain loop
_CHUNK = 1 << 16        # above this, a chunk at a time


@cache
def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint16)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ _POLY, table >> 1).astype(np.uint16)
    return table


@cache
def _position_tables() -> np.ndarray:
    """``t[i, b]``: the CRC of a block of zeros holding byte ``b`` at ``i``.

    Returns
    -------
    numpy.ndarray
        Shape ``(_BLOCK, 256)``, dtype uint16.
    """
    byte = _byte_table()
    t = np.empty((_BLOCK, 256), dtype=np.uint16)
    t[-1] = byte
    for i in range(_BLOCK - 2, -1, -1):       # one more zero byte after it
        prev = t[i + 1]
        t[i] = (prev >> 8) ^ byte[prev & 0xFF]
    return t


def _crc_loop(data: bytes | np.ndarray, crc: int) -> int:
    byte = _byte_table()
    for b in bytes(data):
        crc = (crc >> 8) ^ int(byte[(crc ^ b) & 0xFF])
    return crc


def crc16(data, crc: int = 0) -> int:
    """CRC-16/ARC of ``data`` continuing from ``crc`` (0 to start).

    Parameters
    ----------
    data : bytes-like or numpy.ndarray
        The bytes (an array is read as its raw bytes).
    crc : int
        The CRC of everything before ``data``.
    """
    a = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if len(a) < _SMALL:
        return _crc_loop(a.tobytes(), crc)
    if len(a) > _CHUNK:                    # the lookups take 10 bytes a byte: keep them small
        for i in range(0, len(a), _CHUNK):
            crc = crc16(a[i:i + _CHUNK], crc)
        return crc
    blocks = -(-len(a) // _BLOCK)
    lead = blocks * _BLOCK - len(a)        # leading zeros leave a CRC from 0 unchanged
    buf = np.zeros(blocks * _BLOCK, dtype=np.uint8)
    buf[lead:] = a
    buf[lead] ^= crc & 0xFF                # the running state enters as an XOR
    buf[lead + 1] ^= crc >> 8
    t = _position_tables()
    grid = buf.reshape(blocks, _BLOCK)
    parts = np.bitwise_xor.reduce(t[np.arange(_BLOCK), grid], axis=1)
    first, second = t[0], t[1]
    state = 0
    for part in parts.tolist():
        state = int(first[state & 0xFF]) ^ int(second[state >> 8]) ^ part
    return state


def crc16_combine(crc: int, crc_b: int, length: int) -> int:
    """The CRC of ``A + B`` from ``crc`` (of ``A``), ``crc_b`` (of ``B``
    alone, from 0) and ``len(B)``: the bytes of ``B`` are not needed, so a
    block written again (a repeated island) costs a few lookups.
    """
    t = _position_tables()
    while length > _BLOCK:                    # through a block of zeros at a time
        crc = int(t[0][crc & 0xFF]) ^ int(t[1][crc >> 8])
        length -= _BLOCK
    if length == 1:
        crc = (crc >> 8) ^ int(_byte_table()[crc & 0xFF])
    elif length >= 2:                         # the state enters the first two bytes
        crc = int(t[_BLOCK - length][crc & 0xFF]) ^ int(t[_BLOCK - length + 1][crc >> 8])
    return crc ^ crc_b
