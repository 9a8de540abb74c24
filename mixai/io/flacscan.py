"""How much of a FLAC file is intact: a walk over its frames that checks each frame header's CRC-8,
each frame's CRC-16 and the continuity of the frame numbers (RFC 9639).

Why: the decoder mixai reads through (pedalboard, JUCE's FLAC reader) replaces a frame it cannot
decode, or the frames missing at the end of a cut file, with silence and says nothing. The walk
reads bytes only (no decoding), in a compiled loop (about a gigabyte a second), and stops at the
first frame that is not there or fails its checksum. The loop is ``_flacwalk.c``, built with the
package (setup.py); where it was not built, the same walk below runs compiled by numba.

Imported only when a FLAC file is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import ctypes
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

from mixai.dsp.streaming import compiled
from mixai.io.native import load_library

FLAC_OK, FLAC_DAMAGED, FLAC_TRUNCATED = 0, 1, 2


def _crc_table(poly: int, width: int) -> np.ndarray:
    """Table of the MSB-first CRC with this polynomial (FLAC: CRC-8 0x07, CRC-16 0x8005)."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = np.zeros(256, np.int64)
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & top else (crc << 1)
        table[byte] = crc & mask
    return table


CRC8 = _crc_table(0x07, 8)
CRC16 = _crc_table(0x8005, 16)


def _header_py(data, p, crc8, fixed_blocksize):  # pragma: no cover - compiled by numba
    """(header length, block size, first sample) of a frame header at byte ``p``, or
    (-1, 0, 0) when there is none (sync, reserved codes or CRC-8 wrong)."""
    n = data.shape[0]
    if p + 6 > n or data[p] != 0xFF or (data[p + 1] & 0xFE) != 0xF8:
        return -1, 0, 0
    variable = data[p + 1] & 1
    bs_code = data[p + 2] >> 4
    sr_code = data[p + 2] & 0x0F
    if bs_code == 0 or sr_code == 15 or (data[p + 3] >> 4) > 10 or ((data[p + 3] >> 1) & 7) == 3 \
            or (data[p + 3] & 1) != 0:
        return -1, 0, 0
    q = p + 4
    first = data[q]
    if first < 0x80:
        extra, value = 0, first
    elif first >= 0xC0 and first < 0xE0:
        extra, value = 1, first & 0x1F
    elif first >= 0xE0 and first < 0xF0:
        extra, value = 2, first & 0x0F
    elif first >= 0xF0 and first < 0xF8:
        extra, value = 3, first & 0x07
    elif first >= 0xF8 and first < 0xFC:
        extra, value = 4, first & 0x03
    elif first >= 0xFC and first < 0xFE:
        extra, value = 5, first & 0x01
    elif first == 0xFE and variable == 1:
        extra, value = 6, 0
    else:
        return -1, 0, 0
    q += 1
    if q + extra > n:
        return -1, 0, 0
    for _ in range(extra):
        if (data[q] & 0xC0) != 0x80:
            return -1, 0, 0
        value = (value << 6) | (data[q] & 0x3F)
        q += 1
    if bs_code == 1:
        blocksize = 192
    elif bs_code <= 5:
        blocksize = 576 << (bs_code - 2)
    elif bs_code == 6:
        if q + 1 > n:
            return -1, 0, 0
        blocksize = data[q] + 1
        q += 1
    elif bs_code == 7:
        if q + 2 > n:
            return -1, 0, 0
        blocksize = ((data[q] << 8) | data[q + 1]) + 1
        q += 2
    else:
        blocksize = 256 << (bs_code - 8)
    if sr_code == 12:
        q += 1
    elif sr_code == 13 or sr_code == 14:
        q += 2
    if q + 1 > n:
        return -1, 0, 0
    crc = 0
    for i in range(p, q):
        crc = crc8[crc ^ data[i]]
    if crc != data[q]:
        return -1, 0, 0
    start = value if variable == 1 else value * fixed_blocksize
    return q + 1 - p, blocksize, start


