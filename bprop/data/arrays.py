"""``npy:X.npy,y.npy`` and ``npz:FILE``: arrays on disk, memory-mapped, never read whole.

``X`` stays in its file (``np.load(path, mmap_mode="r")``; for an ``.npz``
the member's bytes are mapped where they lie inside the zip, which needs a
member written uncompressed, by ``np.savez``). ``y`` is small and is read.
Neither file may hold pickled objects. The test part is the *last*
``ceil(test_size · n)`` rows, a view of the same map: shuffle a sorted file
once before training on it. ``X`` must be float32 or float64, the dtype the
network computes in (``--dtype``), since converting it would copy it.
"""

from __future__ import annotations

import math
import os
import zipfile

import numpy as np

from ._dataset import CLASSIFICATION, REGRESSION, Dataset
from ._errors import DataFileError

NPY_PREFIX, NPZ_PREFIX = "npy:", "npz:"


def _npy_map(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no such file: {path}") from None
    except (ValueError, OSError) as exc:
        raise DataFileError(f"{what}: {path} is not a readable .npy file of numbers ({exc})", path=path) from None


def _npz_member_map(path: str, name: str) -> np.ndarray:
    """Member ``name`` (``X`` or ``y``) of the ``.npz`` ``path``, mapped at its offset inside the zip."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"npz: no such file: {path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFileError(f"npz:{path} is not an .npz file ({exc})", path=path) from None
    with zf:
        members = {os.path.splitext(i.filename)[0]: i for i in zf.infolist()}
        if name not in members:
            raise DataFileError(f"npz:{path} has no array named {name!r} (it has {', '.join(sorted(members)) or 'none'}); "
                                "save it as np.savez(FILE, X=X, y=y)", path=path)
        info = members[name]
        if info.compress_type != zipfile.ZIP_STORED:
            raise DataFileError(f"npz:{path}: array {name!r} is compressed (np.savez_compressed), so it cannot be "
                                "memory-mapped; write the file with np.savez, or use npy:X.npy,y.npy", path=path)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise DataFileError(f"npz:{path}: the zip entry of {name!r} is damaged", path=path)
        start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
        f.seek(start)
        try:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
        except ValueError as exc:
            raise DataFileError(f"npz:{path}: array {name!r} has no valid .npy header ({exc})", path=path) from None
        offset = f.tell()
    if dtype.hasobject:
        raise DataFileError(f"npz:{path}: array {name!r} holds Python objects; bprop never unpickles data", path=path)
    if offset + dtype.itemsize * math.prod(shape) > os.path.getsize(path):
        raise DataFileError(f"npz:{path}: array {name!r} is truncated", path=path)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def load(spec: str, *, test_size: float = 0.2) -> Dataset:
    """The :class:`Dataset` of ``npy:X.npy,y.npy`` or ``npz:FILE``, ``X`` memory-mapped."""
    if spec.lower().startswith(NPY_PREFIX):
        paths = [os.path.expanduser(p) for p in spec[len(NPY_PREFIX):].split(",")]
        if len(paths) != 2 or not all(paths):
            raise ValueError(f"{spec!r}: npy: takes two files, e.g. --data npy:X.npy,y.npy")
        X, y = _npy_map(paths[0], "npy: X"), _npy_map(paths[1], "npy: y")
        path = paths[0]
    else:
        path = os.path.expanduser(spec[len(NPZ_PREFIX):])
        if not path:
            raise ValueError("npz: needs a path after the colon, e.g. --data npz:data.npz")
        X, y = _npz_member_map(path, "X"), _npz_member_map(path, "y")
    if X.ndim != 2 or X.dtype not in (np.float32, np.float64) or not X.flags.c_contiguous:
        raise DataFileError(f"{spec}: X must be a C-ordered 2-D float32 or float64 array, got {X.dtype} of shape "
                            f"{X.shape}; write it with np.save(path, np.ascontiguousarray(X, np.float32))", path=path)
    y = np.asarray(y)                         # targets are small: read them
    if y.ndim not in (1, 2) or len(y) != len(X):
        raise DataFileError(f"{spec}: y must have one row per row of X ({len(X)}), got shape {y.shape}", path=path)
    task = CLASSIFICATION if np.issubdtype(y.dtype, np.integer) or y.dtype == bool else REGRESSION
    n_test = int(math.ceil(test_size * len(X))) if test_size > 0 else 0
    if n_test >= len(X):
        raise ValueError(f"{spec}: --test-size {test_size} leaves no training rows out of {len(X)}")
    cut = len(X) - n_test
    return Dataset(name=spec, X_train=X[:cut], y_train=y[:cut], X_test=X[cut:], y_test=y[cut:], task=task,
                   description=f"{len(X):,} rows × {X.shape[1]} features, memory-mapped from disk "
                               f"(the last {n_test:,} rows are the test part)")
