"""scikit-learn estimators: the estimator checks, model selection, weights, parity with MLP*, persistence."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

import joblib
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

import bprop as bp
from bprop.sklearn import BPClassifier, BPRegressor, load

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small networks and a faster rate keep the checks quick; 200 epochs let them
# reach the accuracy some checks demand (noisy blobs with class_weight, R² > 0.5).
CHECKED = dict(hidden_layer_sizes=(10,), max_epochs=200, learning_rate=1e-2)


# Checks that do not apply and would only report a skip: bprop computes with NumPy,
# not the array API, and the classifier has no decision_function (it has predict_proba).
NOT_APPLICABLE = {"check_array_api_input", "check_classifiers_multilabel_output_format_decision_function"}


def _applicable_checks():
    from functools import partial

    # The defaults (dtype="auto": float64 data trains in float64) pass every check: none is
    # expected to fail.
    for est in (BPClassifier(**CHECKED), BPRegressor(**CHECKED)):
        for item in estimator_checks_generator(est, expected_failed_checks={}, mark="xfail"):
            (estimator, check), marks = (item.values, item.marks) if hasattr(item, "values") else (item, ())
            name = (check.func if isinstance(check, partial) else check).__name__
            if name not in NOT_APPLICABLE:
                yield pytest.param(estimator, check, marks=marks, id=f"{estimator}-{name}")


@pytest.mark.parametrize("estimator, check", list(_applicable_checks()))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(1000, noise=0.5, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _params(est):
    return {k: v.copy() for k, v in est.net_.params.items()}


# ------------------------------------------------------------------ model selection
def test_grid_search_over_sizes_and_learning_rate(iris):
    X, y = iris
    grid = GridSearchCV(BPClassifier(max_epochs=40, random_state=0),
                        {"hidden_layer_sizes": [(8,), (16, 8)], "learning_rate": [1e-3, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["learning_rate"] == 1e-2      # 40 epochs: the faster rate wins
    best = grid.best_estimator_
    # the refitted estimator is MLPClassifier's with the same parameters, score for score
    mlp = MLPClassifier(hidden_layer_sizes=best.hidden_layer_sizes, learning_rate_init=1e-2, max_iter=40,
                        random_state=0).fit(X, y)
    assert best.score(X, y) == mlp.score(X, y) > 0.85


def test_pipeline_and_cross_val_score(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), BPClassifier((16,), learning_rate=1e-2, batch_size=32, max_epochs=50,
                                                         random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    assert pipe.fit(X, y).score(X, y) > 0.9


def test_clone_keeps_params_and_drops_fit():
    est = BPClassifier((7, 5), activation=("tanh", "elu"), dropout=[0.1, 0.0], betas=(0.8, 0.99),
                       class_weight={0: 2.0}, schedule={"name": "step", "step_size": 10},
                       random_state=3)
    est.fit(np.random.default_rng(0).normal(size=(30, 4)), np.arange(30) % 2)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "net_")


# ------------------------------------------------------------------ weights
def test_class_weight_balanced_improves_minority_recall():
    X, y = make_classification(n_samples=1200, n_features=8, n_informative=4, weights=[0.93, 0.07],
                               class_sep=0.7, flip_y=0.0, random_state=1)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    kw = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, max_epochs=60, random_state=0)
    plain = BPClassifier(**kw).fit(Xtr, ytr)
    balanced = BPClassifier(**kw, class_weight="balanced").fit(Xtr, ytr)
    r_plain = recall_score(yte, plain.predict(Xte), pos_label=1)
    r_bal = recall_score(yte, balanced.predict(Xte), pos_label=1)
    assert r_bal > r_plain + 0.1, (r_plain, r_bal)


@pytest.mark.parametrize("Est", [BPClassifier, BPRegressor])
def test_sample_weight_two_equals_duplicated_rows(Est):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) if Est is BPClassifier else X @ rng.normal(size=5)
    w = np.where(np.arange(40) % 3 == 0, 2.0, 1.0)
    kw = dict(hidden_layer_sizes=(6,), activation="tanh", optimizer="sgd", momentum=0.0,
              learning_rate=0.1, batch_size=1000, shuffle=False, max_epochs=30, tol=None,
              dtype="float64", random_state=0)
    weighted = Est(**kw).fit(X, y, sample_weight=w)
    idx = np.repeat(np.arange(40), w.astype(int))
    repeated = Est(**kw).fit(X[idx], y[idx])
    pw, pr = _params(weighted), _params(repeated)
    moved = max(np.abs(pw[k] - Est(**kw).fit(X, y).net_.params[k]).max() for k in pw)
    assert moved > 1e-3        # the weights matter ...
    for k in pw:               # ... and a weight of 2 is a duplicated row
        np.testing.assert_allclose(pw[k], pr[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_zero_weight_leaves_the_sample_out():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    w = np.ones(30)
    w[::4] = 0
    kw = dict(hidden_layer_sizes=(5,), max_epochs=5, random_state=0)
    a = BPClassifier(**kw).fit(X, y, sample_weight=w)
    b = BPClassifier(**kw).fit(X[w > 0], y[w > 0])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


# ------------------------------------------------------------------ reproducibility
def test_random_state_reproducible(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(8,), dropout=0.2, batchnorm=True, max_epochs=5, batch_size=16,
              early_stopping=True)
    a = BPClassifier(**kw, random_state=7).fit(X, y)
    b = BPClassifier(**kw, random_state=7).fit(X, y)
    c = BPClassifier(**kw, random_state=8).fit(X, y)
    for k in a.net_.params:
        np.testing.assert_array_equal(a.net_.params[k], b.net_.params[k])
    assert a.loss_curve_ == b.loss_curve_ and a.validation_scores_ == b.validation_scores_
    assert any(not np.array_equal(a.net_.params[k], c.net_.params[k]) for k in a.net_.params)


# ------------------------------------------------------------------ parity with scikit-learn's MLP
@pytest.mark.parametrize("task", ["digits", "friedman"])
def test_score_at_least_sklearn_mlp(task, digits, friedman):
    """Accuracy on digits and R² on Friedman #1 at the settings of scikit-learn's MLP.

    Same hidden sizes, Adam, rate, batch size, epochs and convergence test
    (tol 1e-4 over 10 epochs), no L2 penalty; mean over three seeds, small margin.
    """
    if task == "digits":
        (Xtr, Xte, ytr, yte), Ours, Theirs, lr, epochs, floor = digits, BPClassifier, MLPClassifier, 1e-3, 50, 0.96
    else:
        (Xtr, Xte, ytr, yte), Ours, Theirs, lr, epochs, floor = friedman, BPRegressor, MLPRegressor, 1e-2, 100, 0.9
    ours, theirs = [], []
    for seed in range(3):
        sk = Theirs(hidden_layer_sizes=(64,), solver="adam", learning_rate_init=lr, alpha=0.0,
                    batch_size=64, max_iter=epochs, tol=1e-4, n_iter_no_change=10, random_state=seed)
        mine = Ours((64,), optimizer="adam", learning_rate=lr, alpha=0.0, batch_size=64, max_epochs=epochs,
                    tol=1e-4, patience=10, random_state=seed)
        theirs.append(sk.fit(Xtr, ytr).score(Xte, yte))
        ours.append(mine.fit(Xtr, ytr).score(Xte, yte))
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)
    assert np.mean(ours) > floor


# ------------------------------------------------------------------ targets
def test_string_labels_round_trip(iris, tmp_path):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = BPClassifier((16,), learning_rate=1e-2, batch_size=16, max_epochs=40, random_state=0).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, names[[0, 50, 100]])
    assert set(clf.predict(X)) <= set(clf.classes_) and clf.score(X, names) > 0.9
    clf.save(tmp_path / "m.npz")
    back = BPClassifier.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    # binary string labels: one sigmoid output, predict_proba has two columns
    binary = BPClassifier((8,), max_epochs=5, random_state=0).fit(X, np.where(y == 0, "yes", "no"))
    assert binary.net_.n_out == 1 and binary.predict_proba(X).shape == (150, 2)
    assert set(binary.predict(X)) <= {"yes", "no"}


def test_probabilities_and_log_probabilities(iris):
    X, y = iris
    for target in (y, (y == 0).astype(int)):
        clf = BPClassifier((8,), max_epochs=5, random_state=0).fit(X, target)
        P, logP = clf.predict_proba(X), clf.predict_log_proba(X)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(logP), P, rtol=1e-12)
        np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X))


def test_one_vs_rest_binary_cross_entropy(iris):
    X, y = iris
    clf = BPClassifier((8,), loss="binary_cross_entropy", learning_rate=1e-2, max_epochs=80,
                       random_state=0).fit(X, y)
    assert isinstance(clf.loss_function_, bp.BinaryCrossEntropy) and clf.net_.n_out == 3
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    assert clf.score(X, y) > 0.85


def test_multilabel_classifier():
    X = make_classification(300, 6, random_state=0)[0]
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5], axis=1).astype(int)
    clf = BPClassifier((32,), learning_rate=1e-2, max_epochs=60, random_state=0).fit(X, Y)
    assert isinstance(clf.loss_function_, bp.BinaryCrossEntropy)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    P = clf.predict_proba(X)
    assert P.shape == Y.shape and ((P >= 0) & (P <= 1)).all()
    np.testing.assert_array_equal((P > 0.5).astype(int), pred)
    assert clf.score(X, Y) > 0.8          # subset accuracy
    clf.partial_fit(X[:50], Y[:50])       # classes are implied by the indicator matrix
    with pytest.raises(ValueError, match="multi-label"):
        clf.partial_fit(X, Y[:, 0])


def test_multioutput_regressor(friedman):
    Xtr, _, ytr, _ = friedman
    Y = np.stack([ytr, -0.5 * ytr], axis=1)
    reg = BPRegressor((32,), learning_rate=1e-2, batch_size=32, max_epochs=40, random_state=0).fit(Xtr, Y)
    assert reg.n_outputs_ == 2 and reg.predict(Xtr).shape == (len(Xtr), 2)
    assert reg.score(Xtr, Y) > 0.8
    one = BPRegressor((4,), max_epochs=2, random_state=0).fit(Xtr, ytr)
    assert one.predict(Xtr).shape == (len(Xtr),)
    assert one.predict(Xtr).dtype == np.float64


# ------------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", ["classifier", "binary", "multilabel", "regressor"])
def test_joblib_and_save_load_round_trips(kind, iris, tmp_path):
    X, y = iris
    if kind == "classifier":
        est = BPClassifier((8, 4), batchnorm=True, dropout=0.1, optimizer="rmsprop",
                           schedule="cosine", early_stopping=True, max_epochs=8, random_state=0)
        y = np.array(["a", "b", "c"])[y]
    elif kind == "binary":
        est = BPClassifier((8,), activation="gelu", optimizer="sgd", nesterov=True,
                           class_weight={False: 1.0, True: 2.0}, max_epochs=8, random_state=0)
        y = y == 2
    elif kind == "multilabel":
        est = BPClassifier((8,), optimizer="adamw", weight_decay=0.01, max_epochs=8, random_state=0)
        y = np.stack([y == 0, y == 2], axis=1).astype(int)
    else:
        est = BPRegressor((8,), schedule={"name": "warmup", "warmup_steps": 3}, max_epochs=8,
                          dtype="float64", random_state=0)
        y = X[:, 0] * 2 - X[:, 1]
    est.fit(X, y)
    predict = est.predict_proba if kind != "regressor" else est.predict

    joblib.dump(est, tmp_path / "m.joblib")
    pickled = joblib.load(tmp_path / "m.joblib")
    est.save(tmp_path / "m.npz")
    saved = load(tmp_path / "m.npz")
    assert type(saved) is type(est) and saved.get_params() == est.get_params()
    for other in (pickled, saved):
        p_other = other.predict_proba(X) if kind != "regressor" else other.predict(X)
        np.testing.assert_array_equal(p_other, predict(X))
        assert other.loss_curve_ == est.loss_curve_ and other.n_iter_ == est.n_iter_
        assert other.validation_scores_ == est.validation_scores_
    # the model file is a bprop model file too
    net = bp.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(net.predict(X.astype(net.dtype)), est.net_.predict(X))
    # training continues identically after a round trip (optimiser and generator state saved);
    # partial_fit trains without a validation set, so early stopping is switched off first
    for e in (est, pickled, saved):
        e.set_params(early_stopping=False)
    for other in (pickled, saved):
        other.partial_fit(X, y)
    est.partial_fit(X, y)
    for other in (pickled, saved):
        for k in est.net_.params:
            np.testing.assert_array_equal(other.net_.params[k], est.net_.params[k])
    assert pickle.loads(pickle.dumps(est)).n_iter_ == est.n_iter_


def test_load_errors(iris, tmp_path):
    X, y = iris
    BPClassifier((4,), max_epochs=1, random_state=0).fit(X, y).save(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="BPClassifier.load"):
        BPRegressor.load(tmp_path / "c.npz")
    bp.Sequential([bp.Dense(4, 3)], seed=0).save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="bprop.load"):
        load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
    est = BPClassifier((4,), max_epochs=1, random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(TypeError, match="random_state"):
        est.save(tmp_path / "x.npz")
    with pytest.raises(NotFittedError):
        BPClassifier().save(tmp_path / "x.npz")


# ------------------------------------------------------------------ training behaviour
def test_warm_start_and_partial_fit_continue(iris):
    X, y = iris
    est = BPClassifier((8,), max_epochs=3, tol=None, warm_start=True, random_state=0).fit(X, y)
    curve, steps = list(est.loss_curve_), est.optimizer_.step_count
    net = est.net_
    est.fit(X, y)
    # n_iter_ counts the last call's epochs (MLP's meaning); n_iter_total_ all of them
    assert est.net_ is net and est.n_iter_ == 3 and est.n_iter_total_ == 6 and est.loss_curve_[:3] == curve
    assert est.optimizer_.step_count == 2 * steps and len(est.loss_curve_) == 6
    est.partial_fit(X, y)
    assert est.n_iter_ == 1 and est.n_iter_total_ == 7 and len(est.history_.records) == 1
    with pytest.raises(ValueError, match="same classes"):
        est.fit(X[y < 2], y[y < 2])
    # without warm_start, fit starts again
    cold = BPClassifier((8,), max_epochs=3, tol=None, random_state=0).fit(X, y)
    net = cold.net_
    cold.fit(X, y)
    assert cold.net_ is not net and cold.n_iter_ == 3


def test_partial_fit_needs_classes_first(iris):
    X, y = iris
    clf = BPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:10], y[:10], classes=[0, 1, 2])      # the first batch holds one class
    assert clf.net_.n_out == 3
    with pytest.raises(ValueError, match="differs"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="balanced"):
        BPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_early_stopping_restores_best(iris):
    X, y = iris
    est = BPClassifier((16,), learning_rate=0.05, max_epochs=200, patience=5, early_stopping=True,
                       validation_fraction=0.2, random_state=0).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_ == len(est.history_.records) < 200
    assert est.history_.stop_reason.startswith("early stopping")
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None          # MLP's: with early stopping the validation score is tracked


def test_convergence_stop_and_warning(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        BPClassifier((4,), max_epochs=2, random_state=0).fit(X, y)
    est = BPClassifier((16,), learning_rate=0.05, max_epochs=500, tol=1e-2, patience=3,
                       random_state=0).fit(X, y)
    assert est.n_iter_ < 500
    exact = BPClassifier((4,), max_epochs=7, tol=None, random_state=0).fit(X, y)
    assert exact.n_iter_ == 7


def test_architecture_options(iris):
    X, y = iris
    est = BPClassifier((8, 6), activation=["leaky_relu", "logistic"], batchnorm=True,
                       dropout=(0.2, 0.0), bias_init=0.01, max_epochs=2, random_state=0).fit(X, y)
    kinds = [type(l).__name__ for l in est.net_.layers]
    assert kinds == ["Dense", "BatchNorm", "LeakyReLU", "Dropout", "Dense", "BatchNorm", "Sigmoid", "Dense"]
    # init="auto": scikit-learn's Glorot-uniform rule (factor 6: gain 1) for every layer
    inits = [l.init.get_config() for l in est.net_.layers if isinstance(l, bp.Dense)]
    assert inits == [{"name": "xavier_uniform", "gain": 1.0}] * 3
    assert all(l.bias_init.get_config() == {"name": "constant", "value": 0.01}
               for l in est.net_.layers if isinstance(l, bp.Dense))
    # bprop.mlp.build_mlp: no bias before BatchNorm (it subtracts the batch mean); the output layer keeps its own
    assert [l.bias for l in est.net_.layers if isinstance(l, bp.Dense)] == [False, False, True]
    linear = BPClassifier((), max_epochs=2, random_state=0).fit(X, y)
    assert len(linear.net_.layers) == 1
    for opt, cls in [("sgd", bp.optim.SGD), ("rmsprop", bp.optim.RMSProp), ("adamw", bp.optim.AdamW)]:
        o = BPRegressor((4,), optimizer=opt, max_epochs=1, random_state=0).fit(X, X[:, 0]).optimizer_
        assert type(o) is cls


def test_schedules(iris):
    X, y = iris
    for spec in ("constant", "step", "exponential", "cosine", "warmup", "plateau",
                 {"name": "step", "step_size": 2, "gamma": 0.5}, bp.optim.CosineDecay(1e-2, 10)):
        est = BPClassifier((4,), schedule=spec, max_epochs=3, batch_size=50, random_state=0).fit(X, y)
        assert len(est.history_.step_lr) == 9
    est = BPClassifier((4,), schedule="cosine", max_epochs=4, tol=None, batch_size=50,
                       learning_rate=0.1, random_state=0).fit(X, y)
    assert est.history_.step_lr[0] == pytest.approx(0.1) and est.history_.step_lr[-1] < 0.01


@pytest.mark.parametrize("params, match", [
    (dict(activation="swish"), "activation"),
    (dict(activation=["relu", "tanh"]), "one per hidden layer"),
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
    (dict(optimizer="lbfgs"), "optimizer"),
    (dict(learning_rate=-1.0), "learning rate"),
    (dict(dropout=1.0), "dropout"),
    (dict(init="glorot"), "initializer"),
    (dict(batch_size=0), "batch_size"),
    (dict(max_epochs=0), "max_epochs"),
    (dict(dtype="float16"), "dtype"),
    (dict(schedule="linear"), "schedule"),
    (dict(loss="mse"), "loss"),
    (dict(early_stopping=True, validation_fraction=1.5), "validation_fraction"),
])
def test_bad_parameters_raise_clear_errors(params, match, iris):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        BPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(hidden_layer_sizes=(10, "a")), "hidden_layer_sizes must be an integer or a list"),
    (dict(learning_rate="fast"), "learning_rate must be a real number, got str 'fast'"),
    (dict(batch_size=1.5), "batch_size must be an integer or a str, got float 1.5"),
    (dict(optimizer=3), "optimizer must be a str"),
    (dict(schedule=3), "schedule must be None or a str or a dict or a Schedule"),
    (dict(random_state="seed"), "random_state must be None or an integer"),
    (dict(tol="small"), "tol must be a real number or None"),
])
def test_parameters_of_the_wrong_type_raise_type_errors(params, match, iris):
    X, y = iris
    with pytest.raises(TypeError, match=match):
        BPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("cls", [BPClassifier, BPRegressor])
def test_every_parameter_is_declared(cls):
    assert set(cls._parameter_constraints) == set(cls().get_params(deep=False))


def test_not_fitted_and_bad_input(iris):
    X, y = iris
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(BPClassifier(), method)(X)
    with pytest.raises(NotFittedError):
        BPRegressor().predict(X)
    clf = BPClassifier((4,), max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="at least 2 classes"):
        BPClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        BPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full_like(X, np.nan))


COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_feature_names_from_a_data_frame(iris, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = iris
    clf = BPClassifier((4,), max_epochs=1, random_state=0).fit(pd.DataFrame(X, columns=COLUMNS), y)
    np.testing.assert_array_equal(clf.feature_names_in_, COLUMNS)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    clf.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(load(tmp_path / "m.npz").feature_names_in_, COLUMNS)


def test_feature_names_saved(iris, tmp_path):
    X, y = iris
    clf = BPClassifier((4,), max_epochs=1, random_state=0).fit(X, y)
    assert not hasattr(clf, "feature_names_in_")
    clf.feature_names_in_ = np.array(COLUMNS, dtype=object)    # as validate_data sets it for a frame
    clf.save(tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert back.feature_names_in_.dtype == object
    np.testing.assert_array_equal(back.feature_names_in_, COLUMNS)


def test_network_is_inspectable():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = np.array(["u", "v", "w", "v"] * 5)
    clf = BPClassifier((5,), activation="tanh", dtype="float64", max_epochs=3, random_state=0).fit(X, y)
    records = clf.trace(X, y)
    assert len(records) == 2 and records[0]["dW"].shape == (5, 3)
    Y = np.searchsorted(clf.classes_, y)
    result = bp.gradcheck(clf.net_, X, Y, clf.loss_function_)
    assert result.passed, str(result)
    reg = BPRegressor((4,), dtype="float64", max_epochs=2, random_state=0).fit(X, X[:, 0])
    assert len(reg.trace(X, X[:, 0])) == 2


def test_callbacks_reach_the_fit_loop(iris):
    X, y = iris
    seen = []
    BPClassifier((4,), max_epochs=3, tol=None, random_state=0).fit(
        X, y, callbacks=[lambda net, rec: seen.append(rec["epoch"])])
    assert seen == [1, 2, 3]


def test_import_bprop_does_not_import_sklearn():
    code = "import sys, bprop; bprop.Sequential([bprop.Dense(2, 1)]); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_threads_parameter_is_checked_and_changes_no_number():
    pytest.importorskip("threadpoolctl")
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    kw = dict(hidden_layer_sizes=(8,), max_epochs=3, tol=None, random_state=0, dtype="float64")
    a = BPClassifier(**kw).fit(X, y).predict_proba(X)
    est = BPClassifier(threads=1, **kw)
    assert est.get_params()["threads"] == 1
    np.testing.assert_array_equal(est.fit(X, y).predict_proba(X), a)
    with pytest.raises(ValueError, match="threads"):
        BPClassifier(threads=0).fit(X, y)
    with pytest.raises(TypeError, match="threads"):
        BPRegressor(threads="all").fit(X, y.astype(float))


# ------------------------------------------------------------------ MLP's semantics (issue 11)
def test_divergence_under_early_stopping_restores_the_best_epoch_and_warns(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(32,), activation="identity", optimizer="sgd", momentum=0.9,
              learning_rate=0.5, max_epochs=30, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"diverged at epoch \d+"):
        est = BPRegressor(**kw, early_stopping=True).fit(X, y)
    k = est.n_iter_
    assert np.isnan(est.validation_scores_[-1]) and np.isnan(est.loss_curve_[-1])
    assert len(est.validation_scores_) == k and est.history_.stop_reason.startswith(f"diverged at epoch {k}")
    # the restored weights are those of the best-scoring epoch: scoring again gives that score
    from sklearn.metrics import r2_score
    assert np.isfinite(est.predict(X)).all()
    best = int(np.nanargmax(est.validation_scores_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    with pytest.raises(bp.DivergenceError, match="diverged"):
        BPRegressor(**kw).fit(X, y)
    assert r2_score(y, est.predict(X)) > -1e3     # a usable, finite model


def test_validation_set_too_small_is_an_error():
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    with pytest.raises(ValueError, match="The validation set is too small: validation_fraction=0.1 of 5"):
        BPRegressor(early_stopping=True).fit(X, y)


def test_dtype_auto_follows_the_input(iris):
    X, y = iris
    for X_in, dtype in ((X.astype(np.float32), np.float32), (X, np.float64), (X.astype(np.int64), np.float64)):
        reg = BPRegressor((4,), max_epochs=2, random_state=0).fit(X_in, y.astype(float))
        assert reg.net_.dtype == dtype and reg.predict(X_in).dtype == dtype
        clf = BPClassifier((4,), max_epochs=2, random_state=0).fit(X_in, y)
        assert all(c.dtype == dtype for c in clf.coefs_ + clf.intercepts_)
    explicit = BPRegressor((4,), max_epochs=2, dtype="float32", random_state=0).fit(X, y.astype(float))
    assert explicit.net_.dtype == np.float32


@pytest.mark.parametrize("activation, factor", [("relu", 6.0), ("tanh", 6.0), ("logistic", 2.0)])
def test_init_auto_is_mlps_glorot_uniform(activation, factor):
    X, y = np.random.default_rng(0).normal(size=(40, 300)), np.arange(40) % 2
    est = BPClassifier((200,), activation=activation, max_epochs=1, learning_rate=1e-12, random_state=0).fit(X, y)
    for W in est.coefs_:
        bound = np.sqrt(factor / sum(W.shape))
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.95 * bound
        assert np.std(W) == pytest.approx(bound / np.sqrt(3), rel=0.15)   # U(-r, r) has std r/√3


def test_regressor_losses_and_poisson():
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'. Valid losses are: mse, squared_error, "
                                         r"quadratic, poisson, mae, huber$"):
        BPRegressor(loss="hinge").fit(np.ones((4, 1)), np.ones(4))
    with pytest.raises(ValueError, match="y >= 0"):
        BPRegressor(loss="poisson").fit(np.ones((4, 1)), [1.0, -1.0, 0.0, 2.0])
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(400, 2))
    y = rng.poisson(np.exp(1 + X[:, 0] - X[:, 1]))
    reg = BPRegressor((8,), loss="poisson", learning_rate=1e-2, max_epochs=60, random_state=0).fit(X, y)
    assert isinstance(reg.loss_function_, bp.Poisson)
    pred = reg.predict(X)
    assert (pred > 0).all()
    np.testing.assert_allclose(pred, np.exp(reg.net_.predict(X)).ravel(), rtol=1e-12)
    assert np.corrcoef(pred, np.exp(1 + X[:, 0] - X[:, 1]))[0, 1] > 0.95


def test_alpha_changes_the_fit_and_weight_decay_is_the_optimisers():
    X, y = np.random.default_rng(0).normal(size=(60, 5)), np.arange(60) % 2
    kw = dict(hidden_layer_sizes=(8,), max_epochs=20, tol=None, random_state=0)
    norms = [sum(np.sum(W ** 2) for W in BPClassifier(**kw, alpha=a).fit(X, y).coefs_) for a in (0.0, 1.0, 10.0)]
    assert norms[0] > norms[1] > norms[2]
    assert BPClassifier(**kw, weight_decay=0.1).fit(X, y).optimizer_.get_config() != \
        BPClassifier(**kw).fit(X, y).optimizer_.get_config()
