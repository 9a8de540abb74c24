"""Environment variables set for the processes mixai starts, and put back afterwards.

Worker processes started by exec (``spawn``, a new ``forkserver``) read their settings (thread
counts, allocator tunables) from the environment they inherit, so the parent sets them just for
the start and leaves its own environment as it found it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` in ``os.environ`` while inside; each one's earlier value (or absence) after."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


__all__ = ["scoped_environment"]
