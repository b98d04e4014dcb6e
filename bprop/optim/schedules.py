r"""Learning-rate schedules.

A schedule maps the optimiser's update count to a learning rate::

    η_k = schedule(k)        k = 0, 1, 2, ...  (0-based: step k is the (k+1)-th update)

Schedules count **optimiser updates** (mini-batch steps), not epochs: with
``n_batches`` steps per epoch, ``StepDecay(0.1, step_size=10 * n_batches)``
decays every ten epochs. The one exception is :class:`ReduceOnPlateau`,
which is driven by a metric: the fit loop calls ``optimizer.observe(metric)``
once per epoch and the optimiser forwards it to its schedule.

Pass a schedule wherever an optimiser takes ``lr``::

    >>> from bprop.optim import Adam, CosineDecay
    >>> opt = Adam(lr=CosineDecay(1e-3, total_steps=1000))
    >>> opt.lr
    0.001

Each schedule has a ``torch.optim.lr_scheduler`` counterpart named in its
docstring; stepping that scheduler once after each ``optimizer.step()`` gives
the same rates (to float64 rounding: PyTorch computes most of them
recursively, bprop in closed form).
"""

from __future__ import annotations

import math
import numbers

from .._validation import check_choice, check_int, check_real, lookup

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LinearWarmup",
    "ReduceOnPlateau",
    "as_schedule",
    "get",
    "from_config",
]


# -- argument checks (shared with the rest of bprop: bprop._validation) --------------


def check_lr(lr):
    """The learning-rate check every optimiser and schedule uses."""
    return check_real(lr, "lr", "learning rate", gt=0)


# -- schedules ----------------------------------------------------------------------


class Schedule:
    """Base class: ``schedule(step) -> float``, the rate of update ``step`` (0-based).

    Subclasses implement ``__call__`` and ``get_config``; stateful ones
    (:class:`ReduceOnPlateau`) also ``observe``, ``state_dict`` and
    ``load_state_dict``. The state is JSON-able numbers only.
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def observe(self, metric: float) -> None:
        """React to an epoch's metric. A no-op except for :class:`ReduceOnPlateau`."""

    def get_config(self) -> dict:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __repr__(self):
        cfg = self.get_config()
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k != "type")
        return f"{cfg['type']}({args})"


class Constant(Schedule):
    r"""A constant rate: :math:`\eta_k = \eta`.

    Parameters
    ----------
    lr : float
        The learning rate η > 0.
    """

    def __init__(self, lr):
        self.lr = check_lr(lr)

    def __call__(self, step):
        return self.lr

    def get_config(self):
        return {"type": "Constant", "lr": self.lr}


class StepDecay(Schedule):
    r"""Multiply the rate by ``gamma`` every ``step_size`` updates.

    .. math:: \eta_k = \eta \, \gamma^{\lfloor k / s \rfloor}

    The same rates as ``torch.optim.lr_scheduler.StepLR(opt, step_size=s, gamma=γ)``.

    Parameters
    ----------
    lr : float
        Initial rate η > 0.
    step_size : int
        Period s ≥ 1, in updates.
    gamma : float, default 0.1
        Decay factor, 0 < γ ≤ 1.
    """

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr = check_lr(lr)
        self.step_size = check_int(step_size, "step_size", ge=1)
        self.gamma = check_real(gamma, "gamma", "gamma", gt=0, le=1)

    def __call__(self, step):
        return self.lr * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"type": "StepDecay", "lr": self.lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(Schedule):
    r"""Multiply the rate by ``gamma`` after every update.

    .. math:: \eta_k = \eta \, \gamma^{k}

    The same rates as ``torch.optim.lr_scheduler.ExponentialLR(opt, gamma=γ)``.

    Parameters
    ----------
    lr : float
        Initial rate η > 0.
    gamma : float
        Decay factor per update, 0 < γ ≤ 1 (e.g. 0.999).
    """

    def __init__(self, lr, gamma):
        self.lr = check_lr(lr)
        self.gamma = check_real(gamma, "gamma", "gamma", gt=0, le=1)

    def __call__(self, step):
        return self.lr * self.gamma**step

    def get_config(self):
        return {"type": "ExponentialDecay", "lr": self.lr, "gamma": self.gamma}


