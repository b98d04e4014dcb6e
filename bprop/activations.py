r"""Element-wise activation layers :math:`A = σ(Z)` and their derivatives.

Each layer's ``backward`` turns ``∂C/∂A`` into ``δ = ∂C/∂Z = ∂C/∂A ⊙ σ'(Z)``:
the second factor of BP1 (output layer) and BP2 (hidden layers). Where it is
cheaper, σ' is written from the cached output, as in the tutorials:
sigmoid ``σ' = a(1 − a)``, tanh ``σ' = 1 − a²``.

All are numerically stable: logits of ±1e4 give finite values without warnings.

Fast path: while ``Sequential`` runs a training step with :mod:`bprop.kernels`
enabled, a layer's ``_ws`` holds reused buffers and its forward and backward
call the fused kernel of the same formula (one pass, no temporaries; numba or
in-place NumPy) instead of the expression written here. The numbers are the
same; the expressions below are the reference.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels
from ._validation import check_number, unknown_name
from .layers.base import Layer


def stable_sigmoid(Z: np.ndarray) -> np.ndarray:
    r""":math:`σ(z) = 1/(1+e^{-z})`, computed as :math:`e^{-|z|}` ratios so exp never overflows."""
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(Z.dtype, copy=False)


def stable_softmax(Z: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`\mathrm{softmax}(z)_j = e^{z_j - \max z} / \sum_k e^{z_k - \max z}`."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    E /= E.sum(axis=1, keepdims=True)
    return E


class Activation(Layer):
    """Base of the element-wise activations: no parameters, shape-preserving."""

    #: Reused buffers while ``Sequential`` runs a fast training step, else None.
    _ws = None

    def __init__(self):
        super().__init__()
        self._cache: np.ndarray | None = None

    def _buffer(self, name: str, like: np.ndarray) -> np.ndarray:
        """A reused work array shaped like ``like`` (fast path only)."""
        return self._ws.get(name, like.shape, like.dtype)


class Identity(Activation):
    r""":math:`σ(z) = z`, :math:`σ'(z) = 1`."""

    def forward(self, A, training=False):
        return A

    def backward(self, dOut, need_input_grad=True):
        return dOut


class Sigmoid(Activation):
    r"""Logistic :math:`σ(z) = 1/(1 + e^{-z})`, :math:`σ'(z) = σ(z)(1 − σ(z))`."""

    def forward(self, A, training=False):
        if self._ws is not None:
            self._cache = out = kernels.backend().sigmoid_forward(A, self._buffer("A", A))
            return out
        self._cache = out = stable_sigmoid(A)
        return out

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        if self._ws is not None:
            return kernels.backend().sigmoid_backward(dOut, a, self._buffer("dZ", a))
        return dOut * a * (1.0 - a)


class Tanh(Activation):
    r""":math:`σ(z) = \tanh z`, :math:`σ'(z) = 1 − \tanh^2 z`."""

    def forward(self, A, training=False):
        if self._ws is not None:
            self._cache = out = np.tanh(A, out=self._buffer("A", A))
            return out
        self._cache = out = np.tanh(A)
        return out

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        if self._ws is not None:
            return kernels.backend().tanh_backward(dOut, a, self._buffer("dZ", a))
        return dOut * (1.0 - a * a)


class ReLU(Activation):
    r""":math:`σ(z) = \max(0, z)`, :math:`σ'(z) = [z > 0]` (0 at z = 0, as PyTorch)."""

    def forward(self, A, training=False):
        if self._ws is not None:
            self._cache = out = kernels.backend().relu_forward(A, self._buffer("A", A))
            return out
        self._cache = out = np.maximum(A, 0)
        return out

    def backward(self, dOut, need_input_grad=True):
        if self._ws is not None:
            a = self._cache
            return kernels.backend().relu_backward(dOut, a, self._buffer("dZ", a))
        return dOut * (self._cache > 0)


class LeakyReLU(Activation):
    r""":math:`σ(z) = z` for z > 0, else :math:`s z`; :math:`σ'(z) = 1` or ``s`` (slope)."""

    def __init__(self, slope: float = 0.01):
        super().__init__()
        self.slope = check_number(slope, "slope", low=0.0)

    def forward(self, A, training=False):
        self._cache = A
        if self._ws is not None:
            return kernels.backend().leaky_relu_forward(A, A.dtype.type(self.slope), self._buffer("A", A))
        return np.where(A > 0, A, A * A.dtype.type(self.slope))

    def backward(self, dOut, need_input_grad=True):
        if self._ws is not None:
            Z = self._cache
            return kernels.backend().leaky_relu_backward(dOut, Z, dOut.dtype.type(self.slope),
                                                         self._buffer("dZ", Z))
        return np.where(self._cache > 0, dOut, dOut * dOut.dtype.type(self.slope))

    def get_config(self):
        return {"type": "LeakyReLU", "slope": self.slope}


class ELU(Activation):
    r""":math:`σ(z) = z` for z > 0, else :math:`α(e^z − 1)`; :math:`σ'(z) = 1` or :math:`σ(z) + α`."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_number(alpha, "alpha", low=0.0)

    def forward(self, A, training=False):
        if self._ws is not None:
            out = kernels.backend().elu_forward(A, A.dtype.type(self.alpha), self._buffer("A", A))
            self._cache = (A, out)
            return out
        neg = self.alpha * np.expm1(np.minimum(A, 0))
        out = np.where(A > 0, A, neg).astype(A.dtype, copy=False)
        self._cache = (A, out)
        return out

    def backward(self, dOut, need_input_grad=True):
        Z, out = self._cache
        if self._ws is not None:
            return kernels.backend().elu_backward(dOut, Z, out, out.dtype.type(self.alpha),
                                                  self._buffer("dZ", Z))
        return np.where(Z > 0, dOut, dOut * (out + self.alpha))

    def get_config(self):
        return {"type": "ELU", "alpha": self.alpha}


