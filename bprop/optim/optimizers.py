r"""Optimisers: chains of gradient transforms, and the recipes SGD, RMSProp, Adam, AdamW.

Every recipe is a :class:`Optimizer` holding a chain of transforms from
:mod:`bprop.optim.transforms` and applies, once per call of :meth:`~Optimizer.step`,

.. math:: u \leftarrow T_n(\dots T_1(\partial C/\partial\theta)), \qquad \theta \leftarrow \theta + u

to every parameter, in place. One step of each recipe equals one step of the
``torch.optim`` class of the same name and hyper-parameters, to float64
rounding: the transforms follow PyTorch's formulas and order of operations.
Where scikit-learn's MLP optimisers differ (SGD's momentum when the rate
changes, Adam's ε), ``SGD`` and ``Adam`` take ``convention="sklearn"`` and then
follow ``sklearn.neural_network._stochastic_optimizers`` instead.

>>> import numpy as np
>>> from bprop.optim import SGD
>>> params = {"0.W": np.array([[1.0, -2.0]])}
>>> grads = {"0.W": np.array([[0.5, 0.5]])}
>>> opt = SGD(lr=0.1)
>>> opt.step(params, grads)
>>> params["0.W"]
array([[ 0.95, -2.05]])
"""

from __future__ import annotations

import numpy as np

from . import transforms as T
from .._jit import require_numba
from .._numerics import smallest_normal
from .._validation import check_params, lookup
from .schedules import Schedule, as_schedule

__all__ = ["Optimizer", "chain", "SGD", "RMSProp", "Adam", "AdamW", "get", "from_config", "from_state_dict", "NAMES"]


