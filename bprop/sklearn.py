r"""scikit-learn estimators: :class:`BPClassifier` and :class:`BPRegressor`.

Multi-layer perceptrons with the interface of scikit-learn's
``MLPClassifier``/``MLPRegressor`` and what those lack: dropout, batch
normalisation, one activation per hidden layer (leaky ReLU, ELU, GELU...),
class weights, a validation-loss curve, callbacks, every bprop optimiser,
initialiser and learning-rate schedule, and the trained network itself
(:attr:`net_`) for :meth:`~bprop.Sequential.trace`, :func:`bprop.gradcheck`
and plots.

The network is :func:`bprop.mlp.build_mlp`'s: each hidden layer is
``Dense → [BatchNorm] → activation → [Dropout]``; the output layer is a
``Dense`` whose raw output (logits for a classifier) goes to the loss:

=============================  =======  ===========================================
target                         outputs  loss
=============================  =======  ===========================================
regression, ``k`` targets      ``k``    ``MSE`` :math:`\frac{1}{2n}\sum_x\lVert a − y\rVert^2`
binary classes                 1        ``BinaryCrossEntropy`` (sigmoid)
``k ≥ 3`` classes              ``k``    ``CrossEntropy`` (softmax)
multi-label 0/1 matrix (n, k)  ``k``    ``BinaryCrossEntropy`` (one sigmoid per label)
=============================  =======  ===========================================

Importing this module imports scikit-learn; ``import bprop`` does not.

>>> from sklearn.datasets import load_iris
>>> from bprop.sklearn import BPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = BPClassifier(hidden_layer_sizes=(16,), learning_rate=1e-2, max_epochs=50,
...                    random_state=0).fit(X, y)
>>> clf.predict(X[:3])
array([0, 0, 0])
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_class_weight, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from . import activations as _activations
from . import initializers as _initializers
from . import optim as _optim
from ._threads import THREADS
from ._validation import InstanceOf, Interval, Items, Options, check_dtype, check_params, unknown_name
from ._version import __version__
from .errors import DivergenceError
from .io import FLOATS, MODEL_FORMAT, read_npz, write_npz_atomic
from .layers import Dense
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss, Poisson, get as _get_loss
from .mlp import build_mlp
from .model_file import MODEL_MEMBERS, check_model
from .network import Sequential
from .optim.schedules import StallCounter
from .training import Callback, History, pack_optimizer_state, unpack_optimizer_state
from .training.checkpoints import check_history, check_optimizer_state, check_rng_state

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
        return estimator._validate_data(X, y, **kwargs)

__all__ = ["BPClassifier", "BPRegressor", "load"]

_WIDTH = Interval(Integral, 1, None, closed="left")
_PROBABILITY = Interval(Real, 0, 1, closed="left")
_BOOL = [bool, np.bool_]
#: scikit-learn's activation names that bprop spells differently.
ACTIVATION_ALIASES = {"logistic": "sigmoid"}
ESTIMATOR_KEY = "sklearn"   # key of the estimator's entry in the model file's metadata


# ---------------------------------------------------------------------------------------- helpers
def _per_layer(name: str, value, n_layers: int) -> list:
    """``value`` for every hidden layer: one value repeated, or a list/tuple of one per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ValueError(f"{name} has {len(value)} entries but hidden_layer_sizes has "
                             f"{n_layers} hidden layer(s); give one {name} or one per hidden layer")
        return list(value)
    return [value] * n_layers


def _hidden_sizes(hidden_layer_sizes) -> list[int]:
    """The widths as a list (one int is one hidden layer); checked by ``_parameter_constraints``."""
    sizes = hidden_layer_sizes
    return [int(sizes)] if isinstance(sizes, numbers.Integral) else [int(s) for s in sizes]


def _activation_name(name: str) -> str:
    """bprop's name of activation ``name`` (scikit-learn's ``"logistic"`` is ``"sigmoid"``)."""
    key = name.lower().replace("-", "_")
    key = ACTIVATION_ALIASES.get(key, key)
    _activations.get(key)   # raises, listing the valid names, for an unknown one
    return key


class _Communicator(InstanceOf):
    """An mpi4py communicator (anything with ``Allreduce`` and ``Get_rank``), without importing mpi4py."""

    def __init__(self):
        super().__init__(object)

    def accepts_type(self, value):
        return hasattr(value, "Allreduce") and hasattr(value, "Get_rank")

    def describe(self):
        return "an mpi4py communicator such as MPI.COMM_WORLD"


def _random_stream(random_state) -> tuple[int, np.random.RandomState]:
    """MLP's ``check_random_state(random_state)``, and the seed of the network's own generator.

    The stream draws, in MLP's order, the initial weights, the validation split and
    the epochs' orders (made anew by every ``fit``/``partial_fit``, as MLP's). An int
    ``k`` gives ``RandomState(k)`` and a RandomState is used (and advanced) itself, so the
    same ``random_state`` as MLP's gives MLP's draws. ``None`` gives ``RandomState(k)``
    for a ``k`` from fresh entropy, not NumPy's global stream (which MLP would use); a
    Generator, which MLP does not accept, gives ``RandomState(k)`` for a ``k`` it draws.

    The seed of ``net.rng`` (dropout; initialisers other than ``init="auto"``) is that
    ``k``; for a RandomState, the stream's next integer, read from a copy so that MLP's
    draws are left as they are.
    """
    if isinstance(random_state, np.random.RandomState):
        return int(copy.deepcopy(random_state).randint(2**31 - 1)), random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        source = np.random.default_rng() if random_state is None else random_state
        seed = int(source.integers(2**31 - 1))
    return seed, check_random_state(seed)


class _MLPOrder:
    """Each epoch's order of the training samples as MLP draws it, for ``fit(..., shuffle=)``.

    ``MLP._fit_stochastic`` starts from ``sample_idx = arange(n)`` and, before each epoch,
    ``sample_idx = sklearn.utils.shuffle(sample_idx, random_state=rs)``: each epoch's order
    is a new permutation of the previous one, and the batches are its consecutive slices.
    ``shuffle`` (``resample(replace=False)``) draws ``indices = arange(n); rs.shuffle(indices)``
    and returns ``sample_idx[indices]``; :meth:`permutation` does that without the argument
    checks around it (about 0.4 ms an epoch, as long as a step on a small data set).
    """

    def __init__(self, stream: np.random.RandomState):
        self.stream = stream
        self.order = None

    def permutation(self, n: int) -> np.ndarray:
        if self.order is None:
            self.order = np.arange(n, dtype=int)
        indices = np.arange(n)
        self.stream.shuffle(indices)
        self.order = self.order[indices]
        return self.order


def _draw_mlp_parameters(net: Sequential, stream, init, biases: bool) -> None:
    """``MLP._init_coef`` for every Dense layer in order, drawn from ``stream`` with ``init``.

    MLP draws each layer's ``coef (n_in, n_out)``, then its ``intercept (n_out,)``, from
    the same :math:`U(-r, r)`; bprop's ``W (n_out, n_in)`` is ``coef.T``. The intercept is
    drawn even where it is not used (``bias_init`` not ``"auto"``, or no bias before
    BatchNorm), so that every later layer still gets MLP's draws.
    """
    for layer in net.layers:
        if not isinstance(layer, Dense):
            continue
        fans = {"fan_in": layer.n_in, "fan_out": layer.n_out}
        coef = init((layer.n_in, layer.n_out), stream, net.dtype, **fans)
        intercept = init((layer.n_out,), stream, net.dtype, **fans)
        layer.params["W"][...] = coef.T
        if biases and layer.bias:
            layer.params["b"][...] = intercept


