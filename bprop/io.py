"""Model files: one ``.npz`` with the arrays and a JSON entry, written atomically, read without pickle.

Layout: arrays under ``param/<key>`` and ``buffer/<key>`` (plus any extra
arrays a checkpoint adds), and the JSON document as a ``uint8`` array under
``__meta__``. ``numpy.load(..., allow_pickle=False)`` reads it, so loading a
file never executes code.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from ._version import __version__

META_KEY = "__meta__"
MODEL_FORMAT = "bprop-model"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_npz_atomic(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and the JSON ``meta`` to ``path``: temporary file in the same folder, then rename.

    A crash or error mid-write leaves any existing file at ``path`` untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    payload = {META_KEY: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for k, v in arrays.items():
        if k == META_KEY:
            raise ValueError(f"array name {META_KEY!r} is reserved")
        payload[k] = np.ascontiguousarray(v)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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


def model_payload(net) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and JSON document that describe ``net``."""
    arrays = {f"param/{k}": v for k, v in net.params.items()}
    arrays.update({f"buffer/{k}": v for k, v in net.buffers.items()})
    meta = {"format": MODEL_FORMAT, "bprop_version": __version__, **net.get_config(),
            "metadata": net.metadata}
    return arrays, meta


def net_from_payload(arrays: dict, meta: dict, path: str = "model"):
    from .network import Sequential
    if meta.get("format") not in (MODEL_FORMAT, "bprop-checkpoint"):
        raise ValueError(f"{path} is not a bprop model file (format {meta.get('format')!r})")
    try:
        net = Sequential.from_config(meta)
        state = {k.split("/", 1)[1]: v for k, v in arrays.items()
                 if k.startswith(("param/", "buffer/"))}
        net.load_state_dict(state)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} holds an inconsistent model: {exc}") from None
    net.metadata = meta.get("metadata", {}) or {}
    return net


def save_model(net, path) -> None:
    arrays, meta = model_payload(net)
    write_npz_atomic(path, arrays, meta)


def load(path):
    """Load a model written by :meth:`bprop.Sequential.save` (or a checkpoint's model).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, corrupt or not a bprop model.
    """
    arrays, meta = read_npz(path)
    return net_from_payload(arrays, meta, os.fspath(path))
