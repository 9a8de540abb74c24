"""Is the whole file there? Checks of a file's container against what its header promises.

Why: the decoder mixai reads through (pedalboard) pads a WAV whose data stops early, a FLAC or MP3
cut in half and any frame it cannot decode with silence, without a word, and reports the header's
length; a cut Ogg file simply reads as shorter. Mastering that gives a master with seconds of
digital silence (or a silently shorter one). These checks read the container's bytes (no
decoding) and say how much audio is intact from the start:

* **WAV / AIFF**: the data chunk's declared size against the bytes the file holds. A WAV whose
  size field is 0xFFFFFFFF (streamed, length unknown) is read for the bytes it holds.
* **FLAC**: every frame header's CRC-8 and frame's CRC-16 and the frame numbering
  (:mod:`mixai.io.flacscan`), against the sample count in STREAMINFO.
* **Ogg**: every page's CRC-32, the page sequence, and the end-of-stream mark on the last page.
* **MP3**: the frame chain (each header where the previous frame ends; trailing ID3v1/APE tags
  allowed), against the frame count of a Xing/Info header when there is one. MP3 frames carry no
  checksum as a rule: damage inside a frame that leaves the headers intact is not seen.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

TRUNCATED, DAMAGED, UNKNOWN_LENGTH = "cut short", "damaged", "length unknown"


@dataclass(frozen=True)
class Damage:
    """What is wrong with a file: its ``kind``, how many frames its header promises (None when it
    does not say) and how many are intact from the start, at ``sample_rate``."""

    path: str
    kind: str
    promised_frames: int | None
    intact_frames: int
    sample_rate: int
    detail: str = ""

    @property
    def fatal(self) -> bool:
        """Refused unless the user allows it (a WAV of unknown length is simply read as it is)."""
        return self.kind != UNKNOWN_LENGTH

    def _seconds(self, frames: int) -> str:
        return f"{frames / self.sample_rate:.2f} s ({frames} frames)"

    def _found(self) -> str:
        promised = "" if self.promised_frames is None else f"its header promises {self._seconds(self.promised_frames)}, "
        return f"{promised}{self._seconds(self.intact_frames)} found intact"

    def message(self) -> str:
        """The error: what is wrong, promised against found, and the way out."""
        detail = f" ({self.detail})" if self.detail else ""
        return (f"{self.path}: is {self.kind}{detail}: {self._found()}; "
                f"use --allow-truncated to master what is there")

    def warning(self) -> str:
        """The report's line when the file was mastered anyway."""
        if self.kind == UNKNOWN_LENGTH:
            return f"the input's header gives no length (a streamed WAV): mastered the {self._seconds(self.intact_frames)} it holds"
        detail = f" ({self.detail})" if self.detail else ""
        return f"the input is {self.kind}{detail}: {self._found()}; only those were mastered"


