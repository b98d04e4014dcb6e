r"""Seed 003's argument about depth, measured: the gradient that reaches the first layer of deeper nets.

BP2, :math:`\delta^{(l)} = (\delta^{(l+1)} W^{(l+1)}) \odot \sigma'(z^{(l)})`,
multiplies δ by one weight matrix and one σ' per layer on its way back, so
the seed predicts

.. math::

    \frac{\lVert\delta^{(1)}\rVert}{\lVert\delta^{(L)}\rVert} \approx
    \prod_{l=1}^{L-1} \underbrace{\sqrt{\operatorname{mean}\sigma'(z^{(l)})^2}}_{\sigma'\text{ factor}}
    \cdot \underbrace{\lVert W^{(l+1)}\rVert_F / \sqrt{n_{l+1}}}_{\text{weight factor}}

(a δ with independent entries: :math:`E\lVert\delta W\rVert^2 = \lVert\delta\rVert^2\lVert W\rVert_F^2/n_\text{out}`).
A sigmoid's σ' is at most 1/4, so with weights of factor ≈ 1 (Xavier) the
ratio falls like :math:`4^{-L}`: vanishing; weights of factor > 1 make it grow.
For each depth (hidden layers, default 2, 4, 8, 16) the experiment builds
``repeats`` networks with different seeds and reports, averaged over them
in log scale (geometric means), the measured ratio, the two factors' products,
their product (the prediction), and :math:`\lVert\partial C/\partial W^{(1)}\rVert`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..losses import CrossEntropy
from ..mlp import build_mlp
from .probe import probe


@dataclass
class DepthResult:
    depth: int                     # hidden layers
    grad_first: float              # ‖∂C/∂W⁽¹⁾‖ (geometric mean over the repeats)
    grad_last: float               # ‖∂C/∂W⁽ᴸ⁾‖
    measured: float                # ‖δ⁽¹⁾‖ / ‖δ⁽ᴸ⁾‖
    sigma_factor: float            # ∏ rms σ'(z⁽ˡ⁾), l = 1..L−1
    weight_factor: float           # ∏ ‖W⁽ˡ⁺¹⁾‖_F / √n_{l+1}
    predicted: float               # their product


def _geo(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return float(np.exp(np.mean(np.log(v)))) if np.all(v > 0) else 0.0


def depth_experiment(X, y, *, depths=(2, 4, 8, 16), width: int = 64, activation: str = "sigmoid",
                     init: str = "xavier_uniform", repeats: int = 3, probe_size: int = 256, seed: int = 0,
                     tick=None) -> list[DepthResult]:
    """One :class:`DepthResult` per depth; ``tick()`` after each depth."""
    loss = CrossEntropy()
    n_classes = int(np.max(y)) + 1
    P = slice(0, min(probe_size, len(X)))
    out = []
    for depth in depths:
        rows = []
        for r in range(repeats):
            net = build_mlp(X.shape[1], [width] * depth, n_classes, activation=activation, init=init,
                            seed=seed + r, dtype="float64")
            p = probe(net, X[P], y[P], loss)
            sig = float(np.prod(p.sigma_rms[:-1]))
            wgt = float(np.prod(p.weight_gain[1:]))
            rows.append((p.grad_norm[0], p.grad_norm[-1], p.delta_norm[0] / p.delta_norm[-1], sig, wgt, sig * wgt))
        cols = list(zip(*rows))
        out.append(DepthResult(depth, *(_geo(c) for c in cols)))
        if tick is not None:
            tick()
    return out
