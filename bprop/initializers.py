r"""Weight and bias initialisers, with the formulas of ``torch.nn.init``.

Every initialiser is a callable ``init(shape, rng, dtype, fan_in=None, fan_out=None)``
returning a new array. For a weight ``W (n_out, n_in)`` the fans are
``fan_in = n_in`` and ``fan_out = n_out``; a :class:`~bprop.Dense` layer passes
the same fans when it initialises its bias, so ``bias_init="he_uniform"`` is
well defined.

=================  =====================================================  ==========================
name               distribution                                           torch equivalent
=================  =====================================================  ==========================
``zeros``          0                                                      ``zeros_``
``constant``       ``value``                                              ``constant_``
``uniform``        U(a, b), default U(0, 1)                               ``uniform_``
``normal``         N(mean, std²), default N(0, 1)                         ``normal_``
``xavier_uniform`` U(−g√(6/(fan_in+fan_out)), +…)                         ``xavier_uniform_``
``xavier_normal``  N(0, g²·2/(fan_in+fan_out))                            ``xavier_normal_``
``he_uniform``     U(−√2·√(3/fan_in), +…)                                 ``kaiming_uniform_(nonlinearity="relu")``
``he_normal``      N(0, 2/fan_in)                                         ``kaiming_normal_(nonlinearity="relu")``
``lecun_normal``   N(0, 1/fan_in)                                         ``kaiming_normal_(nonlinearity="linear")``
``orthogonal``     g·Q, Q from the QR decomposition of a Gaussian matrix  ``orthogonal_``
``torch_default``  U(−1/√fan_in, +1/√fan_in), for W and for b             ``nn.Linear.reset_parameters``
=================  =====================================================  ==========================

Why the scales: with ``Var(W) = 1/fan_in`` the variance of ``Z = A @ W.T`` equals
that of ``A`` (LeCun); ReLU halves the variance, hence the factor 2 of He et al.
(2015, https://arxiv.org/abs/1502.01852); Glorot & Bengio (2010) balance the
forward and backward passes with ``2/(fan_in + fan_out)``.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from ._validation import Interval, check, check_params, unknown_name

#: Finite real numbers (a NaN or infinite initial weight is never meant).
FINITE = Interval(numbers.Real, None, None)


def _fans(shape, fan_in, fan_out) -> tuple[int, int]:
    if fan_in is not None and fan_out is not None:
        return int(fan_in), int(fan_out)
    if len(shape) < 2:
        raise ValueError(f"fan_in and fan_out cannot be computed for shape {tuple(shape)}: "
                         "give them explicitly (a Dense layer does this for its bias)")
    return int(shape[1]), int(shape[0])


class Initializer:
    """Base class: subclasses implement :meth:`sample` and list their arguments."""

    name = "initializer"

    def __call__(self, shape, rng: np.random.Generator, dtype=np.float64,
                 fan_in: int | None = None, fan_out: int | None = None) -> np.ndarray:
        shape = tuple(int(s) for s in np.atleast_1d(shape))
        return np.asarray(self.sample(shape, rng, fan_in, fan_out), dtype=dtype)

    def sample(self, shape, rng, fan_in, fan_out) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, **vars(self)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    name = "zeros"

    def sample(self, shape, rng, fan_in, fan_out):
        return np.zeros(shape)


class Constant(Initializer):
    name = "constant"

    _parameter_constraints = {"value": FINITE}

    def __init__(self, value: float = 0.0):
        (self.value,) = check_params({"value": value}, self._parameter_constraints).values()

    def sample(self, shape, rng, fan_in, fan_out):
        return np.full(shape, self.value)


class Uniform(Initializer):
    """U(a, b) (``torch.nn.init.uniform_``)."""

    name = "uniform"

    _parameter_constraints = {"a": FINITE, "b": FINITE}

    def __init__(self, a: float = 0.0, b: float = 1.0):
        self.a, self.b = check_params({"a": a, "b": b}, self._parameter_constraints).values()
        if not self.a < self.b:
            raise ValueError(f"uniform initialiser needs a < b, got a={a}, b={b}")

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.uniform(self.a, self.b, size=shape)


class Normal(Initializer):
    """N(mean, std²) (``torch.nn.init.normal_``)."""

    name = "normal"

    _parameter_constraints = {"mean": FINITE, "std": Interval(numbers.Real, 0, None)}

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        self.mean, self.std = check_params({"mean": mean, "std": std}, self._parameter_constraints).values()

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.normal(self.mean, self.std, size=shape)


class XavierUniform(Initializer):
    r"""Glorot uniform: :math:`U(-a, a)`, :math:`a = g\sqrt{6/(\text{fan\_in}+\text{fan\_out})}`."""

    name = "xavier_uniform"

    def __init__(self, gain: float = 1.0):
        self.gain = check(gain, "gain", FINITE)

    def sample(self, shape, rng, fan_in, fan_out):
        fi, fo = _fans(shape, fan_in, fan_out)
        a = self.gain * math.sqrt(6.0 / (fi + fo))
        return rng.uniform(-a, a, size=shape)


class XavierNormal(Initializer):
    r"""Glorot normal: :math:`N(0, \sigma^2)`, :math:`\sigma = g\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`."""

    name = "xavier_normal"

    def __init__(self, gain: float = 1.0):
        self.gain = check(gain, "gain", FINITE)

    def sample(self, shape, rng, fan_in, fan_out):
        fi, fo = _fans(shape, fan_in, fan_out)
        return rng.normal(0.0, self.gain * math.sqrt(2.0 / (fi + fo)), size=shape)


class HeUniform(Initializer):
    r"""He/Kaiming uniform (ReLU gain √2, mode fan_in): :math:`U(-\sqrt{6/\text{fan\_in}}, +\sqrt{6/\text{fan\_in}})`."""

    name = "he_uniform"

    def sample(self, shape, rng, fan_in, fan_out):
        fi, _ = _fans(shape, fan_in, fan_out)
        bound = math.sqrt(2.0) * math.sqrt(3.0 / fi)
        return rng.uniform(-bound, bound, size=shape)


class HeNormal(Initializer):
    r"""He/Kaiming normal (ReLU gain √2, mode fan_in): :math:`N(0, 2/\text{fan\_in})`."""

    name = "he_normal"

    def sample(self, shape, rng, fan_in, fan_out):
        fi, _ = _fans(shape, fan_in, fan_out)
        return rng.normal(0.0, math.sqrt(2.0) / math.sqrt(fi), size=shape)


class LecunNormal(Initializer):
    r"""LeCun normal: :math:`N(0, 1/\text{fan\_in})` (``kaiming_normal_(nonlinearity="linear")``; not truncated)."""

    name = "lecun_normal"

    def sample(self, shape, rng, fan_in, fan_out):
        fi, _ = _fans(shape, fan_in, fan_out)
        return rng.normal(0.0, 1.0 / math.sqrt(fi), size=shape)


class Orthogonal(Initializer):
    r"""(Semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013, https://arxiv.org/abs/1312.6120).

    As ``torch.nn.init.orthogonal_``: draw ``G ~ N(0, 1)`` of shape
    ``(rows, cols)`` (transposed when rows < cols), take ``Q, R = qr(G)``,
    multiply each column of Q by ``sign(diag(R))`` (so Q is uniformly
    distributed), transpose back. Rows are orthonormal when
    ``n_out <= n_in`` (``W @ W.T = gain² I``), columns otherwise.
    """

    name = "orthogonal"

    def __init__(self, gain: float = 1.0):
        self.gain = check(gain, "gain", FINITE)

    def sample(self, shape, rng, fan_in, fan_out):
        if len(shape) < 2:
            raise ValueError(f"orthogonal initialisation needs at least 2 dimensions, got shape {shape}")
        rows, cols = shape[0], int(np.prod(shape[1:]))
        flat = rng.normal(0.0, 1.0, size=(rows, cols))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)


class TorchDefault(Initializer):
    r"""``torch.nn.Linear``'s default: :math:`U(-1/\sqrt{\text{fan\_in}}, +1/\sqrt{\text{fan\_in}})`.

    PyTorch draws the weight with ``kaiming_uniform_(W, a=√5)``: gain
    :math:`g = \sqrt{2/(1 + a^2)} = \sqrt{1/3}`, bound :math:`g\sqrt{3/\text{fan\_in}} =
    1/\sqrt{\text{fan\_in}}`; and the bias from :math:`U(±1/\sqrt{\text{fan\_in}})`. A Dense
    layer passes W's fans to its bias initialiser, so ``Dense(n_in, n_out,
    init="torch_default", bias_init="torch_default")`` starts from the same
    distribution as ``nn.Linear(n_in, n_out)`` (not the same numbers: the
    generators differ; copy the weights with :func:`bprop.from_torch` for that).
    """

    name = "torch_default"

    def sample(self, shape, rng, fan_in, fan_out):
        fi, _ = _fans(shape, fan_in, fan_out)
        bound = 1.0 / math.sqrt(fi)
        return rng.uniform(-bound, bound, size=shape)


REGISTRY: dict[str, type[Initializer]] = {
    cls.name: cls for cls in (Zeros, Constant, Uniform, Normal, XavierUniform, XavierNormal,
                              HeUniform, HeNormal, LecunNormal, Orthogonal, TorchDefault)
}


class _CallableInitializer(Initializer):
    """Wraps a user function ``f(shape, rng)`` so it behaves like the others."""

    name = "custom"

    def __init__(self, fn: Callable):
        self.fn = fn

    def sample(self, shape, rng, fan_in, fan_out):
        return self.fn(shape, rng)

    def get_config(self) -> dict:
        return {"name": "custom", "repr": repr(self.fn)}


def get(spec) -> Initializer:
    """Return an initialiser from a name, a number (constant), a config dict or a callable.

    >>> get("he_normal")
    HeNormal()
    >>> get(0.01)
    Constant(value=0.01)
    """
    if isinstance(spec, Initializer):
        return spec
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return Constant(spec)
    if isinstance(spec, str):
        if spec not in REGISTRY:
            raise unknown_name("initializer", spec, REGISTRY)
        return REGISTRY[spec]()
    if isinstance(spec, dict):
        kwargs = dict(spec)
        name = kwargs.pop("name", None)
        if name == "custom":
            raise ValueError("a custom (callable) initializer cannot be rebuilt from its config")
        if name not in REGISTRY:
            raise unknown_name("initializer", name, REGISTRY)
        return REGISTRY[name](**kwargs)
    if callable(spec):
        return _CallableInitializer(spec)
    raise TypeError(f"init must be an initializer name, a number, or a callable, got {spec!r}")
