"""Checkpoint files: everything that determines the rest of a run, written after every epoch.

A checkpoint is a model file (:meth:`~bprop.Sequential.to_payload`: the
parameters and buffers, the architecture) with ``format`` ``"bprop-checkpoint"``
and, besides, the optimiser state, the generator's state, the train/validation
split, the history and the early-stopping state. Arrays are stored under
``optim/<key>``, ``split/train``, ``split/val`` and ``best/<key>``; the rest
is in the JSON document. From it :func:`restore_run` rebuilds the run, so that
:func:`bprop.resume` ends with the same parameters, bit for bit, as a run
that never stopped.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np

from .._validation import Interval, check, check_positive_int
from ..io import CHECKPOINT_FORMAT, read_npz, strip_prefix, with_prefix, write_npz_atomic
from ..losses import get as get_loss
from ..model_file import CHECKPOINT_MEMBERS, check_arrays_like, check_finite, check_model, param_shapes
from ..optim import from_state_dict
from .callbacks import EarlyStopping
from .history import History
from .run import Run, RunState, Settings, start_run

OPTIM_PREFIX = "optim/"
BEST_PREFIX = "best/"

#: The checkpoint's ``settings`` entry (:meth:`Settings.to_dict`), declared as for ``fit``'s arguments.
SETTINGS = {"batch_size": Interval(Integral, 1, None), "shuffle": bool,
            "validation_split": Interval(Real, 0, 1, closed="left"),
            "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
            "clip_value": [None, Interval(Real, 0, None, closed="neither")],
            "alpha": Interval(Real, 0, None)}
#: The JSON fields of a checkpoint besides the model's, and what each must be.
FIELDS = {"epoch": Interval(Integral, 0, None), "epochs": Interval(Integral, 0, None),
          "rng_state": dict, "optimizer": dict, "loss": [str, dict], "settings": dict,
          "early_stopping": [None, dict], "early_stopping_state": [None, dict], "history": dict}
#: Early stopping's state (``RunState.es_state``) and a History's JSON (``History.to_dict``).
ES_STATE = {"best": [None, Interval(Real, None, None)], "best_epoch": [None, Interval(Integral, 0, None)],
            "wait": Interval(Integral, 0, None)}
HISTORY = {"records": list, "step_lr": list, "stop_reason": str, "best_epoch": [None, Interval(Integral, 0, None)]}


def pack_optimizer_state(optimizer, arrays: dict) -> dict:
    """Add the optimiser's state arrays to ``arrays`` under ``optim/<key>``; return the JSON part.

    :func:`unpack_optimizer_state` is the inverse.
    """
    state = optimizer.state_dict()
    arrays.update(with_prefix(OPTIM_PREFIX, state.pop("arrays")))
    return state


def unpack_optimizer_state(state: dict, arrays: dict):
    """The optimiser of :func:`pack_optimizer_state`'s JSON part ``state`` and file ``arrays``."""
    return from_state_dict({**state, "arrays": strip_prefix(OPTIM_PREFIX, arrays)})


def save_checkpoint(path, run: Run, epoch: int) -> None:
    """Write model, optimiser state, generator state, split, history and early-stopping state atomically."""
    arrays, meta = run.net.to_payload()
    opt_state = pack_optimizer_state(run.optimizer, arrays)
    if run.data.split is not None:
        arrays["split/train"], arrays["split/val"] = run.data.split
    if run.state.best_state is not None:
        arrays.update(with_prefix(BEST_PREFIX, run.state.best_state))
    es = run.settings.early_stopping
    meta.update({
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "epochs": run.settings.epochs,
        "rng_state": run.net.rng.bit_generator.state,
        "optimizer": opt_state,
        "loss": run.loss.get_config(),
        "settings": run.settings.to_dict(),
        "early_stopping": None if es is None else vars(es),
        "early_stopping_state": run.state.es_state,
        "history": run.state.history.to_dict(),
        "ranks": run.state.ranks,
    })
    write_npz_atomic(path, arrays, meta)