def _walk_py(data, start, crc8, crc16, fixed_blocksize, max_frame_bytes):  # pragma: no cover - numba
    """(intact samples from the start, status, byte offset where the walk stopped)."""
    n = data.shape[0]
    p = start
    good = 0
    while p < n:
        length, blocksize, first = _header(data, p, crc8, fixed_blocksize)
        if length < 0 or first != good:
            return good, FLAC_DAMAGED, p
        crc = 0
        for i in range(p, p + length):
            crc = ((crc << 8) & 0xFFFF) ^ crc16[((crc >> 8) ^ data[i]) & 0xFF]
        q = p + length
        limit = min(n, p + max_frame_bytes)
        end = -1
        while q < limit:
            crc = ((crc << 8) & 0xFFFF) ^ crc16[((crc >> 8) ^ data[q]) & 0xFF]
            q += 1
            if crc == 0 and q >= p + length + 2:
                if q == n:
                    end = q
                    break
                if data[q] == 0xFF and q + 1 < n and (data[q + 1] & 0xFE) == 0xF8:
                    if _header(data, q, crc8, fixed_blocksize)[0] > 0:
                        end = q
                        break
        if end < 0:
            return good, FLAC_TRUNCATED if limit == n else FLAC_DAMAGED, p
        good += blocksize
        p = end
    return good, FLAC_OK, p


@lru_cache(maxsize=1)
def _walker():
    """The walk: the loop built with the package, else numba's compilation of :func:`_walk_py`
    (``_header`` is then the compiled header parser it calls), else plain Python."""
    lib = load_library(Path(__file__).resolve().parent, "_flacwalk")
    if lib is not None:
        i64 = ndpointer(dtype=np.int64, flags="C_CONTIGUOUS")
        lib.flac_walk.argtypes = [ndpointer(dtype=np.uint8, flags="C_CONTIGUOUS"), ctypes.c_long, ctypes.c_long,
                                  i64, i64, ctypes.c_int64, ctypes.c_long, i64]
        lib.flac_walk.restype = None

        def walk(data, start, crc8, crc16, fixed_blocksize, max_frame_bytes):
            result = np.zeros(3, np.int64)
            lib.flac_walk(data, data.size, start, crc8, crc16, fixed_blocksize, max_frame_bytes, result)
            return int(result[0]), int(result[1]), int(result[2])
        return walk
    global _header
    _header = compiled(_header_py) or _header_py
    return compiled(_walk_py) or _walk_py


_header = _header_py  # what _walk_py calls; compiled by _walker() when numba runs the walk


@dataclass(frozen=True)
class FlacScan:
    """What the walk found: the samples the header promises (None: not stated), the samples
    intact from the start, and whether the stream ends cleanly, is cut inside a frame, or
    breaks (a frame missing or failing its checksum)."""

    promised_frames: int | None
    intact_frames: int
    status: int


def scan_flac(data: bytes) -> FlacScan | None:
    """Walk a FLAC file's bytes; None when it is not a FLAC stream this walk understands."""
    if data[:4] != b"fLaC":
        return None
    p, info = 4, None
    while p + 4 <= len(data):
        kind, last = data[p] & 0x7F, data[p] & 0x80
        size = int.from_bytes(data[p + 1:p + 4], "big")
        if kind == 0 and size >= 34:
            info = data[p + 4:p + 4 + 34]
        p += 4 + size
        if last:
            break
    if info is None or len(info) < 34 or p > len(data):
        return None
    max_blocksize = int.from_bytes(info[2:4], "big")
    max_framesize = int.from_bytes(info[7:10], "big")
    packed = int.from_bytes(info[10:18], "big")
    channels = ((packed >> 41) & 0x7) + 1
    bits = ((packed >> 36) & 0x1F) + 1
    total = packed & ((1 << 36) - 1)
    # A frame is never larger than its samples stored verbatim (the side channel has one more bit).
    bound = max_framesize or (max_blocksize * channels * (bits + 1) // 8 + 64)
    intact, status, _ = _walker()(np.frombuffer(data, np.uint8), p, CRC8, CRC16, max_blocksize, bound + 16)
    return FlacScan(total or None, int(intact), int(status))


__all__ = ["FLAC_OK", "FLAC_DAMAGED", "FLAC_TRUNCATED", "FlacScan", "scan_flac"]
