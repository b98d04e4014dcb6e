r"""Element-wise activation layers :math:`A = σ(Z)` and their derivatives.

Each layer's ``backward`` turns ``∂C/∂A`` into ``δ = ∂C/∂Z = ∂C/∂A ⊙ σ'(Z)``:
the second factor of BP1 (output layer) and BP2 (hidden layers). Where it is
cheaper, σ' is written from the cached output, as in the tutorials:
sigmoid ``σ' = a(1 − a)``, tanh ``σ' = 1 − a²``.

All are numerically stable: logits of ±1e4 give finite values without warnings.

The NumPy expression in each ``forward``/``backward`` is the code that runs
(in training mode it writes into buffers the layer reuses from step to step).
Where a one-pass loop is faster, it is written just below the layer as a
function decorated with :func:`bprop._jit.compiled`, and runs instead only
when the network was built with ``Sequential(..., backend="numba")``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import compiled
from numbers import Real

from ._validation import Interval, Options, check_params, unknown_name
from .layers.base import Layer


def sigmoid(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`σ(z) = 1/(1+e^{-z})`, computed from :math:`e^{-|z|}` so exp never overflows.

    :math:`σ(z) = 1/(1 + e^{-|z|})` for z ≥ 0 and :math:`e^{-|z|}/(1 + e^{-|z|})` for z < 0.
    """
    if out is None:
        out = np.empty_like(Z)
    e = np.exp(-np.abs(Z))
    one = Z.dtype.type(1.0)
    den = one + e
    np.divide(one, den, out=out)
    np.divide(e, den, out=out, where=Z < 0)
    return out


