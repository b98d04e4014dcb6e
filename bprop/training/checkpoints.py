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

from .._validation import check_positive_int
from ..io import CHECKPOINT_FORMAT, read_npz, strip_prefix, with_prefix, write_npz_atomic
from ..losses import get as get_loss
from ..optim import from_state_dict
from .callbacks import EarlyStopping
from .history import History
from .run import Run, RunState, Settings, start_run

OPTIM_PREFIX = "optim/"
BEST_PREFIX = "best/"


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
    })
    write_npz_atomic(path, arrays, meta)


def load_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint: ``(arrays, meta)``; raises ``ValueError`` if ``path`` is not one."""
    arrays, meta = read_npz(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a bprop checkpoint (format {meta.get('format')!r}); "
                         "checkpoints are written by fit(..., checkpoint=PATH)")
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
                     best_state=strip_prefix(BEST_PREFIX, arrays) or None)
    split = (arrays["split/train"], arrays["split/val"]) if "split/train" in arrays else None
    run = start_run(net, X, y, loss=get_loss(meta["loss"]),
                    optimizer=unpack_optimizer_state(meta["optimizer"], arrays),
                    settings=Settings(epochs=target, early_stopping=es, **meta["settings"]), state=state,
                    validation_data=validation_data, split=split, sample_weight=sample_weight,
                    class_weight=class_weight)
    return run, int(meta["epoch"])
