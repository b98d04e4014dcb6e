"""The fast path (bprop.kernels) gives the numbers of the readable reference path.

Every activation, loss and optimiser is run both ways — through the whole
training step (``net._backprop``, ``optimizer.step``, ``net.fit``) and kernel
by kernel — with each available backend (numba, and the pure-NumPy fallback),
in float64 (to 1e-12) and float32 (to 1e-5). No timing here: speed is
measured by ``benchmarks/train_speed.py``.
"""

import subprocess
import sys

import numpy as np
import pytest

import bprop as bp
from bprop import kernels
from bprop.kernels import _numpy as npk
from bprop.kernels.optim import plan

BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not kernels.numba_available(), reason="numba is not installed (the NumPy fallback is tested)"))]
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}

ACTIVATIONS = [bp.Identity, bp.Sigmoid, bp.Tanh, bp.ReLU, lambda: bp.LeakyReLU(0.1), lambda: bp.ELU(0.7),
               bp.GELU, lambda: bp.GELU(approximate="tanh"), bp.Softmax]
ACT_IDS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "softmax"]


@pytest.fixture(autouse=True)
def _restore_mode():
    old = kernels.get_mode()
    yield
    kernels.set_mode(old)


def _step(net, X, Y, loss, mode):
    """One _backprop in ``mode``: (loss, output copy, grads copies)."""
    with kernels.mode(mode):
        c, out = net._backprop(X, Y, loss)
    return c, out.copy(), {k: g.copy() for k, g in net.grads.items()}


def _assert_same(a, b, dtype):
    np.testing.assert_allclose(a, b, **TOL[dtype])


# ------------------------------------------------------------------ whole training step
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make_act", ACTIVATIONS, ids=ACT_IDS)
def test_backprop_fast_equals_reference_for_every_activation(make_act, dtype, backend, rng):
    net = bp.Sequential([bp.Dense(5, 7), make_act(), bp.Dense(7, 4), make_act()], seed=1, dtype=dtype)
    X = rng.standard_normal((9, 5)).astype(dtype) * 2
    Y = rng.standard_normal((9, 4)).astype(dtype)
    c0, out0, g0 = _step(net, X, Y, bp.MSE(), "off")
    c1, out1, g1 = _step(net, X, Y, bp.MSE(), backend)
    _assert_same(c1, c0, dtype)
    _assert_same(out1, out0, dtype)
    for k in g0:
        _assert_same(g1[k], g0[k], dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", [bp.MSE(), bp.CrossEntropy(), bp.BinaryCrossEntropy()], ids=lambda l: l.name)
def test_backprop_fast_equals_reference_for_every_loss(loss, dtype, backend, rng):
    net = bp.Sequential([bp.Dense(6, 8), bp.ReLU(), bp.BatchNorm(8), bp.Dropout(0.3), bp.Dense(8, 3)],
                        seed=2, dtype=dtype)
    X = rng.standard_normal((10, 6)) * 3
    y = rng.integers(0, 3, 10) if loss.name == "cross_entropy" else rng.random((10, 3)).round()
    X, Y, loss = net.prepare(X, y, loss)
    state = net.rng.bit_generator.state
    c0, out0, g0 = _step(net, X, Y, loss, "off")
    net.rng.bit_generator.state = state                # the same dropout mask
    c1, out1, g1 = _step(net, X, Y, loss, backend)
    _assert_same(c1, c0, dtype)
    _assert_same(out1, out0, dtype)
    for k in g0:
        _assert_same(g1[k], g0[k], dtype)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_handles_changing_batch_sizes_and_weights(backend, rng):
    net = bp.Sequential([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 3)], seed=0, dtype="float64")
    loss = bp.CrossEntropy()
    for n in (8, 3, 8, 1):
        X, Y, _ = net.prepare(rng.standard_normal((n, 4)), rng.integers(0, 3, n), loss)
        w = rng.random(n) + 0.5
        for weights in (None, w):
            with kernels.mode("off"):
                c0, _ = net._backprop(X, Y, loss, weights)
            g0 = {k: g.copy() for k, g in net.grads.items()}
            with kernels.mode(backend):
                c1, _ = net._backprop(X, Y, loss, weights)
            assert c1 == pytest.approx(c0, rel=1e-12)
            for k in g0:
                _assert_same(net.grads[k], g0[k], "float64")


