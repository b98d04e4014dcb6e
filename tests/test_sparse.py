"""Sparse input (scipy.sparse): the same numbers as dense input, without ever densifying X.

The first Dense layer computes ``Z = A @ W.T`` and BP4 ``∂C/∂W = (A.T @ δ).T`` as
sparse products; ``fit`` gathers each batch's rows from the CSR matrix; ``predict``
works in chunks. A 50 000 × 100 000 matrix at 0.1 % density trains in a memory
proportional to its non-zeros.
"""

import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import bprop as bp
from bprop._validation import check_X


def _sparse_data(rng, n=60, d=30, density=0.15):
    X = sp.random(n, d, density=density, format="csr", random_state=np.random.RandomState(0), dtype=np.float64)
    y = (np.asarray(X.sum(axis=1)).ravel() > np.median(np.asarray(X.sum(axis=1)))).astype(int)
    return X, y


def _net(d, seed=0, dtype="float64", batchnorm=False):
    layers = [bp.Dense(d, 8), bp.Tanh()]
    if batchnorm:
        layers = [bp.Dense(d, 8, bias=False), bp.BatchNorm(8), bp.Tanh()]
    return bp.Sequential(layers + [bp.Dense(8, 2)], seed=seed, dtype=dtype)


def test_dense_layer_sparse_forward_and_bp4_equal_dense(rng):
    X, _ = _sparse_data(rng)
    for fmt in ("csr", "csc", "coo"):
        layer = _net(X.shape[1]).layers[0]
        A = check_X(X.asformat(fmt), None, np.float64)
        assert sp.isspmatrix_csr(A) or A.format == "csr"
        Z_sparse = layer.forward(A, training=True).copy()
        delta = rng.normal(size=Z_sparse.shape)
        layer.backward(delta, need_input_grad=False)
        dW_sparse, db_sparse = layer.grads["W"].copy(), layer.grads["b"].copy()
        Z_dense = layer.forward(X.toarray(), training=True)
        layer.backward(delta, need_input_grad=False)
        np.testing.assert_allclose(Z_sparse, Z_dense, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(dW_sparse, delta.T @ X.toarray(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(dW_sparse, layer.grads["W"], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(db_sparse, layer.grads["b"])


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_on_sparse_equals_fit_on_dense(rng, shuffle, batchnorm):
    X, y = _sparse_data(rng)
    results = []
    for data in (X, X.toarray()):
        net = _net(X.shape[1], batchnorm=batchnorm)
        h = net.fit(data, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2), epochs=4, batch_size=16,
                    shuffle=shuffle, validation_split=0.2, alpha=1e-3, verbose=0)
        results.append((net, h))
    (ns, hs), (nd, hd) = results
    for k in nd.params:
        np.testing.assert_allclose(ns.params[k], nd.params[k], rtol=1e-8, atol=1e-10, err_msg=k)
    np.testing.assert_allclose(hs["loss"], hd["loss"], rtol=1e-10)
    np.testing.assert_allclose(hs["val_loss"], hd["val_loss"], rtol=1e-9)
    np.testing.assert_allclose(ns.predict(X), nd.predict(X.toarray()), rtol=1e-8, atol=1e-10)


def test_predict_in_chunks_equals_one_pass(monkeypatch, rng):
    X, y = _sparse_data(rng, n=50)
    net = _net(X.shape[1])
    whole = net.predict(X)
    monkeypatch.setattr(bp.network, "PREDICT_CHUNK", 7)
    # equal up to the last bit that BLAS may round differently for a one-row chunk (row 49)
    np.testing.assert_allclose(net.predict(X.tocsc()), whole, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(whole, net.predict(X.toarray()), rtol=1e-13, atol=1e-15)


def test_trace_and_gradcheck_accept_sparse(rng):
    X, y = _sparse_data(rng, n=12, d=9, density=0.3)
    net = _net(9)
    records = net.trace(X, y, bp.CrossEntropy())
    dense = net.trace(X.toarray(), y, bp.CrossEntropy())
    np.testing.assert_allclose(records[0]["dW"], dense[0]["dW"], rtol=1e-13, atol=1e-15)
    result = bp.gradcheck(net, X, y, bp.CrossEntropy())
    assert result.passed, str(result)


def test_sparse_errors_name_the_problem():
    X = sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 2.0]]))
    net = bp.Sequential([bp.Dense(2, 1)], dtype="float64")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        net.predict(X)
    with pytest.raises(ValueError, match="first layer is Dense"):
        bp.Sequential([bp.Tanh(), bp.Dense(2, 1)]).predict(sp.csr_matrix(np.eye(2)))
    with pytest.raises(ValueError, match="expects 2 input features, got 3"):
        net.predict(sp.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match="empty"):
        net.predict(sp.csr_matrix((0, 2)))


