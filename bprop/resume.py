"""Continue a training run from its checkpoint: :func:`resume`.

It sits above both :mod:`bprop.network` and :mod:`bprop.training`: the
network is rebuilt from the checkpoint (:meth:`~bprop.Sequential.from_payload`),
the run from the rest of it (:func:`bprop.training.checkpoints.restore_run`),
and the fit loop carries on (:func:`bprop.training.train`).
"""

from __future__ import annotations

import os

from .network import Sequential
from .training import load_checkpoint, train
from .training.checkpoints import restore_run


def resume(path, X, y, *, epochs: int | None = None, validation_data=None, sample_weight=None,
           class_weight=None, callbacks=(), checkpoint="same", verbose: int = 1, backend: str = "numpy",
           comm=None, threads: int | None = None):
    """Continue the run saved in checkpoint ``path``; returns ``(net, history)``.

    Pass the same ``X``, ``y`` (and ``validation_data``, ``sample_weight``,
    ``class_weight``) as the original ``fit``. Training continues from the
    epoch after the checkpoint up to ``epochs`` in total (default: the
    original target), writing the checkpoint back to ``path`` (or
    ``checkpoint``; ``None`` to write none). The parameters at the end equal,
    bit for bit, those of a run that never stopped. ``backend`` is the rebuilt
    network's (:class:`~bprop.Sequential`; a file does not record it); the
    optimiser keeps the ``fused`` choice saved with its state. ``threads``: as
    :func:`bprop.training.fit`'s (a file does not record it either).

    ``comm`` (an mpi4py communicator) continues a data-parallel run: every
    rank reads the same checkpoint and rank 0 alone writes it back. With the
    same number of ranks the result is bit for bit the uninterrupted run's;
    with another number it equals it to rounding (a different split of each
    batch), except that BatchNorm with per-rank statistics then sees other parts.
    """
    arrays, meta = load_checkpoint(path)
    net = Sequential.from_payload(arrays, meta, os.fspath(path))
    net.backend = backend
    run, done = restore_run(net, arrays, meta, X, y, epochs=epochs, validation_data=validation_data,
                            sample_weight=sample_weight, class_weight=class_weight)
    out = path if checkpoint == "same" else checkpoint
    history = train(run, start_epoch=done, callbacks=callbacks, checkpoint=out, verbose=verbose, comm=comm,
                    threads=threads)
    return net, history