class Optimizer:
    """A chain of gradient transforms that updates parameters in place.

    Parameters
    ----------
    *transforms : Transform
        Applied in order to a copy of the gradients; the result is added to
        the parameters. The chain holds one
        :class:`~bprop.optim.transforms.ScaleByLearningRate`, usually last
        (``SGD(..., convention="sklearn")`` puts its momentum after it).

    Attributes
    ----------
    transforms : list of Transform
    step_count : int
        Updates made so far (the schedules' ``step`` of the next update).

    Examples
    --------
    Adam with gradient clipping, written out:

    >>> from bprop.optim import chain
    >>> from bprop.optim.transforms import ClipByGlobalNorm, ScaleByAdam, ScaleByLearningRate
    >>> opt = chain(ClipByGlobalNorm(1.0), ScaleByAdam(0.9, 0.999, 1e-8), ScaleByLearningRate(1e-3))
    >>> opt.lr
    0.001
    """

    def __init__(self, *transforms):
        self.transforms = list(transforms)
        names = []
        for i, t in enumerate(self.transforms):
            if not isinstance(t, T.Transform):
                raise TypeError(f"chain expects Transform objects, got {type(t).__name__} at position {i}")
            name, n = t.name, 1
            while name in names:
                name, n = f"{t.name}{n}", n + 1
            names.append(name)
        self._names = names
        self.step_count = 0
        self._keys = None  # parameter names the work arrays were made for
        self._updates: dict[str, np.ndarray] = {}
        self._scratch: dict[str, np.ndarray] = {}
        self._flat = None   # fused=True: (arrays, flat views) per parameter, rebuilt when an array changes

    # -- the hot path ---------------------------------------------------------------

    def _init(self, params: dict, grads: dict) -> None:
        missing = [k for k in params if k not in grads]
        if missing:
            raise ValueError(f"grads lack the parameters {missing}: pass net.grads with net.params")
        for key, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"parameter {key!r} must be a floating-point ndarray, got {type(p).__name__}"
                                f"{'' if not isinstance(p, np.ndarray) else ' of dtype ' + str(p.dtype)}")
            if grads[key].shape != p.shape:
                raise ValueError(f"gradient {key!r} has shape {grads[key].shape}, parameter has {p.shape}")
            for t in self.transforms:
                t.init(key, p)
        self._updates = {k: np.empty(p.shape, p.dtype) for k, p in params.items()}
        self._scratch = {k: np.empty(p.shape, p.dtype) for k, p in params.items()}
        self._keys = params.keys() | set()
        self._flat = None

    #: Whether :meth:`step` runs the recipe's fused one-pass kernel (set by the recipes' ``fused=``).
    fused = False

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (dicts keyed ``"0.W"``, ``"0.b"``, ...).

        ``grads`` is read, never written. State is allocated on the first call
        with each parameter's shape and dtype. The transforms run one after
        the other (the formulas of :mod:`bprop.optim.transforms`); a recipe
        made with ``fused=True`` runs its one-pass kernel instead.
        """
        if self._keys is None or params.keys() != self._keys:
            self._init(params, grads)
        if self.fused:
            self._fused_step(self._flat_views(params, grads), self.step_count)
            self.step_count += 1
            return
        updates = self._updates
        for key, u in updates.items():
            np.copyto(u, grads[key])
        step = self.step_count
        for t in self.transforms:
            t.update(updates, params, step, self._scratch)
        for key, p in params.items():
            p += updates[key]
        self.step_count = step + 1

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_flat"] = None             # views of the live arrays: rebuilt on the next step
        return state

    # -- the fused variant (recipes with fused=True) -------------------------------------

    def _state_slots(self) -> tuple:
        """The state arrays (``{key: array}`` per slot) the fused kernel updates, in its argument order."""
        raise NotImplementedError

    def _fused_step(self, views: list, step: int) -> None:
        """One fused update: ``views`` holds ``(p, g, *state)`` flat views per parameter."""
        raise NotImplementedError

    def _flat_views(self, params: dict, grads: dict) -> list:
        """Flat 1-D views ``(p, g, *state)`` per parameter, cached while the arrays stay the same."""
        cached = self._flat
        if cached is not None and len(cached[0]) == len(params) and all(
                p is old[0] and grads[key] is old[1] for (key, p), old in zip(params.items(), cached[0])):
            return cached[1]       # state arrays change only through _init, which drops the cache
        slots = self._state_slots()
        arrays = [(p, grads[key], *(slot[key] for slot in slots)) for key, p in params.items()]
        for key, group in zip(params, arrays):
            if not all(a.flags.c_contiguous for a in group):
                raise ValueError(f"{type(self).__name__}(fused=True) needs C-contiguous parameters, gradients "
                                 f"and state; {key!r} is not (use fused=False for strided arrays)")
        views = [tuple(a.reshape(-1) for a in group) for group in arrays]
        self._flat = (arrays, views)
        return views

    # -- learning rate and schedules ------------------------------------------------------

    @property
    def schedule(self) -> Schedule | None:
        """The learning-rate schedule (a :class:`~bprop.optim.Constant` for a fixed rate)."""
        for t in self.transforms:
            if t.schedule is not None:
                return t.schedule
        return None

    @property
    def lr(self) -> float | None:
        """The learning rate the next step will use (None for a chain without one)."""
        s = self.schedule
        return None if s is None else s(self.step_count)

    def observe(self, metric: float) -> None:
        """Pass an epoch's metric to the schedule (drives :class:`~bprop.optim.ReduceOnPlateau`).

        The fit loop calls it once per epoch; a no-op for other schedules.
        """
        for t in self.transforms:
            if t.schedule is not None:
                t.schedule.observe(metric)

    # -- config and state -----------------------------------------------------------------

    def get_config(self) -> dict:
        """JSON-able constructor arguments with ``"type"``; see :func:`from_config`."""
        return {"type": "Optimizer", "transforms": [t.get_config() for t in self.transforms]}

    def state_dict(self) -> dict:
        """The state needed to continue training bit for bit.

        Returns
        -------
        dict
            ``{"type", "config", "step", "lr", "transforms": {name: {...}},
            "arrays": {"<name>.<slot>/<key>": ndarray}}``: everything but
            ``"arrays"`` is JSON-able; the arrays are copies, e.g.
            ``"adam.m/0.W"``, ``"adam.v/0.W"``, ``"trace.momentum/0.b"``.
        """
        arrays = {}
        for name, t in zip(self._names, self.transforms):
            for slot, by_key in t.state.items():
                for key, a in by_key.items():
                    arrays[f"{name}.{slot}/{key}"] = a.copy()
        return {
            "type": self.get_config()["type"],
            "config": self.get_config(),
            "step": self.step_count,
            "lr": self.lr,
            "transforms": {name: t.scalar_state() for name, t in zip(self._names, self.transforms)},
            "arrays": arrays,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (arrays are copied)."""
        kind = self.get_config()["type"]
        if state.get("type", kind) != kind:
            raise ValueError(f"state_dict is for a {state['type']} optimiser, not {kind}")
        new = {name: {s: {} for s in t.slots} for name, t in zip(self._names, self.transforms)}
        for full, a in state.get("arrays", {}).items():
            prefix, _, key = full.partition("/")
            name, _, slot = prefix.partition(".")
            if name not in new or slot not in new[name] or not key:
                raise ValueError(f"state_dict array {full!r} does not fit this {kind} optimiser "
                                 f"(its state is {sorted(n + '.' + s for n in new for s in new[n])})")
            new[name][slot][key] = np.array(a, copy=True)
        scalars = state.get("transforms", {})
        for name, t in zip(self._names, self.transforms):
            t.state = new[name]
            t.load_scalar_state(scalars.get(name, {}))
        self.step_count = int(state.get("step", 0))
        self._keys = None

    def __repr__(self):
        cfg = self.get_config()
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k != "type")
        return f"{cfg['type']}({args})"


