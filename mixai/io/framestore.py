"""Random-access storage for rendered audio: in memory when small, in a temporary file when long.

The loudness stage reads the rendered chain output several times (to find the gain that hits the
target after limiting), so it must be kept; a 60-minute stereo file would be 635 MB as float32,
which is why long renders spill to disk and are read back a chunk at a time (plain reads, not
``mmap``, so pages never count against the process's resident memory).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

MEMORY_LIMIT_BYTES = 192 * 1024 * 1024


class FrameStore:
    """Append (channels, samples) float32 blocks, then read any range back (zeros outside)."""

    def __init__(self, channels: int, *, expected_frames: int = 0, directory: str | None = None,
                 memory_limit_bytes: int | None = None) -> None:
        self.channels = channels
        self.frames = 0
        self._array: np.ndarray | None = None  # (channels, capacity); frames [0, self.frames) are set
        self._file = None
        limit = MEMORY_LIMIT_BYTES if memory_limit_bytes is None else memory_limit_bytes
        if expected_frames * channels * 4 > limit:
            self._file = tempfile.TemporaryFile(prefix="mixai-render-", dir=directory)
        elif expected_frames > 0:
            self._array = _buffer(channels, expected_frames)

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def append(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if self._file is not None:
            self._file.seek(self.frames * self.channels * 4)
            self._file.write(np.ascontiguousarray(block.T).tobytes())
        else:
            end = self.frames + block.shape[1]
            if self._array is None or end > self._array.shape[1]:  # more than expected: grow
                grown = _buffer(self.channels, max(end, 2 * (0 if self._array is None else self._array.shape[1])))
                if self._array is not None:
                    grown[:, :self.frames] = self._array[:, :self.frames]
                self._array = grown
            self._array[:, self.frames:end] = block
        self.frames += block.shape[1]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) as a new array; zeros where the range lies outside the audio."""
        if self._file is None and self._array is not None and 0 <= start and stop <= self.frames:
            return self._array[:, start:stop].copy()
        out = np.zeros((self.channels, max(0, stop - start)), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.frames)
        if hi <= lo:
            return out
        if self._file is not None:
            self._file.seek(lo * self.channels * 4)
            raw = self._file.read((hi - lo) * self.channels * 4)
            out[:, lo - start:hi - start] = np.frombuffer(raw, dtype=np.float32).reshape(-1, self.channels).T
        else:
            assert self._array is not None
            out[:, lo - start:hi - start] = self._array[:, lo:hi]
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._array = None

    def __enter__(self) -> "FrameStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _buffer(channels: int, frames: int) -> np.ndarray:
    """An uninitialised float32 (channels, frames) array for the render to be copied into."""
    return np.empty((channels, frames), dtype=np.float32)


def default_temp_dir() -> str | None:
    return os.environ.get("MIXAI_TMPDIR") or None


__all__ = ["MEMORY_LIMIT_BYTES", "FrameStore", "default_temp_dir"]
