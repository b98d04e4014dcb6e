"""BPClassifier / BPRegressor inside scikit-learn's tools: ensembles, calibration, model
selection, inspection, cloning and sparse column transformers."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import BaggingClassifier, VotingClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.inspection import permutation_importance
from sklearn.model_selection import HalvingGridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bprop.sklearn import BPClassifier, BPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# batches of 32: on iris batch_size="auto" is the whole training set, one step an epoch
FAST = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, batch_size=32, max_epochs=40, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_bagging_out_of_bag_score(iris):
    X, y = iris
    # 10 bootstrap samples of half the rows: every row is out of bag at least once
    bag = BaggingClassifier(BPClassifier(**FAST), n_estimators=10, max_samples=0.5, oob_score=True,
                            random_state=0).fit(X, y)
    assert 0.85 < bag.oob_score_ <= 1.0
    assert bag.oob_decision_function_.shape == (len(X), 3)
    np.testing.assert_allclose(bag.oob_decision_function_.sum(axis=1), 1.0, rtol=1e-10)


def test_soft_voting_averages_probabilities(iris):
    X, y = iris
    a, b = BPClassifier(**FAST), BPClassifier(**{**FAST, "random_state": 1, "activation": "tanh"})
    vote = VotingClassifier([("a", a), ("b", b)], voting="soft").fit(X, y)
    fitted = vote.named_estimators_
    expected = (fitted["a"].predict_proba(X) + fitted["b"].predict_proba(X)) / 2
    np.testing.assert_allclose(vote.predict_proba(X), expected, rtol=1e-12)
    assert vote.score(X, y) > 0.9


def test_cross_val_score_in_parallel_equals_sequential(iris):
    X, y = iris
    est = BPClassifier(**FAST)
    one = cross_val_score(est, X, y, cv=3, n_jobs=1)
    two = cross_val_score(est, X, y, cv=3, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    assert one.mean() > 0.85


def test_permutation_importance_finds_the_informative_feature():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = 3 * X[:, 2] + 0.1 * rng.normal(size=300)
    reg = BPRegressor((16,), learning_rate=1e-2, max_epochs=60, random_state=0).fit(X, y)
    result = permutation_importance(reg, X, y, n_repeats=3, random_state=0)
    assert np.argmax(result.importances_mean) == 2
    assert result.importances_mean[2] > 10 * np.max(np.delete(result.importances_mean, 2))


def test_calibrated_classifier(binary):
    X, y = binary
    cal = CalibratedClassifierCV(BPClassifier(**FAST), cv=3, method="sigmoid").fit(X, y)
    P = cal.predict_proba(X)
    assert P.shape == (len(X), 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert cal.score(X, y) > 0.85


def test_halving_grid_search(binary):
    X, y = binary
    search = HalvingGridSearchCV(BPClassifier(**FAST), {"learning_rate": [1e-4, 1e-2], "alpha": [1e-4, 1e-1]},
                                 cv=3, factor=2, random_state=0).fit(X, y)
    assert search.best_params_["learning_rate"] == 1e-2     # 40 epochs at 1e-4 barely move
    assert search.best_estimator_.score(X, y) > 0.85


def test_clone_after_fit_gives_an_unfitted_equal_estimator(iris):
    X, y = iris
    est = BPClassifier(**FAST, alpha=1e-3, schedule="adaptive").fit(X, y)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "net_") and not hasattr(c, "n_iter_")
    np.testing.assert_array_equal(c.fit(X, y).predict_proba(X), est.predict_proba(X))


def test_column_transformer_with_sparse_one_hot_on_a_data_frame():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"city": rng.choice(["paris", "lyon", "nice", "lille"], size=n),
                          "plan": rng.choice(["a", "b", "c"], size=n),
                          "age": rng.normal(40, 10, size=n)})
    y = ((frame["city"] == "nice") | (frame["plan"] == "c")).astype(int).to_numpy()
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["city", "plan"]),        # sparse output (default)
                             ("num", StandardScaler(), ["age"])], sparse_threshold=1.0)
    assert hasattr(pre.fit_transform(frame), "tocsr")                           # the input really is sparse
    pipe = make_pipeline(pre, BPClassifier(**FAST)).fit(frame, y)
    assert pipe.score(frame, y) > 0.95
    np.testing.assert_array_equal(pipe.predict(frame.iloc[:5]), pipe[-1].predict(pre.transform(frame.iloc[:5])))