def check(path: str | os.PathLike, sample_rate: int, header_frames: int) -> Damage | None:
    """The damage found in ``path`` (None: intact, or a container these checks do not read).
    ``sample_rate`` and ``header_frames`` are what the decoder reported from the header."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".wav":
            return _wav(p, sample_rate)
        if suffix in (".aif", ".aiff"):
            return _aiff(p, sample_rate)
        data = p.read_bytes()
    except OSError:
        return None  # the decoder reports unreadable files itself
    if suffix == ".flac":
        return _flac(p, data, sample_rate)
    if suffix == ".ogg":
        return _ogg(p, data, sample_rate, header_frames)
    if suffix == ".mp3":
        return _mp3(p, data, sample_rate, header_frames)
    return None


# --- WAV and AIFF --------------------------------------------------------------------------------


def _chunks(fh, start: int, size: int, big_endian: bool):
    """(id, declared size, offset of its data) for each chunk from ``start``."""
    order = ">" if big_endian else "<"
    pos = start
    while pos + 8 <= size:
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            return
        cid, n = head[:4], struct.unpack(f"{order}I", head[4:])[0]
        yield cid, n, pos + 8
        pos += 8 + n + (n & 1)


def _wav(path: Path, rate: int) -> Damage | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None  # RF64, Wave64...: not checked
        block_align = None
        for cid, n, offset in _chunks(fh, 12, size, head[:4] == b"RIFX"):
            if cid == b"fmt ":
                fh.seek(offset)
                fmt = fh.read(16)
                tag, block_align = struct.unpack(("<" if head[:4] == b"RIFF" else ">") + "H10xH", fmt[:14])
                if tag not in (1, 3, 0xFFFE):  # compressed WAV: frames are not bytes / block_align
                    return None
            elif cid == b"data":
                if not block_align:
                    return None
                available = max(0, size - offset)
                if n >= 0xFFFFFFF0:  # the length placeholder of a streamed (or never finished) WAV
                    return Damage(str(path), UNKNOWN_LENGTH, None, available // block_align, rate)
                if available < n:
                    return Damage(str(path), TRUNCATED, n // block_align, available // block_align, rate)
                return None
    return None


def _aiff(path: Path, rate: int) -> Damage | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
            return None
        frame_bytes = frames = None
        for cid, n, offset in _chunks(fh, 12, size, True):
            if cid == b"COMM":
                fh.seek(offset)
                channels, frames, bits = struct.unpack(">hIh", fh.read(8))
                frame_bytes = channels * ((bits + 7) // 8)
                if head[8:12] == b"AIFC":
                    fh.seek(offset + 18)
                    if fh.read(4) not in (b"NONE", b"sowt", b"fl32", b"FL32", b"fl64", b"FL64"):
                        return None
            elif cid == b"SSND" and frame_bytes and frames is not None:
                fh.seek(offset)
                data_offset = struct.unpack(">I", fh.read(4))[0]
                available = max(0, size - (offset + 8 + data_offset))
                if available // frame_bytes < frames:
                    return Damage(str(path), TRUNCATED, frames, available // frame_bytes, rate)
                return None
    return None


# --- FLAC ----------------------------------------------------------------------------------------


def _flac(path: Path, data: bytes, rate: int) -> Damage | None:
    from mixai.io.flacscan import FLAC_DAMAGED, FLAC_OK, FLAC_TRUNCATED, scan_flac

    scan = scan_flac(data)
    if scan is None:
        return None
    if scan.status == FLAC_DAMAGED:
        return Damage(str(path), DAMAGED, scan.promised_frames, scan.intact_frames, rate,
                      "a frame is missing or fails its checksum")
    if scan.status == FLAC_TRUNCATED or (scan.status == FLAC_OK and scan.promised_frames is not None
                                         and scan.intact_frames < scan.promised_frames):
        return Damage(str(path), TRUNCATED, scan.promised_frames, scan.intact_frames, rate)
    return None


# --- Ogg -----------------------------------------------------------------------------------------

_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, MSB first, no inversion), through zlib: the
    reflected CRC of the bit-reversed bytes, bit-reversed."""
    reflected = zlib.crc32(page.translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def _ogg(path: Path, data: bytes, rate: int, header_frames: int) -> Damage | None:
    pos, granule, expected_seq, ended = 0, 0, {}, {}

    def damage(kind: str, detail: str) -> Damage:
        return Damage(str(path), kind, header_frames if kind == DAMAGED else None, max(0, granule), rate, detail)

    while pos < len(data):
        if data[pos:pos + 4] != b"OggS":
            return damage(DAMAGED, "an Ogg page is missing")
        if pos + 27 > len(data) or pos + 27 + data[pos + 26] > len(data):
            return damage(TRUNCATED, "the last Ogg page is incomplete")
        segments = data[pos + 27:pos + 27 + data[pos + 26]]
        end = pos + 27 + len(segments) + sum(segments)
        if end > len(data):
            return damage(TRUNCATED, "the last Ogg page is incomplete")
        flags = data[pos + 5]
        page_granule, serial, seq, crc = struct.unpack("<qIII", data[pos + 6:pos + 26])
        page = data[pos:pos + 22] + b"\0\0\0\0" + data[pos + 26:end]
        if ogg_crc(page) != crc:
            return damage(DAMAGED, "an Ogg page fails its checksum")
        if serial in expected_seq and seq != expected_seq[serial]:
            return damage(DAMAGED, "Ogg pages are missing")
        expected_seq[serial] = seq + 1
        ended[serial] = bool(flags & 0x04)
        if page_granule >= 0 and not flags & 0x02:
            granule = page_granule
        pos = end
    if ended and not all(ended.values()):
        return damage(TRUNCATED, "the stream stops without its end-of-stream page")
    return None


# --- MP3 -----------------------------------------------------------------------------------------

_BITRATES_KBPS = {  # (MPEG-1?, layer) -> by index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES_KBPS[(False, 3)] = _BITRATES_KBPS[(False, 2)]
_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAILS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN")


def _mp3_frame(h: bytes) -> tuple[int, int, int] | None:
    """(frame bytes, samples per frame, rate) of an MPEG audio frame header, or None."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return None
    version, layer_bits = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate_i, rate_i, padding = h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_i in (0, 15) or rate_i == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _BITRATES_KBPS[(mpeg1, layer)][bitrate_i - 1] * 1000
    rate = _RATES_HZ[version][rate_i]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate + padding, samples, rate


def _xing_frames(frame: bytes, mpeg1: bool, mono: bool) -> int | None:
    """The frame count of a Xing/Info header in the first frame (None: there is none)."""
    offset = 4 + (17 if mono else 32) if mpeg1 else 4 + (9 if mono else 17)
    tag = frame[offset:offset + 4]
    if tag not in (b"Xing", b"Info") or len(frame) < offset + 12:
        return None
    flags = struct.unpack(">I", frame[offset + 4:offset + 8])[0]
    return struct.unpack(">I", frame[offset + 8:offset + 12])[0] if flags & 1 else None


def _mp3(path: Path, data: bytes, rate: int, header_frames: int) -> Damage | None:
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        pos = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
        pos += 10 if data[5] & 0x10 else 0
    audio_frames = samples = 0
    promised: int | None = None
    spf = 1152
    first = True
    while pos < len(data):
        frame = _mp3_frame(data[pos:pos + 4])
        if frame is None:
            rest = data[pos:]
            if rest.startswith(_TAILS) or not rest.strip(b"\0"):
                break
            return Damage(str(path), DAMAGED, promised, samples, rate, "the MPEG frame chain breaks")
        length, spf, _ = frame
        if pos + length > len(data):
            return Damage(str(path), TRUNCATED, promised, samples, rate, "the last MPEG frame is incomplete")
        if first:
            first = False
            xing = _xing_frames(data[pos:pos + length], (data[pos + 1] >> 3) & 3 == 3, data[pos + 3] >> 6 == 3)
            if xing is not None:
                promised = xing * spf
                pos += length
                continue
        audio_frames += 1
        samples += spf
        pos += length
    if promised is not None and samples < promised - spf:
        return Damage(str(path), TRUNCATED, promised, samples, rate)
    return None


__all__ = ["TRUNCATED", "DAMAGED", "UNKNOWN_LENGTH", "Damage", "check", "ogg_crc"]
