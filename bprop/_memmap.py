"""Arrays that stay on disk: reading a memory-mapped ``X`` a chunk at a time.

``np.load(path, mmap_mode="r")`` and ``np.memmap`` give arrays whose pages the
kernel reads from the file when they are first touched. bprop reads such an
``X`` only in row chunks (finiteness checks, mini-batches, eval-mode forward
passes) and never copies it, so the Python heap holds at most a chunk or a
batch. The touched pages still count towards the process's resident set until
they are dropped; :class:`PageBudget` drops them (``madvise(MADV_DONTNEED)``:
the mapping stays valid, and pages still in the page cache come back without
a read from disk) once a budget of bytes has been read, so that the resident
set of a pass over a file larger than memory stays bounded.
"""

from __future__ import annotations

import mmap

import numpy as np

#: Bytes read from a mapped array between two releases of its pages.
RELEASE_EVERY = 64 << 20
#: Bytes of rows per chunk in a pass over a mapped array (finiteness checks, predict, evaluate).
CHUNK_BYTES = 4 << 20


def mapping(a) -> mmap.mmap | None:
    """The ``mmap`` behind ``a`` (an ``np.memmap`` or a view of one), else None."""
    while a is not None:
        m = getattr(a, "_mmap", None)
        if isinstance(m, mmap.mmap):
            return m
        a = getattr(a, "base", None)
    return None


def is_mapped(a) -> bool:
    return mapping(a) is not None


def chunk_rows(a, default: int) -> int:
    """Rows per chunk of ``a``: ``default``, at most :data:`CHUNK_BYTES` of rows when ``a`` is mapped."""
    if not is_mapped(a):
        return default
    row_bytes = max(a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)), 1)
    return max(min(default, CHUNK_BYTES // row_bytes), 1)


def row_chunks(a) -> range:
    """Start rows of chunks of about :data:`CHUNK_BYTES` of ``a`` (one chunk: the whole of an in-memory array)."""
    n = max(len(a), 1)
    return range(0, n, chunk_rows(a, n))


class PageBudget:
    """Counts the bytes read from a mapped array and releases its pages every :data:`RELEASE_EVERY`.

    For an in-memory array every call is a no-op.
    """

    def __init__(self, a, every: int = RELEASE_EVERY):
        self.map = mapping(a)
        self.every, self.read = every, 0

    def add(self, nbytes: int) -> None:
        if self.map is None:
            return
        self.read += nbytes
        if self.read >= self.every:
            self.release()

    def release(self) -> None:
        if self.map is not None and hasattr(self.map, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            self.map.madvise(mmap.MADV_DONTNEED)
        self.read = 0
