r"""Gradient transforms: the building blocks of every optimiser.

As in optax, an optimiser is a chain of small transforms, each rewriting the
*update* ``u`` of every parameter, after which the parameters move by it::

    u ← ∂C/∂θ                     (a copy: net.grads is never changed)
    u ← T_n(... T_1(u) ...)        (each transform in place)
    θ ← θ + u

The last transform is usually :class:`ScaleByLearningRate`, ``u ← −η u``, so
the updates before it are descent *directions* (scikit-learn's SGD momentum,
``SGD(..., convention="sklearn")``, is the exception: its :class:`Trace` comes
after the rate and accumulates steps). For example, Adam is
``chain(ScaleByAdam(β1, β2, ε), ScaleByLearningRate(η))`` and SGD with
momentum and L2 weight decay is
``chain(AddDecayedWeights(λ), Trace(μ), ScaleByLearningRate(η))``.

Contract of a :class:`Transform`:

- ``update(updates, params, step, scratch)`` rewrites the arrays of
  ``updates`` (dict keyed like ``net.params``, ``"0.W"``) **in place**;
  ``step`` is the 0-based index of this update; ``scratch`` holds one work
  array per parameter (same shape and dtype, contents undefined).
- Per-parameter state lives in ``transform.state[slot][key]``, allocated with
  the parameter's shape and dtype by ``init(key, param)`` on the first step.
  In ``optimizer.state_dict()["arrays"]`` it appears as ``"<name>.<slot>/<key>"``,
  e.g. ``"adam.m/0.W"``.
- Hot-path arithmetic writes into existing arrays (``out=``, ``*=``): no
  temporaries are allocated per step.
- State that decays geometrically (momentum, ``square_avg``, Adam's ``m`` and
  ``v``) is set to 0 wherever it falls below the dtype's smallest normal
  number, at every 16th update here and at every update in the fused loops,
  so that denormals never slow a step down (:mod:`bprop._numerics`).

The ``update`` methods are the optimisers' formulas, and they run by default.
Below :class:`Trace`, :class:`ScaleByRMS` and :class:`ScaleByAdam` sits the
*fused* variant of the recipe built on each (SGD, RMSProp, Adam/AdamW): one
loop over every parameter doing the recipe's whole chain (weight decay, the
transform, the learning rate, the update) in the same order of operations,
compiled with numba (:func:`bprop._jit.compiled`). It runs only when the recipe
is made with ``fused=True`` (``SGD(..., fused=True)``).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import compiled
from .._numerics import FLUSH_EVERY, flush_denormals_
from numbers import Real

from .._validation import Interval, Options, check, check_params, lookup
from .schedules import Constant, Schedule, as_schedule
from .schedules import from_config as schedule_from_config

#: The hyper-parameter ranges every transform and recipe declares (PyTorch's bounds).
RATE = Interval(Real, 0, 1, closed="left")          # momentum, alpha, β: 0 <= x < 1
NON_NEGATIVE = Interval(Real, 0, None)              # weight_decay, eps: x >= 0
POSITIVE = Interval(Real, 0, None, closed="neither")  # clipping thresholds: x > 0
#: Whose formula an optimiser follows where PyTorch's and scikit-learn's MLP differ (SGD's momentum, Adam's ε).
CONVENTION = Options(("torch", "sklearn"), type=str)

__all__ = [
    "Transform",
    "AddDecayedWeights",
    "AddL1Penalty",
    "Trace",
    "ScaleByRMS",
    "ScaleByAdam",
    "ClipByGlobalNorm",
    "ClipByValue",
    "ScaleByLearningRate",
    "global_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "from_config",
]


# -- in-place clipping of a dict of arrays (also for the fit loop) -------------------


def global_norm(arrays: dict) -> float:
    r"""The Euclidean norm of all arrays together, :math:`\sqrt{\sum_i \lVert g_i \rVert^2}`."""
    total = 0.0
    for a in arrays.values():
        flat = a.reshape(-1)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_grad_norm_(grads: dict, max_norm: float, norm: float | None = None) -> float:
    r"""Scale all arrays in place so that their global norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\!\left(1, \frac{c}{\lVert g \rVert + 10^{-6}}\right)

    as ``torch.nn.utils.clip_grad_norm_`` (which also adds 1e-6); the factor
    is cast to each array's dtype before the multiplication. ``norm``: the
    global norm :math:`\lVert g \rVert` when the caller has it already (the fit
    loop sums the squared norms for its history), else :func:`global_norm`.
    Returns the norm before clipping.
    """
    if norm is None:
        norm = global_norm(grads)
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        for a in grads.values():
            a *= a.dtype.type(coef)
    return norm


def clip_grad_value_(grads: dict, clip_value: float) -> None:
    r"""Clip every element in place to :math:`[-c, c]`, as ``torch.nn.utils.clip_grad_value_``."""
    for a in grads.values():
        np.clip(a, -clip_value, clip_value, out=a)


# -- transforms -----------------------------------------------------------------------


class Transform:
    """Base class of a gradient transform (see the module docstring for the contract).

    Attributes
    ----------
    name : str
        Prefix of its state keys (made unique within a chain by the optimiser).
    slots : tuple of str
        Names of its per-parameter state arrays.
    state : dict
        ``state[slot][key]`` -> ndarray.
    """

    name = "transform"
    slots: tuple = ()
    #: Whether :meth:`update` flushes denormal state (it then keeps one bool work array per parameter).
    flushes = False

    def __init__(self):
        self.state = {s: {} for s in self.slots}
        self._masks: dict[str, np.ndarray] = {}

    def init(self, key: str, param: np.ndarray) -> None:
        """Allocate (zeros) or check this transform's state for parameter ``key``."""
        if self.flushes:
            self._masks[key] = np.empty(param.shape, bool)
        for s in self.slots:
            arr = self.state[s].get(key)
            if arr is None:
                self.state[s][key] = np.zeros(param.shape, dtype=param.dtype)
            elif arr.shape != param.shape:
                raise ValueError(
                    f"Optimiser state {self.name}.{s}/{key} has shape {arr.shape} but parameter {key!r} "
                    f"has shape {param.shape}: the state belongs to another network"
                )
            elif arr.dtype != param.dtype:
                self.state[s][key] = arr.astype(param.dtype)

    def update(self, updates: dict, params: dict, step: int, scratch: dict) -> None:
        raise NotImplementedError

    @property
    def schedule(self) -> Schedule | None:
        """The learning-rate schedule this transform uses, if any."""
        return None

    def get_config(self) -> dict:
        return {"type": type(self).__name__}

    def scalar_state(self) -> dict:
        """JSON-able state besides the arrays (a schedule's, for instance)."""
        return {}

    def load_scalar_state(self, state: dict) -> None:
        pass


