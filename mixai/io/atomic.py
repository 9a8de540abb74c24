"""Atomic writes: every file mixai writes goes to a temporary file beside it and is renamed into
place only when complete, so a crash, a cancel or Ctrl-C never leaves a half-written file under
the final name.

One temporary-name pattern for all of them: ``.NAME.RANDOM.partSUFFIX`` in the destination's
folder (``.song.master.wav.k3j9x1.part.wav``). The name starts with a dot (hidden, and skipped by
mixai's own folder scans), keeps the destination's suffix (audio writers pick the format from it),
and is recognised by :func:`is_temporary` and :func:`temporary_glob`, which the batch runner and
the OSC bridge use to clear what a killed worker left behind.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mixai.errors import OutputError

PART_MARK = ".part"
# ".NAME.RANDOM.part" followed by nothing or the destination's suffix.
_TEMPORARY = re.compile(r"^\..+\.[^.]+\.part(\.[^.]*)?$")


def temporary_path(dest: str | os.PathLike) -> Path:
    """Create an empty temporary file for ``dest`` in its folder and return its path."""
    dest = Path(dest)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f"{PART_MARK}{dest.suffix}",
                                dir=_folder(dest))
    os.close(fd)
    return Path(name)


def temporary_glob(dest_name: str) -> str:
    """A glob pattern (relative to the destination's folder) matching the temporaries of an
    output named ``dest_name``."""
    return f".{glob.escape(dest_name)}.*{PART_MARK}*"


def is_temporary(path: str | os.PathLike) -> bool:
    """True for a name made by :func:`temporary_path`."""
    return bool(_TEMPORARY.match(Path(path).name))


def remove_temporaries(folder: str | os.PathLike, *, dest_name: str | None = None,
                       recursive: bool = False) -> list[Path]:
    """Delete temporaries left in ``folder`` (only those of ``dest_name`` when given; in every
    subfolder too with ``recursive``) by a writer that never finished; returns what went."""
    folder = Path(folder)
    pattern = temporary_glob(dest_name) if dest_name is not None else f".*{PART_MARK}*"
    candidates = folder.rglob(pattern) if recursive else folder.glob(pattern)
    removed = []
    for path in candidates:
        if path.is_file() and is_temporary(path):
            try:
                path.unlink()
            except OSError:  # gone already, or not ours to delete
                continue
            removed.append(path)
    return removed


def commit(tmp: str | os.PathLike, dest: str | os.PathLike, *, overwrite: bool,
           doing: str = "writing") -> Path:
    """Rename a finished temporary over ``dest`` with normal file permissions.

    Without ``overwrite`` a ``dest`` that appeared meanwhile is left alone (the temporary goes and
    :class:`OutputError` says so); ``doing`` names the work in that message.
    """
    tmp, dest = Path(tmp), Path(dest)
    if dest.exists() and not overwrite:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{dest}: appeared while {doing}; not replaced without --overwrite")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal permissions
    os.replace(tmp, dest)
    return dest


@contextmanager
def atomic_path(dest: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary path to write ``dest`` through, with any writer (``onnx.save``, ``open``...).

    On leaving the block normally the temporary is renamed over ``dest`` (:func:`commit`); on an
    exception (Ctrl-C included) it is deleted and ``dest`` is untouched. An existing ``dest`` is an
    :class:`OutputError` up front unless ``overwrite``.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise OutputError(f"{dest}: already exists (use --overwrite to replace it)")
    tmp = temporary_path(dest)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    commit(tmp, dest, overwrite=overwrite)


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write a small text file (UTF-8) atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write a small binary file atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _folder(dest: Path) -> str:
    return str(dest.parent) if str(dest.parent) else "."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["PART_MARK", "temporary_path", "temporary_glob", "is_temporary", "remove_temporaries",
           "commit", "atomic_path", "write_text_atomic", "write_bytes_atomic"]
