r"""Loss functions: the batch mean of a per-sample loss summed over outputs.

=====================  ==============================================================  ====================
loss                   :math:`C`                                                       :math:`∂C/∂\text{out}`
=====================  ==============================================================  ====================
``MSE``                :math:`\frac{1}{2n}\sum_x \lVert a − y\rVert^2`                 :math:`(a − y)/n`
``CrossEntropy``       :math:`−\frac1n\sum_x\sum_j y_j \ln\mathrm{softmax}(z)_j`         :math:`(\mathrm{softmax}(z) − y)/n`
``BinaryCrossEntropy`` :math:`−\frac1n\sum_x\sum_j [y_j\lnσ(z_j) + (1−y_j)\ln(1−σ(z_j))]`  :math:`(σ(z) − y)/n`
``MAE``                :math:`\frac1n\sum_x \lVert a − y\rVert_1`                     :math:`\mathrm{sign}(a − y)/n`
``Huber``              :math:`\frac1n\sum_x\sum_j h_δ(a_j − y_j)`                       :math:`\mathrm{clip}(a − y, −δ, δ)/n`
``Poisson``            :math:`\frac1n\sum_x\sum_j [e^{z_j} − y_j z_j + y_j\ln y_j − y_j]`       :math:`(e^{z} − y)/n`
=====================  ==============================================================  ====================

``CrossEntropy(label_smoothing=ε)`` replaces ``y`` by ``(1 − ε) y + ε/k`` in both
columns (PyTorch's semantics). ``Huber``'s :math:`h_δ(r)` is :math:`½r^2` for
:math:`|r| ≤ δ` and :math:`δ(|r| − ½δ)` beyond.

The logit losses take the network's raw output ``z`` (no final activation
layer) and return the *fused* output error ``δ_L = ∂C/∂z``: the softmax or
sigmoid Jacobian cancels against the logarithm's derivative, which is both
cheaper and stable. ``MSE`` returns ``∇_a C``; if the network ends in an
activation layer, that layer's ``backward`` multiplies by ``σ'(z)`` — BP1 in
its general form ``δ_L = ∇_a C ⊙ σ'(z_L)``.

Because ``C`` is a mean over the batch, the ``1/n`` lives in the gradient, so
``δ`` equals the ``z.grad`` PyTorch reports for a mean-reduced loss.

``value_and_grad(out, Y, weights=None, *, grad=None, backend="numpy")`` writes
``∂C/∂out`` into ``grad`` when it is given (the network passes a buffer it
reuses from step to step). ``backend="numba"`` (what a
``Sequential(..., backend="numba")`` passes) runs, for an unweighted batch, the
one-pass loop written below each loss instead of its NumPy expression: the
same formula, tested equal.
"""

from __future__ import annotations

import numpy as np

from ._jit import compiled
from numbers import Real

from ._validation import Interval, check_array, check_params, unknown_name
from .activations import sigmoid, softmax


def _row_scale(weights: np.ndarray, dtype) -> np.ndarray:
    """``w_x / Σ w``: the factor that replaces ``1/n`` for weighted samples."""
    w = np.asarray(weights, dtype=np.float64)
    return (w / w.sum()).astype(dtype, copy=False)


def _grad_array(grad, like: np.ndarray) -> np.ndarray:
    """``grad`` if given (a buffer to overwrite), else a new array shaped like ``like``."""
    return np.empty_like(like) if grad is None else grad


def _scaled_mean(G: np.ndarray, per_sample, weights, n: int) -> float:
    """Apply the batch mean to ``G`` in place and return ``C`` from the per-sample losses ``C_x``.

    Unweighted: ``C = Σ_x C_x / n`` (summed in float64; ``per_sample`` may be that
    sum already) and ``G *= 1/n``. Weighted: ``C = Σ_x s_x C_x`` and ``G_x *= s_x``
    with ``s_x = w_x/Σw``.
    """
    if weights is None:
        G *= G.dtype.type(1.0 / n)
        return float(np.sum(per_sample, dtype=np.float64) / n)
    s = _row_scale(weights, G.dtype)
    G *= s[:, None]
    return float(np.sum(per_sample * s, dtype=np.float64))


