"""Sequential: parameter dicts, live arrays, trace, dtype, summary, seeds."""

import numpy as np
import pytest

import bprop as bp


def make_net(seed=0, dtype="float64"):
    return bp.Sequential([bp.Dense(4, 6), bp.ReLU(), bp.BatchNorm(6), bp.Dropout(0.3),
                          bp.Dense(6, 5, bias=False), bp.Tanh(), bp.Dense(5, 3)],
                         seed=seed, dtype=dtype)


def data(rng, n=10):
    return rng.normal(size=(n, 4)), rng.integers(0, 3, size=n)


def snapshot(net):
    return {name: {k: v.copy() for k, v in getattr(net, name).items()}
            for name in ("params", "buffers", "grads")}


def assert_same_state(a, b):
    for name in ("params", "buffers", "grads"):
        assert set(a[name]) == set(b[name]), name
        for key in a[name]:
            np.testing.assert_array_equal(a[name][key], b[name][key], err_msg=f"{name}[{key}]")


# --------------------------------------------------------------------------- dict keys


def test_keys_and_shapes():
    net = make_net()
    assert list(net.params) == ["0.W", "0.b", "2.gamma", "2.beta", "4.W", "6.W", "6.b"]
    assert list(net.buffers) == ["2.running_mean", "2.running_var"]
    assert set(net.grads) == set(net.params)
    shapes = {"0.W": (6, 4), "0.b": (6,), "2.gamma": (6,), "2.beta": (6,), "4.W": (5, 6),
              "6.W": (3, 5), "6.b": (3,)}
    for key, shape in shapes.items():
        assert net.params[key].shape == shape
        assert net.grads[key].shape == shape
    # BatchNorm starts as the identity transform with torch's buffers.
    np.testing.assert_array_equal(net.params["2.gamma"], np.ones(6))
    np.testing.assert_array_equal(net.params["2.beta"], np.zeros(6))
    np.testing.assert_array_equal(net.buffers["2.running_mean"], np.zeros(6))
    np.testing.assert_array_equal(net.buffers["2.running_var"], np.ones(6))
    assert net.n_params == 24 + 6 + 6 + 6 + 30 + 15 + 3


def test_params_are_the_live_arrays(rng):
    net = make_net()
    X, _ = data(rng)
    out = net.predict(X)
    net.params["6.W"][...] = 0.0
    net.params["6.b"][...] = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(net.predict(X), np.tile([1.0, 2.0, 3.0], (len(X), 1)))
    assert not np.array_equal(net.predict(X), out)
    # The layer holds the very same array object.
    assert net.params["0.W"] is net.layers[0].params["W"]
    assert net.buffers["2.running_var"] is net.layers[2].buffers["running_var"]


def test_buffers_are_live(rng):
    net = make_net()
    X, _ = data(rng)
    before = net.predict(X)
    net.buffers["2.running_var"][...] = 4.0  # eval mode divides by √(var + eps)
    assert not np.allclose(net.predict(X), before)


def test_grads_are_live_and_preallocated(rng):
    net = make_net()
    X, y = data(rng)
    ids = {key: id(g) for key, g in net.grads.items()}
    held = dict(net.grads)  # an optimiser may hold these references
    net.backprop(X, y, bp.CrossEntropy())
    first = {k: g.copy() for k, g in held.items()}
    assert all(np.any(g != 0) for g in first.values())
    assert {key: id(g) for key, g in net.grads.items()} == ids
    X2, y2 = data(rng)
    net.backprop(X2, y2, bp.CrossEntropy())
    # Overwritten (not accumulated) in the very same arrays.
    assert any(not np.array_equal(held[k], first[k]) for k in held)
    for key in held:
        assert net.grads[key] is held[key]