class AddDecayedWeights(Transform):
    r"""Add weight decay to the update: :math:`u \leftarrow u + \lambda\,\theta`.

    First in a chain it is L2 regularisation coupled to the gradient
    (``weight_decay`` of torch's SGD, RMSprop and Adam). After an adaptive
    scaling and before :class:`ScaleByLearningRate` it is *decoupled* weight
    decay, :math:`\theta \leftarrow \theta - \eta(\hat u + \lambda\theta)`
    (AdamW; Loshchilov & Hutter, https://arxiv.org/abs/1711.05101).

    Parameters
    ----------
    weight_decay : float
        λ ≥ 0.
    """

    name = "decay"
    _parameter_constraints = {"weight_decay": NON_NEGATIVE}

    def __init__(self, weight_decay):
        super().__init__()
        (self.weight_decay,) = check_params({"weight_decay": weight_decay}, self._parameter_constraints).values()

    def update(self, updates, params, step, scratch):
        wd = self.weight_decay
        for key, u in updates.items():
            tmp = scratch[key]
            np.multiply(params[key], wd, out=tmp)
            u += tmp

    def get_config(self):
        return {"type": "AddDecayedWeights", "weight_decay": self.weight_decay}


class AddL1Penalty(Transform):
    r"""Add the gradient of an L1 penalty :math:`\lambda \lVert\theta\rVert_1` to the update:
    :math:`u \leftarrow u + \lambda\,\mathrm{sign}(\theta)` (0 where :math:`\theta = 0`, the subgradient
    that keeps a zero weight at zero).

    First in a chain, before any scaling, it is L1 regularisation of the loss
    (what TensorFlow Playground's "L1" adds), ``chain(AddL1Penalty(λ), *SGD(η).transforms)``.

    Parameters
    ----------
    l1 : float
        λ ≥ 0.
    """

    name = "l1"
    _parameter_constraints = {"l1": NON_NEGATIVE}

    def __init__(self, l1):
        super().__init__()
        (self.l1,) = check_params({"l1": l1}, self._parameter_constraints).values()

    def update(self, updates, params, step, scratch):
        for key, u in updates.items():
            tmp = scratch[key]
            np.sign(params[key], out=tmp)
            tmp *= self.l1
            u += tmp

    def get_config(self):
        return {"type": "AddL1Penalty", "l1": self.l1}


