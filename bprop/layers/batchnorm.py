r"""Batch normalisation (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)."""

from __future__ import annotations

import numpy as np

from numbers import Integral, Real

from .._validation import Interval, check_params
from .base import Layer


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
    (zeros) and ``running_var`` (ones).

    ``sync=True`` matters only in a data-parallel run (``fit(..., comm=...)``,
    :mod:`bprop.training.distributed`), where each rank holds a part of the
    batch. By default each rank normalises by its own part's statistics (as
    Horovod and torch DDP do). Synchronised, the statistics are those of the
    global batch of :math:`n = \sum_r n_r` rows: one ``Allreduce`` of
    :math:`\sum_i Z_i` gives μ, a second of :math:`\sum_i (Z_i − μ)^2` gives σ²
    (two passes, as one process computes them), and the backward pass
    all-reduces :math:`\sum_i g_i` and :math:`\sum_i g_i ⊙ \hat Z_i` — so the run
    equals the single-process one (``torch.nn.SyncBatchNorm``).
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
        xhat = self._output("xhat", A.shape, A.dtype, training)
        Y = self._output("Y", A.shape, A.dtype, training)
        if training:
            n = self._count(A.shape[0])
            if n < 2:
                raise ValueError(f"BatchNorm layer {self.index} needs more than 1 sample per batch "
                                 "in training mode, got 1 (use a larger batch_size or drop the "
                                 "last partial batch)")
            mu = self._sum(A.sum(axis=0)) / n                     # μ
            np.subtract(A, mu, out=xhat)                          # Z − μ
            var = self._sum(np.sum(np.multiply(xhat, xhat, out=Y), axis=0)) / n  # σ² (Y is scratch here)
            m = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1.0 - m
            rm += m * mu
            rv *= 1.0 - m
            rv += (m * n / (n - 1)) * var
        else:
            np.subtract(A, self.buffers["running_mean"], out=xhat)
            var = self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= inv_std                                           # Ẑ = (Z − μ)/√(σ² + ε)
        self._cache = (xhat, inv_std, training)
        np.multiply(xhat, gamma, out=Y)                           # Y = γ ⊙ Ẑ + β
        Y += beta
        return Y

    def backward(self, dOut, need_input_grad=True):
        xhat, inv_std, training = self._cache
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