class CosineDecay(Schedule):
    r"""Cosine annealing from ``lr`` to ``min_lr`` over ``total_steps`` updates.

    .. math::

        \eta_k = \eta_{\min} + \tfrac12 (\eta - \eta_{\min})
                 \left(1 + \cos\frac{\pi \min(k, T)}{T}\right)

    The same rates as ``torch.optim.lr_scheduler.CosineAnnealingLR(opt,
    T_max=T, eta_min=η_min)`` for ``k ≤ T``; afterwards bprop stays at
    ``min_lr`` where PyTorch would climb back up (no restarts).
    Loshchilov & Hutter, *SGDR*, https://arxiv.org/abs/1608.03983.

    Parameters
    ----------
    lr : float
        Initial rate η > 0.
    total_steps : int
        Length T ≥ 1 of the decay, in updates.
    min_lr : float, default 0.0
        Final rate, 0 ≤ η_min ≤ η.
    """

    def __init__(self, lr, total_steps, min_lr=0.0):
        self.lr = check_lr(lr)
        self.total_steps = check_int(total_steps, "total_steps", ge=1)
        self.min_lr = check_real(min_lr, "min_lr", "min_lr", ge=0, le=self.lr)

    def __call__(self, step):
        t = min(step, self.total_steps)
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * t / self.total_steps)) / 2

    def get_config(self):
        return {"type": "CosineDecay", "lr": self.lr, "total_steps": self.total_steps, "min_lr": self.min_lr}


class LinearWarmup(Schedule):
    r"""Ramp the rate up linearly over ``warmup_steps`` updates, then follow ``after``.

    .. math::

        \eta_k = \begin{cases}
            \mathrm{after}(0)\,\dfrac{k + 1}{W} & k < W \\
            \mathrm{after}(k - W) & k \ge W
        \end{cases}

    The wrapped schedule starts counting when the warm-up ends, so
    ``LinearWarmup(100, CosineDecay(1e-3, 900))`` lasts 1000 updates in all.
    With a constant ``after`` the rates equal ``torch.optim.lr_scheduler.LinearLR(
    opt, start_factor=1/W, end_factor=1, total_iters=W-1)``.
    Goyal et al., https://arxiv.org/abs/1706.02677.

    Parameters
    ----------
    warmup_steps : int
        W ≥ 1 updates of warm-up.
    after : float or Schedule
        The rate (or schedule) to reach and follow.
    """

    def __init__(self, warmup_steps, after):
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", ge=1)
        self.after = as_schedule(after)

    def __call__(self, step):
        w = self.warmup_steps
        if step < w:
            return self.after(0) * (step + 1) / w
        return self.after(step - w)

    def observe(self, metric):
        self.after.observe(metric)

    def get_config(self):
        return {"type": "LinearWarmup", "warmup_steps": self.warmup_steps, "after": self.after.get_config()}

    def state_dict(self):
        return {"after": self.after.state_dict()}

    def load_state_dict(self, state):
        self.after.load_state_dict(state.get("after", {}))