def test_import_bprop_does_not_import_scipy():
    code = ("import sys, numpy as np, bprop; net = bprop.Sequential([bprop.Dense(2, 1)]);"
            "net.fit(np.ones((4, 2)), np.ones(4), loss='mse', optimizer=bprop.optim.SGD(0.1), epochs=1, verbose=0);"
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _big_sparse(n, d, per_row, seed=0):
    """An n × d CSR float32 matrix with ``per_row`` non-zeros in every row, built directly."""
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.integers(0, d, size=(n, per_row), dtype=np.int32), axis=1).ravel()
    data = rng.random(n * per_row, dtype=np.float32)
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32)
    return sp.csr_matrix((data, cols, indptr), shape=(n, d))


def test_50k_by_100k_at_0_1_percent_trains_in_memory_proportional_to_the_nonzeros():
    n, d, per_row = 50_000, 100_000, 100               # 0.1 % density: 5 million non-zeros
    X = _big_sparse(n, d, per_row)
    y = np.random.default_rng(1).integers(0, 2, size=n)
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes         # 40 MB; dense would be 20 GB
    net = bp.Sequential([bp.Dense(d, 8), bp.ReLU(), bp.Dense(8, 2)], seed=0, dtype="float32")
    param_bytes = sum(p.nbytes for p in net.params.values())            # 3.2 MB; Adam keeps 2 more copies
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        history = net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2), epochs=1,
                          batch_size=2000, validation_split=0.1, verbose=0)
        out = net.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    assert out.shape == (n, 2) and np.isfinite(history["loss"][0])
    # The training/validation split copies X's non-zeros once (CSR row selection); each batch
    # gathers 2 000 rows' worth; the first layer's gradient is d × 8. Nothing scales with n × d.
    budget = 2.5 * x_bytes + 12 * param_bytes
    assert peak < budget, f"peak {peak / 2**20:.0f} MiB, budget {budget / 2**20:.0f} MiB"
    assert peak < 0.01 * n * d * 4      # under 1 % of the dense float32 matrix
    assert elapsed < 60, elapsed


# -------------------------------------------------------------------------------- estimators
sklearn = pytest.importorskip("sklearn")


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok"])
def test_estimators_accept_every_sparse_format(fmt, rng):
    from bprop.sklearn import BPClassifier, BPRegressor

    X, y = _sparse_data(rng)
    kw = dict(hidden_layer_sizes=(6,), max_epochs=5, tol=None, random_state=0)
    dense = BPClassifier(**kw).fit(X.toarray(), y)
    sparse = BPClassifier(**kw).fit(X.asformat(fmt), y)
    np.testing.assert_allclose(sparse.predict_proba(X.asformat(fmt)), dense.predict_proba(X.toarray()),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X.toarray()))
    reg = BPRegressor(**kw).fit(X.asformat(fmt), y.astype(float))
    np.testing.assert_allclose(reg.predict(X), BPRegressor(**kw).fit(X.toarray(), y.astype(float)).predict(
        X.toarray()), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_never_densifies(monkeypatch, rng):
    from bprop.sklearn import BPClassifier

    X, y = _sparse_data(rng)

    def refuse(self, *args, **kwargs):
        raise AssertionError("X was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    clf = BPClassifier((4,), max_epochs=3, early_stopping=True, validation_fraction=0.2, random_state=0)
    clf.fit(X, y)
    assert clf.predict(X).shape == (X.shape[0],)