def _field(value, path: str, name: str, constraint):
    """:func:`check` for a field of a file: any mistake is a ``ValueError`` naming the file and the field."""
    try:
        return check(value, name, constraint)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _fields(d: dict, path: str, prefix: str, table: dict, required: bool) -> None:
    """Check ``d``'s entries against ``table``; unknown entries (and, if ``required``, missing ones) are errors."""
    unknown = sorted(set(d) - set(table), key=str)
    missing = sorted(set(table) - set(d)) if required else []
    if unknown or missing:
        raise ValueError(f"{path}: {prefix} has unknown entries {unknown} and lacks {missing} "
                         f"(expected {', '.join(table)})")
    for name, value in d.items():
        _field(value, path, f"{prefix}.{name}", table[name])


def check_checkpoint(meta: dict, shapes: dict, path: str) -> None:
    """Check a checkpoint's description and the arrays present (their ``.npy`` headers) before they are read.

    The model part is :func:`~bprop.model_file.check_model`'s; then every other
    field: the epoch counts, the generator state, the optimiser (its
    configuration, and each state array the shape and dtype of a parameter),
    the loss, the settings, early stopping and its state, the history, the
    split (both parts or neither, 1-D) and the best epoch's arrays (those of
    the network). Raises ``ValueError`` naming ``path`` and the field.
    """
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a bprop checkpoint (format {meta.get('format')!r}); "
                         "checkpoints are written by fit(..., checkpoint=PATH)")
    check_model(meta, shapes, path, formats=(CHECKPOINT_FORMAT,))
    for name, constraint in FIELDS.items():
        if name not in meta:
            raise ValueError(f"{path}: the checkpoint has no {name!r} entry; the file is not complete")
        _field(meta[name], path, name, constraint)
    if "ranks" in meta:       # absent from checkpoints of bprop before data-parallel training: 1
        _field(meta["ranks"], path, "ranks", Interval(Integral, 1, None))
    check_rng_state(meta["rng_state"], path, "rng_state")
    # "alpha" came later: a checkpoint without it trained with alpha = 0
    _fields({"alpha": 0.0, **meta["settings"]}, path, "settings", SETTINGS, required=True)
    try:
        get_loss(meta["loss"])
        if meta["early_stopping"] is not None:
            es = EarlyStopping(**meta["early_stopping"])
            if not isinstance(es.monitor, str) or not isinstance(es.restore_best, bool):
                raise TypeError(f"monitor must be a str and restore_best true or false, got "
                                f"{es.monitor!r}, {es.restore_best!r}")
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: loss or early_stopping is not valid ({exc})") from None
    _fields(meta["early_stopping_state"] or {}, path, "early_stopping_state", ES_STATE, required=False)
    check_history(meta["history"], path, "history")
    check_optimizer_state(meta["optimizer"], shapes, path, "optimizer")
    check_arrays_like(shapes, BEST_PREFIX, param_shapes(shapes), path, "the best epoch's state")
    split = [shapes.get(f"split/{part}") for part in ("train", "val")]
    if (split[0] is None) != (split[1] is None) or any(s is not None and len(s[0]) != 1 for s in split):
        raise ValueError(f"{path}: split/train and split/val must both be there, as 1-D arrays of row "
                         "indices, or neither")