def _to_json(value):
    """Encode a parameter value as JSON (tuples, dicts with any keys, schedules and arrays tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k), _to_json(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return {"__array__": [_to_json(v) for v in value.tolist()], "dtype": value.dtype.str}
    if isinstance(value, _optim.schedules.Schedule):
        return {"__schedule__": value.get_config()}
    raise TypeError(f"{value!r} is not a plain value")


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_from_json(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {_from_json(k): _from_json(v) for k, v in value["__dict__"]}
        if "__array__" in value:
            return np.array(_from_json(value["__array__"]), dtype=np.dtype(value["dtype"]))
        if "__schedule__" in value:
            return _optim.schedules.from_config(value["__schedule__"])
    return value


class _Convergence(Callback):
    """fit callback: scikit-learn's MLP convergence test after every epoch, and the validation score.

    It is ``MLP._update_no_improvement_count`` followed by ``trigger_stopping``:
    a :class:`~bprop.optim.schedules.StallCounter` watches the training loss,
    or, with a held-out set (early stopping), the estimator's ``score`` on it
    (as ``−score``; the scores are kept in :attr:`scores`, and the parameters
    of each new best-scoring epoch in :attr:`best_state`). After more than
    ``n_iter_no_change`` epochs in a row without improvement, training stops,
    unless ``adaptive`` (the schedule ``"adaptive"``) can still divide the
    rate: then it does and the count starts again. ``n_iter_no_change=None``
    (``tol=None`` without early stopping): nothing stops training. At the end
    the best-scoring epoch's parameters are put back.

    It also keeps what a fit that diverges needs to end as MLP does: the epoch
    under way and the records so far.
    """

    def __init__(self, stalls, n_iter_no_change: int | None, adaptive=None, score=None, X_val=None, Y_val=None):
        self.stalls, self.n_iter_no_change, self.adaptive = stalls, n_iter_no_change, adaptive
        self.score, self.X_val, self.Y_val = score, X_val, Y_val
        self.scores: list[float] = []
        self.records: list[dict] = []
        self.epoch = 0
        self.best_epoch = None
        self.best_state = None
        self.stopped = False

    def on_epoch_begin(self, net, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, record):
        self.records.append(record)
        if self.score is None:
            self.stalls.update(record["loss"])
        else:
            score = float(self.score(net._forward(self.X_val, False), self.Y_val))
            self.scores.append(score)
            if self.stalls.update(-score):         # False for NaN
                self.best_epoch, self.best_state = self.epoch, net.state_dict()
        if self.n_iter_no_change is None or self.stalls.count <= self.n_iter_no_change:
            return False
        if self.adaptive is not None and self.adaptive.reduce():
            self.stalls.count = 0
            return False
        self.stopped = True
        return True

    def on_train_end(self, net, history):
        """As MLP under early stopping: the weights of the best-scoring epoch come back."""
        if self.best_state is not None:
            net.load_state_dict(self.best_state)
            history.best_epoch = self.best_epoch


def _glorot_uniform(activations: list[str]) -> _initializers.Initializer:
    r"""scikit-learn's MLP initialisation of the weights, as a bprop initialiser.

    ``MLP._init_coef`` draws :math:`W \sim U(-r, r)` with
    :math:`r = \sqrt{f/(n_\text{in} + n_\text{out})}`, ``f = 6`` (Glorot and
    Bengio's uniform rule), or ``f = 2`` when the hidden activation is the
    logistic sigmoid: ``xavier_uniform`` with gain 1, or gain :math:`1/\sqrt 3`
    (whose bound :math:`\sqrt{1/3}\,\sqrt{6/(n_\text{in} + n_\text{out})}` is within a
    rounding of MLP's :math:`\sqrt{2/(n_\text{in} + n_\text{out})}`; with gain 1 it is MLP's,
    bit for bit). :func:`_draw_mlp_parameters` draws with it from MLP's stream.
    """
    logistic = bool(activations) and all(a == "sigmoid" for a in activations)
    return _initializers.XavierUniform(gain=math.sqrt(1.0 / 3.0) if logistic else 1.0)


# ---------------------------------------------------------------------------------------- base
class _BPEstimator(BaseEstimator):
    """What :class:`BPClassifier` and :class:`BPRegressor` share (see their docstrings)."""

    _default_loss = "mse"

    #: What each parameter accepts (the vocabulary of :mod:`bprop._validation`), checked at the
    #: start of every ``fit``/``partial_fit`` as scikit-learn's estimators do; names (activations,
    #: initialisers, optimisers, schedules, losses) are then checked by their registries.
    _parameter_constraints = {
        "hidden_layer_sizes": [_WIDTH, Items(_WIDTH)],
        "activation": [str, Items(str)],
        "batchnorm": _BOOL,
        "dropout": [_PROBABILITY, Items(_PROBABILITY)],
        "init": str,
        "bias_init": [Interval(Real, None, None), str],
        "optimizer": str,
        "learning_rate": Interval(Real, 0, None, closed="neither"),
        "momentum": Interval(Real, 0, 1, closed="left"),
        "nesterov": _BOOL,
        "betas": Items(Interval(Real, 0, 1, closed="left")),
        "weight_decay": Interval(Real, 0, None, closed="left"),
        "alpha": Interval(Real, 0, None, closed="left"),
        "schedule": [None, str, dict, _optim.Schedule],
        "power_t": Interval(Real, 0, None, closed="left"),
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(("auto",), type=str)],
        "max_epochs": Interval(Integral, 1, None, closed="left"),
        "shuffle": _BOOL,
        "early_stopping": _BOOL,
        "validation_fraction": Interval(Real, 0, 1, closed="neither"),
        "patience": Interval(Integral, 1, None, closed="left"),
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "loss": str,
        "dtype": [str, type, np.dtype],          # then "auto", or check_dtype: float32 or float64
        "random_state": [None, Interval(Integral, 0, None, closed="left"), np.random.RandomState,
                         np.random.Generator],
        "verbose": [Interval(Integral, 0, None, closed="left"), bool],
        "warm_start": _BOOL,
        "backend": Options(("numpy", "numba"), type=str),
        "comm": [None, _Communicator()],
        "threads": THREADS,
    }

    def _random_stream(self) -> tuple[int, np.random.RandomState]:
        """:func:`_random_stream` of ``random_state``; under ``comm``, rank 0's on every rank."""
        seed, stream = _random_stream(self.random_state)
        if self.comm is None:
            return seed, stream
        shared = self.comm.bcast((seed, stream), root=0)
        return (seed, stream) if self.comm.Get_rank() == 0 else shared

    def _validate_params(self):
        """Check every parameter against :attr:`_parameter_constraints` (wrong type: TypeError,
        out of range or not an option: ValueError) and the dtype by name."""
        check_params(self.get_params(deep=False), self._parameter_constraints)
        if not (isinstance(self.dtype, str) and self.dtype == "auto"):
            check_dtype(self.dtype)

    def _input_dtype(self, continuing: bool):
        """What ``validate_data`` converts X to: the network's dtype when continuing; for
        ``dtype="auto"`` float32 stays float32 and anything else becomes float64 (MLP's rule)."""
        if continuing:
            return self.net_.dtype
        if isinstance(self.dtype, str) and self.dtype == "auto":
            return (np.float64, np.float32)
        return check_dtype(self.dtype)

    # ------------------------------------------------------------------ building blocks
    def _build_net(self, n_in: int, n_out: int, seed: int, stream: np.random.RandomState, dtype) -> Sequential:
        """The network, its initial parameters drawn from ``stream`` as MLP draws them when ``init="auto"``."""
        sizes = _hidden_sizes(self.hidden_layer_sizes)
        acts = [_activation_name(a) for a in _per_layer("activation", self.activation, len(sizes))]
        drops = _per_layer("dropout", self.dropout, len(sizes))
        auto = self.init == "auto"
        if auto:
            init = _glorot_uniform(acts)
        else:
            init = self.init
            _initializers.get(self.init)   # unknown name: error listing the valid ones
        bias_init = self.bias_init
        mlp_biases = isinstance(bias_init, str) and bias_init == "auto"
        if mlp_biases:
            # MLP draws each bias from the same U(-r, r) as its layer's weights (the
            # initialiser receives W's fans); with another init, the biases start at 0
            bias_init = init if auto else 0.0
        net = build_mlp(n_in, sizes, n_out, activation=acts, init=init, bias_init=bias_init,
                        batchnorm=bool(self.batchnorm), dropout=[float(p) for p in drops],
                        seed=seed, dtype=dtype, backend=self.backend)
        if auto:
            # the layers' own draws (from net.rng, of the same distribution) give way to MLP's
            _draw_mlp_parameters(net, stream, init, biases=mlp_biases)
        return net

    def _schedule_spec(self, n_samples: int):
        """``schedule`` with the arguments the estimator supplies to MLP's two rules filled in:
        ``"invscaling"`` gets ``power_t`` and the epoch's rows, ``"adaptive"`` ``tol`` and ``patience``."""
        spec = copy.deepcopy(self.schedule)       # a fresh copy per fit: schedules may hold state
        name = spec if isinstance(spec, str) else spec.get("name") if isinstance(spec, dict) else None
        key = name.lower().replace("-", "_") if isinstance(name, str) else None
        if key == "invscaling":
            spec = {"power_t": self.power_t, "samples_per_epoch": n_samples,
                    **(spec if isinstance(spec, dict) else {}), "name": key}
        elif key == "adaptive":
            given = sorted({"tol", "n_iter_no_change"} & set(spec if isinstance(spec, dict) else ()))
            if given:
                raise ValueError(f"schedule 'adaptive' takes its test from the estimator's tol and patience "
                                 f"(MLP's one convergence test); set those instead of {', '.join(given)} "
                                 "in the schedule")
            # the estimator counts the stalls (_Convergence) and calls the schedule's reduce()
            spec = {**(spec if isinstance(spec, dict) else {}), "n_iter_no_change": None, "name": key}
        elif isinstance(spec, _optim.Adaptive) and spec.n_iter_no_change is not None:
            raise ValueError("an Adaptive schedule object counts its own stalls; pass schedule='adaptive' (or "
                             "{'name': 'adaptive', 'factor': ..., 'min_lr': ...}): the estimator's tol and "
                             "patience then drive it, as MLP's one convergence test")
        return spec

    def _make_optimizer(self, steps_per_epoch: int, n_samples: int):
        """``optimizer`` with its ``schedule``, made by :func:`bprop.optim.get` and
        :func:`bprop.optim.schedules.get` (the run: ``max_epochs`` epochs of ``steps_per_epoch``)."""
        lr = self.learning_rate
        if self.schedule is not None:
            lr = _optim.schedules.get(self._schedule_spec(n_samples), lr=lr,
                                      total_steps=self.max_epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch)
        options = {"lr": lr, "weight_decay": self.weight_decay, "fused": self.backend == "numba"}
        cls = _optim.NAMES.get(self.optimizer.lower().replace("-", "_"), (None,))[0]
        # SGD's momentum and Adam's ε as scikit-learn's MLP computes them
        if cls is not None and issubclass(cls, _optim.SGD):
            options.update(momentum=self.momentum, nesterov=self.nesterov, convention="sklearn")
        elif cls is not None and issubclass(cls, _optim.Adam):
            options.update(betas=tuple(self.betas), convention="sklearn")
        return _optim.get(self.optimizer, **options)   # an unknown name: the error lists the valid ones

    def _loss(self):
        return _get_loss(self._default_loss if self.loss is None else self.loss)

    def _batch_size(self, n: int) -> int:
        bs = self.batch_size
        return min(200, n) if isinstance(bs, str) else min(int(bs), n)   # a str is "auto"

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight=None, *, partial: bool, classes=None, callbacks=()):
        continuing = hasattr(self, "net_") and (partial or self.warm_start)
        self._validate_params()
        if partial and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True (it trains one epoch on "
                             "the batch given, with no validation set); set early_stopping=False")
        X, y = _validate_data(self, X, y, reset=not continuing, dtype=self._input_dtype(continuing),
                              accept_sparse="csr", multi_output=True,
                              y_numeric=not isinstance(self, ClassifierMixin))
        dtype = X.dtype
        Y, state = self._encode_targets(y, continuing=continuing, partial=partial, classes=classes, dtype=dtype)
        weights = self._sample_weights(X, y, state, sample_weight, partial)
        alpha = float(self.alpha)
        if weights is not None:
            # A weight of 0 equals leaving the sample out, so leave it out (it would still
            # fill a place in a mini-batch and in BatchNorm's statistics).
            keep = weights > 0
            if not keep.all():
                X, Y, y, weights = X[keep], Y[keep], y[keep], weights[keep]
            if np.all(weights == weights[0]):
                # The loss is a weighted *mean*: equal weights c change nothing in it, but the
                # alpha penalty is divided by the batch's weight sum c·n_b, i.e. alpha/c per row.
                alpha /= float(weights[0])
                weights = None
        if not partial:
            self._check_enough_classes(Y, state)

        # One stream, drawn from in MLP's order: the initial weights, the validation split, the epochs' orders.
        seed, stream = self._random_stream()
        if continuing:
            net, opt = self.net_, self.optimizer_
        else:
            net = self._build_net(X.shape[1], state["n_outputs_"], seed, stream, dtype)
        X_val = Y_val = w_val = None
        if self.early_stopping and not partial:
            X, X_val, Y, Y_val, weights, w_val = self._validation_split(X, Y, weights, state, stream)
        n_train = X.shape[0]
        batch_size = self._batch_size(n_train)
        steps_per_epoch = -(-n_train // batch_size)
        if not continuing:
            opt = self._make_optimizer(steps_per_epoch, n_train)
        loss = state.get("loss_function_", getattr(self, "loss_function_", None))
        convergence = self._convergence(opt, state, loss, X_val, Y_val, w_val, continuing)
        cbs = [convergence, *(callbacks or ())]     # first: the others' on_train_end see the best epoch
        diverged = None
        try:
            history = net.fit(X, Y, loss=loss, optimizer=opt, epochs=1 if partial else self.max_epochs,
                              batch_size=batch_size, shuffle=_MLPOrder(stream) if self.shuffle else False,
                              validation_data=None if X_val is None else (X_val, Y_val),
                              clip_norm=self.clip_norm, callbacks=cbs, verbose=self.verbose,
                              sample_weight=weights, alpha=alpha, comm=self.comm, threads=self.threads)
        except DivergenceError as exc:
            if X_val is None:
                raise      # without early stopping there is no validated state to go back to
            # MLP's behaviour under early stopping: the diverged epoch scores NaN, the best
            # epoch's weights come back, and the estimator is fitted (a grid search scores it).
            diverged = convergence.epoch
            history = History(records=convergence.records, stop_reason=f"diverged at epoch {diverged}: {exc}")
            convergence.on_train_end(net, history)
            convergence.scores.append(float("nan"))
            warnings.warn(f"{type(self).__name__}: the loss diverged at epoch {diverged} (a non-finite loss "
                          f"or parameter); the weights of the best validation epoch were restored. "
                          f"Try a smaller learning_rate (now {self.learning_rate}).", ConvergenceWarning)

        # Everything is set only now, so a failed fit leaves a fitted estimator as it was.
        for k, v in state.items():
            setattr(self, k, v)
        self.net_, self.optimizer_, self.history_ = net, opt, history
        losses = [r["loss"] for r in history.records] + ([float("nan")] if diverged else [])
        self.loss_curve_ = (list(self.loss_curve_) if continuing else []) + losses
        stalls = convergence.stalls
        if X_val is not None:
            old = list(self.validation_scores_ or []) if continuing else []
            self.validation_scores_ = old + convergence.scores
            self.best_validation_score_ = -stalls.best
        elif not continuing:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self.loss_ = float(self.loss_curve_[-1])
        # as MLP: with early stopping the validation score is what is tracked, not the loss
        self.best_loss_ = None if X_val is not None else stalls.best
        self._no_improvement_count = stalls.count
        self.n_iter_ = len(losses)           # epochs of this call, as MLP's n_iter_
        self.n_iter_total_ = (getattr(self, "n_iter_total_", 0) if continuing else 0) + len(losses)
        self.t_ = (self.t_ if continuing else 0) + n_train * len(losses)
        if convergence.stopped and not partial:
            history.stop_reason = self._stop_reason(convergence)
        testing = convergence.n_iter_no_change is not None
        if not partial and testing and history.stop_reason == "completed":
            warnings.warn(f"{type(self).__name__}: max_epochs={self.max_epochs} reached and the "
                          "optimisation has not converged yet (raise max_epochs, or set tol=None "
                          "to train for exactly max_epochs epochs).", ConvergenceWarning)
        return self

    def _validation_split(self, X, Y, weights, state, stream):
        """MLP's early-stopping split: ``train_test_split(X, y[, sample_weight], random_state=stream,
        test_size=validation_fraction, stratify=...)``, stratified for a binary target only (as MLP:
        ``n_outputs_ == 1``), or, where a class is too small for that, not stratified.

        Returns ``X, X_val, Y, Y_val, weights, w_val``.
        """
        stratify = self._stratify_labels(Y, state)
        parts = [X, Y] + ([] if weights is None else [weights])
        try:
            split = train_test_split(*parts, test_size=self.validation_fraction, random_state=stream,
                                     stratify=stratify)
        except ValueError:      # a class too small to stratify (checked before any draw): split without
            split = train_test_split(*parts, test_size=self.validation_fraction, random_state=stream)
        X, X_val, Y, Y_val = split[:4]
        weights, w_val = (split[4], split[5]) if weights is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(f"The validation set is too small: validation_fraction="
                             f"{self.validation_fraction} of {X.shape[0] + X_val.shape[0]} samples "
                             f"holds {X_val.shape[0]}, and a score needs at least 2. Increase "
                             "'validation_fraction' or the size of your dataset, or set early_stopping=False.")
        return X, X_val, Y, Y_val, weights, w_val

    def _convergence(self, opt, state, loss, X_val, Y_val, w_val, continuing) -> _Convergence:
        """MLP's convergence test for this call; a continued fit (``warm_start``, ``partial_fit``)
        carries on from the count and the best value of the last one, as MLP's does."""
        adaptive = opt.schedule if isinstance(opt.schedule, _optim.Adaptive) else None
        validating = X_val is not None
        best, count = math.inf, 0
        if continuing:
            last = self.best_validation_score_ if validating else self.best_loss_
            if last is not None:
                best = -last if validating else last
            count = getattr(self, "_no_improvement_count", 0)
        testing = validating or adaptive is not None or self.tol is not None
        score = None
        if validating:
            mode = state.get("_label_mode", getattr(self, "_label_mode", None))

            def score(out, Y):
                return self._score_output(out, Y, mode, loss, w_val)
        return _Convergence(StallCounter(self.tol or 0.0, best, count), self.patience if testing else None,
                            adaptive, score, X_val, Y_val)

    def _stop_reason(self, convergence: _Convergence) -> str:
        what = ("the validation score did not improve by more than" if convergence.score is not None
                else "the training loss did not improve by more than")
        reason = f"{what} tol={self.tol or 0.0} for {convergence.stalls.count} consecutive epochs"
        if convergence.adaptive is not None:
            reason += f", with the learning rate at {convergence.adaptive.lr:.3g}, its minimum"
        if convergence.score is not None:
            best = -convergence.stalls.best
            reason = f"early stopping: {reason} (best {best:.6g} at epoch {convergence.best_epoch})"
        return reason

    def _sample_weights(self, X, y, state, sample_weight, partial):
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=np.float64)

    def _check_enough_classes(self, Y, state):
        pass

    def _stratify_labels(self, Y, state):
        return None

    # ------------------------------------------------------------------ MLP's attributes
    @property
    def coefs_(self) -> list:
        """MLP's ``coefs_``: each Dense layer's weights as ``(n_in, n_out)``, i.e. ``W.T`` (live views).

        bprop stores ``W`` as ``(n_out, n_in)`` (``net_.params["<i>.W"]``, the
        orientation of ``torch.nn.Linear``); assigning into these views changes the network.
        """
        check_is_fitted(self, "net_")
        return [layer.params["W"].T for layer in self.net_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self) -> list:
        """MLP's ``intercepts_``: each Dense layer's bias ``b`` (live; zeros, not live, for a
        Dense layer without bias, i.e. one followed by BatchNorm)."""
        check_is_fitted(self, "net_")
        return [layer.params["b"] if layer.bias else np.zeros(layer.n_out, self.net_.dtype)
                for layer in self.net_.layers if isinstance(layer, Dense)]

    # ------------------------------------------------------------------ public API
    def fit(self, X, y, sample_weight=None, *, callbacks=()):
        """Train the network on ``X``, ``y`` for up to ``max_epochs`` epochs.

        A new network is built unless ``warm_start=True`` and the estimator is
        already fitted, in which case training continues from the current
        weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Each mini-batch's loss becomes ``Σ w_x C_x / Σ w_x``: a weight of 2
            equals a duplicated row, a weight of 0 leaves the row out.
        callbacks : sequence of bprop.training.Callback or functions, optional
            Passed to :meth:`bprop.Sequential.fit` (e.g. to watch every epoch's record).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, partial=False, callbacks=callbacks)

    def save(self, path) -> None:
        """Write the fitted estimator to one ``.npz`` file, without pickle.

        The file is a bprop model file (``bprop.load(path)`` returns the
        network); its metadata adds the estimator's parameters, classes and
        fitted attributes, and its arrays the optimiser state, so
        ``partial_fit`` or a ``warm_start`` fit after :meth:`load` continues
        exactly where this one stopped. Written atomically.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        TypeError
            If a parameter is not a plain value (e.g. a RandomState object as
            ``random_state``): such values cannot be stored without pickle.
        """
        check_is_fitted(self, "net_")
        params = {}
        for name, value in self.get_params(deep=False).items():
            try:
                params[name] = _to_json(value)
            except TypeError:
                raise TypeError(f"cannot save {type(self).__name__} with {name}={value!r}: only plain "
                                "values (numbers, strings, tuples, dicts, schedules) are stored without "
                                "pickle; use an int or None for random_state, or joblib to pickle") from None
        fitted = {k: _to_json(getattr(self, k)) for k in self._saved_attributes if hasattr(self, k)}
        arrays, meta = self.net_.to_payload()
        opt_state = pack_optimizer_state(self.optimizer_, arrays)
        meta["metadata"] = {**(meta.get("metadata") or {}), ESTIMATOR_KEY: {
            "estimator": type(self).__name__, "bprop_version": __version__,
            "sklearn_version": sklearn.__version__, "params": params, "fitted": fitted,
            "loss": self.loss_function_.get_config(), "history": self.history_.to_dict(),
            "optimizer": opt_state, "rng_state": self.net_.rng.bit_generator.state}}
        write_npz_atomic(path, arrays, meta)

    def to_onnx(self, path, *, opset: int = 20, input_name: str = "input"):
        """Export the fitted network to an ONNX file; see :mod:`bprop.interop.onnx` (``pip install 'bprop[onnx]'``).

        A regressor gives the output ``output (N, n_outputs)``. A classifier
        gives ``logits``, ``probabilities`` (what :meth:`predict_proba` returns:
        softmax; ``[1 − σ(z), σ(z)]`` for two classes; σ normalised over the
        classes for one-vs-rest; σ per label for a multi-label target) and
        ``label``: the class of :meth:`predict`, as the number in
        ``classes_`` where the classes are numbers, else its index in ``classes_``
        (the names are in the file's ``class_names`` metadata); for a
        multi-label target the 0/1 indicator row.

        Returns
        -------
        onnx.ModelProto
        """
        check_is_fitted(self, "net_")
        from .interop.onnx import export
        classes = getattr(self, "classes_", None)
        mode = getattr(self, "_label_mode", None)
        return export(self.net_, path, opset=opset, input_name=input_name, loss=self.loss_function_,
                      class_names=None if classes is None else [str(c) for c in classes], standardizer={},
                      multilabel=mode == "multilabel",
                      probabilities={"binary": "binary_pair", "ovr": "normalized"}.get(mode, "sigmoid"))

    @classmethod
    def load(cls, path):
        """Read an estimator written by :meth:`save` (no pickle, no code executed).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is not a saved estimator of this class; the file is
            checked as a model file (:func:`bprop.load`) and its estimator
            entry's fields before its arrays are read.
        """
        name = os.fspath(path)
        arrays, meta = read_npz(name, {**MODEL_MEMBERS, "optim/": FLOATS}, what="saved bprop.sklearn estimator",
                                check=lambda meta, shapes: _check_saved(meta, shapes, name))
        info = meta["metadata"][ESTIMATOR_KEY]
        if cls is _BPEstimator:
            cls = _ESTIMATORS.get(info["estimator"])
            if cls is None:
                raise ValueError(f"{name} holds an unknown estimator {info['estimator']!r}")
        elif info["estimator"] != cls.__name__:
            raise ValueError(f"{name} holds a {info['estimator']}, not a {cls.__name__}: load it with "
                             f"{info['estimator']}.load or bprop.sklearn.load")
        valid = cls().get_params(deep=False)
        net = Sequential.from_payload(arrays, meta, name)
        try:
            est = cls(**{k: _from_json(v) for k, v in info["params"].items() if k in valid})
            est._validate_params()
            est.loss_function_ = _get_loss(info["loss"])
            fitted = {k: _from_json(v) for k, v in info["fitted"].items() if k in cls._saved_attributes}
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{name}: the estimator's params, loss or fitted attributes are not valid "
                             f"({exc})") from None
        if fitted.get("n_features_in_", net.n_in) != net.n_in:
            raise ValueError(f"{name}: n_features_in_ is {fitted['n_features_in_']!r} but the network takes "
                             f"{net.n_in} input features")
        net.metadata = {k: v for k, v in net.metadata.items() if k != ESTIMATOR_KEY}
        net.rng.bit_generator.state = info["rng_state"]
        est.optimizer_ = unpack_optimizer_state(info["optimizer"], arrays)
        est.net_ = net
        est.history_ = History.from_dict(info["history"])
        for k, v in fitted.items():
            setattr(est, k, v)
        return est


_MLP_MAPPING = r"""
    From scikit-learn's MLP
    -----------------------
    ``MLPClassifier``/``MLPRegressor`` parameters and their bprop names
    (the same meaning unless noted):

    ==================================  ============================================================
    MLP                                 bprop
    ==================================  ============================================================
    ``hidden_layer_sizes``              ``hidden_layer_sizes``
    ``activation="logistic"``           ``activation="logistic"`` (or ``"sigmoid"``)
    ``solver="adam"|"sgd"``             ``optimizer="adam"|"sgd"``, with MLP's formulas (``convention="sklearn"``
                                        of :class:`bprop.optim.Adam`/:class:`~bprop.optim.SGD`); no ``"lbfgs"``
    ``alpha``                           ``alpha`` (the same L2 penalty; ``weight_decay`` is PyTorch's)
    ``batch_size``                      ``batch_size`` (``"auto"``: ``min(200, n_samples)``)
    ``learning_rate_init``              ``learning_rate``
    ``learning_rate="constant"``        ``schedule=None``
    ``learning_rate="invscaling"``      ``schedule="invscaling"``, with ``power_t``
    ``learning_rate="adaptive"``        ``schedule="adaptive"`` (MLP applies both rules to SGD only,
                                        bprop to any optimiser: with Adam, leave ``schedule=None``)
    ``power_t``                         ``power_t``
    ``max_iter``                        ``max_epochs``
    ``random_state``                    ``random_state``: the same ``random_state`` gives MLP's initial
                                        weights, split and batch order (``init``, ``bias_init="auto"``)
    ``shuffle``, ``tol``, ``verbose``   ``shuffle``, ``tol``, ``verbose``
    ``warm_start``                      ``warm_start`` (keeps the optimiser's state; MLP starts a new one)
    ``momentum``                        ``momentum`` (``optimizer="sgd"``)
    ``nesterovs_momentum``              ``nesterov`` (default False; MLP's is True)
    ``early_stopping``                  ``early_stopping``: MLP's rule on the validation score
    ``validation_fraction``             ``validation_fraction``
    ``beta_1``, ``beta_2``              ``betas=(beta_1, beta_2)``
    ``epsilon``                         Adam's ε, fixed at 1e-8 (MLP's default)
    ``n_iter_no_change``                ``patience``
    ``max_fun``                         (none: no L-BFGS)
    ``loss="squared_error"|"poisson"``  ``loss="mse"|"poisson"`` (``"squared_error"`` accepted)
    ==================================  ============================================================

    With the same data, ``random_state`` (an int or a RandomState) and hyper-parameters, ``fit``
    gives MLP's model: ``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``,
    ``validation_scores_``, ``best_loss_`` and the predictions equal to float64 rounding
    (``tests/test_sklearn_mlp_identity.py``), and so does a sequence of ``partial_fit`` calls.
    What differs: ``warm_start`` (above); sample weights of 0 (bprop leaves those rows out
    before the split and the batches); and with ``k > 1`` regression targets the values in
    ``loss_curve_``: MLP reports the squared error averaged over the targets as well, while
    bprop's ``C = 1/(2n) Σ‖a − y‖²`` sums them, whose gradient both follow (the weights are
    the same, ``tol``'s test may stop at another epoch).

    Fitted attributes: ``coefs_``, ``intercepts_``, ``n_iter_``, ``t_``,
    ``loss_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_features_in_``, ``feature_names_in_``,
    ``n_outputs_``, ``classes_`` and ``out_activation_`` mean what MLP's do.
    Sparse ``X`` (any scipy.sparse format) is accepted and never densified.
"""

_COMMON_DOC = r"""
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Neurons of each hidden layer; ``()`` gives a linear model (logistic
        or softmax regression for the classifier).
    activation : str or sequence of str, default "relu"
        One name for every hidden layer, or one per hidden layer: ``"relu"``,
        ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"tanh"``, ``"sigmoid"``
        (or scikit-learn's ``"logistic"``), ``"identity"``.
    batchnorm : bool, default False
        Put a ``BatchNorm`` between each hidden ``Dense`` and its activation;
        those Dense layers then have no bias (BatchNorm subtracts the batch
        mean, and its β is the shift).
    dropout : float or sequence of float, default 0.0
        Inverted-dropout probability after each hidden activation (one value,
        or one per hidden layer).
    init : str, default "auto"
        Weight initialiser of every ``Dense`` layer (a name of
        :mod:`bprop.initializers`). ``"auto"``: scikit-learn's MLP rule,
        Glorot-uniform :math:`W \sim U(-r, r)`, :math:`r = \sqrt{f/(n_\text{in} + n_\text{out})}`
        with ``f = 6`` (``xavier_uniform``), or ``f = 2`` when the hidden
        activation is the logistic sigmoid, for every layer, drawn from
        ``random_state``'s stream as MLP draws it (``coef`` of shape
        ``(n_in, n_out)``, ``W`` its transpose).
    bias_init : float or str, default "auto"
        Initial bias of every Dense layer that has one (a number, e.g. 0.01 for ReLU
        layers, or an initialiser name). ``"auto"``: with ``init="auto"``, MLP's
        rule — each bias drawn from the same :math:`U(-r, r)` as its layer's
        weights; with another ``init``, 0.
    optimizer : {"adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop"}, default "adam"
        The :mod:`bprop.optim` optimiser; SGD, Adam and AdamW with
        ``convention="sklearn"``: MLP's momentum (the velocity absorbs the rate)
        and MLP's Adam (ε added to the uncorrected :math:`\sqrt{v}`).
    learning_rate : float, default 1e-3
        Step size η (the initial rate when a schedule is set).
    momentum : float, default 0.9
        Momentum of ``optimizer="sgd"`` (set 0 for plain SGD); SGD only.
    nesterov : bool, default False
        Nesterov momentum; SGD only.
    betas : (float, float), default (0.9, 0.999)
        Adam's and AdamW's β1, β2.
    weight_decay : float, default 0.0
        The optimiser's (PyTorch-style) decay λ: :math:`g \leftarrow g + λθ` for
        every parameter, biases included, before the update is scaled by the
        rate (decoupled :math:`θ \leftarrow θ − ηλθ` for AdamW). It does not
        depend on the batch size. Use ``alpha`` for scikit-learn's penalty.
    alpha : float, default 1e-4
        scikit-learn's MLP ``alpha``, with its exact semantics: the L2 penalty
        :math:`\frac{α}{2 n_b}\sum_l \lVert W_l\rVert_F^2` on the weights only
        (not the biases) is added to each batch's cost, so :math:`α W_l / n_b`
        is added to :math:`∂C/∂W_l` (:math:`n_b`: the batch's rows, or its
        sum of sample weights). ``loss_curve_`` includes the penalty, as MLP's does.
    schedule : None, str, dict or Schedule, default None
        Learning-rate schedule (counting optimiser steps): ``None`` (constant),
        a name ``"constant"``, ``"cosine"`` (to 0 over ``max_epochs``),
        ``"step"`` (×0.1 after each third of ``max_epochs``),
        ``"exponential"`` (×0.01 over ``max_epochs``), ``"warmup"`` (linear
        warm-up over 5 epochs or a tenth of the run, whichever is shorter,
        then constant), ``"plateau"`` (×0.1 when the validation loss, or the
        training loss, stalls for 10 epochs); a dict ``{"name": ..., **arguments}``
        overriding those defaults (e.g. ``{"name": "step", "step_size": 500}``);
        or a :mod:`bprop.optim.schedules` object. scikit-learn's two rules
        (``MLPClassifier(learning_rate=...)``) are here too, for any optimiser:
        ``"invscaling"`` (:math:`η_0/(t + 1)^{\text{power\_t}}` after ``t``
        samples, changed at the end of each epoch) and ``"adaptive"`` (the
        rate is divided by 5 when the convergence test of ``tol`` and
        ``patience`` fails — on the training loss, or on the validation score
        with ``early_stopping`` — instead of stopping; training stops at the
        next failure once the rate is at most 1e-6). A dict for ``"adaptive"``
        may set ``factor`` and ``min_lr``; its test is the estimator's ``tol``
        and ``patience``.
    power_t : float, default 0.5
        The exponent of ``schedule="invscaling"``.
    batch_size : int or "auto", default "auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)`` as in scikit-learn.
    max_epochs : int, default 200
        Most passes over the training data per ``fit``.
    shuffle : bool, default True
        Reshuffle the training data every epoch.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data (drawn as MLP draws it:
        stratified for a binary target, not for multi-class or multi-label ones),
        score it after every epoch (``validation_scores_``: accuracy, R²), stop
        when the score has not risen above the best so far plus ``tol`` for more
        than ``patience`` epochs in a row, and restore the weights of the
        best-scoring epoch: MLP's rule. A held-out set of fewer than 2 samples
        is an error. If the loss diverges, the best epoch's weights are
        restored, the diverged epoch scores NaN in ``validation_scores_`` and a
        ``ConvergenceWarning`` says so (without early stopping,
        ``bprop.DivergenceError`` is raised).
    validation_fraction : float, default 0.1
        Held-out fraction for ``early_stopping``.
    patience : int, default 10
        MLP's ``n_iter_no_change``: training stops (or ``schedule="adaptive"``
        divides the rate by 5) after more than ``patience`` epochs in a row
        without improvement.
    tol : float or None, default 1e-4
        Least improvement that counts. Without ``early_stopping``, training
        stops (as in scikit-learn) when the training loss has not fallen below
        the best so far minus ``tol`` for more than ``patience`` epochs;
        ``None`` trains for exactly ``max_epochs``.
    clip_norm : float or None, default None
        Clip the global gradient norm to this value.
    dtype : {"auto", "float32", "float64"}, default "auto"
        Dtype of the network's parameters, computations and predictions.
        ``"auto"`` follows ``X`` as MLP does: float32 input trains and predicts
        in float32, anything else in float64.
    backend : {"numpy", "numba"}, default "numpy"
        ``"numba"`` trains with the compiled variants of the formulas
        (``Sequential(..., backend="numba")``) and a fused optimiser
        (``fused=True``): the same numbers, faster; needs ``pip install bprop[fast]``.
    threads : int or None, default None
        At most this many BLAS and numba threads while fitting (``threadpoolctl``,
        ``pip install 'bprop[threads]'``); ``None`` leaves the limits alone. See
        :func:`bprop.training.fit` for the oversubscription trap.
    random_state : int, RandomState or None, default None
        The same random_state gives MLP's initial weights, split and batch
        order: every ``fit`` and ``partial_fit`` makes scikit-learn's
        ``check_random_state(random_state)`` and draws from it, as MLP does and
        in its order, the initial weights and biases (``init="auto"``; a bias
        is drawn even where ``bias_init`` is not ``"auto"``), the validation
        split, and each epoch's order (``sklearn.utils.shuffle`` of the last
        epoch's). An int also seeds the network's own generator (dropout,
        other initialisers); ``None`` draws from fresh entropy (not NumPy's
        global generator); a numpy Generator seeds a RandomState.
    verbose : int, default 0
        1 prints one line per epoch.
    warm_start : bool, default False
        ``fit`` continues training the current network and optimiser instead
        of starting again.
    comm : mpi4py communicator or None, default None
        Data-parallel training (``fit(..., comm=comm)`` of :mod:`bprop.training`):
        every rank of a script run under ``mpiexec -n N`` trains the same
        estimator on the same data, each on its part of every batch, with
        rank 0's random stream (initial weights, split, epoch orders); the
        fitted estimator is the same on every rank and equals the one-process
        fit to rounding."""

_COMMON_ATTRS = r"""
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    n_outputs_ : int
        Outputs of the network.
    net_ : bprop.Sequential
        The trained network: ``net_.trace``, ``bprop.gradcheck(net_, ...)``,
        ``net_.params``, ``net_.summary()`` all work on it.
    loss_function_ : bprop.Loss
        The loss the network was trained with.
    optimizer_ : bprop.optim.Optimizer
        The optimiser with its state (kept by ``partial_fit`` and ``warm_start``).
    history_ : bprop.training.History
        Per-epoch records of the last ``fit`` or ``partial_fit`` call: loss,
        validation loss and metrics, learning rate, gradient norms per layer.
    loss_curve_ : list of float
        Training loss ``C`` (with the ``alpha`` penalty) of every epoch, across
        warm starts and ``partial_fit`` calls; NaN for an epoch that diverged.
    validation_scores_ : list of float or None
        ``score`` on the held-out set after every epoch (``early_stopping`` only).
    best_validation_score_ : float or None
    loss_ : float
        Training loss of the last epoch.
    best_loss_ : float or None
        Smallest training loss reached; ``None`` with ``early_stopping`` (as MLP).
    n_iter_ : int
        Epochs trained by the last ``fit`` (1 after ``partial_fit``), as MLP's.
    n_iter_total_ : int
        Epochs trained across warm starts and ``partial_fit`` calls.
    coefs_, intercepts_ : list of ndarray
        MLP's views of the weights (``(n_in, n_out)``, i.e. ``W.T``) and biases.
    t_ : int
        Training samples seen (with repetition)."""


# ---------------------------------------------------------------------------------------- classifier
class BPClassifier(ClassifierMixin, _BPEstimator):
    __doc__ = r"""Multi-layer perceptron classifier trained by backpropagation (bprop).

    Binary targets get one sigmoid output and ``BinaryCrossEntropy``,
    ``k ≥ 3`` classes ``k`` softmax outputs and ``CrossEntropy``, a 0/1
    indicator matrix (multi-label) ``k`` sigmoid outputs and
    ``BinaryCrossEntropy``. Labels may be any values (strings included);
    :attr:`classes_` keeps them.
    """ + _MLP_MAPPING + _COMMON_DOC + r"""
    class_weight : dict, "balanced" or None, default None
        Weights per class, multiplied into ``sample_weight``: ``{label: weight}``
        or ``"balanced"`` (``n_samples / (n_classes * count)``). For
        ``partial_fit`` only a dict.
    loss : {"cross_entropy", "binary_cross_entropy"}, default "cross_entropy"
        ``"cross_entropy"`` chooses as in the table above;
        ``"cross_entropy:label_smoothing=0.1"`` smooths the targets of a
        multi-class softmax output (:class:`bprop.CrossEntropy`).
        ``"binary_cross_entropy"`` also trains ``k ≥ 3`` classes with one
        sigmoid per class (one-vs-rest; ``predict_proba`` normalises the rows).

    Attributes
    ----------
    classes_ : ndarray
        The class labels (``0..k-1`` for a multi-label target).""" + _COMMON_ATTRS + r"""
    out_activation_ : {"softmax", "logistic"}
        How ``predict_proba`` maps the network's logits to probabilities.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from bprop.sklearn import BPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BPClassifier((64,), activation="leaky_relu", dropout=0.1, max_epochs=30,
    ...                    random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    _default_loss = "cross_entropy"
    _parameter_constraints = {**_BPEstimator._parameter_constraints,
                              "class_weight": [None, dict, Options(("balanced",), type=str)]}
    # Both estimators spell out every parameter in __init__, as scikit-learn requires
    # (get_params reads the signature; __init__ only stores the values).
    _saved_attributes = ("classes_", "n_features_in_", "feature_names_in_", "n_outputs_",
                         "out_activation_", "_label_mode", "loss_curve_", "validation_scores_",
                         "best_validation_score_", "loss_", "best_loss_", "n_iter_", "n_iter_total_", "t_", "_no_improvement_count")

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, batchnorm=False,
                 dropout=0.0, init="auto", bias_init="auto", optimizer="adam", learning_rate=1e-3,
                 momentum=0.9, nesterov=False, betas=(0.9, 0.999), weight_decay=0.0, alpha=1e-4,
                 schedule=None, power_t=0.5, batch_size="auto", max_epochs=200, shuffle=True,
                 early_stopping=False, validation_fraction=0.1, patience=10, tol=1e-4,
                 clip_norm=None, class_weight=None, loss="cross_entropy", dtype="auto",
                 random_state=None, verbose=0, warm_start=False, backend="numpy", comm=None, threads=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batchnorm = batchnorm
        self.dropout = dropout
        self.init = init
        self.bias_init = bias_init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.betas = betas
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.schedule = schedule
        self.power_t = power_t
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.clip_norm = clip_norm
        self.class_weight = class_weight
        self.loss = loss
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.backend = backend
        self.comm = comm
        self.threads = threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ targets
    def _encode_targets(self, y, *, continuing, partial, classes, dtype):
        """Network targets (of ``dtype``) for ``y`` and the fitted attributes they imply (not yet set)."""
        loss = self._loss()
        if not isinstance(loss, (CrossEntropy, BinaryCrossEntropy)):
            raise ValueError(f"BPClassifier's loss must be 'cross_entropy' or "
                             f"'binary_cross_entropy', got {self.loss!r}")
        if y.ndim == 2 and y.shape[1] > 1:
            target = type_of_target(y)
            if target != "multilabel-indicator":
                raise ValueError(f"BPClassifier supports binary, multi-class and multi-label "
                                 f"(a 2-D 0/1 indicator matrix) targets; got a 2-D y of type {target!r}")
            mode, new_classes = "multilabel", np.arange(y.shape[1])
            Y = np.ascontiguousarray(y, dtype=dtype)
        else:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            if continuing:
                new_classes = self.classes_
                if classes is not None and not np.array_equal(unique_labels(classes), new_classes):
                    raise ValueError(f"classes={classes!r} differs from the classes of the first call "
                                     f"to partial_fit, {new_classes!r}")
                if not partial and not np.array_equal(unique_labels(y), new_classes):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in "
                                     f"the previous call to fit. Previously got {new_classes}, `y` has "
                                     f"{unique_labels(y)}; set warm_start=False to fit a new network")
            elif partial:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to partial_fit "
                                     "(all the labels that any batch may hold)")
                new_classes = unique_labels(classes)
            else:
                new_classes = unique_labels(y)
            if len(new_classes) < 2:
                raise ValueError(f"BPClassifier needs samples of at least 2 classes in y, got 1 class: "
                                 f"{new_classes.tolist()!r}")
            idx = np.searchsorted(new_classes, y)
            bad = (idx >= len(new_classes)) | (new_classes[np.minimum(idx, len(new_classes) - 1)] != y)
            if bad.any():
                raise ValueError(f"y holds label(s) not among the classes {new_classes.tolist()!r}: "
                                 f"{np.unique(y[bad]).tolist()[:10]!r}")
            if continuing:
                mode = self._label_mode
                if mode == "multilabel":
                    raise ValueError("y is a 1-D target but the estimator was fitted on a "
                                     "multi-label (2-D indicator) target")
            elif len(new_classes) == 2:
                mode = "binary"
            else:
                mode = "ovr" if isinstance(loss, BinaryCrossEntropy) else "multiclass"
            if mode == "binary":
                Y = idx.astype(dtype).reshape(-1, 1)
            elif mode == "ovr":
                Y = np.zeros((len(idx), len(new_classes)), dtype=dtype)
                Y[np.arange(len(idx)), idx] = 1
            else:
                Y = idx
        if continuing:
            if self._label_mode == "multilabel" and (mode != "multilabel" or Y.shape[1] != self.n_outputs_):
                raise ValueError(f"y has {Y.shape[1] if Y.ndim == 2 else 1} label column(s), the "
                                 f"estimator was fitted on a multi-label target with {self.n_outputs_}")
            if self._label_mode != "multilabel" and mode == "multilabel":
                raise ValueError("y is a multi-label (2-D indicator) target but the estimator was "
                                 f"fitted on a {self._label_mode} target")
            return Y, {}
        n_out = 1 if mode == "binary" else len(new_classes)
        if mode == "multiclass":     # keeps the given CrossEntropy's label_smoothing
            loss = loss if isinstance(loss, CrossEntropy) else CrossEntropy()
        else:
            loss = BinaryCrossEntropy()
        return Y, {"classes_": new_classes, "_label_mode": mode, "n_outputs_": n_out,
                   "loss_function_": loss,
                   "out_activation_": "softmax" if mode == "multiclass" else "logistic"}

    def _sample_weights(self, X, y, state, sample_weight, partial):
        weights = super()._sample_weights(X, y, state, sample_weight, partial)
        cw = self.class_weight
        if cw is None:
            return weights
        if partial and isinstance(cw, str):
            raise ValueError(f"class_weight={cw!r} is not supported by partial_fit, which sees one "
                             "batch at a time; pass a dict, e.g. from sklearn.utils."
                             "compute_class_weight('balanced', classes=classes, y=y_all)")
        if y.ndim == 2 and y.shape[1] > 1:
            per_sample = compute_sample_weight(cw, y)
        else:
            y = column_or_1d(y)
            classes = state.get("classes_", getattr(self, "classes_", None))
            per_class = compute_class_weight(cw, classes=classes, y=y) if isinstance(cw, str) else \
                compute_class_weight(cw, classes=classes, y=classes)
            per_sample = per_class[np.searchsorted(classes, y)]
        return per_sample if weights is None else weights * per_sample

    def _check_enough_classes(self, Y, state):
        mode = state.get("_label_mode", getattr(self, "_label_mode", None))
        if mode in ("binary", "multiclass", "ovr"):
            labels = Y.ravel() if mode == "binary" else (Y if mode == "multiclass" else Y.argmax(1))
            if len(np.unique(labels)) < 2:
                raise ValueError("BPClassifier needs samples of at least 2 classes with a non-zero "
                                 "sample_weight (or class_weight); only 1 class is left")

    def _stratify_labels(self, Y, state):
        """MLP stratifies its early-stopping split by a binary target only (``n_outputs_ == 1``),
        by its label-binarised ``y``: a boolean column."""
        mode = state.get("_label_mode", getattr(self, "_label_mode", None))
        return Y.astype(bool) if mode == "binary" else None

    # ------------------------------------------------------------------ fitting and prediction
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X``, ``y`` (mini-batches of ``batch_size``); optimiser state is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like, optional
            Every label any call may see; required on the first call (except
            for a multi-label indicator ``y``), optional afterwards.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = _validate_data(self, X, reset=False, dtype=self.net_.dtype, accept_sparse="csr")
        return self.net_.predict(X)

    def _log_proba_from_logits(self, Z: np.ndarray) -> np.ndarray:
        Z = Z.astype(np.float64)
        mode = self._label_mode
        if mode == "multiclass":
            Z = Z - Z.max(axis=1, keepdims=True)
            return Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
        if mode == "binary":    # log σ(−z), log σ(z)
            return -np.logaddexp(0.0, np.hstack([Z, -Z]))
        log_sig = -np.logaddexp(0.0, -Z)
        if mode == "multilabel":
            return log_sig
        m = log_sig.max(axis=1, keepdims=True)          # ovr: normalise the sigmoids
        return log_sig - m - np.log(np.sum(np.exp(log_sig - m), axis=1, keepdims=True))

    def _labels_from_logits(self, Z: np.ndarray, mode=None) -> np.ndarray:
        mode = mode or self._label_mode
        if mode == "multilabel":
            return (Z > 0).astype(np.int64)
        if mode == "binary":
            return (Z[:, 0] > 0).astype(np.int64)
        return np.argmax(Z, axis=1)

    def _score_output(self, Z, Y, mode, loss=None, weights=None) -> float:
        """Accuracy (subset accuracy for multi-label) of logits ``Z`` against encoded ``Y``,
        weighted by ``weights`` if given (``accuracy_score``'s)."""
        pred = self._labels_from_logits(Z, mode)
        if mode == "multilabel":
            return float(np.average(np.all(pred == Y, axis=1), weights=weights))
        true = Y.ravel() if mode == "binary" else (Y if Y.ndim == 1 else Y.argmax(1))
        return float(np.average(pred == true, weights=weights))

    def predict(self, X):
        """Class labels (an indicator matrix for a multi-label target).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        labels = self._labels_from_logits(self._logits(X))
        return labels if self._label_mode == "multilabel" else self.classes_[labels]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the logits.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._log_proba_from_logits(self._logits(X))

    def predict_proba(self, X):
        """Class probabilities: softmax of the logits, or sigmoid (``[1 − p, p]`` for binary).

        For a multi-label target, column ``j`` is the probability of label ``j``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def trace(self, X, y) -> list[dict]:
        """``net_.trace`` for ``X``, ``y`` (labels as given to ``fit``): z, a, δ, ∂C/∂W, ∂C/∂b per layer.

        The network is left unchanged; see :meth:`bprop.Sequential.trace`.
        """
        check_is_fitted(self, "net_")
        X, y = _validate_data(self, X, y, reset=False, dtype=self.net_.dtype, accept_sparse="csr",
                              multi_output=True)
        Y, _ = self._encode_targets(y, continuing=True, partial=True, classes=None, dtype=self.net_.dtype)
        return self.net_.trace(X, Y, self.loss_function_)


