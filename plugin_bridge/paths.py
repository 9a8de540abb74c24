"""Root confinement: every path a client names must resolve inside one of the ``--root`` folders.

Paths are resolved with :func:`os.path.realpath` (so ``..`` and symlinks are followed first) and the
*resolved* path must lie under a resolved root. Relative paths are taken relative to the first root.
Outputs are checked through their (resolved) parent folder, may not be symlinks themselves, may not
be an input of the same job, and keep the name the client gave.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

MAX_PATH_CHARS = 4096


class PathRefused(Exception):
    """A path that is outside the roots, missing, or otherwise unusable. The message is client-safe."""


class Roots:
    """The folders a bridge may read from and write to."""

    def __init__(self, roots: Iterable[str | os.PathLike]) -> None:
        resolved: list[str] = []
        for r in roots:
            real = os.path.realpath(os.fspath(r))
            if not os.path.isdir(real):
                raise ValueError(f"root {os.fspath(r)!r} is not a folder")
            if real not in resolved:
                resolved.append(real)
        if not resolved:
            raise ValueError("at least one root folder is required")
        self.paths: tuple[str, ...] = tuple(resolved)

    def __repr__(self) -> str:
        return f"Roots({list(self.paths)!r})"

    # --- helpers --------------------------------------------------------------------------------
    def _absolute(self, path: str) -> str:
        if not isinstance(path, str) or not path:
            raise PathRefused("path must be a non-empty string")
        if len(path) > MAX_PATH_CHARS or "\x00" in path:
            raise PathRefused("path is too long or contains a NUL character")
        path = os.path.expanduser(path) if path.startswith("~") else path
        return path if os.path.isabs(path) else os.path.join(self.paths[0], path)

    def root_of(self, real: str) -> str | None:
        for root in self.paths:
            if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return None

    def _inside(self, given: str, real: str) -> str:
        if self.root_of(real) is None:
            raise PathRefused(f"{given}: outside the allowed roots")
        return real

    # --- public checks --------------------------------------------------------------------------
    def input_file(self, path: str) -> str:
        """An existing regular file under a root; returns its resolved path."""
        real = self._inside(path, os.path.realpath(self._absolute(path)))
        if not os.path.isfile(real):
            raise PathRefused(f"{path}: no such file")
        return real

    def input_dir(self, path: str) -> str:
        """An existing folder under a root (a stems folder)."""
        real = self._inside(path, os.path.realpath(self._absolute(path)))
        if not os.path.isdir(real):
            raise PathRefused(f"{path}: no such folder")
        return real

    def output_file(self, path: str, *, inputs: Sequence[str] = (),
                    suffixes: Sequence[str] = (".wav", ".flac")) -> str:
        """Where a new file may be written: parent folder resolved under a root, not a symlink,
        not a folder, not one of ``inputs`` (resolved paths), with an allowed suffix."""
        absolute = self._absolute(path)
        name = os.path.basename(absolute)
        if not name or name in (".", ".."):
            raise PathRefused(f"{path}: not a file name")
        parent = os.path.realpath(os.path.dirname(absolute) or self.paths[0])
        self._inside(path, parent)
        if not os.path.isdir(parent):
            raise PathRefused(f"{path}: output folder does not exist")
        target = os.path.join(parent, name)
        if os.path.islink(target):
            raise PathRefused(f"{path}: output is a symbolic link; refused")
        if os.path.isdir(target):
            raise PathRefused(f"{path}: output is a folder")
        if suffixes and Path(name).suffix.lower() not in suffixes:
            raise PathRefused(f"{path}: output must end in {' or '.join(suffixes)}")
        for source in inputs:
            if target == source or (os.path.exists(target) and os.path.exists(source)
                                    and os.path.samefile(target, source)):
                raise PathRefused(f"{path}: output is an input of this job; inputs are never overwritten")
        return target


def is_under(roots: Roots, path: str) -> bool:
    return roots.root_of(os.path.realpath(path)) is not None


__all__ = ["Roots", "PathRefused", "MAX_PATH_CHARS", "is_under"]