def test_backprop_overwrites_not_accumulates(rng):
    net = make_net()
    X, y = data(rng)
    state = net.rng.bit_generator.state
    net.backprop(X, y, bp.CrossEntropy())
    once = {k: g.copy() for k, g in net.grads.items()}
    # Same batch, same dropout mask, same parameters -> the same gradients, not twice them.
    net.rng.bit_generator.state = state
    net.backprop(X, y, bp.CrossEntropy())
    for key in once:
        np.testing.assert_allclose(net.grads[key], once[key], rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- forward / predict


def test_predict_is_eval_mode(rng):
    net = make_net()
    X, _ = data(rng)
    np.testing.assert_array_equal(net.predict(X), net.forward(X))
    np.testing.assert_array_equal(net.predict(X), net.forward(X, training=False))
    # eval mode is deterministic; training mode draws dropout masks
    assert not np.array_equal(net.forward(X, training=True), net.forward(X, training=True))
    np.testing.assert_array_equal(net.predict(X), net.predict(X))


def test_eval_forward_does_not_touch_buffers(rng):
    net = make_net()
    X, _ = data(rng)
    before = snapshot(net)
    net.predict(X)
    net.forward(X, training=False)
    assert_same_state(before, snapshot(net))


def test_backprop_updates_running_stats_once(rng):
    net = make_net()
    X, y = data(rng)
    net.backprop(X, y, bp.CrossEntropy())
    h = X @ net.params["0.W"].T + net.params["0.b"]
    h = np.maximum(h, 0)
    np.testing.assert_allclose(net.buffers["2.running_mean"], 0.1 * h.mean(0), rtol=1e-12)
    np.testing.assert_allclose(net.buffers["2.running_var"], 0.9 + 0.1 * h.var(0, ddof=1),
                               rtol=1e-12)


def test_backprop_returns_the_loss(rng):
    net = bp.Sequential([bp.Dense(4, 3), bp.Tanh(), bp.Dense(3, 3)], seed=0, dtype="float64")
    X, y = data(rng)
    C = net.backprop(X, y, bp.CrossEntropy())
    assert isinstance(C, float)
    assert C == pytest.approx(bp.CrossEntropy()(net.predict(X), y), rel=1e-14)


# --------------------------------------------------------------------------- trace


def test_trace_leaves_the_network_unchanged(rng):
    net = make_net(seed=5)
    twin = make_net(seed=5)
    X, y = data(rng)
    net.backprop(X, y, bp.CrossEntropy())  # non-trivial grads and buffers
    twin.backprop(X, y, bp.CrossEntropy())
    before = snapshot(net)

    records = net.trace(X, y, bp.CrossEntropy())
    assert_same_state(before, snapshot(net))
    assert len(records) == 3

    # A following call gives what it would have given without the trace.
    X2, y2 = data(rng)
    assert net.backprop(X2, y2, bp.CrossEntropy()) == twin.backprop(X2, y2, bp.CrossEntropy())
    assert_same_state(snapshot(twin), snapshot(net))
    np.testing.assert_array_equal(net.forward(X2, training=True), twin.forward(X2, training=True))


def test_trace_records_are_copies(rng):
    net = make_net()
    X, y = data(rng)
    records = net.trace(X, y, bp.CrossEntropy())
    net.backprop(X, y, bp.CrossEntropy())
    saved = [{k: v.copy() for k, v in r.items() if isinstance(v, np.ndarray)} for r in records]
    net.backprop(*data(rng), bp.CrossEntropy())  # internal caches get overwritten
    for rec, old in zip(records, saved):
        for key in ("a_in", "z", "a_out", "delta", "dW", "db"):
            if old.get(key) is not None:
                np.testing.assert_array_equal(rec[key], old[key])
    assert not any(rec["dW"] is g for rec in records for g in net.grads.values())


def test_trace_obeys_bp1_to_bp4():
    rng = np.random.default_rng(7)
    net = bp.Sequential([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 5), bp.Sigmoid(),
                         bp.Dense(5, 3)], seed=1, dtype="float64")
    X, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 3))
    recs = net.trace(X, y, bp.MSE())
    for r in recs:
        assert {"a_in", "z", "a_out", "delta", "dW", "db"} <= set(r)
    Ws = [net.params["0.W"], net.params["2.W"], net.params["4.W"]]
    bs = [net.params["0.b"], net.params["2.b"], net.params["4.b"]]
    np.testing.assert_array_equal(recs[0]["a_in"], X)
    for r, W, b in zip(recs, Ws, bs):
        np.testing.assert_allclose(r["z"], r["a_in"] @ W.T + b, rtol=1e-13)      # Z = A W^T + b
        np.testing.assert_allclose(r["dW"], r["delta"].T @ r["a_in"], rtol=1e-13)  # BP4
        np.testing.assert_allclose(r["db"], r["delta"].sum(0), rtol=1e-13)          # BP3
    np.testing.assert_allclose(recs[0]["a_out"], np.tanh(recs[0]["z"]), rtol=1e-13)
    np.testing.assert_allclose(recs[1]["a_out"], 1 / (1 + np.exp(-recs[1]["z"])), rtol=1e-13)
    np.testing.assert_array_equal(recs[1]["a_in"], recs[0]["a_out"])
    np.testing.assert_array_equal(recs[2]["a_in"], recs[1]["a_out"])
    np.testing.assert_allclose(recs[2]["a_out"], net.predict(X), rtol=1e-13)
    # BP1 (identity output, MSE): δ_L = (a − y)/n
    np.testing.assert_allclose(recs[2]["delta"], (recs[2]["a_out"] - y) / len(X), rtol=1e-12)
    # BP2: δ_l = (δ_{l+1} @ W_{l+1}) ⊙ σ'(Z_l)
    s = recs[1]["a_out"]
    np.testing.assert_allclose(recs[1]["delta"], (recs[2]["delta"] @ Ws[2]) * s * (1 - s),
                               rtol=1e-12)
    t = recs[0]["a_out"]
    np.testing.assert_allclose(recs[0]["delta"], (recs[1]["delta"] @ Ws[1]) * (1 - t**2),
                               rtol=1e-12)
    # trace's dW/db are backprop's gradients
    net.backprop(X, y, bp.MSE())
    for r, i in zip(recs, (0, 2, 4)):
        np.testing.assert_allclose(r["dW"], net.grads[f"{i}.W"], rtol=1e-13)
        np.testing.assert_allclose(r["db"], net.grads[f"{i}.b"], rtol=1e-13)


