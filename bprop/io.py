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
file. ``numpy.load(..., allow_pickle=False)`` reads it, so loading a file never
executes code.
"""

from __future__ import annotations

import contextlib
import json
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
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            raise _naming(exc, path, tmp) from None
        raise


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


def read_npz(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`write_npz_atomic`; clear errors for missing, truncated or foreign files."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot read {path}: the file is truncated, corrupt or not a bprop "
                         f".npz file ({type(exc).__name__}: {exc})") from None
    if META_KEY not in arrays:
        raise ValueError(f"{path} is an .npz file but not one written by bprop (no {META_KEY} entry)")
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: its JSON header is corrupt ({exc})") from None
    return arrays, meta
