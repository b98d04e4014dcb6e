r"""Batch normalisation (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)."""

from __future__ import annotations

import numpy as np

from numbers import Integral, Real

from .._validation import Interval, check_params
from .._jit import compiled
from .._numerics import flush_denormals_, smallest_normal
from .base import Layer


def _inverse_std(var: np.ndarray, eps: float, out: np.ndarray) -> np.ndarray:
    """``out ← 1/√(var + ε)``, in place."""
    np.add(var, eps, out=out)
    np.sqrt(out, out=out)
    return np.divide(1.0, out, out=out)


class BatchNorm(Layer):
    r"""Normalise each feature over the batch, then scale and shift.

    Semantics of ``torch.nn.BatchNorm1d(n, momentum, eps)``.

    Training mode, for a batch ``Z (n, d)``:

    .. math::
        μ = \frac1n \sum_i Z_i, \quad σ^2 = \frac1n \sum_i (Z_i − μ)^2, \quad
        \hat Z = (Z − μ)/\sqrt{σ^2 + ε}, \quad Y = γ ⊙ \hat Z + β

    and the running statistics (buffers) move by ``momentum``:
    ``running_mean ← (1 − m)·running_mean + m·μ``,
    ``running_var ← (1 − m)·running_var + m·σ²·n/(n − 1)`` (unbiased, as PyTorch).
    Eval mode uses the running statistics instead of μ, σ².

    Backward (training mode), with :math:`g = ∂C/∂\hat Z = ∂C/∂Y ⊙ γ`:

    .. math::
        ∂C/∂Z = \frac{1}{n\sqrt{σ^2+ε}}\left(n g − \sum_i g_i − \hat Z ⊙ \sum_i g_i ⊙ \hat Z_i\right),
        \quad ∂C/∂γ = \sum_i ∂C/∂Y_i ⊙ \hat Z_i, \quad ∂C/∂β = \sum_i ∂C/∂Y_i

    Parameters ``gamma`` (ones) and ``beta`` (zeros); buffers ``running_mean``
    (zeros) and ``running_var`` (ones). Running statistics below the dtype's
    smallest normal number are set to 0 (a constant feature's ``running_var``
    decays geometrically; :mod:`bprop._numerics`).

    What runs: the NumPy expressions below by default; with
    ``Sequential(..., backend="numba")`` the loops under the class, the same
    formula in the same order of operations (tested equal):
    :func:`_batchnorm_statistics_loop` (μ, σ², running statistics: two passes),
    :func:`_batchnorm_normalise_loop` (Ẑ and Y: one pass) and
    :func:`_batchnorm_backward_loop` (∂C/∂γ, ∂C/∂β, then ∂C/∂Z: two passes).

    ``sync=True`` matters only in a data-parallel run (``fit(..., comm=...)``,
    :mod:`bprop.training.distributed`), where each rank holds a part of the
    batch. By default each rank normalises by its own part's statistics (as
    Horovod and torch DDP do). Synchronised, the statistics are those of the
    global batch of :math:`n = \sum_r n_r` rows: one ``Allreduce`` of
    :math:`\sum_i Z_i` gives μ, a second of :math:`\sum_i (Z_i − μ)^2` gives σ²
    (two passes, as one process computes them), and the backward pass
    all-reduces :math:`\sum_i g_i` and :math:`\sum_i g_i ⊙ \hat Z_i` — so the run
    equals the single-process one (``torch.nn.SyncBatchNorm``).
    Synchronised training runs the NumPy expressions whatever the backend: the
    compiled loops keep their sums in one call, with no place for the
    ``Allreduce`` between their passes.
    """

    _parameter_constraints = {"n": Interval(Integral, 1, None), "momentum": Interval(Real, 0, 1),
                              "eps": Interval(Real, 0, None, closed="right"), "sync": bool}

    def __init__(self, n: int, momentum: float = 0.1, eps: float = 1e-5, sync: bool = False):
        super().__init__()
        n, self.momentum, self.eps, self.sync = check_params(
            {"n": n, "momentum": momentum, "eps": eps, "sync": sync}, self._parameter_constraints).values()
        self.n_in = self.n_out = n
        self._cache = None
        #: The communicator of a data-parallel run while it trains (set by the fit loop when ``sync``).
        self.comm = None

    def __getstate__(self):
        state = super().__getstate__()
        state["comm"] = None          # a communicator is a live connection, never copied
        return state

    def _sum(self, S: np.ndarray) -> np.ndarray:
        """``S`` summed over the ranks in place when synchronised (a no-op otherwise)."""
        if self.comm is not None:
            from mpi4py import MPI     # only reached in a data-parallel run
            self.comm.Allreduce(MPI.IN_PLACE, S)
        return S

    def _count(self, n: int) -> int:
        return n if self.comm is None else self.comm.allreduce(n)

    #: Initial values: γ = 1, β = 0 (the identity map), running mean 0 and variance 1 (as PyTorch).
    _INITIAL = {"gamma": 1.0, "beta": 0.0, "running_mean": 0.0, "running_var": 1.0}

    def array_shapes(self):
        d = (self.n_out,)
        return {"param": {"gamma": d, "beta": d}, "buffer": {"running_mean": d, "running_var": d}}

    def build(self, rng, dtype):
        super().build(rng, dtype)
        shapes = self.array_shapes()
        for name, shape in shapes["param"].items():
            self.params[name] = np.full(shape, self._INITIAL[name], self.dtype)
            self.grads[name] = np.zeros(shape, self.dtype)
        for name, shape in shapes["buffer"].items():
            self.buffers[name] = np.full(shape, self._INITIAL[name], self.dtype)

    def forward(self, A, training=False):
        if A.shape[1] != self.n_in:
            raise ValueError(f"BatchNorm layer {self.index} expects {self.n_in} input features, "
                             f"got {A.shape[1]}")
        gamma, beta = self.params["gamma"], self.params["beta"]
        d = A.shape[1]
        n = self._count(A.shape[0]) if training else A.shape[0]   # the global batch when synchronised
        if training and n < 2:
            raise ValueError(f"BatchNorm layer {self.index} needs more than 1 sample per batch "
                             "in training mode, got 1 (use a larger batch_size or drop the "
                             "last partial batch)")
        xhat = self._output("xhat", A.shape, A.dtype, training)
        Y = self._output("Y", A.shape, A.dtype, training)
        inv_std = self._output("inv_std", (d,), A.dtype, training)
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        D, m = A.dtype.type, self.momentum
        if self.backend == "numba" and self.comm is None:
            if training:
                mu = self._buffer("mu", (d,), A.dtype)
                _batchnorm_statistics_loop(A, rm, rv, D(1.0 - m), D(m), D(m * n / (n - 1)), D(self.eps),
                                           D(smallest_normal(A.dtype)), mu, inv_std)
            else:
                mu = rm
                _inverse_std(rv, self.eps, inv_std)
            _batchnorm_normalise_loop(A, mu, inv_std, gamma, beta, xhat, Y)
            self._cache = (xhat, inv_std, training)
            return Y
        if training:
            mu = self._sum(A.sum(axis=0)) / n                     # μ
            np.subtract(A, mu, out=xhat)                          # Z − μ
            var = self._sum(np.sum(np.multiply(xhat, xhat, out=Y), axis=0)) / n  # σ² (Y is scratch here)
            rm *= 1.0 - m
            rm += m * mu
            rv *= 1.0 - m
            rv += (m * n / (n - 1)) * var
            scratch, mask = self._buffer("stat_scratch", (d,), A.dtype), self._buffer("stat_mask", (d,), bool)
            flush_denormals_(rm, scratch, mask)                   # a constant feature's statistics
            flush_denormals_(rv, scratch, mask)                   # decay geometrically (bprop._numerics)
        else:
            np.subtract(A, rm, out=xhat)
            var = rv
        _inverse_std(var, self.eps, inv_std)                      # 1/√(σ² + ε)
        xhat *= inv_std                                           # Ẑ = (Z − μ)/√(σ² + ε)
        self._cache = (xhat, inv_std, training)
        np.multiply(xhat, gamma, out=Y)                           # Y = γ ⊙ Ẑ + β
        Y += beta
        return Y

    def backward(self, dOut, need_input_grad=True):
        xhat, inv_std, training = self._cache
        if self.backend == "numba" and self.comm is None:
            d = dOut.shape[1]
            dX = self._buffer("dA", dOut.shape, dOut.dtype)
            _batchnorm_backward_loop(dOut, xhat, self.params["gamma"], inv_std, training, need_input_grad,
                                     self.grads["gamma"], self.grads["beta"],
                                     self._buffer("sums", (3, d), dOut.dtype), dX)
            return dX if need_input_grad else None
        g = self._buffer("dA", dOut.shape, dOut.dtype)
        np.sum(np.multiply(dOut, xhat, out=g), axis=0, out=self.grads["gamma"])  # ∂C/∂γ = Σ ∂C/∂Y ⊙ Ẑ
        np.sum(dOut, axis=0, out=self.grads["beta"])                              # ∂C/∂β = Σ ∂C/∂Y
        if not need_input_grad:
            return None
        np.multiply(dOut, self.params["gamma"], out=g)            # g = ∂C/∂Ẑ
        if not training:
            g *= inv_std
            return g
        n = self._count(dOut.shape[0])
        t = self._buffer("t", dOut.shape, dOut.dtype)
        sums = np.empty((2, g.shape[1]), g.dtype)
        g.sum(axis=0, out=sums[0])
        np.sum(np.multiply(g, xhat, out=t), axis=0, out=sums[1])
        sum_g, sum_gx = self._sum(sums)
        np.multiply(xhat, sum_gx, out=t)
        g *= n                                                    # ∂C/∂Z = (n g − Σg − Ẑ Σ g⊙Ẑ) / (n√(σ²+ε))
        g -= sum_g
        g -= t
        g *= inv_std / n
        return g

    def describe(self):
        return f"BatchNorm({self.n_out})"

    def get_config(self):
        cfg = {"type": "BatchNorm", "n": self.n_out, "momentum": self.momentum, "eps": self.eps}
        if self.sync:
            cfg["sync"] = True
        return cfg