class Trace(Transform):
    r"""Momentum (heavy ball), optionally Nesterov.

    .. math::

        b_t = \mu\, b_{t-1} + u_t, \quad b_0 = 0 \;(\text{so } b_1 = u_1), \qquad
        u_t \leftarrow \begin{cases} u_t + \mu\, b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases}

    Before :class:`ScaleByLearningRate` this is ``torch.optim.SGD`` with
    ``dampening=0``: the learning rate multiplies the buffer afterwards. After
    it (``u_t = −η_t g_t``), ``b`` is the velocity of Sutskever et al. (2013,
    http://proceedings.mlr.press/v28/sutskever13.html) and of scikit-learn's
    MLP, :math:`v \leftarrow \mu v - \eta g`, and the Nesterov update is
    :math:`\mu v_t - \eta g_t`; the two agree for a constant η and differ when
    η changes during training (:class:`~bprop.optim.SGD`'s ``convention``).
    Entries of ``b`` below the smallest normal number are set to 0 at every
    16th update (:mod:`bprop._numerics`).

    Parameters
    ----------
    momentum : float
        μ, 0 ≤ μ < 1.
    nesterov : bool, default False
        Use Nesterov's look-ahead form.
    """

    name = "trace"
    slots = ("momentum",)
    flushes = True
    _parameter_constraints = {"momentum": RATE}

    def __init__(self, momentum, nesterov=False):
        super().__init__()
        (self.momentum,) = check_params({"momentum": momentum}, self._parameter_constraints).values()
        self.nesterov = bool(nesterov)

    def update(self, updates, params, step, scratch):
        mu, bufs = self.momentum, self.state["momentum"]
        flush = (step + 1) % FLUSH_EVERY == 0
        for key, u in updates.items():
            buf, tmp = bufs[key], scratch[key]
            buf *= mu
            buf += u
            if flush:                                    # bprop._numerics: no stuck denormals
                flush_denormals_(buf, tmp, self._masks[key])
            if self.nesterov:
                np.multiply(buf, mu, out=tmp)
                u += tmp
            else:
                np.copyto(u, buf)

    def get_config(self):
        return {"type": "Trace", "momentum": self.momentum, "nesterov": self.nesterov}


@compiled
def fused_sgd(p, g, buf, lr, mu, wd, decay, use_momentum, nesterov, lr_first, tiny):
    """SGD's chain in one pass over a flat parameter ``p``: ``[AddDecayedWeights(wd)], [Trace(mu)], ScaleByLearningRate``,
    or with ``lr_first`` (scikit-learn's convention) ``[AddDecayedWeights(wd)], ScaleByLearningRate, [Trace(mu)]``.

    ``lr`` arrives negated (``−η``) and every scalar cast to ``p``'s dtype; the
    momentum buffer is flushed to 0 below ``tiny``, the dtype's smallest normal,
    at every update (:class:`Trace`: at every 16th; :mod:`bprop._numerics`).
    """
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        u = g[i]
        if decay:
            u += p[i] * wd
        if lr_first:
            u = u * lr
        if use_momentum:
            b = buf[i] * mu + u
            if abs(b) < tiny:
                b = zero
            buf[i] = b
            u = u + b * mu if nesterov else b
        if lr_first:
            p[i] += u
        else:
            p[i] += u * lr