def test_public_methods_return_fresh_arrays(rng):
    """Buffers are reused only inside a training step: forward/predict results never alias."""
    net = bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 2)], seed=0)
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    net.backprop(X1, rng.standard_normal((5, 2)), "mse")
    a = net.forward(X1, training=True)
    a_copy = a.copy()
    net.forward(X2, training=True)
    net.backprop(X2, rng.standard_normal((5, 2)), "mse")
    np.testing.assert_array_equal(a, a_copy)
    assert all(getattr(layer, "_ws", None) is None for layer in net.layers)


def test_copy_of_a_trained_net_does_not_share_buffers(rng):
    net = bp.Sequential([bp.Dense(3, 4), bp.Sigmoid(), bp.Dense(4, 2)], seed=0)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    net.backprop(X, y, "mse")
    twin = net.copy()
    net.backprop(X * 2, y, "mse")
    twin.backprop(X, y, "mse")
    with kernels.mode("off"):
        ref = net.copy()
        ref.load_state_dict(twin.state_dict())
        ref.backprop(X, y, "mse")
    for k in ref.grads:
        np.testing.assert_allclose(twin.grads[k], ref.grads[k], rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ kernels one by one
def _backend_module(backend):
    with kernels.mode(backend):
        return kernels.backend()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_kernels_match_reference_formulas(backend, dtype, rng):
    k = _backend_module(backend)
    Z = (rng.standard_normal((7, 11)) * 3).astype(dtype)
    Z[0, :4] = [1e4, -1e4, 0.0, -0.0]
    dA = rng.standard_normal(Z.shape).astype(dtype)
    T = Z.dtype.type
    out = np.empty_like(Z)
    cases = {
        "relu": (k.relu_forward(Z, out.copy()), np.maximum(Z, 0)),
        "sigmoid": (k.sigmoid_forward(Z, out.copy()), bp.activations.stable_sigmoid(Z)),
        "tanh": (k.tanh_forward(Z, out.copy()), np.tanh(Z)),
        "leaky": (k.leaky_relu_forward(Z, T(0.1), out.copy()), np.where(Z > 0, Z, Z * T(0.1))),
        "elu": (k.elu_forward(Z, T(0.7), out.copy()), np.where(Z > 0, Z, 0.7 * np.expm1(np.minimum(Z, 0)))),
        "softmax": (k.softmax_forward(Z, out.copy()), bp.activations.stable_softmax(Z)),
    }
    A_sig, A_tanh, A_relu = cases["sigmoid"][1], cases["tanh"][1], cases["relu"][1]
    A_elu, A_soft = cases["elu"][1].astype(dtype), cases["softmax"][1]
    cases.update({
        "relu'": (k.relu_backward(dA, A_relu, out.copy()), dA * (A_relu > 0)),
        "sigmoid'": (k.sigmoid_backward(dA, A_sig, out.copy()), dA * A_sig * (1.0 - A_sig)),
        "tanh'": (k.tanh_backward(dA, A_tanh, out.copy()), dA * (1.0 - A_tanh * A_tanh)),
        "leaky'": (k.leaky_relu_backward(dA, Z, T(0.1), out.copy()), np.where(Z > 0, dA, dA * T(0.1))),
        "elu'": (k.elu_backward(dA, Z, A_elu, T(0.7), out.copy()), np.where(Z > 0, dA, dA * (A_elu + 0.7))),
        "softmax'": (k.softmax_backward(dA, A_soft, out.copy()),
                     A_soft * (dA - np.sum(dA * A_soft, axis=1, keepdims=True))),
    })
    for name, (got, want) in cases.items():
        assert got.dtype == np.dtype(dtype), name
        assert np.all(np.isfinite(got)), name
        np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", [bp.MSE(), bp.CrossEntropy(), bp.BinaryCrossEntropy()], ids=lambda l: l.name)
def test_loss_kernels_match_value_and_grad(loss, dtype, backend, rng):
    Z = (rng.standard_normal((12, 5)) * 4).astype(dtype)
    Z[0, 0], Z[1, 1] = 1e4, -1e4                      # stable: finite, no warnings
    if loss.name == "cross_entropy":
        Y = loss.prepare_targets(rng.integers(0, 5, 12), 5, dtype)
    else:
        Y = rng.random((12, 5)).round().astype(dtype)
    c0, G0 = loss.value_and_grad(Z.copy(), Y)
    with kernels.mode(backend):
        G = np.empty_like(Z)
        c1, G1 = loss._value_and_grad_into(Z, Y, None, G)
    assert G1 is G and G.dtype == np.dtype(dtype)
    assert isinstance(c1, float) and np.isfinite(c1)
    assert c1 == pytest.approx(c0, rel=TOL[dtype]["rtol"])
    np.testing.assert_allclose(G1, G0, **TOL[dtype])


def test_numba_and_numpy_backends_agree_bit_for_bit_on_relu_and_adam(rng):
    if not kernels.numba_available():
        pytest.skip("numba is not installed")
    from bprop.kernels import _numba as nbk
    Z = rng.standard_normal((6, 9)).astype(np.float32)
    dA = rng.standard_normal(Z.shape).astype(np.float32)
    np.testing.assert_array_equal(nbk.relu_forward(Z, np.empty_like(Z)), npk.relu_forward(Z, np.empty_like(Z)))
    np.testing.assert_array_equal(nbk.relu_backward(dA, Z, np.empty_like(Z)),
                                  npk.relu_backward(dA, Z, np.empty_like(Z)))
    arrays = [rng.standard_normal(50).astype(np.float32) for _ in range(2)]
    results = []
    for k in (nbk, npk):
        p, g = arrays[0].copy(), arrays[1].copy()
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t in range(1, 4):
            s = k.adam_scalars(p.dtype, 1e-3, 0.9, 0.999, 1e-8, t, 0.0, False)
            k.adam_step(p, g, m, v, np.empty_like(p), np.empty_like(p), s)
        results.append((p, m, v))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ optimisers
OPTIMISERS = {
    "sgd": lambda: bp.optim.SGD(0.1),
    "sgd_wd": lambda: bp.optim.SGD(0.1, weight_decay=0.01),
    "momentum": lambda: bp.optim.SGD(0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda: bp.optim.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: bp.optim.RMSProp(0.01),
    "rmsprop_momentum": lambda: bp.optim.RMSProp(0.01, momentum=0.5, weight_decay=0.1),
    "adam": lambda: bp.optim.Adam(1e-2),
    "adam_wd": lambda: bp.optim.Adam(1e-2, betas=(0.5, 0.9), weight_decay=0.1),
    "adam_lerp_large_weight": lambda: bp.optim.Adam(1e-2, betas=(0.3, 0.9)),
    "adamw": lambda: bp.optim.AdamW(1e-2),
    "adam_schedule": lambda: bp.optim.Adam(bp.optim.ExponentialDecay(1e-2, 0.5)),
}


def _problem(dtype, rng):
    params = {"0.W": rng.standard_normal((4, 3)).astype(dtype), "0.b": rng.standard_normal(4).astype(dtype),
              "2.gamma": rng.standard_normal(4).astype(dtype)}
    grads = [{k: rng.standard_normal(p.shape).astype(dtype) for k, p in params.items()} for _ in range(4)]
    return params, grads


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_fused_optimiser_update_equals_transform_chain(name, dtype, backend, rng):
    params, grads = _problem(dtype, rng)
    ref_p = {k: v.copy() for k, v in params.items()}
    ref = OPTIMISERS[name]()
    fast = OPTIMISERS[name]()
    fast_p = {k: v.copy() for k, v in params.items()}
    fast._init(fast_p, grads[0])
    update = plan(fast.transforms, fast_p, grads[0])
    assert update is not None, f"{name}: chain not recognised"
    for step, g in enumerate(grads):
        with kernels.mode("off"):
            ref.step(ref_p, g)
        with kernels.mode(backend):
            update(fast_p, g, step, (fast._updates, fast._scratch))
        for k in ref_p:
            _assert_same(fast_p[k], ref_p[k], dtype)
    ref_state, fast_state = ref.state_dict()["arrays"], fast.state_dict()["arrays"]
    assert ref_state.keys() == fast_state.keys()
    for k in ref_state:
        _assert_same(fast_state[k], ref_state[k], dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_optimiser_step_is_the_same_on_both_paths(name, backend, rng):
    params, grads = _problem("float64", rng)
    runs = []
    for mode in ("off", backend):
        p = {k: v.copy() for k, v in params.items()}
        opt = OPTIMISERS[name]()
        with kernels.mode(mode):
            for g in grads:
                opt.step(p, g)
        runs.append(p)
    for k in params:
        _assert_same(runs[1][k], runs[0][k], "float64")


def test_unrecognised_chains_are_not_fused(rng):
    from bprop.optim import chain
    from bprop.optim.transforms import ClipByGlobalNorm, ScaleByAdam, ScaleByLearningRate, Trace
    params, grads = _problem("float64", rng)
    for ts in ([ClipByGlobalNorm(1.0), ScaleByAdam(), ScaleByLearningRate(0.1)],
               [ScaleByAdam(), Trace(0.9), ScaleByLearningRate(0.1)],
               [ScaleByAdam()]):
        opt = chain(*ts)
        opt._init(params, grads[0])
        assert plan(opt.transforms, params, grads[0]) is None


# ------------------------------------------------------------------ fit and import
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_gives_the_same_parameters_on_both_paths(backend, dtype, rng):
    X = rng.standard_normal((70, 6))
    y = rng.integers(0, 3, 70)
    nets = []
    for mode in ("off", backend):
        net = bp.Sequential([bp.Dense(6, 16), bp.ReLU(), bp.BatchNorm(16), bp.Dense(16, 8), bp.Tanh(),
                             bp.Dense(8, 3)], seed=3, dtype=dtype)
        with kernels.mode(mode):
            hist = net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2), epochs=3,
                           batch_size=16, verbose=0)
        nets.append((net, hist))
    (ref, h0), (fast, h1) = nets
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)   # 15 steps of float32 rounding
    for k in ref.params:
        np.testing.assert_allclose(fast.params[k], ref.params[k], **tol)
    np.testing.assert_allclose(h1["loss"], h0["loss"], **tol)