# -- the compiled variant (Sequential(..., backend="numba")) ----------------------------------


@compiled
def _batchnorm_statistics_loop(A, running_mean, running_var, keep, m, m_unbiased, eps, tiny, mu, inv_std):
    """Training statistics in two passes over ``A (n, d)``: μ = Σ Z / n, then σ² = Σ (Z − μ)² / n.

    The formula and the order of operations of :meth:`BatchNorm.forward`
    (NumPy sums rows in order along axis 0, as here). Writes ``mu`` and
    ``inv_std = 1/√(σ² + ε)`` (``(d,)``); the running statistics move as there
    (``keep = 1 − m``, ``m_unbiased = m·n/(n − 1)``, all scalars in ``A``'s dtype)
    and are flushed to 0 below ``tiny`` (:mod:`bprop._numerics`).
    """
    n, d = A.shape
    zero, one = A.dtype.type(0.0), A.dtype.type(1.0)
    nn = A.dtype.type(n)
    for j in range(d):
        mu[j] = zero
        inv_std[j] = zero                    # Σ (Z − μ)² first
    for i in range(n):
        for j in range(d):
            mu[j] += A[i, j]
    for j in range(d):
        mu[j] /= nn
    for i in range(n):
        for j in range(d):
            c = A[i, j] - mu[j]
            inv_std[j] += c * c
    for j in range(d):
        var = inv_std[j] / nn
        rm = running_mean[j] * keep + m * mu[j]
        rv = running_var[j] * keep + m_unbiased * var
        running_mean[j] = zero if abs(rm) < tiny else rm
        running_var[j] = zero if abs(rv) < tiny else rv
        inv_std[j] = one / np.sqrt(var + eps)