class Loss:
    """Base class; see the module docstring for the contract.

    With sample weights ``w`` the loss is the weighted mean
    ``C = Σ_x w_x C_x / Σ_x w_x`` — a weight of 2 counts a sample twice.
    """

    name = "loss"
    task = "regression"
    #: True if the loss takes the logits z (no output activation) and returns the fused δ_L = ∂C/∂z.
    takes_logits = False
    #: What C is, in words, for plots and reports.
    label = "loss C"

    def prepare_targets(self, y, n_outputs: int, dtype) -> np.ndarray:
        """Validate ``y`` and return dense targets ``Y (n, n_outputs)`` of ``dtype``."""
        Y = check_array(y, name="y", dtype=dtype, ndim=(1, 2))
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape[1] != n_outputs:
            raise ValueError(f"y has {Y.shape[1]} column(s) but the network has {n_outputs} "
                             f"output(s); {self.name} needs one target per output")
        return Y

    def per_sample(self, out: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The per-sample loss ``C_x`` (summed over outputs), shape ``(n,)``."""
        raise NotImplementedError

    def value(self, out: np.ndarray, Y: np.ndarray, weights=None) -> float:
        """``C``: the mean of :meth:`per_sample`, or ``Σ w_x C_x / Σ w_x`` with weights."""
        per = self.per_sample(out, Y)
        if weights is None:
            return float(np.sum(per, dtype=np.float64) / len(out))
        return float(np.sum(per * _row_scale(weights, out.dtype), dtype=np.float64))

    def value_and_grad(self, out: np.ndarray, Y: np.ndarray, weights=None, *, grad=None,
                       backend: str = "numpy") -> tuple[float, np.ndarray]:
        """``C`` and ``∂C/∂out`` (the ``1/n`` — or ``w_x/Σw`` — included), written into ``grad`` if given."""
        raise NotImplementedError

    def __call__(self, out, y) -> float:
        out = np.asarray(out)
        return self.value(out, self.prepare_targets(y, out.shape[1], out.dtype))

    def output_to_prediction(self, out: np.ndarray) -> np.ndarray:
        """Map raw network output to probabilities (logit losses) or leave it as is."""
        return out

    #: Constructor arguments and their defaults (what :meth:`get_config` and :attr:`spec` carry).
    _defaults: dict = {}

    def get_config(self) -> dict:
        return {"type": type(self).__name__, **{k: getattr(self, k) for k in self._defaults}}

    @property
    def spec(self) -> str:
        """The loss as :func:`get` reads it: the name, then ``:key=value,...`` for arguments off their
        default (``"huber:delta=0.5"``, ``"cross_entropy:label_smoothing=0.1"``)."""
        args = ",".join(f"{k}={getattr(self, k)!r}" for k, v in self._defaults.items() if getattr(self, k) != v)
        return f"{self.name}:{args}" if args else self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._defaults)
        return f"{type(self).__name__}({args})"


class MSE(Loss):
    r"""Quadratic cost :math:`C = \frac{1}{2n}\sum_x \lVert a − y\rVert^2`; :math:`∇_a C = (a − y)/n`.

    The ½ makes the gradient the plain residual, as in the tutorials. The
    metric called "MSE" in reports is the usual :math:`\frac{1}{n k}\sum (a − y)^2`.
    """

    name = "mse"
    task = "regression"
    label = "quadratic cost C = 1/(2n) Σ‖a − y‖²"

    def per_sample(self, out, Y):
        r = out - Y
        return 0.5 * np.sum(r * r, axis=1)

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        if backend == "numba" and weights is None and Y.dtype == out.dtype:
            return _mse_loop(out, Y, G), G
        np.subtract(out, Y, out=G)                                   # r = a − y
        sq = np.sum(G * G, axis=1) if weights is not None else np.sum(G * G, dtype=np.float64)
        return _scaled_mean(G, 0.5 * sq, weights, len(out)), G      # C = ½ Σ r² / n, ∇_a C = r / n


@compiled
def _mse_loop(out, Y, G):
    n, k = out.shape
    inv_n = out.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        for j in range(k):
            r = out[i, j] - Y[i, j]
            acc += r * r
            G[i, j] = r * inv_n
    return 0.5 * acc / n


class CrossEntropy(Loss):
    r"""Softmax cross-entropy on logits, :math:`C = −\frac1n\sum_x\sum_j y_j \ln\mathrm{softmax}(z)_j`.

    Targets are integer class labels ``(n,)`` in ``[0, k)`` or rows ``(n, k)``
    (one-hot or any probability vectors). Computed as
    :math:`\ln\mathrm{softmax}(z)_j = z_j − \max z − \ln\sum_k e^{z_k − \max z}` (no overflow).
    The fused output error is :math:`δ_L = (\mathrm{softmax}(z) − y)/n`, valid
    when the rows of ``y`` sum to 1.

    Parameters
    ----------
    label_smoothing : float in [0, 1], default 0.0
        ``ε``: the targets become :math:`y' = (1 − ε)\,y + ε/k` (``k`` classes),
        as ``torch.nn.CrossEntropyLoss(label_smoothing=ε)``; then
        :math:`C = −\frac1n\sum_x\sum_j y'_j \ln\mathrm{softmax}(z)_j` and
        :math:`δ_L = (\mathrm{softmax}(z) − y')/n`. Computed without forming ``y'``:
        :math:`C = (1−ε)\,C_y + \frac{ε}{k}\,(−\frac1n\sum_x\sum_j \ln\mathrm{softmax}(z)_j)`.
    """

    name = "cross_entropy"
    task = "classification"
    takes_logits = True
    label = "cross-entropy C"
    _defaults = {"label_smoothing": 0.0}

    def __init__(self, label_smoothing: float = 0.0):
        (self.label_smoothing,) = check_params({"label_smoothing": label_smoothing},
                                               {"label_smoothing": Interval(Real, 0, 1)}).values()
        self.label_smoothing = float(self.label_smoothing)

    def prepare_targets(self, y, n_outputs, dtype):
        y_arr = np.asarray(y)
        if y_arr.ndim == 1 or (y_arr.ndim == 2 and y_arr.shape[1] == 1 and n_outputs > 1):
            labels = check_array(y_arr.reshape(-1), name="y", dtype=np.float64, ndim=1)
            if np.any(labels != np.round(labels)):
                raise ValueError("y must hold integer class labels for CrossEntropy, "
                                 "got non-integer values")
            labels = labels.astype(np.int64)
            bad = (labels < 0) | (labels >= n_outputs)
            if bad.any():
                raise ValueError(f"y holds label(s) outside the classes 0..{n_outputs - 1} of a "
                                 f"network with {n_outputs} outputs: {sorted(set(labels[bad].tolist()))[:10]}")
            Y = np.zeros((len(labels), n_outputs), dtype=dtype)
            Y[np.arange(len(labels)), labels] = 1
            return Y
        return super().prepare_targets(y_arr, n_outputs, dtype)

    @staticmethod
    def _log_softmax(Z, out=None):
        r""":math:`\ln\mathrm{softmax}(z)_j = z_j − \max z − \ln\sum_k e^{z_k − \max z}`."""
        out = np.subtract(Z, Z.max(axis=1, keepdims=True), out=out)
        out -= np.log(np.sum(np.exp(out), axis=1, keepdims=True))
        return out

    def per_sample(self, out, Y):
        logp = self._log_softmax(out)
        eps = self.label_smoothing
        per = -np.sum(Y * logp, axis=1)
        if eps:                                                      # −Σ_j y'_j ln p_j
            per = (1 - eps) * per - (eps / out.shape[1]) * np.sum(logp, axis=1)
        return per

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        eps = self.label_smoothing
        if backend == "numba" and weights is None and Y.dtype == out.dtype and not eps:
            return _softmax_cross_entropy_loop(out, Y, G), G
        logp = self._log_softmax(out, out=G)
        per = -np.sum(Y * logp, axis=1)
        if eps:                                                      # y' = (1 − ε) y + ε/k
            per = (1 - eps) * per - (eps / out.shape[1]) * np.sum(logp, axis=1)
        np.exp(logp, out=G)                                          # softmax(z)
        if eps:
            G -= (1 - eps) * Y
            G -= G.dtype.type(eps / out.shape[1])                   # δ_L = (softmax(z) − y') / n
        else:
            G -= Y                                                   # δ_L = (softmax(z) − y) / n
        return _scaled_mean(G, per, weights, len(out)), G

    def output_to_prediction(self, out):
        return softmax(out)


@compiled
def _softmax_cross_entropy_loop(Z, Y, G):
    """:meth:`CrossEntropy.value_and_grad` in one pass per row, one ``exp`` per element:
    ``e_j = exp(z_j − max z)`` is kept in ``G``, and ``softmax(z)_j = e_j / Σ_k e_k``
    (the formula's ``exp(ln softmax)``, to rounding)."""
    n, k = Z.shape
    inv_n = Z.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        mx = Z[i, 0]
        for j in range(1, k):
            if Z[i, j] > mx:
                mx = Z[i, j]
        s = Z.dtype.type(0.0)
        for j in range(k):
            e = np.exp(Z[i, j] - mx)
            G[i, j] = e
            s += e
        lse = np.log(s)
        for j in range(k):
            y = Y[i, j]
            acc += y * ((Z[i, j] - mx) - lse)                  # y ln softmax(z)
            G[i, j] = (G[i, j] / s - y) * inv_n                 # δ_L = (softmax(z) − y) / n
    return -acc / n


class BinaryCrossEntropy(Loss):
    r"""Sigmoid binary cross-entropy on logits, per output (multi-label capable).

    :math:`C = −\frac1n\sum_x\sum_j [y_j\lnσ(z_j) + (1−y_j)\ln(1−σ(z_j))]`,
    evaluated as :math:`\max(z, 0) − z y + \ln(1 + e^{−|z|})` (no overflow).
    Fused output error :math:`δ_L = (σ(z) − y)/n`. Targets in ``[0, 1]``.
    """

    name = "binary_cross_entropy"
    task = "multilabel"
    takes_logits = True
    label = "binary cross-entropy C, summed over outputs"

    def prepare_targets(self, y, n_outputs, dtype):
        Y = super().prepare_targets(y, n_outputs, dtype)
        if np.any((Y < 0) | (Y > 1)):
            raise ValueError("y must lie in [0, 1] for BinaryCrossEntropy (labels 0/1 or "
                             f"probabilities), got values in [{Y.min()}, {Y.max()}]")
        return Y

    def per_sample(self, out, Y):
        return np.sum(np.maximum(out, 0) - out * Y + np.log1p(np.exp(-np.abs(out))), axis=1)

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        if backend == "numba" and weights is None and Y.dtype == out.dtype:
            return _sigmoid_binary_cross_entropy_loop(out, Y, G), G
        per = self.per_sample(out, Y)
        sigmoid(out, out=G)
        G -= Y                                                       # δ_L = (σ(z) − y) / n
        return _scaled_mean(G, per, weights, len(out)), G

    def output_to_prediction(self, out):
        return sigmoid(out)


@compiled
def _sigmoid_binary_cross_entropy_loop(Z, Y, G):
    zero, one = Z.dtype.type(0.0), Z.dtype.type(1.0)
    n, k = Z.shape
    inv_n = Z.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        for j in range(k):
            z, y = Z[i, j], Y[i, j]
            e = np.exp(-abs(z))
            acc += max(z, zero) - z * y + np.log1p(e)
            s = e / (one + e) if z < zero else one / (one + e)
            G[i, j] = (s - y) * inv_n
    return acc / n


class MAE(Loss):
    r"""Mean absolute error (L1): :math:`C = \frac1n\sum_x \lVert a − y\rVert_1 = \frac1n\sum_x\sum_j |a_j − y_j|`.

    :math:`∇_a C = \mathrm{sign}(a − y)/n`, with :math:`\mathrm{sign}(0) = 0` (the
    subgradient PyTorch's ``L1Loss`` uses). PyTorch's ``L1Loss()`` divides by
    every element (``n k``); bprop's losses sum over outputs, so ``MAE`` equals
    ``L1Loss(reduction="sum") / n`` (the same for one output).
    """

    name = "mae"
    task = "regression"
    label = "mean absolute error C = 1/n Σ‖a − y‖₁"

    def per_sample(self, out, Y):
        return np.sum(np.abs(out - Y), axis=1)

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        np.subtract(out, Y, out=G)                                   # r = a − y
        per = np.sum(np.abs(G), axis=1)
        np.sign(G, out=G)                                            # ∇_a C = sign(r) / n
        return _scaled_mean(G, per, weights, len(out)), G


class Huber(Loss):
    r"""Huber loss :math:`C = \frac1n\sum_x\sum_j h_δ(a_j − y_j)` (``torch.nn.HuberLoss(delta=δ)``).

    .. math::
        h_δ(r) = \begin{cases} ½ r^2 & |r| ≤ δ \\ δ(|r| − ½δ) & |r| > δ \end{cases},
        \qquad ∇_a C = \mathrm{clip}(r, −δ, δ)/n

    Quadratic (like ``MSE``) near the target, linear (like ``MAE``, times δ)
    far from it, so outliers pull with a force of at most δ. As with ``MAE``,
    bprop sums over outputs: ``Huber`` equals ``HuberLoss(reduction="sum") / n``.

    Parameters
    ----------
    delta : float > 0, default 1.0
    """

    name = "huber"
    task = "regression"
    label = "Huber loss C = 1/n Σ h_δ(a − y)"
    _defaults = {"delta": 1.0}

    def __init__(self, delta: float = 1.0):
        (delta,) = check_params({"delta": delta}, {"delta": Interval(Real, 0, None, closed="neither")}).values()
        self.delta = float(delta)

    def _per_sample_of(self, r):
        a = np.abs(r)
        d = r.dtype.type(self.delta)
        return np.sum(np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d)), axis=1)

    def per_sample(self, out, Y):
        return self._per_sample_of(out - Y)

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        np.subtract(out, Y, out=G)                                   # r = a − y
        per = self._per_sample_of(G)
        d = G.dtype.type(self.delta)
        np.clip(G, -d, d, out=G)                                     # ∇_a C = clip(r, −δ, δ) / n
        return _scaled_mean(G, per, weights, len(out)), G


