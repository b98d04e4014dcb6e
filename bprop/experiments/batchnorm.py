r"""Seed 003's claim about BatchNorm, measured: less dependence on the initialisation, larger learning rates.

The same ``depth × width`` classifier is trained for ``epochs`` epochs of
mini-batch SGD on every (initialiser, learning rate) of a grid, once as
``Dense → σ`` per hidden layer and once as ``Dense → BatchNorm → σ``
(:func:`bprop.mlp.build_mlp` with ``batchnorm=True``; such a Dense layer has
no bias, BatchNorm's β is the shift). Each cell holds the final training loss
(mean over the last epoch's batches), ``inf`` where training diverged
(:class:`bprop.DivergenceError`), and the test accuracy.

A cell "trains" when its final loss is below ``good`` (default 0.5: cross-entropy
on 10 classes starts near ln 10 ≈ 2.30).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DivergenceError
from ..losses import CrossEntropy
from ..mlp import build_mlp
from ..optim import SGD

INITS = ("normal", "uniform", "xavier_uniform", "he_normal")
LRS = (0.01, 0.1, 1.0, 3.0)


@dataclass
class BatchNormCell:
    batchnorm: bool
    init: str
    lr: float
    final_loss: float             # inf if diverged
    accuracy: float               # NaN if diverged
    diverged: bool


def batchnorm_experiment(X, y, X_test, y_test, *, inits=INITS, lrs=LRS, depth: int = 4, width: int = 64,
                         activation: str = "sigmoid", epochs: int = 3, batch_size: int = 32, seed: int = 0,
                         tick=None) -> list[BatchNormCell]:
    """Every (BatchNorm or not, initialiser, learning rate), in that order; ``tick()`` after each cell."""
    loss = CrossEntropy()
    n_classes = int(max(np.max(y), np.max(y_test))) + 1
    cells = []
    for bn in (False, True):
        for init in inits:
            for lr in lrs:
                net = build_mlp(X.shape[1], [width] * depth, n_classes, activation=activation, init=init,
                                output_init="xavier_uniform", batchnorm=bn, seed=seed, dtype="float64")
                try:
                    h = net.fit(X, y, loss=loss, optimizer=SGD(lr), epochs=epochs, batch_size=batch_size,
                                verbose=0)
                    final, diverged = float(h["loss"][-1]), False
                    acc = float(np.mean(np.argmax(net.predict(X_test), axis=1) == y_test))
                except DivergenceError:
                    final, acc, diverged = float("inf"), float("nan"), True
                cells.append(BatchNormCell(bn, init, float(lr), final, acc, diverged))
                if tick is not None:
                    tick()
    return cells


def trained_fraction(cells, batchnorm: bool, good: float = 0.5) -> tuple[int, int]:
    """``(cells whose final loss < good, cells)`` with or without BatchNorm."""
    mine = [c for c in cells if c.batchnorm == batchnorm]
    return sum(c.final_loss < good for c in mine), len(mine)


def init_spread(cells, batchnorm: bool, lr: float) -> float:
    """max / min final loss over the initialisers at one rate (inf if one diverged): the dependence on init."""
    losses = [c.final_loss for c in cells if c.batchnorm == batchnorm and c.lr == lr]
    return float(max(losses) / min(losses)) if min(losses) > 0 else float("inf")
