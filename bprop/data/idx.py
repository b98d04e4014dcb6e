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
import os
import zlib

import numpy as np

from ..io import write_bytes

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


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"IDX file {os.fspath(path)!r} is a corrupt or truncated gzip file ({exc}); "
            "delete it and download it again"
        ) from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into an array.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        Shape given by the header, native byte order, dtype from the type
        code (uint8 for MNIST).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not IDX, or is truncated or corrupt; the message names
        the file and what was wrong.

    Examples
    --------
    >>> images = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                        # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    data = _read_bytes(path)
    fix = "delete it and download it again"
    if len(data) < 4:
        raise ValueError(f"IDX file {name!r} is truncated: {len(data)} bytes, shorter than the 4-byte header; {fix}")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"IDX file {name!r} has magic number 0x{data[:4].hex()}, expected it to start with 0x0000; "
            "it is not an IDX file"
        )
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise ValueError(f"IDX file {name!r} has unknown type code 0x{code:02X}, expected one of {valid}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"IDX file {name!r} is truncated: its header declares {ndim} dimensions "
            f"({header} bytes) but the file has {len(data)} bytes; {fix}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise ValueError(
            f"IDX file {name!r} is truncated: shape {shape} needs {expected} bytes, the file has {len(data)}; {fix}"
        )
    if len(data) > expected:
        raise ValueError(
            f"IDX file {name!r} is corrupt: shape {shape} needs {expected} bytes, "
            f"the file has {len(data) - expected} bytes more; {fix}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


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
