"""Reader and writer for the IDX format of MNIST and Fashion-MNIST.

An IDX file (http://yann.lecun.com/exdb/mnist/) is, all big-endian::

    byte 0-1   0x00 0x00
    byte 2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
               0x0D float32, 0x0E float64
    byte 3     number of dimensions d
    4·d bytes  each dimension as an unsigned 32-bit integer
    the data, C order, prod(dims) items of the type

Files may be gzip-compressed (``.gz``); the reader recognises gzip by its
magic bytes, not by the file name.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..io import write_bytes
from ._errors import DataFileError

#: IDX type code -> big-endian NumPy dtype
DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").str: code for code, dt in DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
#: deflate expands a stream by at most about 1032:1, so a gzip file of n bytes holds at most this many times n
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20
_FIX = "delete it and download it again"


def _gzip_error(name: str, exc: BaseException) -> DataFileError:
    return DataFileError(f"IDX file {name!r} is a corrupt or truncated gzip file ({exc}); {_FIX}", path=name)


def _read_into(stream, buf: memoryview, name: str, compressed: bool) -> int:
    """Fill ``buf`` from ``stream`` as far as it goes; the number of bytes read."""
    got = 0
    try:
        while got < len(buf):
            n = stream.readinto(buf[got:got + _CHUNK])
            if not n:
                break
            got += n
    except (OSError, EOFError, zlib.error) as exc:
        if not compressed:
            raise
        raise _gzip_error(name, exc) from None
    return got


def _read_header(stream, name: str, compressed: bool) -> tuple[np.dtype, tuple[int, ...], int]:
    """``(dtype, shape, header bytes)`` from the start of an IDX stream."""
    start = bytearray(4)
    got = _read_into(stream, memoryview(start), name, compressed)
    if got < 4:
        raise DataFileError(f"IDX file {name!r} is truncated: {got} bytes, shorter than the 4-byte header; {_FIX}",
                            path=name)
    if start[0] != 0 or start[1] != 0:
        raise DataFileError(
            f"IDX file {name!r} has magic number 0x{bytes(start).hex()}, expected it to start with 0x0000; "
            "it is not an IDX file", path=name)
    code, ndim = start[2], start[3]
    if code not in DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise DataFileError(f"IDX file {name!r} has unknown type code 0x{code:02X}, expected one of {valid}", path=name)
    dims = bytearray(4 * ndim)
    got = _read_into(stream, memoryview(dims), name, compressed)
    if got < len(dims):
        raise DataFileError(
            f"IDX file {name!r} is truncated: its header declares {ndim} dimensions "
            f"({4 + len(dims)} bytes) but the file has {4 + got} bytes; {_FIX}", path=name)
    shape = tuple(int(d) for d in np.frombuffer(bytes(dims), dtype=">u4"))
    return DTYPES[code], shape, 4 + len(dims)


def _check_expected(name: str, dtype: np.dtype, shape: tuple[int, ...], want_shape, want_dtype) -> None:
    matches = want_shape is None or (len(shape) == len(want_shape) and all(
        w is None or w == s for s, w in zip(shape, want_shape)))
    if want_dtype is not None and dtype != np.dtype(want_dtype):
        matches = False
    if not matches:
        want = " × ".join("n" if w is None else str(w) for w in want_shape) if want_shape is not None else "any shape"
        kind = np.dtype(want_dtype).name if want_dtype is not None else "any type"
        raise DataFileError(
            f"IDX file {name!r} is not the expected file: its header declares {dtype.newbyteorder('=').name} data "
            f"of shape {shape}, expected {kind} of shape {want}; {_FIX}", path=name)


def read_idx(path, *, shape=None, dtype=None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into an array.

    The header is checked before the data is read: against ``shape`` and
    ``dtype`` when they are given, against the file's size (a raw file must
    have exactly the bytes its header declares; a gzip file cannot expand by
    more than deflate's 1032:1), and the data is then decompressed into an
    array of the declared size, never more. A small file whose header claims
    a huge array costs neither memory nor time.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte.gz``.
    shape : tuple of int or None, optional
        The shape the file must declare; ``None`` entries match any size.
    dtype : numpy dtype, optional
        The element type the file must declare (e.g. ``np.uint8``).

    Returns
    -------
    ndarray
        Shape given by the header, native byte order, dtype from the type
        code (uint8 for MNIST).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataFileError
        A ``ValueError``: the file is not IDX, is truncated or corrupt, or
        declares another shape or type than expected; the message names the
        file and what was wrong.

    Examples
    --------
    >>> images = read_idx("train-images-idx3-ubyte.gz", shape=(None, 28, 28))  # doctest: +SKIP
    >>> images.shape, images.dtype                                             # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    with open(path, "rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        with (gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw) as stream:
            return _read_body(stream, name, size, compressed, shape, dtype)


def _read_body(stream, name: str, size: int, compressed: bool, want_shape, want_dtype) -> np.ndarray:
    dtype, shape, header = _read_header(stream, name, compressed)
    _check_expected(name, dtype, shape, want_shape, want_dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    expected = header + nbytes
    if not compressed and size != expected:
        if size < expected:
            raise DataFileError(f"IDX file {name!r} is truncated: shape {shape} needs {expected} bytes, "
                                f"the file has {size}; {_FIX}", path=name)
        raise DataFileError(f"IDX file {name!r} is corrupt: shape {shape} needs {expected} bytes, "
                            f"the file has {size - expected} bytes more; {_FIX}", path=name)
    if compressed and expected > _DEFLATE_MAX_RATIO * size:
        raise DataFileError(
            f"IDX file {name!r} is truncated or forged: its header declares shape {shape} ({expected} bytes), "
            f"more than a gzip file of {size} bytes can hold; {_FIX}", path=name)
    buf = np.empty(nbytes, dtype=np.uint8)
    got = _read_into(stream, memoryview(buf), name, compressed)
    if got < nbytes:
        raise DataFileError(f"IDX file {name!r} is truncated: shape {shape} needs {expected} bytes, "
                            f"the file has {header + got}; {_FIX}", path=name)
    if compressed and _read_into(stream, memoryview(bytearray(1)), name, compressed):
        raise DataFileError(f"IDX file {name!r} is corrupt: shape {shape} needs {expected} bytes, "
                            f"the file holds more; {_FIX}", path=name)
    array = buf.view(dtype).reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (atomically), gzip-compressed when ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
    array : array-like
        Of dtype uint8, int8, int16, int32, float32 or float64, at most 255 dimensions.
    """
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str
    if key not in _CODES:
        valid = ", ".join(str(dt.newbyteorder("=")) for dt in DTYPES.values())
        raise TypeError(f"write_idx: array dtype must be one of {valid}, got {array.dtype}")
    code = _CODES[key]
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX holds at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    if os.fspath(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    write_bytes(path, payload)
