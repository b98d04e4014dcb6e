"""The same ``random_state`` gives the same model as scikit-learn's MLP.

With ``init="auto"`` and ``bias_init="auto"``, ``BPClassifier``/``BPRegressor`` draw the initial
weights and biases, the early-stopping split and every epoch's order from
``check_random_state(random_state)`` with MLP's calls in MLP's order, and train with MLP's
formulas (its Adam and SGD, ``alpha``, batches, convergence test, validation score), so
``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``validation_scores_``,
``best_loss_`` and the predictions equal ``MLPClassifier``'s/``MLPRegressor``'s.

Tolerance: the two compute the same operations in other orders (bprop keeps ``W`` as
``(n_out, n_in)`` and puts the 1/n into δ; MLP divides the summed gradient), so they agree to
float64 rounding, not bit for bit. Measured over 200 epochs on digits, iris, breast_cancer,
Friedman #1 and a multi-label set, the relative differences stay below 2e-14; the tests
hold ``rtol=1e-9`` (float64) and ``rtol=1e-4`` (float32). A different shuffle order, split,
initial draw or optimiser formula moves the weights by 1e-3 to 1 relative (the last tests
show the first and the last of those failing the same comparison).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import (load_breast_cancer, load_digits, load_iris, make_friedman1,
                              make_multilabel_classification)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import bprop.sklearn as bps
from bprop.sklearn import BPClassifier, BPRegressor

RTOL = {np.float64: 1e-9, np.float32: 1e-4}


def _scaled(X):
    return StandardScaler().fit_transform(X)


DATA = {
    "multiclass": lambda: (_scaled(load_iris().data), load_iris().target),
    "digits": lambda: (_scaled(load_digits().data[:400]), load_digits().target[:400]),
    "binary": lambda: (_scaled(load_breast_cancer().data), load_breast_cancer().target),
    "multilabel": lambda: (lambda X, Y: (_scaled(X), Y))(*make_multilabel_classification(
        200, 8, n_classes=3, random_state=0)),
    "regression": lambda: (lambda X, y: (_scaled(X), y / 10))(*make_friedman1(300, random_state=0)),
}

#: MLP's keyword → bprop's, where the names differ (the rest are passed to both).
RENAMED = {"solver": "optimizer", "learning_rate_init": "learning_rate", "learning_rate": "schedule",
           "max_iter": "max_epochs", "nesterovs_momentum": "nesterov", "n_iter_no_change": "patience"}


def _bprop_kwargs(mlp_kwargs: dict) -> dict:
    out = {RENAMED.get(k, k): v for k, v in mlp_kwargs.items()}
    if out.get("schedule") == "constant":
        out["schedule"] = None
    return out


def _fit_both(data, dtype=np.float64, sample_weight=None, **mlp_kwargs):
    X, y = DATA[data]()
    X = X.astype(dtype)
    mlp_cls, bp_cls = (MLPRegressor, BPRegressor) if data == "regression" else (MLPClassifier, BPClassifier)
    kwargs = {"hidden_layer_sizes": (16,), "max_iter": 30, "random_state": 0, **mlp_kwargs}
    mlp, ours = mlp_cls(**kwargs), bp_cls(**_bprop_kwargs(kwargs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y, sample_weight=sample_weight)
        ours.fit(X, y, sample_weight=sample_weight)
    return X, mlp, ours


def _close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, what
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), 1e-300)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_same_model(X, mlp, ours, rtol=1e-9):
    """Everything MLP's fit leaves, equal to rounding."""
    assert ours.n_iter_ == mlp.n_iter_
    assert ours.t_ == mlp.t_
    assert len(ours.coefs_) == len(mlp.coefs_)
    for i, (a, b) in enumerate(zip(ours.coefs_ + ours.intercepts_, mlp.coefs_ + mlp.intercepts_)):
        assert a.dtype == b.dtype
        _close(a, b, rtol, f"parameter {i}")
    _close(ours.loss_curve_, mlp.loss_curve_, rtol, "loss_curve_")
    _close(ours.loss_, mlp.loss_, rtol, "loss_")
    if mlp.validation_scores_ is None:
        assert ours.validation_scores_ is None and ours.best_validation_score_ is None
        _close(ours.best_loss_, mlp.best_loss_, rtol, "best_loss_")
    else:
        assert ours.best_loss_ is None is mlp.best_loss_
        _close(ours.validation_scores_, mlp.validation_scores_, rtol, "validation_scores_")
        _close(ours.best_validation_score_, mlp.best_validation_score_, rtol, "best_validation_score_")
    assert ours._no_improvement_count == mlp._no_improvement_count
    if isinstance(mlp, MLPClassifier):
        np.testing.assert_array_equal(ours.predict(X), mlp.predict(X))
        _close(ours.predict_proba(X), mlp.predict_proba(X), rtol, "predict_proba")
    else:
        _close(ours.predict(X), mlp.predict(X), rtol, "predict")


SOLVERS = {
    "adam": {"solver": "adam"},
    "sgd": {"solver": "sgd", "learning_rate_init": 0.05, "momentum": 0.0},
    "momentum": {"solver": "sgd", "learning_rate_init": 0.05, "nesterovs_momentum": False},
    "nesterov": {"solver": "sgd", "learning_rate_init": 0.05, "nesterovs_momentum": True},
    "invscaling": {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5,
                   "nesterovs_momentum": True},
    # tol 1e-2 and 2 epochs of patience: the rate is divided by 5 several times within the run
    "adaptive": {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.1, "tol": 1e-2,
                 "n_iter_no_change": 2, "nesterovs_momentum": True, "max_iter": 80},
}