def test_trace_without_bias_and_with_batchnorm(rng):
    net = make_net()
    X, y = data(rng)
    recs = net.trace(X, y, bp.CrossEntropy())
    # a_out of the first Dense is the input of the next Dense (after ReLU/BN/Dropout)
    np.testing.assert_array_equal(recs[1]["a_in"], recs[0]["a_out"])
    assert recs[0]["a_out"].shape == (10, 6)
    assert recs[-1]["a_out"].shape == (10, 3)


# --------------------------------------------------------------------------- dtype


def test_float32_is_the_default_end_to_end(rng):
    net = bp.Sequential([bp.Dense(4, 6), bp.ReLU(), bp.BatchNorm(6), bp.Dense(6, 3)], seed=0)
    for group in (net.params, net.grads, net.buffers):
        for key, arr in group.items():
            assert arr.dtype == np.float32, key
    X, y = data(rng)  # float64 input is accepted and cast
    assert net.forward(X).dtype == np.float32
    assert net.forward(X, training=True).dtype == np.float32
    assert net.predict(X.astype(np.float32)).dtype == np.float32
    C = net.backprop(X, y, bp.CrossEntropy())
    assert np.isfinite(C)
    for group in (net.params, net.grads, net.buffers):
        for key, arr in group.items():
            assert arr.dtype == np.float32, key
    for rec in net.trace(X, y, bp.CrossEntropy()):
        for key in ("a_in", "z", "a_out", "delta", "dW", "db"):
            assert rec[key].dtype == np.float32, key
    # float32 agrees with float64 to single precision
    net64 = bp.Sequential([bp.Dense(4, 6), bp.ReLU(), bp.BatchNorm(6), bp.Dense(6, 3)], seed=0,
                          dtype="float64")
    for key in net.params:
        net64.params[key][...] = net.params[key]
    for key in net.buffers:
        net64.buffers[key][...] = net.buffers[key]
    np.testing.assert_allclose(net.predict(X), net64.predict(X), rtol=1e-4, atol=1e-5)


def test_float64_network(rng):
    net = make_net(dtype="float64")
    X, _ = data(rng)
    assert net.predict(X.astype(np.float32)).dtype == np.float64


# --------------------------------------------------------------------------- summary / repr


def test_summary_lists_layers_and_parameter_counts():
    net = bp.Sequential([bp.Dense(7, 5), bp.ReLU(), bp.BatchNorm(5), bp.Dropout(0.1),
                         bp.Dense(5, 3), bp.Softmax()], seed=0)
    text = net.summary()
    assert isinstance(text, str)
    for name in ("Dense", "ReLU", "BatchNorm", "Dropout", "Softmax"):
        assert name in text
    for count in ("40", "10", "18", "68"):  # 7*5+5, 2*5, 5*3+3, total
        assert count in text
    assert net.n_params == 68
    assert text.index("ReLU") < text.index("BatchNorm") < text.index("Dropout")


def test_repr():
    net = bp.Sequential([bp.Dense(3, 2, bias=False), bp.LeakyReLU(slope=0.2)], seed=0)
    text = repr(net)
    assert "Sequential" in text and "Dense" in text and "LeakyReLU" in text
    assert "3" in text and "2" in text


# --------------------------------------------------------------------------- seeds


def test_seed_reproducibility(rng):
    X, y = data(rng)
    a, b, c = make_net(seed=42), make_net(seed=42), make_net(seed=43)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["0.W"], c.params["0.W"])
    # The same generator drives dropout: equal seeds -> equal masks -> equal gradients.
    for _ in range(2):
        assert a.backprop(X, y, bp.CrossEntropy()) == b.backprop(X, y, bp.CrossEntropy())
        for key in a.grads:
            np.testing.assert_array_equal(a.grads[key], b.grads[key])


def test_seed_none_gives_fresh_entropy():
    a = bp.Sequential([bp.Dense(20, 20)])
    b = bp.Sequential([bp.Dense(20, 20)])
    assert not np.array_equal(a.params["0.W"], b.params["0.W"])


def test_dropout_is_inverted_and_scaled(rng):
    net = bp.Sequential([bp.Dropout(0.25)], seed=0, dtype="float64")
    X = np.ones((400, 50))
    out = net.forward(X, training=True)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-15)
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_array_equal(net.forward(X), X)  # identity in eval mode


def test_joblib_round_trip_keeps_live_arrays():
    joblib = pytest.importorskip("joblib")
    import io

    net = bp.Sequential([bp.Dense(3, 2), bp.BatchNorm(2)], seed=0)
    buf = io.BytesIO()
    joblib.dump(net, buf)
    buf.seek(0)
    loaded = joblib.load(buf)
    assert loaded.params["0.W"] is loaded.layers[0].params["W"]
    assert loaded.grads["0.W"] is loaded.layers[0].grads["W"]
    assert loaded.buffers["1.running_mean"] is loaded.layers[1].buffers["running_mean"]
