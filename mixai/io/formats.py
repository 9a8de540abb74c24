"""The file types mixai reads and writes, by suffix: kept apart from :mod:`mixai.io.audio` so that
finding a folder's audio files (the batch coordinator, the mixer's stem list) imports no audio
library."""

from __future__ import annotations

READ_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")
WRITE_SUFFIXES = (".wav", ".flac")

__all__ = ["READ_SUFFIXES", "WRITE_SUFFIXES"]