class ReduceOnPlateau(Schedule):
    r"""Divide the rate by ``1/factor`` when a metric stops improving.

    The semantics of ``torch.optim.lr_scheduler.ReduceLROnPlateau``. The fit
    loop calls :meth:`observe` once per epoch (through
    ``optimizer.observe(metric)``) with the validation loss, or the training
    loss when there is no validation data. An epoch is *better* when, in mode
    ``"min"`` with the relative threshold,

    .. math:: m < m_{\text{best}} (1 - \text{threshold})

    (``"max"``: :math:`m > m_{\text{best}}(1 + \text{threshold})`;
    ``threshold_mode="abs"``: :math:`m < m_{\text{best}} - \text{threshold}`).
    After more than ``patience`` epochs in a row that are not better,
    :math:`\eta \leftarrow \max(\eta \cdot \text{factor}, \eta_{\min})`
    (skipped when that changes η by less than 1e-8) and ``cooldown``
    epochs follow in which bad epochs are not counted.

    ``schedule(step)`` returns the current rate whatever the step.

    Parameters
    ----------
    lr : float
        Initial rate η > 0.
    factor : float, default 0.1
        0 < factor < 1.
    patience : int, default 10
        Bad epochs tolerated before a reduction.
    threshold : float, default 1e-4
        Least improvement that counts, ≥ 0.
    mode : {"min", "max"}, default "min"
        Whether a smaller or a larger metric is better.
    min_lr : float, default 0
        Lower bound on the rate.
    cooldown : int, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    threshold_mode : {"rel", "abs"}, default "rel"
        Relative or absolute threshold.
    """

    _EPS = 1e-8  # PyTorch's minimal decay

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, mode="min", min_lr=0.0,
                 cooldown=0, threshold_mode="rel"):
        self.initial_lr = check_lr(lr)
        self.factor = check_real(factor, "factor", "factor", gt=0, lt=1)
        self.patience = check_int(patience, "patience", ge=0)
        self.threshold = check_real(threshold, "threshold", "threshold", ge=0)
        self.mode = check_choice(mode, "mode", ("min", "max"))
        self.min_lr = check_real(min_lr, "min_lr", "min_lr", ge=0)
        self.cooldown = check_int(cooldown, "cooldown", ge=0)
        self.threshold_mode = check_choice(threshold_mode, "threshold_mode", ("rel", "abs"))
        self.lr = self.initial_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.n_observed = 0

    def __call__(self, step):
        return self.lr

    def _is_better(self, m):
        best, th = self.best, self.threshold
        if self.mode == "min":
            return m < (best * (1.0 - th) if self.threshold_mode == "rel" else best - th)
        return m > (best * (th + 1.0) if self.threshold_mode == "rel" else best + th)

    def observe(self, metric):
        """Record one epoch's metric and reduce the rate if it has plateaued."""
        m = float(metric)
        self.n_observed += 1
        if self._is_better(m):
            self.best = m
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self._EPS:
                self.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def get_config(self):
        return {"type": "ReduceOnPlateau", "lr": self.initial_lr, "factor": self.factor,
                "patience": self.patience, "threshold": self.threshold, "mode": self.mode,
                "min_lr": self.min_lr, "cooldown": self.cooldown, "threshold_mode": self.threshold_mode}

    def state_dict(self):
        # ±inf is not JSON: an unset best is stored as None.
        return {"lr": self.lr, "best": self.best if math.isfinite(self.best) else None,
                "num_bad_epochs": self.num_bad_epochs, "cooldown_counter": self.cooldown_counter,
                "n_observed": self.n_observed}

    def load_state_dict(self, state):
        self.lr = float(state["lr"])
        best = state["best"]
        self.best = float(best) if best is not None else (math.inf if self.mode == "min" else -math.inf)
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.n_observed = int(state["n_observed"])


# -- registry -------------------------------------------------------------------------

_CLASSES = {c.__name__: c for c in (Constant, StepDecay, ExponentialDecay, CosineDecay, LinearWarmup,
                                    ReduceOnPlateau)}

#: Names accepted by :func:`get` (the CLI's ``--schedule``).
NAMES = {"constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "cosine": CosineDecay,
         "warmup": LinearWarmup, "plateau": ReduceOnPlateau}


def as_schedule(lr) -> Schedule:
    """A :class:`Schedule` as is; a number as :class:`Constant` (checked: lr > 0)."""
    return lr if isinstance(lr, Schedule) else Constant(lr)


def get(name, **kwargs) -> Schedule:
    """Make a schedule by name: ``get("cosine", lr=1e-3, total_steps=1000)``.

    Names: ``constant, step, exponential, cosine, warmup, plateau``. A
    :class:`Schedule` passes through unchanged.
    """
    if isinstance(name, Schedule):
        return name
    return lookup(NAMES, str(name).lower().replace("-", "_"), "schedule")(**kwargs)


def from_config(cfg: dict) -> Schedule:
    """Rebuild a schedule from ``schedule.get_config()``."""
    cfg = dict(cfg)
    cls = lookup(_CLASSES, cfg.pop("type", None), "schedule type")
    if cls is LinearWarmup and isinstance(cfg["after"], dict):
        cfg["after"] = from_config(cfg["after"])
    return cls(**cfg)
