r"""Optimisers: chains of gradient transforms, and the recipes SGD, RMSProp, Adam, AdamW.

Every recipe is a :class:`Optimizer` holding a chain of transforms from
:mod:`bprop.optim.transforms` and applies, once per call of :meth:`~Optimizer.step`,

.. math:: u \leftarrow T_n(\dots T_1(\partial C/\partial\theta)), \qquad \theta \leftarrow \theta + u

to every parameter, in place. One step of each recipe equals one step of the
``torch.optim`` class of the same name and hyper-parameters, to float64
rounding: the transforms follow PyTorch's formulas and order of operations.

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

from .. import kernels
from ..kernels import optim as _fused
from . import transforms as T
from .._validation import check_real, lookup
from .schedules import Schedule, as_schedule

__all__ = ["Optimizer", "chain", "SGD", "RMSProp", "Adam", "AdamW", "get", "from_config", "from_state_dict", "NAMES"]


class Optimizer:
    """A chain of gradient transforms that updates parameters in place.

    Parameters
    ----------
    *transforms : Transform
        Applied in order to a copy of the gradients; the result is added to
        the parameters. End the chain with
        :class:`~bprop.optim.transforms.ScaleByLearningRate`.

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
        self._fused = None  # the chain as one kernel per parameter (bprop.kernels.optim), if recognised

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
        self._fused = _fused.plan(self.transforms, params, grads)

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (dicts keyed ``"0.W"``, ``"0.b"``, ...).

        ``grads`` is read, never written. State is allocated on the first call
        with each parameter's shape and dtype.
        """
        if self._keys is None or params.keys() != self._keys:
            self._init(params, grads)
        if self._fused is not None and kernels.enabled() and \
                self._fused(params, grads, self.step_count, (self._updates, self._scratch)):
            # Fast path: the same chain, same order of operations, one pass per parameter.
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


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, Nesterov and L2 weight decay.

    .. math::

        g_t &= \nabla_\theta C(\theta_{t-1}) + \lambda\, \theta_{t-1} \\
        b_t &= \mu\, b_{t-1} + g_t \quad (b_1 = g_1) \\
        \theta_t &= \theta_{t-1} - \eta_t \cdot
            \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \mu > 0 \\ g_t & \mu = 0 \end{cases}

    This is ``torch.optim.SGD`` with ``dampening=0``. As PyTorch notes, this
    momentum subtly differs from Sutskever et al.
    (http://proceedings.mlr.press/v28/sutskever13.html), whose velocity
    :math:`v \leftarrow \mu v - \eta g` absorbs the learning rate: the two are
    the same for a constant η. Nesterov: Sutskever et al. (2013), in PyTorch's form.

    Transforms: ``AddDecayedWeights(λ)`` (if λ > 0), ``Trace(μ, nesterov)``
    (if μ > 0), ``ScaleByLearningRate(η)``.

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
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        schedule = as_schedule(lr)
        self.momentum = check_real(momentum, "momentum", "momentum value", ge=0, lt=1)
        self.nesterov = bool(nesterov)
        self.weight_decay = check_real(weight_decay, "weight_decay", "weight_decay value", ge=0)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"Invalid nesterov=True with momentum={momentum} "
                             "(expected momentum > 0: Nesterov momentum needs a momentum)")
        ts = []
        if self.weight_decay:
            ts.append(T.AddDecayedWeights(self.weight_decay))
        if self.momentum:
            ts.append(T.Trace(self.momentum, self.nesterov))
        ts.append(T.ScaleByLearningRate(schedule))
        super().__init__(*ts)

    def get_config(self):
        return {"type": "SGD", "lr": _lr_config(self.schedule), "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


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
    """

    def __init__(self, lr, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        schedule = as_schedule(lr)
        rms = T.ScaleByRMS(alpha, eps)
        self.alpha, self.eps = rms.alpha, rms.eps
        self.momentum = check_real(momentum, "momentum", "momentum value", ge=0, lt=1)
        self.weight_decay = check_real(weight_decay, "weight_decay", "weight_decay value", ge=0)
        ts = [T.AddDecayedWeights(self.weight_decay)] if self.weight_decay else []
        ts.append(rms)
        if self.momentum:
            ts.append(T.Trace(self.momentum))
        ts.append(T.ScaleByLearningRate(schedule))
        super().__init__(*ts)

    def get_config(self):
        return {"type": "RMSProp", "lr": _lr_config(self.schedule), "alpha": self.alpha, "eps": self.eps,
                "momentum": self.momentum, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, Algorithm 1), with optional L2 weight decay.

    .. math::

        g_t &= \nabla_\theta C(\theta_{t-1}) + \lambda\, \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t \odot g_t \qquad (m_0 = v_0 = 0) \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta_t\, \hat m_t / (\sqrt{\hat v_t} + \varepsilon)

    ε is added to :math:`\sqrt{\hat v_t}`, as in the paper
    (https://arxiv.org/abs/1412.6980) and ``torch.optim.Adam``, computed in
    PyTorch's order (:math:`\sqrt{v_t}/\sqrt{1-\beta_2^t} + \varepsilon`).
    The tutorial seed 004 puts ε under the root,
    :math:`\eta \hat M_n / \sqrt{\varepsilon + \hat G_n}`; bprop follows
    Kingma & Ba and PyTorch. ``weight_decay`` here is L2 added to the
    gradient; for decoupled decay use :class:`AdamW`.

    Transforms: ``AddDecayedWeights(λ)`` (if λ > 0), ``ScaleByAdam(β1, β2, ε)``,
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
    """

    _decoupled = False

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        schedule = as_schedule(lr)
        adam = T.ScaleByAdam(*_check_betas(betas), eps)
        self.betas, self.eps = (adam.b1, adam.b2), adam.eps
        self.weight_decay = check_real(weight_decay, "weight_decay", "weight_decay value", ge=0)
        decay = [T.AddDecayedWeights(self.weight_decay)] if self.weight_decay else []
        if self._decoupled:
            ts = [adam, *decay, T.ScaleByLearningRate(schedule)]
        else:
            ts = [*decay, adam, T.ScaleByLearningRate(schedule)]
        super().__init__(*ts)

    def get_config(self):
        return {"type": type(self).__name__, "lr": _lr_config(self.schedule), "betas": list(self.betas),
                "eps": self.eps, "weight_decay": self.weight_decay}


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101).

    .. math::

        \theta_t = \theta_{t-1} - \eta_t \left( \hat m_t / (\sqrt{\hat v_t} + \varepsilon)
                   + \lambda\, \theta_{t-1} \right)

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` computed from the raw
    gradient. This equals ``torch.optim.AdamW``, which writes it
    :math:`\theta \leftarrow \theta(1 - \eta\lambda)` followed by the Adam step.
    As in PyTorch the decay is multiplied by the (scheduled) learning rate.

    Transforms: ``ScaleByAdam(β1, β2, ε)``, ``AddDecayedWeights(λ)`` (if λ > 0),
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
    """

    _decoupled = True

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay)


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
