r"""Finite-difference check of backpropagation's gradients.

For every parameter entry :math:`θ_i` the central difference

.. math::
    \hat g_i = \frac{C(θ + h e_i) − C(θ − h e_i)}{2h}

is compared with the backpropagated :math:`g_i = ∂C/∂θ_i`; the error of a
parameter array is :math:`\lVert g − \hat g\rVert_2 / \max(\lVert g\rVert_2, \lVert \hat g\rVert_2, 10^{-12})`.
The truncation error of the central difference is :math:`O(h^2)` and the
rounding error :math:`O(ε_{mach}/h)`; in float64 with ``h = 1e-6`` a correct
gradient gives errors around 1e-8 or less, a wrong one errors near 1.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np


@dataclass
class GradcheckResult:
    """Relative error per parameter, and whether all are below :attr:`tolerance`."""

    errors: dict[str, float]
    tolerance: float
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(e <= self.tolerance for e in self.errors.values())

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        width = max([len("parameter")] + [len(k) for k in self.errors])
        lines = [f"{'parameter':<{width}}  {'relative error':>14}  result", "-" * (width + 24)]
        for k, e in self.errors.items():
            lines.append(f"{k:<{width}}  {e:>14.3e}  {'pass' if e <= self.tolerance else 'FAIL'}")
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"{verdict}: max relative error {self.max_error:.3e} (tolerance {self.tolerance:.0e})")
        return "\n".join(lines)


def gradcheck(net, X, y, loss, *, eps: float = 1e-6, tolerance: float = 1e-6,
              params: list[str] | None = None) -> GradcheckResult:
    """Compare ``net``'s backpropagated gradients with central differences, in float64.

    The check runs on a float64 copy of ``net`` (the network itself is not
    changed). The loss is evaluated in training mode — BatchNorm uses batch
    statistics — with the generator reset before every evaluation, so each
    dropout mask is the same one the backward pass used.

    Parameters
    ----------
    net : Sequential
    X, y : array-like
        A small batch; every parameter entry costs two forward passes.
    loss : Loss or str
    eps : float
        Step ``h`` of the central difference.
    tolerance : float
        Largest relative error that passes.
    params : list of str, optional
        Only these parameter keys (default: all).

    Returns
    -------
    GradcheckResult
        ``.errors`` maps ``"0.W"`` etc. to relative errors; ``.passed``; ``str()`` is a table.
    """
    net64 = net.astype("float64")
    X64, Y64, loss = net64.prepare(X, y, loss)
    rng_state = copy.deepcopy(net64.rng.bit_generator.state)
    buffers = {k: v.copy() for k, v in net64.buffers.items()}

    def evaluate(backprop: bool) -> float:
        net64.rng.bit_generator.state = copy.deepcopy(rng_state)
        for k, v in buffers.items():
            net64.buffers[k][...] = v
        if backprop:
            return net64._backprop(X64, Y64, loss)[0]
        return loss.value(net64._forward(X64, True), Y64)

    evaluate(True)
    analytic = {k: g.copy() for k, g in net64.grads.items()}
    errors, max_abs = {}, {}
    for key in params if params is not None else list(net64.params):
        p = net64.params[key]
        numeric = np.zeros_like(p)
        flat_p, flat_n = p.reshape(-1), numeric.reshape(-1)
        for i in range(flat_p.size):
            old = flat_p[i]
            flat_p[i] = old + eps
            c_plus = evaluate(False)
            flat_p[i] = old - eps
            c_minus = evaluate(False)
            flat_p[i] = old
            flat_n[i] = (c_plus - c_minus) / (2 * eps)
        a = analytic[key]
        denom = max(np.linalg.norm(a), np.linalg.norm(numeric), 1e-12)
        errors[key] = float(np.linalg.norm(a - numeric) / denom)
        max_abs[key] = float(np.max(np.abs(a - numeric))) if a.size else 0.0
    return GradcheckResult(errors, tolerance, max_abs)
