"""The description in a model file or checkpoint, checked against the arrays it holds.

A model file (:meth:`bprop.Sequential.save`) is untrusted: its JSON says which
layers to build, and building ``Dense(20000, 20000)`` costs 3 GB before the
weights are even read. :func:`check_model` therefore checks every field of the
description (types, known layer types, sizes, ``dtype``, the metadata) and
then that the file holds exactly the arrays those layers need (names, shapes,
dtypes), before anything is built: it runs inside :func:`bprop.io.read_npz`,
when only the arrays' ``.npy`` headers have been read. Every failure is a
``ValueError`` naming the file and the field.

It sits below :mod:`bprop.network` (which builds the checked description)
and :mod:`bprop.training.checkpoints` (which checks a checkpoint's other
fields on top of it).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from . import activations, layers as _layers
from ._validation import DTYPES
from ._version import __version__
from .io import CHECKPOINT_FORMAT, FLOATS, INDICES, MODEL_FORMAT

LAYER_TYPES = {cls.__name__: cls for cls in (
    _layers.Dense, _layers.BatchNorm, _layers.Dropout, activations.Identity, activations.Sigmoid,
    activations.Tanh, activations.ReLU, activations.LeakyReLU, activations.ELU, activations.GELU,
    activations.Softmax)}

#: The arrays of a model file (:func:`bprop.io.read_npz`'s ``members``) ...
MODEL_MEMBERS = {"param/": FLOATS, "buffer/": FLOATS}
#: ... and of a checkpoint, which adds the optimiser state (also in a saved estimator),
#: the validation split and the best epoch's parameters and buffers.
CHECKPOINT_MEMBERS = {**MODEL_MEMBERS, "optim/": FLOATS, "split/train": INDICES, "split/val": INDICES,
                      "best/": FLOATS}
#: What a model's ``metadata.task`` may say (:attr:`bprop.losses.Loss.task`).
TASKS = ("classification", "regression", "multilabel")


def layer_from_config(spec: dict, i: int) -> _layers.Layer:
    """Layer ``i`` of :meth:`bprop.Sequential.get_config`'s ``layers`` (unbuilt: nothing allocated)."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r} at position {i}; valid: {', '.join(sorted(LAYER_TYPES))}")
    if kind == "Dense":  # a custom initialiser cannot be rebuilt; weights are loaded anyway
        for key in ("init", "bias_init"):
            if isinstance(spec.get(key), dict) and spec[key].get("name") == "custom":
                spec[key] = "zeros"
    return LAYER_TYPES[kind](**spec)


def expected_arrays(layers: list) -> dict[str, tuple]:
    """``{"param/<i>.<name>" or "buffer/<i>.<name>": shape}``: what building ``layers`` allocates.

    Each layer's own :meth:`~bprop.layers.Layer.array_shapes`, the shapes its
    ``build`` allocates (a Dense layer ``W (n_out, n_in)`` and, with bias, ``b``;
    BatchNorm ``gamma``, ``beta``, ``running_mean``, ``running_var``).
    """
    return {f"{kind}/{i}.{name}": shape for i, layer in enumerate(layers)
            for kind, shapes in layer.array_shapes().items() for name, shape in shapes.items()}


def _strings(value, path: str, field: str, lengths: tuple, what: str) -> None:
    """``value`` must be None or a list of strings whose length is one of ``lengths`` (None: any)."""
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{path}: {field} must be a list of strings, got {_short(value)}")
    if None not in lengths and len(value) not in lengths:
        raise ValueError(f"{path}: {field} has {len(value)} names but the network has {lengths[0]} {what}")