def check_optimizer_state(state, shapes: dict, path: str, field: str) -> None:
    """:func:`pack_optimizer_state`'s JSON part ``state`` (the entry ``field`` of file ``path``) rebuilds
    the optimiser, and each ``optim/`` array among ``shapes`` fits one of its slots and a parameter."""
    check_arrays_like(shapes, OPTIM_PREFIX, param_shapes(shapes, ("param/",)), path, "optimiser state")
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict) \
            or not isinstance(state.get("transforms", {}), dict) \
            or not all(isinstance(v, dict) for v in state.get("transforms", {}).values()):
        raise ValueError(f"{path}: {field} must be an object holding a config object and a transforms "
                         "object of objects")
    _field(state.get("step", 0), path, f"{field}.step", Interval(Integral, 0, None))
    empty = {k: np.empty(0) for k in strip_prefix(OPTIM_PREFIX, shapes)}
    try:
        from_state_dict({**state, "arrays": empty})
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: {field} is not a valid optimiser state ({exc})") from None


def check_rng_state(state, path: str, field: str) -> None:
    """``state`` (the entry ``field`` of file ``path``) must be a PCG64 generator's state."""
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ValueError(f"{path}: {field} is not a PCG64 generator state ({exc})") from None


def check_history(history, path: str, field: str) -> None:
    """``history`` (the entry ``field`` of file ``path``) must be a :meth:`History.to_dict`."""
    if not isinstance(history, dict):
        raise ValueError(f"{path}: {field} must be an object (History.to_dict), got {type(history).__name__}")
    _fields(history, path, field, HISTORY, required=False)
    for i, rec in enumerate(history.get("records", [])):
        if not isinstance(rec, dict) or not all(isinstance(k, str) and isinstance(v, Real) and not isinstance(v, bool)
                                                for k, v in rec.items()):
            raise ValueError(f"{path}: {field}.records[{i}] must map column names to numbers, got {rec!r:.80}")
    if not all(isinstance(v, Real) and not isinstance(v, bool) for v in history.get("step_lr", [])):
        raise ValueError(f"{path}: {field}.step_lr must be a list of numbers")


def load_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint: ``(arrays, meta)``, checked (:func:`check_checkpoint`) before its arrays are read.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming ``path`` (and the field), if it is not a complete, valid checkpoint.
    """
    path = os.fspath(path)
    arrays, meta = read_npz(path, CHECKPOINT_MEMBERS, what="bprop checkpoint",
                            check=lambda meta, shapes: check_checkpoint(meta, shapes, path))
    check_finite(arrays, path)
    for part in ("split/train", "split/val"):
        if part in arrays and arrays[part].min(initial=0) < 0:
            raise ValueError(f"{path}: {part} holds negative row indices")
    return arrays, meta


def restore_run(net, arrays: dict, meta: dict, X, y, *, epochs: int | None = None, validation_data=None,
                sample_weight=None, class_weight=None) -> tuple[Run, int]:
    """``(run, epoch)``: the run saved in a checkpoint's ``arrays`` and ``meta``, and its last epoch.

    ``net`` is the checkpoint's network (``Sequential.from_payload``); its
    generator is put back to the saved state. ``X``, ``y`` (and
    ``validation_data``, ``sample_weight``, ``class_weight``) must be those of
    the original fit. ``epochs``: the new total (default: the original target).
    """
    net.rng.bit_generator.state = meta["rng_state"]
    es = None if meta["early_stopping"] is None else EarlyStopping(**meta["early_stopping"])
    target = meta["epochs"] if epochs is None else check_positive_int(epochs, "epochs", minimum=0)
    history = History.from_dict(meta["history"])
    history.stop_reason = ""
    state = RunState(history=history, es_state=dict(meta.get("early_stopping_state") or {}),
                     best_state=strip_prefix(BEST_PREFIX, arrays) or None, ranks=int(meta.get("ranks", 1)))
    split = (arrays["split/train"], arrays["split/val"]) if "split/train" in arrays else None
    run = start_run(net, X, y, loss=get_loss(meta["loss"]),
                    optimizer=unpack_optimizer_state(meta["optimizer"], arrays),
                    settings=Settings(epochs=target, early_stopping=es, **meta["settings"]), state=state,
                    validation_data=validation_data, split=split, sample_weight=sample_weight,
                    class_weight=class_weight)
    return run, int(meta["epoch"])
