r"""Inverted dropout (Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html)."""

from __future__ import annotations

import numpy as np

from numbers import Real

from .._validation import Interval, check_params
from .base import Layer


class Dropout(Layer):
    r"""Zero each activation with probability ``p`` during training.

    Training: :math:`A' = A ⊙ M / (1 − p)` with :math:`M_{ij} \sim \mathrm{Bernoulli}(1 − p)`
    drawn from the network's generator, so the expected activation is unchanged
    ("inverted" dropout); backward is :math:`∂C/∂A = ∂C/∂A' ⊙ M / (1 − p)`.
    Eval mode: the identity.
    """

    _parameter_constraints = {"p": Interval(Real, 0, 1, closed="left")}

    def __init__(self, p: float = 0.5):
        super().__init__()
        (self.p,) = check_params({"p": p}, self._parameter_constraints).values()
        self._mask: np.ndarray | None = None
        #: In a data-parallel run, ``(a, b, m)``: this rank holds rows ``a:b`` of a global batch of
        #: ``m`` (set by the fit loop each step). The whole batch's mask is drawn and rows ``a:b``
        #: are used, so masks and the generator agree with the single-process run.
        self.part: tuple | None = None

    def forward(self, A, training=False):
        if not training or self.p == 0.0:
            self._mask = None
            return A
        u = self._buffer("u", A.shape, A.dtype)
        if self.part is None:
            self.rng.random(dtype=A.dtype, out=u)                                    # U(0, 1)
        else:
            a, b, m = self.part
            u[...] = self.rng.random(dtype=A.dtype, out=self._buffer("u_batch", (m,) + A.shape[1:],
                                                                      A.dtype))[a:b]
        keep = np.greater_equal(u, self.p, out=self._buffer("keep", A.shape, bool))  # M = [u ≥ p]
        self._mask = np.multiply(keep, A.dtype.type(1.0 / (1.0 - self.p)), out=u)   # M / (1 − p)
        return np.multiply(A, self._mask, out=self._buffer("A", A.shape, A.dtype))

    def backward(self, dOut, need_input_grad=True):
        if self._mask is None:
            return dOut
        return np.multiply(dOut, self._mask, out=self._buffer("dA", dOut.shape, dOut.dtype))

    def describe(self):
        return f"Dropout({self.p:g})"

    def get_config(self):
        return {"type": "Dropout", "p": self.p}