class ScaleByRMS(Transform):
    r"""Divide by a running root mean square of the updates (RMSProp, not centred).

    .. math::

        s_t = \alpha\, s_{t-1} + (1 - \alpha)\, u_t \odot u_t, \quad s_0 = 0, \qquad
        u_t \leftarrow \frac{u_t}{\sqrt{s_t} + \varepsilon}

    ε is added outside the root, as in ``torch.optim.RMSprop``. Entries of
    ``s`` below the smallest normal number are set to 0 at every 16th update
    (:mod:`bprop._numerics`). Hinton,
    *Neural Networks for Machine Learning*, lecture 6e,
    https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf.

    Parameters
    ----------
    alpha : float, default 0.99
        Smoothing constant α, 0 ≤ α < 1.
    eps : float, default 1e-8
        ε ≥ 0.
    """

    name = "rms"
    slots = ("square_avg",)
    flushes = True
    _parameter_constraints = {"alpha": RATE, "eps": NON_NEGATIVE}

    def __init__(self, alpha=0.99, eps=1e-8):
        super().__init__()
        self.alpha, self.eps = check_params({"alpha": alpha, "eps": eps}, self._parameter_constraints).values()

    def update(self, updates, params, step, scratch):
        alpha, eps, sq_avgs = self.alpha, self.eps, self.state["square_avg"]
        one_minus_alpha = 1 - alpha
        flush = (step + 1) % FLUSH_EVERY == 0
        for key, u in updates.items():
            s, tmp = sq_avgs[key], scratch[key]
            s *= alpha
            np.multiply(u, one_minus_alpha, out=tmp)
            tmp *= u
            s += tmp
            if flush:
                flush_denormals_(s, tmp, self._masks[key])
            np.sqrt(s, out=tmp)
            tmp += eps
            u /= tmp

    def get_config(self):
        return {"type": "ScaleByRMS", "alpha": self.alpha, "eps": self.eps}


@compiled
def fused_rmsprop(p, g, s, buf, lr, alpha, one_minus_alpha, eps, mu, wd, decay, use_momentum, tiny):
    """RMSProp's chain in one pass: ``[AddDecayedWeights(wd)], ScaleByRMS, [Trace(mu)], ScaleByLearningRate``.

    ``s`` and the momentum buffer are flushed to 0 below ``tiny``, as in the transforms.
    """
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        u = g[i]
        if decay:
            u += p[i] * wd
        si = s[i] * alpha + u * one_minus_alpha * u
        if si < tiny:                      # s >= 0
            si = zero
        s[i] = si
        u = u / (np.sqrt(si) + eps)
        if use_momentum:
            b = buf[i] * mu + u
            if abs(b) < tiny:
                b = zero
            buf[i] = b
            u = b
        p[i] += u * lr