@compiled
def _batchnorm_normalise_loop(A, shift, inv_std, gamma, beta, xhat, Y):
    """One pass: Ẑ = (Z − shift) ⊙ inv_std and Y = γ ⊙ Ẑ + β (shift: μ in training, running_mean in eval)."""
    n, d = A.shape
    for i in range(n):
        for j in range(d):
            x = (A[i, j] - shift[j]) * inv_std[j]
            xhat[i, j] = x
            Y[i, j] = x * gamma[j] + beta[j]


@compiled
def _batchnorm_backward_loop(dOut, xhat, gamma, inv_std, training, need_input_grad, dgamma, dbeta, work, dX):
    """Backward in two passes over ``dOut (n, d)``: the column sums, then ∂C/∂Z.

    Pass 1: ∂C/∂β = Σ ∂C/∂Y, ∂C/∂γ = Σ ∂C/∂Y ⊙ Ẑ, and with g = ∂C/∂Y ⊙ γ the
    sums Σ g and Σ g ⊙ Ẑ. Pass 2: ∂C/∂Z = (n g − Σg − Ẑ Σ g⊙Ẑ) · (1/√(σ²+ε))/n
    (training mode), or g/√(σ²+ε) (eval mode) — :meth:`BatchNorm.backward`'s
    formula in its order of operations. ``work (3, d)``: Σ g, Σ g ⊙ Ẑ and the
    scale (1/√(σ²+ε))/n.
    """
    n, d = dOut.shape
    zero = dOut.dtype.type(0.0)
    nn = dOut.dtype.type(n)
    sum_g, sum_gx, scale = work[0], work[1], work[2]
    for j in range(d):
        dgamma[j] = zero
        dbeta[j] = zero
        sum_g[j] = zero
        sum_gx[j] = zero
        scale[j] = inv_std[j] / nn
    for i in range(n):
        for j in range(d):
            dy = dOut[i, j]
            x = xhat[i, j]
            dbeta[j] += dy
            dgamma[j] += dy * x
            g = dy * gamma[j]
            sum_g[j] += g
            sum_gx[j] += g * x
    if not need_input_grad:
        return
    if not training:
        for i in range(n):
            for j in range(d):
                dX[i, j] = dOut[i, j] * gamma[j] * inv_std[j]
        return
    for i in range(n):
        for j in range(d):
            g = dOut[i, j] * gamma[j]
            dX[i, j] = ((g * nn - sum_g[j]) - xhat[i, j] * sum_gx[j]) * scale[j]
