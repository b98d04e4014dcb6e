r"""Seed 003's claims about initialisation, measured: which initialisers let a deep net's gradient through.

A deep network (default 10 hidden layers of 64, sigmoid) is initialised with
each initialiser in turn — the same data, seed, optimiser and budget — and
for each one the experiment records, on a fixed probe batch of the training
data (:mod:`bprop.experiments.probe`):

* :math:`\lVert \partial C/\partial W^{(l)} \rVert_F` of every Dense layer
  before training (step 0) and after the first epoch;
* the variance of every hidden layer's activation :math:`a^{(l)}` at step 0;
* ``ratio`` :math:`= \lVert \partial C/\partial W^{(1)} \rVert / \lVert
  \partial C/\partial W^{(L)} \rVert`, first Dense layer over the last
  (output) one: how much of the output layer's gradient reaches the input;
* the test accuracy after ``epochs`` epochs of mini-batch SGD.

``verdict``, from ``ratio`` and from ``growth`` :math:`= \mathrm{Var}\,a^{(L-1)} /
\mathrm{Var}\,a^{(1)}` (last hidden layer over the first; ReLU nets explode
in the forward pass, where all the gradients grow together and ``ratio``
alone does not show it): ``"exploding"`` when training diverged or either
exceeds :data:`EXPLODING` (100), ``"vanishing"`` when either is below
:data:`VANISHING` (1/100), else ``"stable"``. The initialisers are bprop's, with
``torch.nn.init``'s formulas: ``uniform`` is U(0, 1) and ``normal`` N(0, 1)
whatever the layer's size; Xavier and He scale with the fans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError
from ..losses import CrossEntropy
from ..mlp import build_mlp
from ..optim import SGD
from .probe import probe

#: the initialisers compared, plus He with a bias of 0.01 (for ReLU)
INITS = ("uniform", "normal", "xavier_uniform", "xavier_normal", "he_normal", "lecun_normal", "orthogonal",
         "he_normal+0.01")
#: ratio ‖∂C/∂W⁽¹⁾‖ / ‖∂C/∂W⁽ᴸ⁾‖ below which the gradient is said to vanish
VANISHING = 1e-2
#: and above which it explodes
EXPLODING = 1e2


@dataclass
class InitResult:
    """One initialiser's numbers (layer lists run from the first Dense layer to the output layer)."""

    name: str                      # as in INITS
    init: str
    bias_init: float
    grad_start: list[float]        # ‖∂C/∂W⁽ˡ⁾‖ at step 0
    grad_epoch1: list[float]       # after the first epoch (NaN after a divergence)
    act_var: list[float]           # Var a⁽ˡ⁾ of every hidden layer at step 0
    ratio_start: float
    ratio_epoch1: float
    growth: float                  # Var a⁽ᴸ⁻¹⁾ / Var a⁽¹⁾ at step 0
    accuracy: float                # test accuracy after training (NaN if it diverged)
    final_loss: float              # mean training loss of the last epoch (inf if it diverged)
    diverged: bool = False
    verdict: str = ""
    losses: list[float] = field(default_factory=list)


def parse_init(name: str) -> tuple[str, float]:
    """``"he_normal+0.01"`` → ``("he_normal", 0.01)``; a plain name has bias 0."""
    init, _, bias = name.partition("+")
    return init, float(bias) if bias else 0.0


def verdict(ratio: float, growth: float = 1.0, diverged: bool = False) -> str:
    """``"vanishing"``, ``"exploding"`` or ``"stable"`` from the gradient ratio and the variance growth."""
    if diverged or not (np.isfinite(ratio) and np.isfinite(growth)) or max(ratio, growth) > EXPLODING:
        return "exploding"
    return "vanishing" if min(ratio, growth) < VANISHING else "stable"


def init_experiment(X, y, X_test, y_test, *, inits=INITS, depth: int = 10, width: int = 64,
                    activation: str = "sigmoid", epochs: int = 3, lr: float = 0.1, batch_size: int = 32,
                    probe_size: int = 256, seed: int = 0, tick=None) -> list[InitResult]:
    """Train one ``depth × width`` classifier per initialiser; see the module for what is measured.

    ``X, y`` train (class labels), ``X_test, y_test`` score; ``tick()`` is
    called after each initialiser (a progress bar).
    """
    loss = CrossEntropy()
    n_classes = int(max(np.max(y), np.max(y_test))) + 1
    P = slice(0, min(probe_size, len(X)))
    results = []
    for name in inits:
        init, bias = parse_init(name)
        net = build_mlp(X.shape[1], [width] * depth, n_classes, activation=activation, init=init,
                        bias_init=bias, seed=seed, dtype="float64")
        start = probe(net, X[P], y[P], loss)
        opt = SGD(lr)
        diverged, losses = False, []
        grad1 = [float("nan")] * len(start.grad_norm)
        try:
            h = net.fit(X, y, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size, verbose=0)
            losses += h["loss"]
            grad1 = probe(net, X[P], y[P], loss).grad_norm
            if epochs > 1:
                losses += net.fit(X, y, loss=loss, optimizer=opt, epochs=epochs - 1, batch_size=batch_size,
                                  verbose=0)["loss"]
        except DivergenceError:
            diverged = True
        with np.errstate(all="ignore"):
            acc = float("nan") if diverged else float(np.mean(np.argmax(net.predict(X_test), axis=1) == y_test))
            r0 = start.grad_norm[0] / start.grad_norm[-1] if start.grad_norm[-1] > 0 else float("inf")
            r1 = grad1[0] / grad1[-1] if grad1[-1] > 0 else float("nan")
            growth = start.act_var[-2] / start.act_var[0] if start.act_var[0] > 0 else float("inf")
        results.append(InitResult(name, init, bias, start.grad_norm, grad1, start.act_var[:-1], r0, r1, growth,
                                  acc, float("inf") if diverged or not losses else losses[-1], diverged,
                                  verdict(r0, growth, diverged), losses))
        if tick is not None:
            tick()
    return results