def _short(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _check_metadata(metadata, path: str, n_in, n_out) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: metadata must be a JSON object, got {_short(metadata)}")
    # one output (a sigmoid's logit) stands for two classes
    _strings(metadata.get("class_names"), path, "metadata.class_names", (n_out, 2) if n_out == 1 else (n_out,),
             "outputs")
    _strings(metadata.get("feature_names"), path, "metadata.feature_names", (n_in,), "input features")
    for key in ("task", "loss", "data"):
        if not isinstance(metadata.get(key, ""), (str, type(None))):
            raise ValueError(f"{path}: metadata.{key} must be a string, got {_short(metadata[key])}")
    if metadata.get("task") not in (None, *TASKS):
        raise ValueError(f"{path}: metadata.task {metadata['task']!r} is not one of {', '.join(TASKS)}")
    st = metadata.get("standardizer")
    if st is not None:
        if not isinstance(st, dict):
            raise ValueError(f"{path}: metadata.standardizer must be a JSON object, got {_short(st)}")
        for key in ("mean", "scale"):
            v = st.get(key)
            if not isinstance(v, list) or (n_in is not None and len(v) != n_in):
                raise ValueError(f"{path}: metadata.standardizer.{key} must be a list of {n_in} numbers "
                                 f"(one per input feature), got {_short(v)}")


def check_model(meta: dict, shapes: dict, path: str, formats=(MODEL_FORMAT, CHECKPOINT_FORMAT)) -> list:
    """Check a model's description ``meta`` against the arrays present; return its layers, unbuilt.

    ``shapes`` is ``{name: (shape, dtype)}`` of the arrays (a file's ``.npy``
    headers, or in-memory arrays). Arrays named ``param/`` and ``buffer/`` must
    be exactly those the layers need, with their shapes and the description's
    dtype; other names are the caller's to check.

    Raises
    ------
    ValueError
        Naming ``path`` and the field: a format not in ``formats``, a field of
        the wrong type or out of range, an unknown layer type (with the bprop
        version that wrote the file), missing, unexpected or misshapen arrays,
        ``class_names`` or ``feature_names`` that do not fit the network.
    """
    if meta.get("format") not in formats:
        raise ValueError(f"{path} is not a bprop model file (format {meta.get('format')!r})")
    version = meta.get("bprop_version")
    version = version if isinstance(version, str) else "an unknown version"
    dtype = meta.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ValueError(f"{path}: dtype must be one of {', '.join(DTYPES)}, got {_short(dtype)}")
    specs = meta.get("layers")
    if not isinstance(specs, list) or not specs:
        raise ValueError(f"{path}: layers must be a non-empty list of layer descriptions, got {_short(specs)}")
    layers = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: layers[{i}] must be a JSON object, got {_short(spec)}")
        kind = spec.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise ValueError(f"{path}: layers[{i}].type {kind!r} is not a layer type of bprop {__version__} "
                             f"(the file was written by bprop {version}); known types: "
                             f"{', '.join(sorted(LAYER_TYPES))}")
        if "bias" in spec and not isinstance(spec["bias"], bool):
            raise ValueError(f"{path}: layers[{i}].bias must be true or false, got {_short(spec['bias'])}")
        try:
            layers.append(layer_from_config(spec, i))
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: layers[{i}] ({kind}) is not a valid layer: {exc}") from None
    n_in = next((l.n_in for l in layers if l.n_in is not None), None)
    n_out = next((l.n_out for l in reversed(layers) if l.n_out is not None), None)
    present = {k: v for k, v in shapes.items() if k.startswith(("param/", "buffer/"))}
    for key, shape in expected_arrays(layers).items():
        i = int(key.split("/")[1].split(".")[0])
        if key not in present:
            raise ValueError(f"{path} has no array {key!r} {shape} for layers[{i}] "
                             f"{layers[i].describe()} of its description: the file is truncated, "
                             "or its description does not match its arrays")
        got_shape, got_dtype = present.pop(key)
        if tuple(got_shape) != shape or got_dtype != dtype:
            raise ValueError(f"{path}: array {key!r} has shape {tuple(got_shape)} and dtype {got_dtype}, but "
                             f"layers[{i}] {layers[i].describe()} of its description needs {shape} {dtype}")
    if present:
        raise ValueError(f"{path} holds arrays that its description has no layer for: "
                         f"{', '.join(sorted(present)[:5])}")
    _check_metadata(meta.get("metadata"), path, n_in, n_out)
    return layers


def check_arrays_like(shapes: dict, prefix: str, like: dict, path: str, what: str) -> None:
    """Every array ``<prefix>...<key>`` in ``shapes`` must have the shape and dtype of ``like[key]``.

    ``key`` is the name after the last ``/`` (``optim/adam.m/0.W`` → ``0.W``):
    optimiser state and a checkpoint's best parameters belong to a parameter.
    """
    for name, (shape, dtype) in shapes.items():
        if not name.startswith(prefix):
            continue
        key = name.rsplit("/", 1)[1]
        if key not in like:
            raise ValueError(f"{path}: array {name!r} ({what}) belongs to no {key!r} of the network "
                             f"(its arrays: {', '.join(sorted(like)[:8])})")
        if (tuple(shape), dtype) != (tuple(like[key][0]), like[key][1]):
            raise ValueError(f"{path}: array {name!r} ({what}) has shape {tuple(shape)} {dtype}, but "
                             f"{key!r} has {tuple(like[key][0])} {like[key][1]}")


def check_finite(arrays: dict, path: str) -> None:
    """Refuse NaN or infinite values in the float arrays of a file (they would only give NaN)."""
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = a.size - np.count_nonzero(np.isfinite(a))
            raise ValueError(f"{path}: array {name!r} holds {bad} NaN or infinite value(s); the model is "
                             "broken (a run that diverged?) and would predict NaN")


def param_shapes(shapes: dict, prefixes=("param/", "buffer/")) -> dict:
    """``{"0.W": (shape, dtype), ...}``: the parameters (and buffers) among a file's ``shapes``."""
    return {k.split("/", 1)[1]: v for k, v in shapes.items() if k.startswith(prefixes)}


def integer(value) -> bool:
    """Whether a JSON value is an integer (``true`` is not)."""
    return isinstance(value, Integral) and not isinstance(value, bool)