# ---------------------------------------------------------------------------------------- regressor
class BPRegressor(RegressorMixin, _BPEstimator):
    __doc__ = r"""Multi-layer perceptron regressor trained by backpropagation (bprop).

    Minimises the quadratic cost :math:`C = \frac{1}{2n}\sum_x\lVert a − y\rVert^2`
    (the same "half squared error" as scikit-learn's MLPRegressor) with one
    linear output per target column. Standardise ``X`` (and, for large
    targets, ``y``: ``TransformedTargetRegressor``) for best results.
    """ + _MLP_MAPPING + _COMMON_DOC + r"""
    loss : {"mse", "squared_error", "poisson", "mae", "huber"}, default "mse"
        ``"mse"`` (``"squared_error"``, ``"quadratic"``): the quadratic cost.
        ``"poisson"``: half the Poisson deviance with a log link
        (:class:`bprop.Poisson`); the network's output is the log-rate ``z``
        and ``predict`` returns :math:`e^{z}`, as ``MLPRegressor(loss="poisson")``.
        ``"mae"``: the L1 loss :math:`\frac1n\sum_x\lVert a − y\rVert_1`; ``"huber"``
        (``"huber:delta=0.5"`` for another δ): quadratic within δ of the target and
        linear beyond (:class:`bprop.Huber`).

    Attributes
    ----------""" + _COMMON_ATTRS + r"""

    Examples
    --------
    >>> import numpy as np
    >>> from bprop.sklearn import BPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = BPRegressor((32,), activation="tanh", learning_rate=1e-2, batch_size=20,
    ...                   max_epochs=300, random_state=0).fit(X, np.sin(3 * X).ravel())
    >>> reg.score(X, np.sin(3 * X).ravel()) > 0.95
    True
    """

    _default_loss = "mse"
    _saved_attributes = ("n_features_in_", "feature_names_in_", "n_outputs_", "_y_ndim",
                         "loss_curve_", "validation_scores_", "best_validation_score_", "loss_",
                         "best_loss_", "n_iter_", "n_iter_total_", "t_", "_no_improvement_count")

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, batchnorm=False,
                 dropout=0.0, init="auto", bias_init="auto", optimizer="adam", learning_rate=1e-3,
                 momentum=0.9, nesterov=False, betas=(0.9, 0.999), weight_decay=0.0, alpha=1e-4,
                 schedule=None, power_t=0.5, batch_size="auto", max_epochs=200, shuffle=True,
                 early_stopping=False, validation_fraction=0.1, patience=10, tol=1e-4,
                 clip_norm=None, loss="mse", dtype="auto", random_state=None, verbose=0,
                 warm_start=False, backend="numpy", comm=None, threads=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batchnorm = batchnorm
        self.dropout = dropout
        self.init = init
        self.bias_init = bias_init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.betas = betas
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.schedule = schedule
        self.power_t = power_t
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.clip_norm = clip_norm
        self.loss = loss
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.backend = backend
        self.comm = comm
        self.threads = threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def _encode_targets(self, y, *, continuing, partial, classes, dtype):
        name = self.loss.lower().replace("-", "_")
        loss = REGRESSION_LOSSES[name]() if name in REGRESSION_LOSSES else _regression_loss_spec(self.loss)
        Y = np.ascontiguousarray(y, dtype=dtype).reshape(len(y), -1)
        if isinstance(loss, Poisson) and np.any(Y < 0):
            raise ValueError(f"loss='poisson' needs y >= 0 (counts or rates), got a minimum of {Y.min()}")
        if continuing:
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} target column(s), the estimator was fitted "
                                 f"with {self.n_outputs_}")
            return Y, {}
        return Y, {"n_outputs_": Y.shape[1], "_y_ndim": y.ndim, "loss_function_": loss}

    def _score_output(self, out, Y, mode=None, loss=None, weights=None) -> float:
        pred = out if loss is None else loss.output_to_prediction(out)
        if not np.isfinite(pred).all():
            return float("nan")    # a diverging network: MLP records NaN as well
        return float(r2_score(Y, pred, sample_weight=weights))

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y`` (mini-batches of ``batch_size``); optimiser state is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X):
        """Network output: shape ``(n_samples,)`` if ``y`` was 1-D, else ``(n_samples, n_outputs)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "net_")
        X = _validate_data(self, X, reset=False, dtype=self.net_.dtype, accept_sparse="csr")
        out = self.loss_function_.output_to_prediction(self.net_.predict(X))   # e^z for Poisson
        return out.ravel() if self._y_ndim == 1 else out        # in the network's dtype, as MLP's

    def trace(self, X, y) -> list[dict]:
        """``net_.trace`` for ``X``, ``y``: z, a, δ, ∂C/∂W, ∂C/∂b per layer; the network is left unchanged."""
        check_is_fitted(self, "net_")
        X, y = _validate_data(self, X, y, reset=False, dtype=self.net_.dtype, accept_sparse="csr",
                              multi_output=True, y_numeric=True)
        Y, _ = self._encode_targets(y, continuing=True, partial=True, classes=None, dtype=self.net_.dtype)
        return self.net_.trace(X, Y, self.loss_function_)


_ESTIMATORS = {"BPClassifier": BPClassifier, "BPRegressor": BPRegressor}
#: BPRegressor's ``loss`` names (scikit-learn's spellings included) and their losses.
REGRESSION_LOSSES = {"mse": MSE, "squared_error": MSE, "quadratic": MSE, "poisson": Poisson, "mae": MAE,
                     "huber": Huber}


def _regression_loss_spec(spec) -> "Loss":
    """A regression loss with arguments (``"huber:delta=0.5"``), or the error listing the regression losses."""
    try:
        loss = _get_loss(spec)
    except (TypeError, ValueError):
        loss = None
    if loss is None or loss.task != "regression":
        raise unknown_name("loss", spec, REGRESSION_LOSSES)
    return loss


def _check_saved(meta: dict, shapes: dict, path: str) -> None:
    """A saved estimator's description and arrays (their headers), checked before they are read."""
    info = (meta.get("metadata") or {}).get(ESTIMATOR_KEY) if isinstance(meta.get("metadata"), dict) else None
    if not isinstance(info, dict) or "estimator" not in info:
        raise ValueError(f"{path} is not a saved bprop.sklearn estimator (a plain model file "
                         "is loaded with bprop.load)")
    check_model(meta, shapes, path, formats=(MODEL_FORMAT,))
    field = f"metadata.{ESTIMATOR_KEY}"
    if not isinstance(info["estimator"], str):
        raise ValueError(f"{path}: {field}.estimator must be a class name, got {info['estimator']!r}")
    for key, kind in (("params", dict), ("fitted", dict), ("loss", (str, dict))):
        if not isinstance(info.get(key), kind):
            raise ValueError(f"{path}: {field}.{key} is missing or not a JSON "
                             f"{'object' if kind is dict else 'string or object'}")
    check_rng_state(info.get("rng_state"), path, f"{field}.rng_state")
    check_history(info.get("history"), path, f"{field}.history")
    check_optimizer_state(info.get("optimizer"), shapes, path, f"{field}.optimizer")


def load(path):
    """Load a :class:`BPClassifier` or :class:`BPRegressor` written by its ``save`` method."""
    return _BPEstimator.load(path)