class ScaleByAdam(Transform):
    r"""Adam's bias-corrected moment scaling (Kingma & Ba, Algorithm 1), in PyTorch's or scikit-learn's form.

    ``convention="torch"`` (default):

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, u_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, u_t \odot u_t, \qquad m_0 = v_0 = 0, \\
        u_t &\leftarrow \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \varepsilon} \cdot \frac{1}{1 - \beta_1^t}
             = \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}

    with t = step + 1, computed in that order: one division per entry (by the denominator), the bias
    correction of ``m`` a multiplication by a scalar, as ``torch.optim.Adam``'s ``addcdiv`` with
    ``lr / (1 − β1^t)``. ε is added to :math:`\sqrt{\hat v_t}`, as in the
    paper (https://arxiv.org/abs/1412.6980) and ``torch.optim.Adam``, whose
    order of operations bprop follows (``m`` is updated as torch's
    ``lerp_``). One of the tutorials bprop accompanies (seed 004) writes
    :math:`\eta\,\hat M_n / \sqrt{\varepsilon + \hat G_n}`, with ε under the
    root; the two differ only while :math:`\hat v` is of the order of ε.

    ``convention="sklearn"``: scikit-learn's MLP (``AdamOptimizer``), the
    "more efficient" order of Kingma & Ba's section 2, with the same
    :math:`m_t, v_t` computed as ``β1·m + (1 − β1)·u`` and ``β2·v + (1 − β2)·(u ⊙ u)``:

    .. math::

        u_t \leftarrow \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\,\frac{m_t}{\sqrt{v_t} + \varepsilon}
             = \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon / \sqrt{1 - \beta_2^t}}

    ε is added to the *uncorrected* :math:`\sqrt{v_t}`, so early in training
    (small t) it weighs :math:`1/\sqrt{1-\beta_2^t}` times more than in the
    torch form (about 32 times at t = 1 with β2 = 0.999). Where a gradient is
    of the order of ε — a weight of an input that is nearly constant, whose
    gradient is mostly ``alpha``'s penalty — the two forms take visibly
    different steps, so ``BPClassifier``/``BPRegressor`` use this one to give
    MLP's weights.

    Entries of ``m`` and ``v`` below the dtype's smallest normal number are
    set to 0 at every 16th update (:mod:`bprop._numerics`; the fused loop: at
    every update): a weight whose gradient stays 0 would otherwise keep a
    denormal ``m`` for ever, and slow every later step down.

    Parameters
    ----------
    b1, b2 : float, default 0.9, 0.999
        β1, β2 in [0, 1).
    eps : float, default 1e-8
        ε ≥ 0.
    convention : {"torch", "sklearn"}, default "torch"
        Where ε goes and how the moments are rounded (above).
    """

    name = "adam"
    slots = ("m", "v")
    flushes = True

    def __init__(self, b1=0.9, b2=0.999, eps=1e-8, convention="torch"):
        super().__init__()
        # PyTorch's wording for the betas: "Invalid beta parameter at index 0: ..."
        self.b1 = check(b1, "betas[0]", RATE, label="beta parameter at index 0")
        self.b2 = check(b2, "betas[1]", RATE, label="beta parameter at index 1")
        (self.eps,) = check_params({"eps": eps}, {"eps": NON_NEGATIVE}).values()
        self.convention = check(convention, "convention", CONVENTION)

    def bias_corrections(self, step: int) -> tuple[float, float]:
        """``(1 − β1^t, √(1 − β2^t))`` of update ``step`` (t = step + 1), as each convention computes them."""
        t = step + 1
        if self.convention == "sklearn":
            return 1 - self.b1**t, math.sqrt(1 - self.b2**t)     # np.sqrt, as AdamOptimizer
        return 1 - self.b1**t, (1 - self.b2**t) ** 0.5

    def update(self, updates, params, step, scratch):
        b1, b2, eps = self.b1, self.b2, self.eps
        bias_correction1, bias_correction2_sqrt = self.bias_corrections(step)
        w1 = 1 - b1  # torch: exp_avg.lerp_(grad, 1 - beta1)
        small = abs(w1) < 0.5
        one_minus_b2 = 1 - b2
        sklearn = self.convention == "sklearn"
        scale = bias_correction2_sqrt / bias_correction1
        ms, vs = self.state["m"], self.state["v"]
        flush = (step + 1) % FLUSH_EVERY == 0
        for key, u in updates.items():
            m, v, tmp = ms[key], vs[key], scratch[key]
            if sklearn:
                # m ← β1 m + (1 − β1) u
                m *= b1
                np.multiply(u, w1, out=tmp)
                m += tmp
            else:
                # m ← lerp(m, u, w1), in torch's two forms
                np.subtract(u, m, out=tmp)
                if small:
                    tmp *= w1
                    m += tmp
                else:
                    tmp *= 1 - w1
                    np.subtract(u, tmp, out=m)
            if flush:                                    # bprop._numerics: no stuck denormals
                flush_denormals_(m, tmp, self._masks[key])
            # v ← β2 v + (1 − β2) u ⊙ u
            v *= b2
            if sklearn:
                np.multiply(u, u, out=tmp)
                tmp *= one_minus_b2
            else:
                np.multiply(u, one_minus_b2, out=tmp)
                tmp *= u
            v += tmp
            if flush:
                flush_denormals_(v, tmp, self._masks[key])
            np.sqrt(v, out=tmp)
            if sklearn:
                # u ← (√bc2 / bc1) · m / (√v + ε)
                tmp += eps
                np.multiply(m, scale, out=u)
                u /= tmp
            else:
                # u ← (m / (√v / √bc2 + ε)) · (1 / bc1): one division per entry fewer than (m / bc1) / (...)
                tmp /= bias_correction2_sqrt
                tmp += eps
                np.divide(m, tmp, out=u)
                u *= u.dtype.type(1 / bias_correction1)

    def get_config(self):
        return {"type": "ScaleByAdam", "b1": self.b1, "b2": self.b2, "eps": self.eps, "convention": self.convention}