@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_same_random_state_same_model(data, solver):
    X, mlp, ours = _fit_both(data, **SOLVERS[solver])
    assert_same_model(X, mlp, ours)


@pytest.mark.parametrize("data", ["multiclass", "binary", "multilabel", "regression"])
@pytest.mark.parametrize("solver", ["adam", "nesterov", "adaptive"])
def test_same_model_with_early_stopping(data, solver):
    """The split (stratified for a binary target only, as MLP), the validation score, MLP's
    stopping rule on it and the restored best epoch."""
    X, mlp, ours = _fit_both(data, **{**SOLVERS[solver], "early_stopping": True, "validation_fraction": 0.2,
                                      "n_iter_no_change": 3, "max_iter": 120})
    if data != "regression" and solver != "adaptive":
        assert mlp.n_iter_ < 120         # the stopping rule fired
    assert_same_model(X, mlp, ours)


@pytest.mark.parametrize("data", ["digits", "binary", "regression"])
@pytest.mark.parametrize("solver", ["adam", "momentum"])
def test_same_model_without_shuffling(data, solver):
    X, mlp, ours = _fit_both(data, shuffle=False, **SOLVERS[solver])
    assert_same_model(X, mlp, ours)


@pytest.mark.parametrize("case", [
    {"activation": "logistic", "hidden_layer_sizes": (12, 6)},        # Glorot's factor 2, two layers
    {"activation": "tanh", "batch_size": 23, "alpha": 1e-2},            # a partial last batch
    {"activation": "identity", "alpha": 0.0, "max_iter": 60},
    {"batch_size": 400, "tol": 1e-3, "n_iter_no_change": 4, "max_iter": 300},    # full batch, stops early
])
def test_same_model_across_hyperparameters(case):
    X, mlp, ours = _fit_both("digits", **case)
    assert_same_model(X, mlp, ours)


def test_same_model_in_float32_with_sample_weights():
    X, mlp, ours = _fit_both("binary", dtype=np.float32)
    assert ours.coefs_[0].dtype == np.float32
    assert_same_model(X, mlp, ours, rtol=RTOL[np.float32])
    w = np.random.default_rng(0).uniform(0.5, 2.0, 569)
    for early_stopping in (False, True):
        X, mlp, ours = _fit_both("binary", sample_weight=w, early_stopping=early_stopping)
        assert_same_model(X, mlp, ours)


def test_random_state_object_is_advanced_as_mlp_advances_it():
    X, y = DATA["multiclass"]()
    theirs, mine = np.random.RandomState(5), np.random.RandomState(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((8,), max_iter=5, random_state=theirs, early_stopping=True).fit(X, y)
        ours = BPClassifier((8,), max_epochs=5, random_state=mine, early_stopping=True).fit(X, y)
    assert_same_model(X, mlp, ours)
    assert mine.randint(1 << 30) == theirs.randint(1 << 30)


def test_partial_fit_calls_follow_mlp():
    """Each call draws from a fresh RandomState(k) (MLP's check_random_state per call); the
    'adaptive' rate falls after more than n_iter_no_change stalls counted across the calls."""
    X, y = DATA["binary"]()
    mlp = MLPClassifier((8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.2, tol=1e-2,
                        n_iter_no_change=1, random_state=3)
    ours = BPClassifier((8,), optimizer="sgd", schedule="adaptive", learning_rate=0.2, tol=1e-2, patience=1,
                        nesterov=True, random_state=3)
    for _ in range(15):
        mlp.partial_fit(X, y, classes=[0, 1])
        ours.partial_fit(X, y, classes=[0, 1])
    assert ours.optimizer_.lr == mlp._optimizer.learning_rate < 0.2
    assert_same_model(X, mlp, ours)


def test_another_epoch_order_fails_the_comparison(monkeypatch):
    """The tests above can fail: with each epoch shuffled by a fresh permutation instead of
    MLP's composed ``shuffle(sample_idx)`` (the same number of draws from the same stream),
    the weights after 5 epochs are far outside the tolerance."""
    def fresh_permutation(self, n):
        return self.stream.permutation(n)
    monkeypatch.setattr(bps._MLPOrder, "permutation", fresh_permutation)
    X, mlp, ours = _fit_both("digits", max_iter=5)
    with pytest.raises(AssertionError, match="parameter 0"):
        assert_same_model(X, mlp, ours)


def test_torch_adam_fails_the_comparison(monkeypatch):
    """... and so can PyTorch's Adam (ε added to the corrected √v̂) in place of MLP's."""
    make = bps._BPEstimator._make_optimizer

    def torch_adam(self, steps_per_epoch, n_samples):
        opt = make(self, steps_per_epoch, n_samples)
        return type(opt)(opt.schedule, betas=opt.betas, eps=opt.eps)
    monkeypatch.setattr(bps._BPEstimator, "_make_optimizer", torch_adam)
    X, mlp, ours = _fit_both("digits", max_iter=5)
    assert ours.optimizer_.convention == "torch"
    with pytest.raises(AssertionError, match="parameter"):
        assert_same_model(X, mlp, ours)
