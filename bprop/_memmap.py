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

Rows read at scattered places (a shuffled batch) are different: one page
fault on a file mapping maps the cached pages around it too ("fault-around"),
and with the large page-cache folios of recent kernels a whole folio of up to
2 MiB — 512 scattered 4 KiB rows of a cached 200 MiB file were measured to
map 170 MiB. :class:`RowReader` therefore reads a shuffled batch's rows from
the file with ``os.preadv`` into the batch buffer, mapping nothing.
"""

from __future__ import annotations

import mmap
import os
import weakref

import numpy as np

#: Bytes read from a mapped array between two releases of its pages.
RELEASE_EVERY = 32 << 20
#: Bytes of rows per chunk in a pass over a mapped array (finiteness checks, predict, evaluate).
CHUNK_BYTES = 4 << 20


def mapping(a) -> mmap.mmap | None:
    """The ``mmap`` behind ``a`` (an ``np.memmap`` or a view of one), else None."""
    if type(a) is np.ndarray and a.base is None:     # owns its memory: no map behind it
        return None
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
        """``nbytes`` read in one contiguous run of rows."""
        if self.map is None:
            return
        self.read += nbytes
        if self.read >= self.every:
            self.release()

    def release(self) -> None:
        if self.map is not None and hasattr(self.map, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            self.map.madvise(mmap.MADV_DONTNEED)
        self.read = 0



def _root_memmap(a):
    """The ``np.memmap`` that owns the ``mmap`` behind ``a`` (its ``offset`` is its first byte in the file)."""
    while a is not None:
        if isinstance(a, np.memmap) and isinstance(getattr(a, "base", None), mmap.mmap):
            return a
        a = getattr(a, "base", None)
    return None


class RowReader:
    """Rows of a memory-mapped, C-ordered array read with ``os.preadv`` (nothing mapped in).

    ``RowReader.of(a)`` is None when ``a`` is not such an array (then gather with ``np.take``).
    Row ``i`` of ``a`` lies at byte ``offset + (a.data − root.data) + i·row_bytes`` of the file,
    ``root`` being the ``np.memmap`` that owns the mapping.
    """

    def __init__(self, fd: int, start: int, row_bytes: int, n_rows: int):
        self.fd, self.start, self.row_bytes, self.n_rows = fd, start, row_bytes, n_rows
        weakref.finalize(self, os.close, fd)

    @classmethod
    def of(cls, a) -> "RowReader | None":
        root = _root_memmap(a)
        if root is None or getattr(root, "filename", None) is None or not hasattr(os, "preadv") \
                or a.ndim < 1 or not a.flags.c_contiguous or len(a) == 0:
            return None
        start = root.offset + (a.__array_interface__["data"][0] - root.__array_interface__["data"][0])
        return cls(os.open(root.filename, os.O_RDONLY), start, a.strides[0], len(a))

    def take(self, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Rows ``idx`` into ``out`` (C-contiguous, ``len(idx)`` rows of the array's row shape and dtype)."""
        flat = out.reshape(len(idx), -1).view(np.uint8)
        for j, i in enumerate(idx.tolist()):
            n = os.preadv(self.fd, [flat[j]], self.start + i * self.row_bytes)
            if n != self.row_bytes:
                raise OSError(f"reading row {i} of a memory-mapped array gave {n} of {self.row_bytes} bytes: "
                              "the file was truncated while training")
        return out