@compiled
def fused_adam(p, g, m, v, lr, w1, b1c, b2, one_minus_b2, inv_bc1, bc2_sqrt, eps, wd, coupled, decoupled, small,
               sklearn, scale, tiny):
    """Adam's chain in one pass: ``[AddDecayedWeights(wd)], ScaleByAdam, ScaleByLearningRate``.

    ``decoupled``: AdamW's order, ``ScaleByAdam, AddDecayedWeights, ScaleByLearningRate``.
    Torch's convention: ``m`` moves as :class:`ScaleByAdam`'s lerp (``small``: its first form,
    weight ``w1``; else its second, weight ``b1c = 1 − w1``). ``sklearn``: scikit-learn's
    convention, ``m ← m·b1c + u·w1`` (``b1c = β1``, ``w1 = 1 − β1``), ``v ← v·β2 + (u·u)·(1 − β2)``
    and ``u ← (m·scale)/(√v + ε)`` with ``scale = √bc2/bc1``; torch's, ``u ← (m/(√v/bc2_sqrt + ε))·inv_bc1``
    with ``inv_bc1 = 1/bc1``. ``m`` and ``v`` are flushed to 0 below ``tiny``, the dtype's smallest
    normal, as in :class:`ScaleByAdam`.
    """
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        u = g[i]
        if coupled:
            u += p[i] * wd
        mi = m[i]
        if sklearn:
            mi = mi * b1c + u * w1
        elif small:
            mi = mi + (u - mi) * w1
        else:
            mi = u - (u - mi) * b1c
        if abs(mi) < tiny:
            mi = zero
        if sklearn:
            vi = v[i] * b2 + (u * u) * one_minus_b2
        else:
            vi = v[i] * b2 + u * one_minus_b2 * u
        if vi < tiny:                      # v >= 0
            vi = zero
        m[i] = mi
        v[i] = vi
        if sklearn:
            u = (mi * scale) / (np.sqrt(vi) + eps)
        else:
            u = (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * inv_bc1
        if decoupled:
            u += p[i] * wd
        p[i] += u * lr


class ClipByGlobalNorm(Transform):
    r"""Scale all updates together so their global norm is at most ``max_norm``.

    .. math:: u \leftarrow u \cdot \min\!\left(1, \frac{c}{\lVert u \rVert + 10^{-6}}\right),
              \quad \lVert u \rVert = \sqrt{\textstyle\sum_i \lVert u_i \rVert^2}

    Parameters
    ----------
    max_norm : float
        c > 0.
    """

    name = "clip_norm"

    def __init__(self, max_norm):
        super().__init__()
        (self.max_norm,) = check_params({"max_norm": max_norm}, {"max_norm": POSITIVE}).values()

    def update(self, updates, params, step, scratch):
        clip_grad_norm_(updates, self.max_norm)

    def get_config(self):
        return {"type": "ClipByGlobalNorm", "max_norm": self.max_norm}


class ClipByValue(Transform):
    r"""Clip every element of the updates to :math:`[-c, c]`.

    Parameters
    ----------
    clip_value : float
        c > 0.
    """

    name = "clip_value"

    def __init__(self, clip_value):
        super().__init__()
        (self.clip_value,) = check_params({"clip_value": clip_value}, {"clip_value": POSITIVE}).values()

    def update(self, updates, params, step, scratch):
        clip_grad_value_(updates, self.clip_value)

    def get_config(self):
        return {"type": "ClipByValue", "clip_value": self.clip_value}


class ScaleByLearningRate(Transform):
    r"""Scale by the (negative) learning rate: :math:`u \leftarrow -\eta_k\, u`.

    Parameters
    ----------
    lr : float or Schedule
        η > 0, or a schedule evaluated at the 0-based update index k.
    """

    name = "lr"

    def __init__(self, lr):
        super().__init__()
        self._schedule = as_schedule(lr)

    @property
    def schedule(self):
        return self._schedule

    def update(self, updates, params, step, scratch):
        neg_lr = -self._schedule(step)
        for u in updates.values():
            u *= neg_lr

    def get_config(self):
        return {"type": "ScaleByLearningRate", "lr": lr_to_config(self._schedule)}

    def scalar_state(self):
        return self._schedule.state_dict()

    def load_scalar_state(self, state):
        self._schedule.load_state_dict(state)


_CLASSES = {c.__name__: c for c in (AddDecayedWeights, AddL1Penalty, Trace, ScaleByRMS, ScaleByAdam, ClipByGlobalNorm,
                                    ClipByValue, ScaleByLearningRate)}


def lr_to_config(lr: Schedule):
    """A schedule as config: a plain number for a constant rate."""
    return lr.lr if isinstance(lr, Constant) else lr.get_config()


def lr_from_config(lr):
    """Inverse of :func:`lr_to_config`."""
    return schedule_from_config(lr) if isinstance(lr, dict) else lr


def from_config(cfg: dict) -> Transform:
    """Rebuild a transform from ``transform.get_config()``."""
    cfg = dict(cfg)
    cls = lookup(_CLASSES, cfg.pop("type", None), "transform type")
    if "lr" in cfg:
        cfg["lr"] = lr_from_config(cfg["lr"])
    return cls(**cfg)