def softmax(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r"""Row-wise :math:`\mathrm{softmax}(z)_j = e^{z_j - \max z} / \sum_k e^{z_k - \max z}` (no overflow)."""
    out = np.subtract(Z, Z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


class Activation(Layer):
    """Base of the element-wise activations: no parameters, shape-preserving."""

    def __init__(self):
        super().__init__()
        self._cache = None

    def _numba(self) -> bool:
        return self.backend == "numba"

    def derivative(self, Z) -> np.ndarray:
        r""":math:`σ'(Z)`, element-wise, by the layer's own ``backward`` of ones on a copy of the layer.

        ``backward(1)`` after ``forward(Z)`` is :math:`1 \odot σ'(Z)`, so the
        derivative shown by ``bprop explain`` and the experiments is the one
        BP1 and BP2 use; this layer's caches and buffers are untouched.
        """
        import copy
        layer = copy.deepcopy(self)
        Z = np.array(Z, copy=True)
        layer.forward(Z, True)
        return np.array(layer.backward(np.ones_like(Z)), copy=True)


class Identity(Activation):
    r""":math:`σ(z) = z`, :math:`σ'(z) = 1`."""

    def forward(self, A, training=False):
        return A

    def backward(self, dOut, need_input_grad=True):
        return dOut


class Sigmoid(Activation):
    r"""Logistic :math:`σ(z) = 1/(1 + e^{-z})`, :math:`σ'(z) = σ(z)(1 − σ(z))`."""

    def forward(self, Z, training=False):
        A = self._output("A", Z.shape, Z.dtype, training)
        self._cache = A
        if self._numba():
            return _sigmoid_loop(Z, A)
        return sigmoid(Z, out=A)

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        dZ = self._buffer("dZ", a.shape, a.dtype)
        if self._numba():
            return _sigmoid_backward_loop(dOut, a, dZ)
        np.multiply(dOut, a, out=dZ)                 # δ = ∂C/∂A ⊙ a ⊙ (1 − a)
        dZ *= 1.0 - a
        return dZ


@compiled
def _sigmoid_loop(Z, out):
    zero, one = Z.dtype.type(0.0), Z.dtype.type(1.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            e = np.exp(-abs(z))
            out[i, j] = e / (one + e) if z < zero else one / (one + e)
    return out


@compiled
def _sigmoid_backward_loop(dA, A, out):
    one = A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            out[i, j] = dA[i, j] * a * (one - a)
    return out


class Tanh(Activation):
    r""":math:`σ(z) = \tanh z`, :math:`σ'(z) = 1 − \tanh^2 z`."""

    def forward(self, Z, training=False):
        self._cache = A = np.tanh(Z, out=self._output("A", Z.shape, Z.dtype, training))
        return A

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        dZ = self._buffer("dZ", a.shape, a.dtype)
        if self._numba():
            return _tanh_backward_loop(dOut, a, dZ)
        np.multiply(a, a, out=dZ)                    # δ = ∂C/∂A ⊙ (1 − a²)
        np.subtract(1.0, dZ, out=dZ)
        dZ *= dOut
        return dZ


@compiled
def _tanh_backward_loop(dA, A, out):
    one = A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            out[i, j] = dA[i, j] * (one - a * a)
    return out


class ReLU(Activation):
    r""":math:`σ(z) = \max(0, z)`, :math:`σ'(z) = [z > 0]` (0 at z = 0, as PyTorch)."""

    def forward(self, Z, training=False):
        A = self._output("A", Z.shape, Z.dtype, training)
        self._cache = A
        if self._numba():
            return _relu_loop(Z, A)
        return np.maximum(Z, 0, out=A)               # a = max(z, 0)

    def backward(self, dOut, need_input_grad=True):
        a = self._cache                              # a > 0 exactly where z > 0
        dZ = self._buffer("dZ", a.shape, a.dtype)
        if self._numba():
            return _relu_backward_loop(dOut, a, dZ)
        return np.multiply(dOut, a > 0, out=dZ)      # δ = ∂C/∂A ⊙ [z > 0]


@compiled
def _relu_loop(Z, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = zero if z <= zero else z     # NaN passes through, as np.maximum
    return out


@compiled
def _relu_backward_loop(dA, A, out):
    zero, one = A.dtype.type(0.0), A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            out[i, j] = dA[i, j] * (one if A[i, j] > zero else zero)
    return out


class LeakyReLU(Activation):
    r""":math:`σ(z) = z` for z > 0, else :math:`s z`; :math:`σ'(z) = 1` or ``s`` (slope)."""

    _parameter_constraints = {"slope": Interval(Real, 0, None)}

    def __init__(self, slope: float = 0.01):
        super().__init__()
        (self.slope,) = check_params({"slope": slope}, self._parameter_constraints).values()

    def forward(self, Z, training=False):
        self._cache = Z
        A = self._output("A", Z.shape, Z.dtype, training)
        slope = Z.dtype.type(self.slope)
        if self._numba():
            return _leaky_relu_loop(Z, slope, A)
        np.multiply(Z, slope, out=A)                 # s z ...
        np.copyto(A, Z, where=Z > 0)                 # ... or z where z > 0
        return A

    def backward(self, dOut, need_input_grad=True):
        Z = self._cache
        dZ = self._buffer("dZ", Z.shape, Z.dtype)
        slope = Z.dtype.type(self.slope)
        if self._numba():
            return _leaky_relu_backward_loop(dOut, Z, slope, dZ)
        pos = Z > 0
        np.multiply(dOut, slope, out=dZ)             # δ = s ∂C/∂A ...
        np.copyto(dZ, dOut, where=pos)               # ... or ∂C/∂A where z > 0
        return dZ

    def get_config(self):
        return {"type": "LeakyReLU", "slope": self.slope}


@compiled
def _leaky_relu_loop(Z, slope, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = z if z > zero else z * slope
    return out


@compiled
def _leaky_relu_backward_loop(dA, Z, slope, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            d = dA[i, j]
            out[i, j] = d if Z[i, j] > zero else d * slope
    return out


class ELU(Activation):
    r""":math:`σ(z) = z` for z > 0, else :math:`α(e^z − 1)`; :math:`σ'(z) = 1` or :math:`σ(z) + α`."""

    _parameter_constraints = {"alpha": Interval(Real, 0, None)}

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        (self.alpha,) = check_params({"alpha": alpha}, self._parameter_constraints).values()

    def forward(self, Z, training=False):
        A = self._output("A", Z.shape, Z.dtype, training)
        self._cache = (Z, A)
        alpha = Z.dtype.type(self.alpha)
        if self._numba():
            return _elu_loop(Z, alpha, A)
        np.minimum(Z, 0, out=A)                      # α(e^min(z,0) − 1) ...
        np.expm1(A, out=A)
        A *= alpha
        np.copyto(A, Z, where=Z > 0)                 # ... or z where z > 0
        return A

    def backward(self, dOut, need_input_grad=True):
        Z, a = self._cache
        dZ = self._buffer("dZ", Z.shape, Z.dtype)
        alpha = Z.dtype.type(self.alpha)
        if self._numba():
            return _elu_backward_loop(dOut, Z, a, alpha, dZ)
        pos = Z > 0
        np.add(a, alpha, out=dZ)                     # δ = ∂C/∂A ⊙ (a + α) ...
        np.multiply(dZ, dOut, out=dZ, where=~pos)
        np.copyto(dZ, dOut, where=pos)               # ... or ∂C/∂A where z > 0
        return dZ

    def get_config(self):
        return {"type": "ELU", "alpha": self.alpha}


@compiled
def _elu_loop(Z, alpha, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = z if z > zero else alpha * np.expm1(min(z, zero))
    return out


@compiled
def _elu_backward_loop(dA, Z, A, alpha, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            d = dA[i, j]
            out[i, j] = d if Z[i, j] > zero else d * (A[i, j] + alpha)
    return out


def _erf(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``erf(x)`` into ``out``: ``scipy.special.erf`` when SciPy is installed, else ``math.erf`` per entry."""
    try:
        from scipy.special import erf
    except ImportError:  # exact but slower fallback
        out[...] = np.vectorize(math.erf, otypes=[np.float64])(x)
        return out
    return erf(x, out=out)


#: GELU's tanh form: u = √(2/π)(z + 0.044715 z³); module constants, so the compiled loops read the same numbers
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


class GELU(Activation):
    r"""Gaussian error linear unit (Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415).

    ``approximate="none"`` (default, as ``torch.nn.GELU``):
    :math:`σ(z) = z Φ(z)`, :math:`Φ(z) = ½(1 + \mathrm{erf}(z/\sqrt2))`,
    :math:`σ'(z) = Φ(z) + z φ(z)` with :math:`φ(z) = e^{-z^2/2}/\sqrt{2π}`.

    ``approximate="tanh"``: :math:`σ(z) = ½ z (1 + \tanh u)`,
    :math:`u = \sqrt{2/π}(z + 0.044715 z^3)`,
    :math:`σ'(z) = ½(1 + \tanh u) + ½ z (1 − \tanh^2 u) \sqrt{2/π}(1 + 3·0.044715 z^2)`.

    The forward pass keeps :math:`Φ(z)` (or :math:`\tanh u`) for the backward
    pass. The exact form uses ``scipy.special.erf`` when SciPy is installed
    and ``math.erf`` otherwise (same values, slower). ``backend="numba"``
    compiles the passes where one loop beats NumPy's vectorised ``tanh`` and
    ``exp``: the exact forward pass (:func:`_gelu_erf_loop`, one ``erf`` per
    entry) and the tanh form's backward pass (:func:`_gelu_tanh_backward_loop`,
    arithmetic only); the other two run the NumPy code, which is faster there.
    """

    _K = _GELU_K
    _C = _GELU_C

    _parameter_constraints = {"approximate": Options(("none", "tanh"), type=str)}

    def __init__(self, approximate: str = "none"):
        super().__init__()
        (self.approximate,) = check_params({"approximate": approximate}, self._parameter_constraints).values()

    def forward(self, Z, training=False):
        A = self._output("A", Z.shape, Z.dtype, training)
        aux = self._output("aux", Z.shape, Z.dtype, training)      # Φ(z), or tanh u
        self._cache = (Z, aux)
        tanh_form = self.approximate == "tanh"
        if self._numba() and not tanh_form:
            return _gelu_erf_loop(Z, A, aux)
        if tanh_form:
            np.multiply(Z, Z, out=aux)                   # u = √(2/π)(z + 0.044715 z³)
            aux *= Z
            aux *= self._C
            aux += Z
            aux *= self._K
            np.tanh(aux, out=aux)
            np.add(aux, 1.0, out=A)                      # σ = ½ (1 + tanh u) z
            A *= 0.5
        else:
            np.divide(Z, math.sqrt(2.0), out=aux)        # Φ = ½(1 + erf(z/√2))
            _erf(aux, aux)
            aux += 1.0
            aux *= 0.5
            np.copyto(A, aux)                            # σ = z Φ
        A *= Z
        return A

    def backward(self, dOut, need_input_grad=True):
        Z, aux = self._cache
        dZ = self._buffer("dZ", Z.shape, Z.dtype)
        tanh_form = self.approximate == "tanh"
        if self._numba() and tanh_form:
            return _gelu_tanh_backward_loop(dOut, Z, aux, dZ)
        if tanh_form:                # ½(1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²)
            work = self._buffer("work", Z.shape, Z.dtype)
            np.multiply(Z, Z, out=dZ)
            dZ *= 3 * self._C
            dZ += 1.0
            dZ *= self._K
            np.multiply(aux, aux, out=work)
            np.subtract(1.0, work, out=work)
            dZ *= work
            dZ *= Z
            dZ *= 0.5
            np.add(aux, 1.0, out=work)
            work *= 0.5
            dZ += work
        else:                        # Φ(z) + z e^{−z²/2} / √(2π)
            np.multiply(Z, Z, out=dZ)
            dZ *= -0.5
            np.exp(dZ, out=dZ)
            dZ *= Z
            dZ /= math.sqrt(2.0 * math.pi)
            dZ += aux
        dZ *= dOut                   # δ = ∂C/∂A ⊙ σ'(z)
        return dZ

    def get_config(self):
        return {"type": "GELU", "approximate": self.approximate}


@compiled
def _gelu_erf_loop(Z, A, aux):
    """The exact form's forward pass: ``aux = Φ(z) = ½(1 + erf(z/√2))``, ``A = z Φ(z)``."""
    half, one = Z.dtype.type(0.5), Z.dtype.type(1.0)
    sqrt2 = Z.dtype.type(math.sqrt(2.0))
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            cdf = half * (one + math.erf(z / sqrt2))
            aux[i, j] = cdf
            A[i, j] = z * cdf
    return A


@compiled
def _gelu_tanh_backward_loop(dA, Z, T, out):
    """The tanh form's backward pass from ``T = tanh u``: ``δ = ∂C/∂A ⊙ σ'(z)``."""
    half, one = Z.dtype.type(0.5), Z.dtype.type(1.0)
    k_, c3 = Z.dtype.type(_GELU_K), Z.dtype.type(3 * _GELU_C)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            t = T[i, j]
            out[i, j] = dA[i, j] * (half * (one + t) + half * z * (one - t * t) * k_ * (one + c3 * z * z))
    return out


class Softmax(Activation):
    r"""Row-wise softmax :math:`a_j = e^{z_j} / \sum_k e^{z_k}`.

    Not element-wise: its Jacobian is :math:`∂a_j/∂z_i = a_j(δ_{ij} − a_i)`, so
    :math:`∂C/∂z = a ⊙ (∂C/∂a − \sum_j (∂C/∂a)_j a_j)` row by row. Use it as
    the output of a network trained with ``MSE``; with ``CrossEntropy`` leave
    it out — that loss takes logits and applies softmax itself (fused, stable).
    """

    def forward(self, Z, training=False):
        A = self._output("A", Z.shape, Z.dtype, training)
        self._cache = A
        if self._numba():
            return _softmax_loop(Z, A)
        return softmax(Z, out=A)

    def backward(self, dOut, need_input_grad=True):
        a = self._cache
        dZ = self._buffer("dZ", a.shape, a.dtype)
        if self._numba():
            return _softmax_backward_loop(dOut, a, dZ)
        s = np.sum(dOut * a, axis=1, keepdims=True)  # Σ_j (∂C/∂a)_j a_j, per row
        np.subtract(dOut, s, out=dZ)                 # δ = a ⊙ (∂C/∂a − s)
        dZ *= a
        return dZ


@compiled
def _softmax_loop(Z, out):
    n, k = Z.shape
    for i in range(n):
        mx = Z[i, 0]
        for j in range(1, k):
            if Z[i, j] > mx:
                mx = Z[i, j]
        s = Z.dtype.type(0.0)
        for j in range(k):
            e = np.exp(Z[i, j] - mx)
            out[i, j] = e
            s += e
        for j in range(k):
            out[i, j] /= s
    return out


@compiled
def _softmax_backward_loop(dA, A, out):
    n, k = A.shape
    for i in range(n):
        s = A.dtype.type(0.0)
        for j in range(k):
            s += dA[i, j] * A[i, j]
        for j in range(k):
            out[i, j] = (dA[i, j] - s) * A[i, j]
    return out


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
