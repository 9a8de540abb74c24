"""Keep freed audio buffers in the process, so that the next block does not fault its pages in again.

mixai streams audio in blocks of a few megabytes and frees a block's arrays before it reads the
next. With glibc's default settings a free of that size goes straight back to the kernel (an
``munmap``, or a trim of the heap's top), and the next block's arrays are faulted in and zeroed
page by page: a 3-minute master took about 50,000 page faults and spent a sixth of its CPU time in
the kernel, and two batch workers doing so at once slowed each other down. Two ``mallopt``
settings keep that memory for reuse instead: allocations up to :data:`MMAP_THRESHOLD` come from
the heap, and up to :data:`TRIM_THRESHOLD` of free heap is kept rather than trimmed. The arrays
alive at the peak are the same, so peak memory stays about the same; the memory is just not
handed back between blocks.

A worker process that mixai starts itself (a batch or bridge worker) gets the same two settings as
glibc tunables in its environment instead (:func:`worker_variables`), with one more: heap memory
marked for transparent huge pages (``glibc.malloc.hugetlb=1``), so a fresh worker's first item
takes about 9,000 page faults instead of 33,000 (17,000 with the ``mallopt`` settings alone). Page
faults are dear on a virtual machine and two processes faulting at once slow each other down: on
a 2-core VM a batch of 8 one-minute files with 2 workers took 1.81 s, against 2.19 s with glibc's
defaults in the same benchmark run (``benchmarks/bench_startup.py``). It only takes effect
where the kernel's transparent huge pages are ``madvise`` or ``always``; tunables are read once, at
start-up, which is why the running command itself keeps the ``mallopt`` calls.

Only glibc has these settings; elsewhere (macOS, musl) :func:`keep_freed_memory` does nothing.
Allocator settings a user gave glibc themselves (``GLIBC_TUNABLES``, ``MALLOC_*`` variables) are
left alone, and ``MIXAI_ALLOCATOR=system`` leaves the defaults (for comparing against them).
"""

from __future__ import annotations

import os
from functools import lru_cache

ALLOCATOR_ENV = "MIXAI_ALLOCATOR"  # "system": glibc's own settings, untouched
MMAP_THRESHOLD = 32 << 20   # bytes; larger allocations are still mapped (and unmapped) one by one
TRIM_THRESHOLD = 256 << 20  # bytes of free heap kept before the heap's top is given back

WORKER_TUNABLES = (f"glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold={MMAP_THRESHOLD}"
                   f":glibc.malloc.trim_threshold={TRIM_THRESHOLD}")

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")  # only glibc answers
    except (ValueError, OSError, AttributeError):
        return False


def _user_tuned() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if tunables == WORKER_TUNABLES:
        return False  # mixai's own, given to a worker it started
    return "glibc.malloc." in tunables or any(name.startswith("MALLOC_") for name in os.environ)


def _left_to_us() -> bool:
    """glibc, and the user asked neither for its defaults nor for settings of their own."""
    return os.environ.get(ALLOCATOR_ENV) != "system" and not _user_tuned() and _is_glibc()


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Apply the settings above to this process once; whether they are in force.

    Call it at the start of a process that masters audio (the ``mixai`` command, a batch or bridge
    worker), not from library code: it changes the whole process's allocator.
    """
    if not _left_to_us():
        return False
    if os.environ.get("GLIBC_TUNABLES") == WORKER_TUNABLES:
        return True  # in force since this process started
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # The fixed mmap threshold also switches off glibc's own sliding one, which starts at 128 kB.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def worker_variables() -> dict[str, str]:
    """The environment a worker process that mixai starts by exec should get for these settings
    (for :func:`mixai.environment.scoped_environment`): :data:`WORKER_TUNABLES`, or nothing off
    glibc, under ``MIXAI_ALLOCATOR=system`` or when the user set allocator variables of their own
    (the workers inherit those as they are)."""
    return {"GLIBC_TUNABLES": WORKER_TUNABLES} if _left_to_us() else {}


__all__ = ["ALLOCATOR_ENV", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "WORKER_TUNABLES", "keep_freed_memory",
           "worker_variables"]