def _erf(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf
    except ImportError:  # exact but slower fallback
        return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)
    return erf(x)


class GELU(Activation):
    r"""Gaussian error linear unit (Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415).

    ``approximate="none"`` (default, as ``torch.nn.GELU``):
    :math:`σ(z) = z Φ(z)`, :math:`Φ(z) = ½(1 + \mathrm{erf}(z/\sqrt2))`,
    :math:`σ'(z) = Φ(z) + z φ(z)` with :math:`φ(z) = e^{-z^2/2}/\sqrt{2π}`.

    ``approximate="tanh"``: :math:`σ(z) = ½ z (1 + \tanh u)`,
    :math:`u = \sqrt{2/π}(z + 0.044715 z^3)`,
    :math:`σ'(z) = ½(1 + \tanh u) + ½ z (1 − \tanh^2 u) \sqrt{2/π}(1 + 3·0.044715 z^2)`.

    The exact form uses ``scipy.special.erf`` when SciPy is installed and
    ``math.erf`` otherwise (same values, slower).
    """

    _K = math.sqrt(2.0 / math.pi)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, A, training=False):
        if self.approximate == "tanh":
            t = np.tanh(self._K * (A + 0.044715 * A ** 3))
            self._cache = (A, t)
            return 0.5 * A * (1.0 + t)
        cdf = 0.5 * (1.0 + _erf(A / math.sqrt(2.0)))
        self._cache = (A, cdf)
        return A * cdf

    def backward(self, dOut, need_input_grad=True):
        Z, aux = self._cache
        if self.approximate == "tanh":
            t = aux
            d = 0.5 * (1.0 + t) + 0.5 * Z * (1.0 - t * t) * self._K * (1.0 + 3 * 0.044715 * Z * Z)
        else:
            d = aux + Z * np.exp(-0.5 * Z * Z) / math.sqrt(2.0 * math.pi)
        return dOut * d.astype(dOut.dtype, copy=False)

    def get_config(self):
        return {"type": "GELU", "approximate": self.approximate}


class Softmax(Activation):
    r"""Row-wise softmax :math:`a_j = e^{z_j} / \sum_k e^{z_k}`.

    Not element-wise: its Jacobian is :math:`∂a_j/∂z_i = a_j(δ_{ij} − a_i)`, so
    :math:`∂C/∂z = a ⊙ (∂C/∂a − \sum_j (∂C/∂a)_j a_j)` row by row. Use it as
    the output of a network trained with ``MSE``; with ``CrossEntropy`` leave
    it out — that loss takes logits and applies softmax itself (fused, stable).
    """

    def forward(self, A, training=False):
        if self._ws is not None:
            self._cache = out = kernels.backend().softmax_forward(A, self._buffer("A", A))
            return out
        self._cache = out = stable_softmax(A)
        return out

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        if self._ws is not None:
            return kernels.backend().softmax_backward(dOut, a, self._buffer("dZ", a))
        return a * (dOut - np.sum(dOut * a, axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    "identity": Identity, "linear": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU, "softmax": Softmax,
}


def get(name, **kwargs) -> Activation:
    """Return an activation layer by name (``"relu"``, ``"leaky_relu"``, ...) or pass one through."""
    if isinstance(name, Activation):
        return name
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[key](**kwargs)