class Poisson(Loss):
    r"""Half the Poisson deviance with a log link, on the log-rate :math:`z = \ln λ` (the raw output).

    .. math:: C = \frac1n\sum_x\sum_j \left[e^{z_j} − y_j z_j + y_j\ln y_j − y_j\right],
              \qquad δ_L = ∂C/∂z = (e^{z} − y)/n

    (:math:`0 \ln 0 = 0`). The prediction is the rate :math:`λ = e^{z}`
    (:meth:`output_to_prediction`), so the network ends in a ``Dense`` layer,
    as for the logit losses: the exponential lives in the loss and δ_L is
    fused. This is scikit-learn's ``MLPRegressor(loss="poisson")``, and the
    batch mean of PyTorch's ``PoissonNLLLoss(log_input=True)`` per sample,
    :math:`e^{z} − y z`, plus the constant :math:`y\ln y − y`, which makes
    ``C = 0`` for a perfect fit and does not change δ. Targets are counts or
    rates ``y ≥ 0``.
    """

    name = "poisson"
    task = "regression"
    takes_logits = True
    label = "half Poisson deviance C (log link)"

    def prepare_targets(self, y, n_outputs, dtype):
        Y = super().prepare_targets(y, n_outputs, dtype)
        if np.any(Y < 0):
            raise ValueError(f"y must be non-negative for the Poisson loss (counts or rates), "
                             f"got a minimum of {Y.min()}")
        return Y

    @staticmethod
    def _y_log_y_minus_y(Y):
        r""":math:`y\ln y − y`, with :math:`0\ln 0 = 0`."""
        return np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0) - Y

    def per_sample(self, out, Y):
        return np.sum(np.exp(out) - Y * out + self._y_log_y_minus_y(Y), axis=1)

    def value_and_grad(self, out, Y, weights=None, *, grad=None, backend="numpy"):
        G = _grad_array(grad, out)
        per = self.per_sample(out, Y)
        np.exp(out, out=G)                                           # λ = e^z
        G -= Y                                                       # δ_L = (e^z − y) / n
        return _scaled_mean(G, per, weights, len(out)), G

    def output_to_prediction(self, out):
        return np.exp(out)


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE, "quadratic": MSE, "cross_entropy": CrossEntropy, "crossentropy": CrossEntropy,
    "ce": CrossEntropy, "binary_cross_entropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "mae": MAE, "l1": MAE, "huber": Huber,
}
LOSSES["poisson"] = Poisson
_BY_CLASS = {cls.__name__: cls for cls in (MSE, CrossEntropy, BinaryCrossEntropy, MAE, Huber, Poisson)}


