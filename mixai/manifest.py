"""The batch manifest (``OUT_DIR/manifest.jsonl``): one JSON line per finished item, what it
records of the input and the output (size and SHA-256 of both, the output's loudness and true
peak as measured on disk), and when an item counts as done, or why it must be done again.

Kept apart from :mod:`mixai.batch` (which runs the items) so that what "done" means has one home.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mixai.io.atomic import output_error
from mixai.io.formats import READ_SUFFIXES

MANIFEST_NAME = "manifest.jsonl"
MANIFEST_VERSION = 1


def is_audio_file(p: Path) -> bool:
    """A visible file mixai reads (hidden files, temporaries among them, are not items)."""
    return p.is_file() and p.suffix.lower() in READ_SUFFIXES and not p.name.startswith(".")


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_fingerprint(input_path: str | os.PathLike) -> dict[str, Any]:
    """``input_bytes`` and ``input_sha256`` of an item's input: the file, or for a mix item its
    folder's audio files (each one's name, size and content, in name order)."""
    path = Path(input_path)
    if path.is_file():
        return {"input_bytes": path.stat().st_size, "input_sha256": file_digest(path)}
    h, size = hashlib.sha256(), 0
    for stem in sorted(p for p in path.iterdir() if is_audio_file(p)):
        stem_size = stem.stat().st_size
        h.update(f"{stem.name}\0{stem_size}\0{file_digest(stem)}\n".encode())
        size += stem_size
    return {"input_bytes": size, "input_sha256": h.hexdigest()}


def measure_output(path: str | os.PathLike) -> dict[str, Any]:
    """Loudness, true peak, length, size and hash of a written file, read back from disk."""
    from mixai.dsp.loudness import integrated_lufs
    from mixai.dsp.truepeak import true_peak_dbtp
    from mixai.io.audio import load

    audio, rate = load(path)
    return {"lufs": round(float(integrated_lufs(audio, rate)), 3),
            "true_peak_dbtp": round(float(true_peak_dbtp(audio)), 3),
            "frames": int(audio.shape[1]), "sample_rate": int(rate), "channels": int(audio.shape[0]),
            "bytes": os.path.getsize(path), "sha256": file_digest(path)}


def append_record(manifest: str | os.PathLike, record: dict[str, Any]) -> None:
    """One line, one ``write`` on an ``O_APPEND`` descriptor, then fsync."""
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        fd = os.open(manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise output_error(manifest, exc, "append to") from None


def read_manifest(manifest: str | os.PathLike) -> dict[tuple[str, str], dict]:
    """The last record per (mode, key); unparsable lines (a torn last line) are ignored."""
    last: dict[tuple[str, str], dict] = {}
    try:
        with open(manifest, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "key" in rec and "mode" in rec:
                    last[(rec["mode"], rec["key"])] = rec
    except FileNotFoundError:
        pass
    return last


def redo_reason(input_path: str | os.PathLike, output_path: str | os.PathLike, record: dict | None) -> str | None:
    """Why an item must be (re)done given its last manifest ``record``, or None when it is done:
    not done before, or failed; the output gone or changed; the input changed since (its size,
    else its SHA-256, differs from the record's), or the record has no input hash to compare."""
    if not record or record.get("status") != "ok" or not record.get("output"):
        return "not done yet" if not record else "failed last time"
    out = Path(output_path)
    if Path(record["output"]).resolve() != out.resolve():
        return "its output path changed"
    try:
        if not out.is_file() or out.stat().st_size != record.get("bytes") or file_digest(out) != record.get("sha256"):
            return "its output is missing or was changed"
        if "input_sha256" not in record:
            return "the manifest does not record its input's hash (an older mixai wrote it)"
        now = input_fingerprint(input_path)
    except OSError:
        return "its files cannot be read"
    if now["input_bytes"] != record.get("input_bytes"):
        return (f"the input changed since the last run ({record.get('input_bytes')} -> "
                f"{now['input_bytes']} bytes)")
    if now["input_sha256"] != record["input_sha256"]:
        return "the input changed since the last run (same size, different content)"
    return None


__all__ = ["MANIFEST_NAME", "MANIFEST_VERSION", "is_audio_file", "file_digest", "input_fingerprint",
           "measure_output", "append_record", "read_manifest", "redo_reason"]
