r"""safetensors files: ``net.save("m.safetensors")``, ``bp.load("m.safetensors")``, ``bp.load_state_dict_into``.

A bprop ``.safetensors`` file holds the parameters and buffers under torch's
``state_dict`` names (:mod:`bprop.interop.torch`: ``"0.weight"``, ``"0.bias"``,
``"2.running_mean"``, ``"2.num_batches_tracked"``), so that

>>> model.load_state_dict(safetensors.torch.load_file("m.safetensors"), strict=True)  # doctest: +SKIP

works for the matching ``torch.nn.Sequential`` (:func:`bprop.interop.torch.to_torch`
builds it). Its metadata holds ``"format": "pt"`` (what torch's tools expect)
and, under ``"bprop"``, the JSON description of a bprop model file
(``bprop_version``, ``dtype``, ``layers``, ``metadata``), so that ``bp.load``
restores the whole network.

A file is untrusted: :func:`read_header` checks the 8-byte header length, the
JSON header (every tensor's dtype, shape and byte range inside the file, no
overlaps) and then the description against the tensors
(:func:`bprop.model_file.check_model`) before any tensor is read. The
``safetensors`` package (NumPy API; no torch) writes the files and reads the
tensors once they are checked: ``pip install 'bprop[safetensors]'``.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ..io import MAX_META_BYTES, MODEL_FORMAT, write_bytes
from ..model_file import check_finite, check_model
from .torch import TORCH_NAMES, from_torch_names, torch_state

#: safetensors dtype names bprop reads, and what they are.
DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8")}
#: The most dimensions a tensor may claim.
MAX_NDIM = 8
_BUFFERS = ("running_mean", "running_var")


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("safetensors files need the safetensors package: pip install 'bprop[safetensors]'") from None
    return safetensors.numpy


def write(path, arrays: dict, meta: dict) -> None:
    """Write a model file's payload (:meth:`bprop.Sequential.to_payload`) as ``path`` (atomically).

    ``arrays`` are named ``param/<i>.<name>`` / ``buffer/<i>.<name>``; they are
    stored under torch's names, with an int64 ``num_batches_tracked`` of 0 per
    BatchNorm (bprop keeps no such count).
    """
    st = _safetensors_numpy()
    tensors = {}
    for key, value in arrays.items():
        index, _, ours = key.split("/", 1)[1].partition(".")
        kind = meta["layers"][int(index)]["type"]
        tensors[f"{index}.{TORCH_NAMES[kind][ours]}"] = np.ascontiguousarray(value)
    for i, spec in enumerate(meta["layers"]):
        if spec["type"] == "BatchNorm":
            tensors[f"{i}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
    data = st.save(tensors, metadata={"format": "pt", "bprop": json.dumps(meta)})
    write_bytes(path, data)


def read_header(path: str) -> tuple[dict, dict]:
    """``({name: (shape, dtype)}, metadata)`` of a safetensors file, checked, before any tensor is read.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming ``path``: a header longer than the file or than
        :data:`bprop.io.MAX_META_BYTES`, JSON that is not an object of
        tensors, a dtype other than F32/F64/I64, a shape or byte range that
        does not fit the file, overlaps another tensor or leaves bytes that
        belong to no tensor.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder, not a safetensors file")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path} is not a safetensors file: it has {len(head)} bytes, fewer than the 8 of "
                             "the header length")
        n = int.from_bytes(head, "little")
        if n > MAX_META_BYTES or n > size - 8:
            raise ValueError(f"{path} is not a safetensors file: its header claims {n:,} bytes in a file of "
                             f"{size:,} (at most {MAX_META_BYTES:,} are read)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path} is not a safetensors file: its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a safetensors file: its header is a {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{path}: the safetensors __metadata__ must be an object of strings")
    data_size = size - 8 - n
    shapes, ranges = {}, []
    for name, entry in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{where} must be an object with dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise ValueError(f"{where} has dtype {dtype!r}; bprop reads {', '.join(DTYPES)}")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise ValueError(f"{where} has shape {str(shape)[:60]}; expected a list of at most {MAX_NDIM} "
                             "non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise ValueError(f"{where} has data_offsets {str(offsets)[:60]} outside the {data_size:,} data bytes of "
                             "the file; the file is truncated or corrupt")
        need = math.prod(shape) * DTYPES[dtype].itemsize
        if offsets[1] - offsets[0] != need:
            raise ValueError(f"{where} claims shape {tuple(shape)} of {dtype} ({need:,} bytes) but spans "
                             f"{offsets[1] - offsets[0]:,} bytes; the file is corrupt")
        shapes[name] = (tuple(shape), DTYPES[dtype])
        ranges.append((offsets[0], offsets[1], name))
    ranges.sort()
    end = 0                       # the format's rule: the tensors fill the data bytes in order, no gaps
    for start, stop, name in ranges:
        if start < end:
            raise ValueError(f"{path}: tensor {name!r} overlaps the one before it; the file is corrupt")
        if start > end:
            raise ValueError(f"{path}: {start - end:,} bytes before tensor {name!r} belong to no tensor; the "
                             "file is corrupt")
        end = stop
    if end != data_size:
        raise ValueError(f"{path}: {data_size - end:,} bytes after the last tensor belong to no tensor; the file "
                         "is corrupt")
    return shapes, metadata


