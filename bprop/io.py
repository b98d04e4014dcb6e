"""Files: the one atomic writer, and ``.npz`` files of arrays plus a JSON entry read without pickle.

Every file bprop writes goes through :func:`atomic_write`: the bytes go to a
temporary file made by :func:`tempfile.mkstemp` in the destination's folder,
are flushed and ``fsync``-ed to disk, get the usual mode (``0o666`` less the
umask; ``mkstemp`` makes ``0o600``) and only then take the real name with
:func:`os.replace`. A crash or an error at any point leaves an existing file at
that name untouched and removes the temporary file.

``.npz`` layout (models, checkpoints, saved estimators): the arrays under
names such as ``param/<key>`` and ``buffer/<key>``, and the JSON document as a
``uint8`` array under ``__meta__``; its ``"format"`` entry names the kind of
file. :func:`read_npz` reads it as an untrusted file: member names, sizes and
``.npy`` headers are checked before any data is read, numbers only (nothing is
ever unpickled), so loading a file never executes code and a small file cannot
cost much memory or time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
import zipfile

import numpy as np

META_KEY = "__meta__"
MODEL_FORMAT = "bprop-model"
CHECKPOINT_FORMAT = "bprop-checkpoint"
#: in the name of every temporary file :func:`atomic_write` makes (see :func:`is_temporary`)
TEMPORARY_MARK = ".bprop-tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", *, newline: str | None = None, suffix: str = ".tmp"):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The destination; its folder is created if needed.
    mode : {"wb", "w"}
        Binary, or text in UTF-8.
    newline : str, optional
        As for :func:`open` in text mode (``""`` for the :mod:`csv` module).
    suffix : str
        Ending of the temporary file's name (``.part`` for downloads).

    Yields
    ------
    file
        The open temporary file. When the ``with`` block raises (any
        ``BaseException``), the temporary file is removed and ``path`` is left
        as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path, "w") as f:
    ...     _ = f.write("backprop\\n")
    >>> open(path).read()
    'backprop\\n'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}{TEMPORARY_MARK}", suffix=suffix, dir=folder)
    except OSError as exc:
        raise _naming(exc, path, None) from None
    try:
        text = {"encoding": "utf-8", "newline": newline} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        # A storage error of the temporary file (disk full, read-only, ...) is told about ``path``;
        # any other error raised inside the block (a network error of a download) passes unchanged.
        if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRORS and exc.filename in (None, tmp):
            raise _naming(exc, path, tmp) from None
        raise


_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO}


def _naming(exc: OSError, path: str, tmp: str | None) -> OSError:
    """``exc`` (no space left, a read-only folder, ...) told about ``path``, not the temporary file."""
    reason = exc.strerror or str(exc)
    return OSError(exc.errno, f"cannot write {path}: {reason}") if exc.errno else OSError(
        f"cannot write {path}: {reason}")


def is_temporary(name: str) -> bool:
    """Whether ``name`` (a file name, no folder) is a temporary file of :func:`atomic_write`,
    such as a ``kill -9`` leaves behind: ``.<name>.bprop-tmp-<random><suffix>``."""
    return name.startswith(".") and TEMPORARY_MARK in name


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` in UTF-8, atomically (:func:`atomic_write`), newlines as they are."""
    write_bytes(path, text.encode("utf-8"))


def with_prefix(prefix: str, arrays: dict) -> dict:
    """``arrays`` with every name written ``<prefix><name>`` (e.g. ``"optim/"``)."""
    return {f"{prefix}{k}": v for k, v in arrays.items()}


def strip_prefix(prefix: str, arrays: dict) -> dict:
    """The entries of ``arrays`` named ``<prefix><name>``, under ``<name>``."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def write_npz_atomic(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and the JSON ``meta`` to ``path`` with :func:`atomic_write`."""
    payload = {META_KEY: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for k, v in arrays.items():
        if k == META_KEY:
            raise ValueError(f"array name {META_KEY!r} is reserved")
        payload[k] = np.ascontiguousarray(v)
    with atomic_write(path, "wb", suffix=".npz") as f:
        np.savez(f, **payload)


#: The largest JSON document read from a file: a model's description and metadata, a
#: checkpoint's history (one learning rate per step). Larger claims are refused unread.
MAX_META_BYTES = 64 * 2**20
#: Longest ``.npy`` header read (NumPy's own default limit).
MAX_HEADER_BYTES = 10_000
#: Array dtypes of parameters, buffers and optimiser state; of row indices.
FLOATS = ("float32", "float64")
INDICES = ("int64",)


def _member_kind(name: str, members: dict):
    """The dtypes ``members`` allows for the array called ``name``; ``None`` if it is not expected.

    A key of ``members`` ending in ``/`` is a prefix (``"param/"``), any other an exact name.
    """
    for pattern, dtypes in members.items():
        if (name.startswith(pattern) and len(name) > len(pattern)) if pattern.endswith("/") else name == pattern:
            return dtypes
    return None


def _describe_members(members: dict) -> str:
    return ", ".join([META_KEY] + [p + "<key>" if p.endswith("/") else p for p in members])


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, dtypes, path: str, what: str):
    """``(shape, dtype)`` from member ``info``'s ``.npy`` header, checked against ``dtypes`` and its declared size."""
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, fortran, dtype = read(fp, max_header_size=MAX_HEADER_BYTES)
        except (ValueError, EOFError, SyntaxError, TypeError) as exc:
            raise ValueError(f"{path} is not a {what}: its array {key!r} has no valid .npy header ({exc})") from None
        start = fp.tell()
    if dtype.hasobject:
        raise ValueError(f"{path} is not a {what}: its array {key!r} holds Python objects (dtype {dtype}), "
                         "which bprop never writes and never unpickles; bprop files hold only numbers")
    if dtype.name not in dtypes or not dtype.isnative:
        raise ValueError(f"{path} is not a {what}: its array {key!r} has dtype {dtype.str} "
                         f"({dtype.name}); bprop writes {key!r} as {' or '.join(dtypes)}")
    if fortran:
        raise ValueError(f"{path} is not a {what}: its array {key!r} is in Fortran order; bprop writes C order")
    need = math.prod(shape) * dtype.itemsize
    if info.file_size - start != need:
        raise ValueError(f"{path} is not a {what}: its array {key!r} claims shape {shape} of {dtype.name} "
                         f"({need:,} bytes) but holds {info.file_size - start:,} bytes; the file is corrupt")
    return shape, dtype


