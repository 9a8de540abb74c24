"""Atomic writes: every file mixai writes goes to a temporary file beside it and is renamed into
place only when complete, so a crash, a cancel or Ctrl-C never leaves a half-written file under
the final name.

One temporary-name pattern for all of them: ``.NAME.RANDOM.partSUFFIX`` in the destination's
folder (``.song.master.wav.k3j9x1.part.wav``). The name starts with a dot (hidden, and skipped by
mixai's own folder scans), keeps the destination's suffix (audio writers pick the format from it),
and is recognised by :func:`is_temporary` and :func:`temporary_glob`, which the batch runner and
the OSC bridge use to clear what a killed worker left behind.

A writer holds an exclusive ``flock`` on its temporary for as long as it writes
(``temporary_path(dest, hold=True)``); the lock dies with the process, however it ends (``kill
-9`` included). So :func:`remove_temporaries` can tell a stray temporary (nobody holds it) from
one another mixai process is writing right now, and every mixai run clears the strays in the
folders it writes into. OS errors on the way (a folder without write permission, a read-only
file system, a full disk) become one :class:`~mixai.errors.OutputError` line (:func:`output_error`).
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mixai.errors import OutputError

PART_MARK = ".part"
# ".NAME.RANDOM.part" followed by nothing or the destination's suffix.
_TEMPORARY = re.compile(r"^\..+\.[^.]+\.part(\.[^.]*)?$")


_HELD: dict[str, int] = {}  # temporary path -> the descriptor whose flock marks it as being written


def output_error(dest: str | os.PathLike, exc: BaseException, doing: str = "write") -> OutputError:
    """One line for an OS error met while writing ``dest``: what, where and why (the system's words)."""
    folder = _folder(Path(dest))
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or (code is None and _nearly_full(folder)):
        why = "the disk is full (no space left on the device)"
    elif code in (errno.EACCES, errno.EPERM):
        why = f"permission denied in {folder}"
    elif code == errno.EROFS:
        why = f"{folder} is on a read-only file system"
    elif code == errno.EDQUOT:
        why = "the disk quota is used up"
    else:
        why = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0] or type(exc).__name__
    return OutputError(f"{dest}: cannot {doing} it: {why}")


def _nearly_full(folder: str) -> bool:
    """A write failed without saying why (pedalboard's writer): was it the disk filling up?"""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def temporary_path(dest: str | os.PathLike, *, hold: bool = False) -> Path:
    """Create an empty temporary file for ``dest`` in its folder and return its path.

    With ``hold`` the file stays locked (flock) until :func:`release_temporary` (or
    :func:`commit`, :func:`discard_temporary`), or until the process ends, so no clean-up takes
    it while it is written. An OS error is an :class:`OutputError` naming ``dest``.
    """
    dest = Path(dest)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f"{PART_MARK}{dest.suffix}",
                                    dir=_folder(dest))
    except OSError as exc:
        raise output_error(dest, exc) from None
    if not hold:
        os.close(fd)
        return Path(name)
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file nobody else has open: never waits
    _HELD[name] = fd
    return Path(name)


def release_temporary(tmp: str | os.PathLike) -> None:
    """Let go of a held temporary's lock (it is committed, deleted, or handed on)."""
    fd = _HELD.pop(os.fspath(tmp), None)
    if fd is not None:
        os.close(fd)


def discard_temporary(tmp: str | os.PathLike) -> None:
    """Delete a temporary (if it is still there) and let go of its lock."""
    try:
        Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass
    release_temporary(tmp)


def in_use(path: str | os.PathLike) -> bool:
    """True while some process (this one included) holds ``path`` as a temporary it writes."""
    import fcntl

    if os.fspath(path) in _HELD:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # gone, or not ours to open: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock
    return False


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
    subfolder too with ``recursive``) by a writer that never finished; returns what went.
    Temporaries a live writer holds (:func:`in_use`) stay."""
    folder = Path(folder)
    pattern = temporary_glob(dest_name) if dest_name is not None else f".*{PART_MARK}*"
    candidates = folder.rglob(pattern) if recursive else folder.glob(pattern)
    removed = []
    for path in candidates:
        if path.is_file() and is_temporary(path) and not in_use(path):
            try:
                path.unlink()
            except OSError:  # gone already, or not ours to delete
                continue
            removed.append(path)
    return removed


def clear_strays(*dests: str | os.PathLike | None) -> list[Path]:
    """Before writing ``dests``: remove the temporaries that killed runs left in their folders
    (never one a live writer holds). Returns what went."""
    folders = {Path(_folder(Path(d))).resolve() for d in dests if d is not None}
    removed: list[Path] = []
    for folder in sorted(folders):
        if folder.is_dir():
            removed += remove_temporaries(folder)
    return removed


def commit(tmp: str | os.PathLike, dest: str | os.PathLike, *, overwrite: bool,
           doing: str = "writing") -> Path:
    """Rename a finished temporary over ``dest`` with normal file permissions.

    Without ``overwrite`` a ``dest`` that appeared meanwhile is left alone (the temporary goes and
    :class:`OutputError` says so); ``doing`` names the work in that message.
    """
    tmp, dest = Path(tmp), Path(dest)
    if dest.exists() and not overwrite:
        discard_temporary(tmp)
        raise OutputError(f"{dest}: appeared while {doing}; not replaced without --overwrite")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal permissions
        os.replace(tmp, dest)
    except OSError as exc:
        discard_temporary(tmp)
        raise output_error(dest, exc, "put") from None
    release_temporary(tmp)
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
    tmp = temporary_path(dest, hold=True)
    try:
        yield tmp
    except BaseException:
        discard_temporary(tmp)
        raise
    commit(tmp, dest, overwrite=overwrite)


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write a small text file (UTF-8) atomically; an OS error is an :class:`OutputError`."""
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite=overwrite)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write a small binary file atomically; an OS error is an :class:`OutputError`."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise output_error(path, exc) from None
    return Path(path)


def _folder(dest: Path) -> str:
    return str(dest.parent) if str(dest.parent) else "."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["PART_MARK", "output_error", "temporary_path", "release_temporary", "discard_temporary", "in_use",
           "temporary_glob", "is_temporary", "remove_temporaries", "clear_strays", "commit", "atomic_path", "write_text_atomic",
           "write_bytes_atomic"]
