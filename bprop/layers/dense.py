r"""The fully-connected (dense) layer."""

from __future__ import annotations

import numpy as np

from .. import initializers
from numbers import Integral, Real

from .._validation import Interval, check, check_params, is_sparse
from .base import Layer, check_allocation


class Dense(Layer):
    r"""Fully-connected layer :math:`Z = A W^\top + b`.

    Parameters
    ----------
    n_in, n_out : int
        Input and output feature counts. ``W`` has shape ``(n_out, n_in)``:
        ``W[k, j]`` connects neuron ``j`` of the previous layer to neuron ``k``
        of this one (the orientation of ``torch.nn.Linear``).
    bias : bool, default True
        Whether the layer has a bias ``b (n_out,)``.
    init : str, Initializer or callable, default "xavier_uniform"
        Weight initialiser (see :mod:`bprop.initializers`).
    bias_init : float, str, Initializer or callable, default 0.0
        A number (e.g. 0.01 for ReLU layers) or an initialiser; it receives the
        fans of ``W``.

    Notes
    -----
    Given ``δ = ∂C/∂Z (n, n_out)`` from the layer above, ``backward`` computes

    * BP3: :math:`\partial C/\partial b = \sum_{\text{rows}} \delta = \mathbf 1^\top \delta`
      (computed as that product, a BLAS matrix-vector call: faster and
      more accurate in float32 than a NumPy sum over the rows)
    * BP4: :math:`\partial C/\partial W = \delta^\top A` (shape ``(n_out, n_in)``)
    * the input gradient :math:`\partial C/\partial A = \delta W`, which the
      activation below turns into its own δ (BP2).

    In training mode ``Z`` and ``∂C/∂A`` are written into buffers the layer
    keeps from step to step (``np.matmul(..., out=)``, with ``W.T`` and ``δ.T``
    as views that BLAS reads transposed), so a step allocates nothing.

    A sparse input ``A`` (scipy CSR, as :class:`~bprop.Sequential` passes a
    sparse ``X`` to its first layer) is never densified: ``Z = A Wᵀ`` is a
    sparse-times-dense product, and BP4 is computed as
    :math:`\partial C/\partial W = (A^\top\delta)^\top`, the same
    :math:`\delta^\top A` with the sparse factor on the left (``Aᵀ`` is CSC
    without a copy), costing time and memory proportional to the non-zeros.
    """

    _parameter_constraints = {"n_in": Interval(Integral, 1, None), "n_out": Interval(Integral, 1, None),
                              "bias": bool}

    def __init__(self, n_in: int, n_out: int, *, bias: bool = True,
                 init="xavier_uniform", bias_init=0.0):
        super().__init__()
        bias = bool(bias) if isinstance(bias, np.bool_) else bias
        self.n_in, self.n_out, self.bias = check_params({"n_in": n_in, "n_out": n_out, "bias": bias},
                                                        self._parameter_constraints).values()
        if isinstance(bias_init, Real) and not isinstance(bias_init, bool):
            check(bias_init, "bias_init", initializers.FINITE)     # a NaN bias is never meant
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        self._A: np.ndarray | None = None

    def array_shapes(self):
        shapes = {"W": (self.n_out, self.n_in)}
        if self.bias:
            shapes["b"] = (self.n_out,)
        return {"param": shapes, "buffer": {}}

    def build(self, rng, dtype) -> None:
        super().build(rng, dtype)
        shapes = self.array_shapes()["param"]
        # W, ∂C/∂W, the initialiser's float64 draw and the optimiser's state: about four copies
        check_allocation(self.label, "W", shapes["W"], np.float64, copies=4)
        fans = dict(fan_in=self.n_in, fan_out=self.n_out)
        for name, init in (("W", self.init), ("b", self.bias_init)):
            if name in shapes:
                self.params[name] = np.ascontiguousarray(init(shapes[name], rng, self.dtype, **fans))
                self.grads[name] = np.zeros_like(self.params[name])

    def forward(self, A, training=False):
        if A.shape[1] != self.n_in:
            raise ValueError(f"Dense layer {self.index} expects {self.n_in} input features, "
                             f"got {A.shape[1]}")
        self._A = A
        Z = self._output("Z", (A.shape[0], self.n_out), A.dtype, training)
        if is_sparse(A):
            Z[...] = A @ self.params["W"].T                      # Z = A @ W.T, sparse × dense
        else:
            np.matmul(A, self.params["W"].T, out=Z)              # Z = A @ W.T
        if self.bias:
            Z += self.params["b"]                                #     + b
        return Z

    def backward(self, dOut, need_input_grad=True):
        delta = dOut                                             # δ = ∂C/∂Z
        if is_sparse(self._A):
            self.grads["W"][...] = (self._A.T @ delta).T          # BP4 δ.T @ A = (A.T @ δ).T, sparse × dense
        else:
            np.matmul(delta.T, self._A, out=self.grads["W"])      # BP4 (δ.T is a view: BLAS transposes)
        if self.bias:
            ones = self._buffer("ones", (delta.shape[0],), delta.dtype)
            ones.fill(1)
            np.matmul(ones, delta, out=self.grads["b"])           # BP3 1ᵀδ = Σ_rows δ
        if not need_input_grad:
            return None
        dA = self._buffer("dA", self._A.shape, delta.dtype)
        if self.n_out == 1:          # δ @ W with inner dimension 1 is the outer product δ ⊗ W: the same
            return np.multiply(delta, self.params["W"], out=dA)  # products, 4x faster than BLAS's gemm
        return np.matmul(delta, self.params["W"], out=dA)        # ∂C/∂A = δ @ W

    def get_config(self):
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out, "bias": self.bias,
                "init": self.init.get_config(), "bias_init": self.bias_init.get_config()}

    def describe(self):
        return f"Dense({self.n_in}→{self.n_out}{'' if self.bias else ', no bias'})"

    def __repr__(self):
        extra = "" if self.bias else ", bias=False"
        return f"Dense({self.n_in}, {self.n_out}{extra}, init={self.init.name!r})"