def _read_data(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape, dtype) -> np.ndarray:
    """The array of a member whose header :func:`_read_header` has checked."""
    arr = np.empty(shape, dtype)
    with zf.open(info) as fp:
        fp.seek(info.file_size - arr.nbytes)
        view = memoryview(arr.reshape(-1)).cast("B")
        done = 0
        while done < arr.nbytes:
            n = fp.readinto(view[done:])
            if not n:
                raise EOFError("the data ends early")
            done += n
        fp.read(1)   # reaching the end checks the member's CRC-32
    return arr


def read_npz(path, members: dict, *, what: str = "bprop file", check=None,
             read=None) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`write_npz_atomic`, refusing anything else before reading its data.

    The file is untrusted, so it costs at most about its own size in memory:

    1. its zip directory: the members must be ``__meta__`` and the names
       ``members`` allows, each once, stored uncompressed (as :func:`numpy.savez`
       writes them) and no larger than the file; anything else (a junk or
       compressed member, a zip bomb) is refused unread;
    2. ``__meta__``: at most :data:`MAX_META_BYTES`, a JSON object;
    3. each array's ``.npy`` header: a dtype ``members`` allows (never
       ``object``: nothing is unpickled), C order, and a shape whose size is
       the member's size;
    4. ``check(meta, shapes)``, if given, with ``shapes`` ``{name: (shape,
       dtype)}``: the caller compares the description with the arrays present
       (raising ``ValueError``) while nothing but headers has been read;
    5. the data of the arrays named in ``read`` (prefixes or names as in
       ``members``; default all).

    Parameters
    ----------
    members : dict
        ``{name or "prefix/": allowed dtype names}``, e.g. ``{"param/": FLOATS,
        "split/train": INDICES}``.
    what : str
        What the file should be, for messages: ``"bprop model file"``.

    Returns
    -------
    arrays : dict[str, ndarray]
    meta : dict

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming ``path``, for every file that is not what it should be.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder, not a {what}")
    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {}
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"{path} is not a {what}: it holds {info.filename!r}, not an array")
                key = info.filename[:-len(".npy")]
                dtypes = ("uint8",) if key == META_KEY else _member_kind(key, members)
                if dtypes is None:
                    raise ValueError(f"{path} is not a {what}: it holds an array {key!r}, which bprop does not "
                                     f"write (expected {_describe_members(members)})")
                if key in infos:
                    raise ValueError(f"{path} is not a {what}: it holds the array {key!r} twice")
                if info.flag_bits & 0x1:
                    raise ValueError(f"{path} is not a {what}: its array {key!r} is encrypted")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ValueError(f"{path} is not a {what}: its array {key!r} is compressed; bprop stores "
                                     "arrays uncompressed (np.savez), so their size is the file's")
                if info.file_size > size or info.compress_size != info.file_size:
                    raise ValueError(f"{path} is not a {what}: its array {key!r} claims {info.file_size:,} "
                                     f"bytes in a file of {size:,}; the file is corrupt")
                if key == META_KEY and info.file_size > MAX_META_BYTES + MAX_HEADER_BYTES:
                    raise ValueError(f"{path} is not a {what}: its JSON entry claims {info.file_size:,} bytes "
                                     f"(at most {MAX_META_BYTES:,} are read)")
                infos[key] = (info, dtypes)
            if META_KEY not in infos:
                raise ValueError(f"{path} is an .npz file but not a {what} (no {META_KEY} entry)")
            shapes = {key: _read_header(zf, info, key, dtypes, path, what) for key, (info, dtypes) in infos.items()}
            if len(shapes[META_KEY][0]) != 1:
                raise ValueError(f"{path} is not a {what}: its {META_KEY} entry is not a 1-D array of bytes")
            raw = _read_data(zf, infos[META_KEY][0], *shapes.pop(META_KEY))
            try:
                meta = json.loads(raw.tobytes().decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise ValueError(f"cannot read {path}: its JSON entry is corrupt ({exc})") from None
            del raw
            if not isinstance(meta, dict):
                raise ValueError(f"{path} is not a {what}: its JSON entry is a {type(meta).__name__}, "
                                 "not an object")
            if check is not None:
                check(meta, shapes)
            wanted = members if read is None else {k: members[k] for k in read}
            arrays = {key: _read_data(zf, infos[key][0], *shapes[key])
                      for key in shapes if _member_kind(key, wanted) is not None}
    except PermissionError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise ValueError(f"cannot read {path}: the file is truncated, corrupt or not a {what} "
                         f"({type(exc).__name__}: {exc})") from None
    return arrays, meta