def test_mode_switch_validates_and_restores():
    old = kernels.get_mode()
    with pytest.raises(ValueError, match="kernel mode must be one of"):
        kernels.set_mode("fastest")
    with kernels.mode("off"):
        assert not kernels.enabled() and kernels.backend_name() == "off"
    assert kernels.get_mode() == old


def test_import_bprop_does_not_import_numba():
    code = "import sys, bprop; print('numba' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_workspace_reuses_arrays_per_shape():
    ws = kernels.Workspace()
    a = ws.get("Z", (4, 3), np.dtype("float32"))
    assert ws.get("Z", (4, 3), np.dtype("float32")) is a
    assert ws.get("Z", (2, 3), np.dtype("float32")) is not a
    assert ws.nbytes == (12 + 6) * 4


def test_fused_update_declines_non_contiguous_arrays(rng):
    params, grads = _problem("float64", rng)
    opt = bp.optim.Adam(1e-2)
    opt._init(params, grads[0])
    update = plan(opt.transforms, params, grads[0])
    before = {k: v.copy() for k, v in params.items()}
    g = dict(grads[1], **{"0.W": np.asfortranarray(grads[1]["0.W"])})
    assert update(params, g, 0, (opt._updates, opt._scratch)) is False
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert update(params, grads[1], 0, (opt._updates, opt._scratch)) is True


def test_pickled_net_keeps_training_on_the_fast_path(rng):
    import pickle
    net = bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 2)], seed=0, dtype="float64")
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net.backprop(X, y, "mse")
    twin = pickle.loads(pickle.dumps(net))
    assert all(len(w._arrays) == 0 for w in twin._workspaces)     # buffers are not pickled
    c = twin.backprop(X, y, "mse")
    with kernels.mode("off"):
        assert net.backprop(X, y, "mse") == pytest.approx(c, rel=1e-12)
    for k in net.grads:
        _assert_same(twin.grads[k], net.grads[k], "float64")


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copied_optimiser_updates_its_own_state(how, rng):
    import copy
    import pickle
    params, grads = _problem("float64", rng)
    opt = bp.optim.Adam(1e-2)
    opt.step(params, grads[0])
    twin_params = {k: v.copy() for k, v in params.items()}
    twin = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    before = opt.state_dict()["arrays"]
    twin.step(twin_params, grads[1])
    for k, v in opt.state_dict()["arrays"].items():
        np.testing.assert_array_equal(v, before[k])            # the original is untouched
    with kernels.mode("off"):
        opt.step(params, grads[1])
    for k in params:
        _assert_same(twin_params[k], params[k], "float64")
