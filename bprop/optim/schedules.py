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
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Callable

from .._validation import Interval, Options, check, check_params, lookup

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LinearWarmup",
    "ReduceOnPlateau",
    "InvScaling",
    "Adaptive",
    "StallCounter",
    "as_schedule",
    "get",
    "from_config",
]


# -- argument checks (the vocabulary of bprop._validation) ----------------------------

#: η > 0: the learning-rate constraint of every optimiser and schedule.
LR = Interval(Real, 0, None, closed="neither")
_STEPS = Interval(Integral, 1, None, closed="left")      # a length in updates, ≥ 1
_DECAY = Interval(Real, 0, 1, closed="right")            # a decay factor 0 < γ ≤ 1
_COUNT = Interval(Integral, 0, None, closed="left")      # epochs, ≥ 0


def check_lr(lr):
    """The learning-rate check every optimiser and schedule uses: ``lr > 0``."""
    return check(lr, "lr", LR)


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

    _parameter_constraints = {"lr": LR}

    def __init__(self, lr):
        (self.lr,) = check_params({"lr": lr}, self._parameter_constraints).values()

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

    _parameter_constraints = {"lr": LR, "step_size": _STEPS, "gamma": _DECAY}

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr, self.step_size, self.gamma = check_params(
            {"lr": lr, "step_size": step_size, "gamma": gamma}, self._parameter_constraints).values()

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

    _parameter_constraints = {"lr": LR, "gamma": _DECAY}

    def __init__(self, lr, gamma):
        self.lr, self.gamma = check_params({"lr": lr, "gamma": gamma}, self._parameter_constraints).values()

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

    _parameter_constraints = {"lr": LR, "total_steps": _STEPS, "min_lr": Interval(Real, 0, None, closed="left")}

    def __init__(self, lr, total_steps, min_lr=0.0):
        self.lr, self.total_steps, self.min_lr = check_params(
            {"lr": lr, "total_steps": total_steps, "min_lr": min_lr}, self._parameter_constraints).values()
        check(self.min_lr, "min_lr", Interval(Real, 0, self.lr))   # the bound η_min ≤ η depends on lr

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

    # a number for `after` is checked as Constant's lr (by as_schedule)
    _parameter_constraints = {"warmup_steps": _STEPS, "after": [Real, Schedule]}

    def __init__(self, warmup_steps, after):
        self.warmup_steps, after = check_params({"warmup_steps": warmup_steps, "after": after},
                                                self._parameter_constraints).values()
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

    _parameter_constraints = {
        "lr": LR,
        "factor": Interval(Real, 0, 1, closed="neither"),
        "patience": _COUNT,
        "threshold": Interval(Real, 0, None, closed="left"),
        "mode": Options(("min", "max"), type=str),
        "min_lr": Interval(Real, 0, None, closed="left"),
        "cooldown": _COUNT,
        "threshold_mode": Options(("rel", "abs"), type=str),
    }

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, mode="min", min_lr=0.0,
                 cooldown=0, threshold_mode="rel"):
        (self.initial_lr, self.factor, self.patience, self.threshold, self.mode, self.min_lr, self.cooldown,
         self.threshold_mode) = check_params(
            {"lr": lr, "factor": factor, "patience": patience, "threshold": threshold, "mode": mode,
             "min_lr": min_lr, "cooldown": cooldown, "threshold_mode": threshold_mode},
            self._parameter_constraints).values()
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