def _parse_args(spec: str, text: str) -> dict:
    """``"delta=0.5,..."`` → ``{"delta": 0.5}`` (numbers only)."""
    args = {}
    for item in text.split(","):
        key, eq, value = item.partition("=")
        try:
            if not eq:
                raise ValueError
            args[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"loss {spec!r}: expected name:key=number,... such as 'huber:delta=0.5', "
                             f"got {item.strip()!r}") from None
    return args


def get(spec) -> Loss:
    """Return a loss from a name, a spec with arguments, a class name, a config dict or an instance.

    >>> get("bce")
    BinaryCrossEntropy()
    >>> get("huber:delta=0.5")
    Huber(delta=0.5)
    >>> get({"type": "CrossEntropy", "label_smoothing": 0.1})
    CrossEntropy(label_smoothing=0.1)
    """
    if isinstance(spec, Loss):
        return spec
    args = {}
    if isinstance(spec, dict):
        args = {k: v for k, v in spec.items() if k != "type"}
        spec = spec.get("type")
    if isinstance(spec, str):
        name, colon, rest = spec.partition(":")
        if colon:
            args = {**args, **_parse_args(spec, rest)}
        cls = _BY_CLASS.get(name) or LOSSES.get(name.strip().lower().replace("-", "_"))
        if cls is not None:
            unknown = sorted(set(args) - set(cls._defaults))
            if unknown:
                valid = ", ".join(cls._defaults) or "none"
                raise ValueError(f"loss {spec!r}: {cls.__name__} has no argument {unknown[0]!r} "
                                 f"(its arguments: {valid})")
            return cls(**args)
    raise unknown_name("loss", spec, LOSSES)
