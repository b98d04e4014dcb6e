"""Loading a run's compiled loops before its first epoch (``backend="numba"`` or a fused optimiser).

In a new process the first call of each compiled loop loads it from numba's
on-disk cache: 2–8 ms a loop, about 16 ms for the reference network's step
(ReLU forward and backward, the softmax cross-entropy, the hit count, fused
Adam). Left to the first step, that time lands in epoch 1, which then runs
≈10 % slower than the others on MNIST at batch 128. :func:`load_step_loops`
takes one step before epoch 1 on *copies* of the network and optimiser, on
the first rows of the training set, so every loop the real steps call is
loaded with the argument types they pass, and nothing of the run changes:
parameters, optimiser state, generators, history and BatchNorm statistics
stay as they were.
"""

from __future__ import annotations

import copy

import numpy as np

from .meter import EpochMeter

#: Networks with more parameters than this skip the step: copying them costs more than the loads
#: save, and their epochs are long enough for a few ms not to show.
MAX_PARAMS = 1 << 20

#: The kinds of step whose loops this process has loaded (see :func:`_kind`).
_LOADED: set = set()


def _kind(run) -> tuple:
    """What decides which compiled loops a step calls, and with which argument types."""
    net, opt = run.net, run.optimizer
    return (net.backend, net.dtype.str, tuple(type(layer).__name__ for layer in net.layers),
            type(run.loss).__name__, run.data.weights is None, type(opt).__name__,
            bool(getattr(opt, "fused", False)))


def load_step_loops(run, batches, first_batch: tuple[int, int]) -> bool:
    """One step on copies of ``run``'s network and optimiser, once per process and kind of step.

    For a run that uses numba (``backend="numba"`` or a fused optimiser: the fit
    loop calls it for those only). ``batches``: the run's :class:`~.data.Batches`;
    ``first_batch``: the bounds of its first batch (two of its rows are used:
    BatchNorm needs two). Returns whether the step ran (not for a kind already
    loaded, or a network of more than :data:`MAX_PARAMS` parameters).
    """
    net, opt = run.net, run.optimizer
    kind = _kind(run)
    if kind in _LOADED or net.n_params > MAX_PARAMS:
        return False
    start, end = first_batch
    Xb, Yb, labels_b, weights_b = batches.take(start, min(end, start + 2), None)
    net, opt = net.copy(), copy.deepcopy(opt)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        c, out = net._backprop(Xb, Yb, run.loss, weights_b)
        EpochMeter.of(run, []).add_batch(c, out, Yb, labels_b)
        opt.step(net.params, net.grads)
    _LOADED.add(kind)
    return True