def chain(*transforms) -> Optimizer:
    """An :class:`Optimizer` applying ``transforms`` in order (optax's ``chain``)."""
    return Optimizer(*transforms)


def _check_betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    return tuple(betas)


def _lr_config(schedule):
    return T.lr_to_config(schedule)


def _check_fused(cls_name: str, fused) -> bool:
    if not isinstance(fused, bool):
        raise TypeError(f"fused must be True or False, got {type(fused).__name__} {fused!r}")
    if fused:
        require_numba(f"{cls_name}(fused=True)")
    return fused


def _by_dtype(views: list, make) -> list:
    """``make(dtype)`` once per dtype: the step's scalars cast to each parameter's dtype."""
    cache = {}
    out = []
    for v in views:
        dt = v[0].dtype
        if dt not in cache:
            cache[dt] = make(dt.type)
        out.append(cache[dt])
    return out


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, Nesterov and L2 weight decay.

    ``convention="torch"`` (default), ``torch.optim.SGD`` with ``dampening=0``:

    .. math::

        g_t &= \nabla_\theta C(\theta_{t-1}) + \lambda\, \theta_{t-1} \\
        b_t &= \mu\, b_{t-1} + g_t \quad (b_1 = g_1) \\
        \theta_t &= \theta_{t-1} - \eta_t \cdot
            \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \mu > 0 \\ g_t & \mu = 0 \end{cases}

    As PyTorch notes, this momentum subtly differs from Sutskever et al.
    (http://proceedings.mlr.press/v28/sutskever13.html), whose velocity
    absorbs the learning rate. ``convention="sklearn"`` is theirs, and
    scikit-learn's MLP ``SGDOptimizer``'s:

    .. math::

        v_t &= \mu\, v_{t-1} - \eta_t\, g_t \quad (v_0 = 0) \\
        \theta_t &= \theta_{t-1} +
            \begin{cases} \mu v_t - \eta_t g_t & \text{nesterov} \\ v_t & \text{otherwise} \end{cases}

    The two are the same for a constant η (:math:`v_t = -\eta b_t`); when η
    changes (a schedule), the torch form applies the new rate to the whole
    buffer, the sklearn form only to the new gradient. Nesterov: Sutskever et
    al. (2013), in PyTorch's form or in scikit-learn's.

    Transforms: ``AddDecayedWeights(λ)`` (if λ > 0), ``Trace(μ, nesterov)``
    (if μ > 0), ``ScaleByLearningRate(η)``; with ``convention="sklearn"`` the
    rate comes before the trace: ``AddDecayedWeights(λ)``, ``ScaleByLearningRate(η)``, ``Trace(μ, nesterov)``.

    Parameters
    ----------
    lr : float or Schedule
        Learning rate η > 0.
    momentum : float, default 0.0
        μ, 0 ≤ μ < 1.
    nesterov : bool, default False
        Nesterov momentum (needs μ > 0).
    weight_decay : float, default 0.0
        L2 penalty λ ≥ 0 (coupled: added to the gradient).
    fused : bool, default False
        Run the whole chain as one compiled pass per parameter
        (:func:`~bprop.optim.transforms.fused_sgd`, needs numba); the same numbers.
    convention : {"torch", "sklearn"}, default "torch"
        Whose momentum (above).
    """

    _parameter_constraints = {"momentum": T.RATE, "weight_decay": T.NON_NEGATIVE, "convention": T.CONVENTION}

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0, fused=False, convention="torch"):
        schedule = as_schedule(lr)
        self.momentum, self.weight_decay, self.convention = check_params(
            {"momentum": momentum, "weight_decay": weight_decay, "convention": convention},
            self._parameter_constraints).values()
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"Invalid nesterov=True with momentum={momentum} "
                             "(expected momentum > 0: Nesterov momentum needs a momentum)")
        ts = []
        if self.weight_decay:
            ts.append(T.AddDecayedWeights(self.weight_decay))
        trace = [T.Trace(self.momentum, self.nesterov)] if self.momentum else []
        rate = [T.ScaleByLearningRate(schedule)]
        ts += rate + trace if self.convention == "sklearn" else trace + rate
        super().__init__(*ts)
        self.fused = _check_fused("SGD", fused)

    def _state_slots(self):
        return tuple(t.state["momentum"] for t in self.transforms if isinstance(t, T.Trace))

    def _fused_step(self, views, step):
        lr, mu, wd = self.schedule(step), self.momentum, self.weight_decay
        lr_first = self.convention == "sklearn"
        scalars = _by_dtype(views, lambda D: (D(-lr), D(mu), D(wd), bool(wd), bool(mu), self.nesterov, lr_first,
                                              D(smallest_normal(D))))
        for (p, g, *buf), s in zip(views, scalars):
            T.fused_sgd(p, g, buf[0] if buf else g, *s)     # without momentum the buffer is unused

    def get_config(self):
        return {"type": "SGD", "lr": _lr_config(self.schedule), "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay, "fused": self.fused,
                "convention": self.convention}


class RMSProp(Optimizer):
    r"""RMSProp (Hinton, lecture 6e), with optional momentum and L2 weight decay.

    .. math::

        g_t &= \nabla_\theta C(\theta_{t-1}) + \lambda\, \theta_{t-1} \\
        s_t &= \alpha\, s_{t-1} + (1 - \alpha)\, g_t \odot g_t \quad (s_0 = 0) \\
        d_t &= g_t / (\sqrt{s_t} + \varepsilon) \\
        b_t &= \mu\, b_{t-1} + d_t \quad (b_0 = 0;\ b_t = d_t \text{ when } \mu = 0) \\
        \theta_t &= \theta_{t-1} - \eta_t\, b_t

    This is ``torch.optim.RMSprop`` with ``centered=False``: ε is added
    outside the root. Lecture slides:
    https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf.

    Transforms: ``AddDecayedWeights(λ)`` (if λ > 0), ``ScaleByRMS(α, ε)``,
    ``Trace(μ)`` (if μ > 0), ``ScaleByLearningRate(η)``.

    Parameters
    ----------
    lr : float or Schedule
        Learning rate η > 0.
    alpha : float, default 0.99
        Smoothing constant α, 0 ≤ α < 1.
    eps : float, default 1e-8
        ε ≥ 0.
    momentum : float, default 0.0
        μ, 0 ≤ μ < 1.
    weight_decay : float, default 0.0
        L2 penalty λ ≥ 0.
    fused : bool, default False
        Run the whole chain as one compiled pass per parameter
        (:func:`~bprop.optim.transforms.fused_rmsprop`, needs numba); the same numbers.
    """

    _parameter_constraints = {"momentum": T.RATE, "weight_decay": T.NON_NEGATIVE}   # alpha, eps: ScaleByRMS's

    def __init__(self, lr, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0, fused=False):
        schedule = as_schedule(lr)
        rms = T.ScaleByRMS(alpha, eps)
        self.alpha, self.eps = rms.alpha, rms.eps
        self.momentum, self.weight_decay = check_params(
            {"momentum": momentum, "weight_decay": weight_decay}, self._parameter_constraints).values()
        ts = [T.AddDecayedWeights(self.weight_decay)] if self.weight_decay else []
        ts.append(rms)
        if self.momentum:
            ts.append(T.Trace(self.momentum))
        ts.append(T.ScaleByLearningRate(schedule))
        super().__init__(*ts)
        self.fused = _check_fused("RMSProp", fused)

    def _state_slots(self):
        slots = [t.state["square_avg"] for t in self.transforms if isinstance(t, T.ScaleByRMS)]
        return tuple(slots + [t.state["momentum"] for t in self.transforms if isinstance(t, T.Trace)])

    def _fused_step(self, views, step):
        lr, a, mu, wd = self.schedule(step), self.alpha, self.momentum, self.weight_decay
        scalars = _by_dtype(views, lambda D: (D(-lr), D(a), D(1 - a), D(self.eps), D(mu), D(wd),
                                              bool(wd), bool(mu), D(smallest_normal(D))))
        for (p, g, sq, *buf), s in zip(views, scalars):
            T.fused_rmsprop(p, g, sq, buf[0] if buf else g, *s)   # without momentum the buffer is unused

    def get_config(self):
        return {"type": "RMSProp", "lr": _lr_config(self.schedule), "alpha": self.alpha, "eps": self.eps,
                "momentum": self.momentum, "weight_decay": self.weight_decay, "fused": self.fused}


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, Algorithm 1), with optional L2 weight decay.

    .. math::

        g_t &= \nabla_\theta C(\theta_{t-1}) + \lambda\, \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t \odot g_t \qquad (m_0 = v_0 = 0) \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta_t\, \hat m_t / (\sqrt{\hat v_t} + \varepsilon)
            \qquad \text{(convention="torch")} \\
        \theta_t &= \theta_{t-1} - \eta_t\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\,
            \frac{m_t}{\sqrt{v_t} + \varepsilon} \qquad \text{(convention="sklearn")}

    With ``convention="torch"`` (default) ε is added to :math:`\sqrt{\hat v_t}`,
    as in the paper's Algorithm 1 (https://arxiv.org/abs/1412.6980) and
    ``torch.optim.Adam``, computed in PyTorch's order
    (:math:`\sqrt{v_t}/\sqrt{1-\beta_2^t} + \varepsilon`). With
    ``convention="sklearn"`` it is added to the uncorrected :math:`\sqrt{v_t}`, as
    scikit-learn's MLP does (the paper's "more efficient" ordering of section 2):
    the same update but for an ε :math:`1/\sqrt{1-\beta_2^t}` times larger, which
    matters early in training for gradients of the order of ε
    (:class:`~bprop.optim.transforms.ScaleByAdam`). The tutorial seed 004 puts ε
    under the root, :math:`\eta \hat M_n / \sqrt{\varepsilon + \hat G_n}`; bprop
    follows Kingma & Ba. ``weight_decay`` here is L2 added to the gradient; for
    decoupled decay use :class:`AdamW`.

    Transforms: ``AddDecayedWeights(λ)`` (if λ > 0), ``ScaleByAdam(β1, β2, ε, convention)``,
    ``ScaleByLearningRate(η)``.

    Parameters
    ----------
    lr : float or Schedule
        Learning rate η > 0.
    betas : (float, float), default (0.9, 0.999)
        β1, β2 in [0, 1).
    eps : float, default 1e-8
        ε ≥ 0.
    weight_decay : float, default 0.0
        L2 penalty λ ≥ 0.
    fused : bool, default False
        Run the whole chain as one compiled pass per parameter
        (:func:`~bprop.optim.transforms.fused_adam`, needs numba); the same numbers.
    convention : {"torch", "sklearn"}, default "torch"
        Where ε goes (above).
    """

    _decoupled = False
    _parameter_constraints = {"weight_decay": T.NON_NEGATIVE}    # betas, eps, convention: ScaleByAdam's

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=False, convention="torch"):
        schedule = as_schedule(lr)
        adam = T.ScaleByAdam(*_check_betas(betas), eps, convention=convention)
        self.betas, self.eps, self.convention = (adam.b1, adam.b2), adam.eps, adam.convention
        (self.weight_decay,) = check_params({"weight_decay": weight_decay}, self._parameter_constraints).values()
        decay = [T.AddDecayedWeights(self.weight_decay)] if self.weight_decay else []
        if self._decoupled:
            ts = [adam, *decay, T.ScaleByLearningRate(schedule)]
        else:
            ts = [*decay, adam, T.ScaleByLearningRate(schedule)]
        super().__init__(*ts)
        self._adam = adam
        self.fused = _check_fused(type(self).__name__, fused)

    def _state_slots(self):
        return self._adam.state["m"], self._adam.state["v"]

    def _fused_step(self, views, step):
        lr, (b1, b2), wd = self.schedule(step), self.betas, self.weight_decay
        bc1, bc2_sqrt = self._adam.bias_corrections(step)
        w1 = 1 - b1                  # as ScaleByAdam.update
        sklearn = self.convention == "sklearn"
        # the weight of the old m: torch's lerp uses 1 − w1, scikit-learn's β1 itself
        keep = b1 if sklearn else 1 - w1
        coupled, decoupled = bool(wd) and not self._decoupled, bool(wd) and self._decoupled
        scalars = _by_dtype(views, lambda D: (D(-lr), D(w1), D(keep), D(b2), D(1 - b2), D(1 / bc1), D(bc2_sqrt),
                                              D(self.eps), D(wd), coupled, decoupled, abs(w1) < 0.5, sklearn,
                                              D(bc2_sqrt / bc1), D(smallest_normal(D))))
        for (p, g, m, v), s in zip(views, scalars):
            T.fused_adam(p, g, m, v, *s)

    def get_config(self):
        return {"type": type(self).__name__, "lr": _lr_config(self.schedule), "betas": list(self.betas),
                "eps": self.eps, "weight_decay": self.weight_decay, "fused": self.fused,
                "convention": self.convention}


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101).

    .. math::

        \theta_t = \theta_{t-1} - \eta_t \left( \hat m_t / (\sqrt{\hat v_t} + \varepsilon)
                   + \lambda\, \theta_{t-1} \right)

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` computed from the raw
    gradient. This equals ``torch.optim.AdamW``, which writes it
    :math:`\theta \leftarrow \theta(1 - \eta\lambda)` followed by the Adam step.
    As in PyTorch the decay is multiplied by the (scheduled) learning rate.

    Transforms: ``ScaleByAdam(β1, β2, ε, convention)``, ``AddDecayedWeights(λ)`` (if λ > 0),
    ``ScaleByLearningRate(η)``.

    Parameters
    ----------
    lr : float or Schedule
        Learning rate η > 0.
    betas : (float, float), default (0.9, 0.999)
        β1, β2 in [0, 1).
    eps : float, default 1e-8
        ε ≥ 0.
    weight_decay : float, default 0.01
        Decoupled decay λ ≥ 0.
    fused : bool, default False
        As :class:`Adam`'s.
    convention : {"torch", "sklearn"}, default "torch"
        Where ε goes, as :class:`Adam`'s.
    """

    _decoupled = True

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=False, convention="torch"):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused, convention=convention)


# -- registry -----------------------------------------------------------------------

_CLASSES = {"Optimizer": Optimizer, "SGD": SGD, "RMSProp": RMSProp, "Adam": Adam, "AdamW": AdamW}

#: Names accepted by :func:`get`, with the default arguments each adds.
NAMES = {
    "sgd": (SGD, {"lr": 0.01}),
    "momentum": (SGD, {"lr": 0.01, "momentum": 0.9}),
    "nesterov": (SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "rmsprop": (RMSProp, {"lr": 0.01}),
    "adam": (Adam, {"lr": 1e-3}),
    "adamw": (AdamW, {"lr": 1e-3}),
}


def get(name, **kwargs) -> Optimizer:
    """An optimiser by name, e.g. ``get("adam", lr=3e-4)``; an :class:`Optimizer` passes through.

    Names: ``sgd``, ``momentum`` (SGD with momentum=0.9), ``nesterov``,
    ``rmsprop``, ``adam``, ``adamw``. Arguments not given take the defaults
    listed in :data:`NAMES` (``lr`` 0.01 for SGD and RMSProp, 1e-3 for Adam).
    """
    if isinstance(name, Optimizer):
        return name
    cls, defaults = lookup(NAMES, str(name).lower().replace("-", "_"), "optimizer")
    return cls(**{**defaults, **kwargs})


def from_config(cfg: dict) -> Optimizer:
    """Rebuild an optimiser from ``opt.get_config()`` (state not included)."""
    cfg = dict(cfg)
    cls = lookup(_CLASSES, cfg.pop("type", None), "optimizer type")
    if cls is Optimizer:
        return Optimizer(*(T.from_config(c) for c in cfg.get("transforms", [])))
    if "lr" in cfg:
        cfg["lr"] = T.lr_from_config(cfg["lr"])
    return cls(**cfg)


def from_state_dict(state: dict) -> Optimizer:
    """Rebuild an optimiser and its state from ``opt.state_dict()`` (for resuming a checkpoint)."""
    opt = from_config(state["config"])
    opt.load_state_dict(state)
    return opt