class InvScaling(Schedule):
    r"""scikit-learn's ``learning_rate="invscaling"``: the rate falls with the samples seen.

    .. math:: \eta_k = \frac{\eta_0}{(t + 1)^{p}}, \qquad t = N \left\lfloor k / S \right\rfloor

    where ``t`` counts the training samples of the epochs finished before
    update ``k`` (``N`` per epoch, ``S`` updates per epoch), so the rate is
    constant within an epoch and changes at its end, as ``MLPClassifier``'s
    ``SGDOptimizer.iteration_ends(t_)`` does. (No ``torch`` counterpart.)

    Parameters
    ----------
    lr : float
        η₀ > 0.
    power_t : float, default 0.5
        The exponent p ≥ 0.
    samples_per_epoch : int, default 1
        N, the training rows of one epoch.
    steps_per_epoch : int, default 1
        S, the updates of one epoch.
    """

    _parameter_constraints = {"lr": LR, "power_t": Interval(Real, 0, None, closed="left"),
                              "samples_per_epoch": _STEPS, "steps_per_epoch": _STEPS}

    def __init__(self, lr, power_t=0.5, samples_per_epoch=1, steps_per_epoch=1):
        self.lr, self.power_t, self.samples_per_epoch, self.steps_per_epoch = check_params(
            {"lr": lr, "power_t": power_t, "samples_per_epoch": samples_per_epoch,
             "steps_per_epoch": steps_per_epoch}, self._parameter_constraints).values()

    def __call__(self, step):
        t = self.samples_per_epoch * (step // self.steps_per_epoch)
        return self.lr / (t + 1) ** self.power_t

    def get_config(self):
        return {"type": "InvScaling", "lr": self.lr, "power_t": self.power_t,
                "samples_per_epoch": self.samples_per_epoch, "steps_per_epoch": self.steps_per_epoch}


class StallCounter:
    r"""scikit-learn's MLP test of "no improvement" (``_update_no_improvement_count``), on a metric to minimise.

    An epoch's metric :math:`m` does not improve when

    .. math:: m > m_\text{best} − \text{tol}

    (``tol`` absolute); :attr:`count` is the number of such epochs in a row, and
    :math:`m_\text{best}`, the smallest metric so far, follows every decrease,
    even one smaller than ``tol``. A NaN never improves the best and resets the
    count, as in scikit-learn. A score to maximise is watched as :math:`m = −\text{score}`
    (:math:`−s > −s_\text{best} − \text{tol}` is exactly MLP's :math:`s < s_\text{best} + \text{tol}`).
    Used by :class:`Adaptive` and by the estimators' convergence test.

    Parameters
    ----------
    tol : float
        Least decrease that counts, ≥ 0.
    best : float, default inf
    count : int, default 0
        The state to start from (a continued fit's).
    """

    def __init__(self, tol: float, best: float = math.inf, count: int = 0):
        self.tol, self.best, self.count = float(tol), float(best), int(count)

    def update(self, metric: float) -> bool:
        """Count one epoch's ``metric``; returns whether it is a new best (below every earlier one)."""
        m = float(metric)
        self.count = self.count + 1 if m > self.best - self.tol else 0
        new_best = m < self.best
        if new_best:
            self.best = m
        return new_best


class Adaptive(Schedule):
    r"""scikit-learn's ``learning_rate="adaptive"``: divide the rate by 5 when the metric stalls.

    The fit loop calls :meth:`observe` once per epoch with the training loss
    (the validation loss when there is a validation set). An epoch *does not
    improve* by MLP's rule, :math:`m > m_\text{best} − \text{tol}`
    (:class:`StallCounter`); after more than ``n_iter_no_change`` such epochs
    in a row, :meth:`reduce` divides the rate: :math:`\eta \leftarrow \eta /
    (1/\text{factor})` (``factor = 1/5``: exactly MLP's ``learning_rate /= 5``), and the count
    restarts, unless :math:`\eta \le` ``min_lr`` already: then
    :attr:`exhausted` becomes ``True`` and the estimators stop training.
    Unlike :class:`ReduceOnPlateau` (PyTorch's, a threshold relative to the
    metric by default), ``tol`` is absolute, as in scikit-learn.

    Parameters
    ----------
    lr : float
        Initial rate η > 0.
    tol : float, default 1e-4
        Least decrease that counts, ≥ 0.
    n_iter_no_change : int or None, default 10
        Epochs without improvement tolerated (one more triggers a reduction).
        ``None``: :meth:`observe` ignores the metric, and the rate changes only
        when the caller, which then counts the stalls itself, calls
        :meth:`reduce` — as ``BPClassifier``/``BPRegressor`` do, whose one
        convergence test (MLP's: the training loss, or the validation score
        under early stopping) both stops training and drives this rate.
    factor : float, default 0.2
        0 < factor < 1.
    min_lr : float, default 1e-6
        Below or at this rate, a further stall sets :attr:`exhausted` instead.
    """

    _parameter_constraints = {"lr": LR, "tol": Interval(Real, 0, None, closed="left"),
                              "n_iter_no_change": [None, _COUNT], "factor": Interval(Real, 0, 1, closed="neither"),
                              "min_lr": Interval(Real, 0, None, closed="left")}

    def __init__(self, lr, tol=1e-4, n_iter_no_change=10, factor=0.2, min_lr=1e-6):
        self.initial_lr, self.tol, self.n_iter_no_change, self.factor, self.min_lr = check_params(
            {"lr": lr, "tol": tol, "n_iter_no_change": n_iter_no_change, "factor": factor, "min_lr": min_lr},
            self._parameter_constraints).values()
        self.lr = self.initial_lr
        self.stalls = StallCounter(self.tol)
        self.exhausted = False

    @property
    def best(self) -> float:
        """The smallest metric observed."""
        return self.stalls.best

    @property
    def no_improvement_count(self) -> int:
        """Epochs in a row without improvement."""
        return self.stalls.count

    def __call__(self, step):
        return self.lr

    def observe(self, metric):
        """Record one epoch's metric: count a stall, reduce the rate or set :attr:`exhausted`."""
        if self.n_iter_no_change is None:
            return
        self.stalls.update(metric)
        if self.stalls.count > self.n_iter_no_change and self.reduce():
            self.stalls.count = 0

    def reduce(self) -> bool:
        """One stall too many (MLP's ``SGDOptimizer.trigger_stopping``): divide the rate by ``1/factor``
        and return ``True``, or, with the rate at most ``min_lr`` already, set :attr:`exhausted` and
        return ``False``."""
        if self.lr <= self.min_lr:
            self.exhausted = True
            return False
        self.lr /= 1.0 / self.factor
        return True

    def get_config(self):
        return {"type": "Adaptive", "lr": self.initial_lr, "tol": self.tol,
                "n_iter_no_change": self.n_iter_no_change, "factor": self.factor, "min_lr": self.min_lr}

    def state_dict(self):
        best = self.stalls.best
        return {"lr": self.lr, "best": best if math.isfinite(best) else None,
                "no_improvement_count": self.stalls.count, "exhausted": self.exhausted}

    def load_state_dict(self, state):
        self.lr = float(state["lr"])
        self.stalls = StallCounter(self.tol, math.inf if state["best"] is None else float(state["best"]),
                                   int(state["no_improvement_count"]))
        self.exhausted = bool(state["exhausted"])


# -- registry -------------------------------------------------------------------------

_CLASSES = {c.__name__: c for c in (Constant, StepDecay, ExponentialDecay, CosineDecay, LinearWarmup,
                                    ReduceOnPlateau, InvScaling, Adaptive)}

def as_schedule(lr) -> Schedule:
    """A :class:`Schedule` as is; a number as :class:`Constant` (checked: lr > 0)."""
    return lr if isinstance(lr, Schedule) else Constant(lr)


# -- the factory: one way to make a schedule from a name and options ----------------------


@dataclass(frozen=True)
class RunInputs:
    """The common inputs a schedule's defaults are derived from.

    ``lr`` is the base rate η, ``total_steps`` the updates of the whole run (None when
    unknown), ``steps_per_epoch`` the updates of one epoch.
    """

    lr: float | None
    total_steps: int | None
    steps_per_epoch: int = 1


@dataclass(frozen=True)
class Recipe:
    """How :func:`get` makes the schedule of one name.

    ``defaults`` maps an argument of ``cls`` to its default as a function of the
    :class:`RunInputs` (used only when the run gives what the function needs). ``lengths``
    are the arguments counted in updates and ``per_update`` the factors applied once
    per update: with ``per_epoch=True`` the options give them per epoch, and
    :func:`get` converts a length ``E`` to ``E · steps_per_epoch`` updates and a factor
    ``G`` to ``G^(1/steps_per_epoch)`` per update.
    """

    cls: type
    defaults: dict[str, Callable[[RunInputs], object]] = field(default_factory=dict)
    lengths: tuple[str, ...] = ()
    per_update: tuple[str, ...] = ()


#: name → recipe: the names :func:`get` accepts (the CLI's ``--schedule``, the estimators'
#: ``schedule=``). Every schedule but the warm-up starts at the run's ``lr``; the warm-up
#: ramps up to ``after``, which is ``lr`` unless given.
RECIPES = {
    "constant": Recipe(Constant),
    # ×0.1 after each third of the run
    "step": Recipe(StepDecay, {"step_size": lambda r: max(r.total_steps // 3, 1)}, lengths=("step_size",)),
    # ×0.01 over the whole run: γ = 0.01^(1/T)
    "exponential": Recipe(ExponentialDecay, {"gamma": lambda r: 0.01 ** (1.0 / r.total_steps)},
                          per_update=("gamma",)),
    # to 0 at the end of the run
    "cosine": Recipe(CosineDecay, {"total_steps": lambda r: r.total_steps}, lengths=("total_steps",)),
    # 5 epochs or a tenth of the run, whichever is shorter
    "warmup": Recipe(LinearWarmup, {"warmup_steps": lambda r: max(min(5 * r.steps_per_epoch, r.total_steps // 10), 1)},
                     lengths=("warmup_steps",)),
    "plateau": Recipe(ReduceOnPlateau),
    # scikit-learn's MLP learning_rate="invscaling" and "adaptive"
    "invscaling": Recipe(InvScaling, {"steps_per_epoch": lambda r: r.steps_per_epoch}),
    "adaptive": Recipe(Adaptive),
}
#: The schedule names, each with its class.
NAMES = {name: recipe.cls for name, recipe in RECIPES.items()}

_SPEC = [str, dict, Schedule]


def get(spec, *, lr=None, total_steps=None, steps_per_epoch=1, per_epoch=False, **options) -> Schedule:
    r"""Make a schedule from a name and options: the one factory behind the CLI's
    ``--schedule`` and the estimators' ``schedule=``.

    ``spec`` is a name of :data:`RECIPES` (``constant, step, exponential, cosine, warmup,
    plateau``; case and ``-``/``_`` do not matter), a dict ``{"name": ..., **options}``, or
    a :class:`Schedule`, which passes through unchanged. ``options`` are the class's own
    arguments (``step_size``, ``gamma``, ``min_lr``, ...); an argument not given takes, in
    this order, the default the recipe derives from the run (``lr``, ``total_steps``,
    ``steps_per_epoch``: see :data:`RECIPES`), then the class's default:

    >>> get("cosine", lr=1e-3, total_steps=1000)
    CosineDecay(lr=0.001, total_steps=1000, min_lr=0.0)
    >>> round(get("exponential", lr=0.1, total_steps=200)(200), 12)    # ×0.01 over the run
    0.001

    For the warm-up, ``after`` (default ``lr``) may itself be a name or dict: it is made
    for the ``total_steps - warmup_steps`` updates after the warm-up. With
    ``per_epoch=True`` the options' lengths and per-update factors are given per epoch
    (see :class:`Recipe`): ``get("step", lr=0.1, steps_per_epoch=50, per_epoch=True,
    step_size=10, gamma=0.5)`` halves the rate every 500 updates.
    """
    spec = check(spec, "schedule", _SPEC)
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, dict):
        options = {**spec, **options}
        if "name" not in options:
            raise ValueError(f"a schedule given as a dict needs a 'name' entry, such as "
                             f"{{'name': 'step', 'step_size': 1000}}; got {spec!r}")
        spec = check(options.pop("name"), "schedule name", str)
    recipe = lookup(RECIPES, spec.lower().replace("-", "_"), "schedule")
    spe = check(steps_per_epoch, "steps_per_epoch", _STEPS)
    if per_epoch:
        options = {k: v * spe if k in recipe.lengths else v ** (1.0 / spe) if k in recipe.per_update else v
                   for k, v in options.items()}
    run = RunInputs(lr, None if total_steps is None else max(check(total_steps, "total_steps", _COUNT), 1), spe)
    if run.total_steps is not None:   # every derived default needs the run's length
        options = {**{name: default(run) for name, default in recipe.defaults.items()}, **options}
    if recipe.cls is LinearWarmup:
        after = lr if options.get("after") is None else options["after"]
        if isinstance(after, (str, dict)):
            rest = None if run.total_steps is None else max(run.total_steps - options["warmup_steps"], 1)
            after = get(after, lr=lr, total_steps=rest, steps_per_epoch=spe, per_epoch=per_epoch)
        options["after"] = after
    elif lr is not None:
        options.setdefault("lr", lr)
    return recipe.cls(**options)


def from_config(cfg: dict) -> Schedule:
    """Rebuild a schedule from ``schedule.get_config()``."""
    cfg = dict(cfg)
    cls = lookup(_CLASSES, cfg.pop("type", None), "schedule type")
    if cls is LinearWarmup and isinstance(cfg["after"], dict):
        cfg["after"] = from_config(cfg["after"])
    return cls(**cfg)