def _tensors(path: str, names) -> dict[str, np.ndarray]:
    """The named tensors of a file whose header :func:`read_header` has checked (NumPy copies)."""
    _safetensors_numpy()                     # the ImportError that says what to install
    import safetensors
    out = {}
    try:
        with safetensors.safe_open(path, framework="numpy") as f:
            for name in names:
                out[name] = np.array(f.get_tensor(name))
    except safetensors.SafetensorError as exc:   # a file changed since its header was checked
        raise ValueError(f"cannot read {path}: {exc}") from None
    return out


def _payload_name(name: str, shape, dtype, layers: list, path: str) -> str | None:
    """``"0.weight"`` → ``"param/0.W"`` given the description's layers; None for a BatchNorm's
    ``num_batches_tracked``; a ValueError for a name no layer of the description has."""
    index, _, theirs = name.partition(".")
    spec = layers[int(index)] if index.isdigit() and len(index) < 10 and int(index) < len(layers) else None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "BatchNorm" and theirs == "num_batches_tracked":
        if shape != () or dtype != DTYPES["I64"]:
            raise ValueError(f"{path}: tensor {name!r} must be an int64 scalar (torch's batch count)")
        return None
    back = {t: o for o, t in TORCH_NAMES.get(kind, {}).items()}
    if theirs not in back:
        raise ValueError(f"{path} holds a tensor {name!r} that its description has no layer for (the layers: "
                         f"{', '.join(str(l.get('type')) if isinstance(l, dict) else '?' for l in layers[:8])})")
    prefix = "buffer" if back[theirs] in _BUFFERS else "param"
    return f"{prefix}/{index}.{back[theirs]}"


def read(path) -> tuple[dict[str, np.ndarray], dict]:
    """The payload (``arrays`` named ``param/…``/``buffer/…``, ``meta``) of a bprop safetensors file.

    The header and the description are checked against each other
    (:func:`bprop.model_file.check_model`) before any tensor is read;
    :meth:`bprop.Sequential.from_payload` builds the network.

    Raises
    ------
    ValueError
        Naming ``path`` and the problem; for a file without bprop's description
        (saved by torch), it says to use :func:`load_state_dict_into`.
    """
    path = os.fspath(path)
    shapes, metadata = read_header(path)
    if "bprop" not in metadata:
        raise ValueError(f"{path} holds tensors but no bprop architecture (a file saved by torch?): build the "
                         "network with bprop and load the weights with bp.load_state_dict_into(net, path)")
    try:
        meta = json.loads(metadata["bprop"])
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: its bprop metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT or not isinstance(meta.get("layers"), list):
        raise ValueError(f"{path}: its bprop metadata is not a bprop model description")
    names = {}
    for name, (shape, dtype) in shapes.items():
        key = _payload_name(name, shape, dtype, meta["layers"], path)
        if key is not None:
            names[key] = name
    check_model(meta, {key: shapes[name] for key, name in names.items()}, path, formats=(MODEL_FORMAT,))
    tensors = _tensors(path, names.values())
    arrays = {key: tensors[name] for key, name in names.items()}
    check_finite(arrays, path)
    return arrays, meta


def load_state_dict_into(net, path) -> None:
    """Copy the weights of a safetensors file saved from the matching torch model into ``net``.

    ``path`` may come from ``safetensors.torch.save_file(model.state_dict(), path)``
    for a ``torch.nn.Sequential`` with the layers of ``net`` in the same
    positions (:mod:`bprop.interop.torch`), or from ``net.save``. Every tensor of
    ``net`` (torch names) must be there with its shape, float32 or float64
    (converted to ``net``'s dtype); ``num_batches_tracked`` is ignored. The
    header is checked before any tensor is read, and ``net`` is changed only
    once every tensor has been read and found finite.

    Raises
    ------
    ValueError
        Naming the missing, unexpected or misshapen tensors.
    """
    path = os.fspath(path)
    shapes, _ = read_header(path)
    expected = {name: np.shape(value) for name, value in torch_state(net).items()}
    optional = {name for name in expected if name.endswith(".num_batches_tracked")}
    missing = sorted(set(expected) - set(shapes) - optional)
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path} does not fit this network: missing {missing[:8]}, unexpected {unexpected[:8]} "
                         "(the torch model must have the network's layers in the same positions)")
    for name, (shape, dtype) in shapes.items():
        if name in optional:
            continue
        if shape != tuple(expected[name]) or dtype.kind != "f":
            raise ValueError(f"{path}: tensor {name!r} has shape {shape} {dtype.name}, the network needs "
                             f"{tuple(expected[name])} float32 or float64")
    wanted = [name for name in shapes if name not in optional]
    state = from_torch_names(_tensors(path, wanted), [type(l).__name__ for l in net.layers])
    check_finite(state, path)
    net.load_state_dict(state)
