"""Find and load a plain C library that the package build compiled next to a module (setup.py's
optional extensions: no Python C API, called through ctypes), or None where it was not built."""

from __future__ import annotations

import ctypes
import importlib.machinery
from pathlib import Path


def load_library(folder: str | Path, stem: str) -> ctypes.CDLL | None:
    """``folder/stem<extension suffix>`` loaded with ctypes (foreign calls release the GIL), or None
    when no such file is there or it does not load (built for another platform)."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = Path(folder) / f"{stem}{suffix}"
        if path.is_file():
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                return None
    return None


__all__ = ["load_library"]
