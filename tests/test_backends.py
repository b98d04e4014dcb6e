"""Each compiled variant equals the NumPy formula it sits beside.

``Sequential(..., backend="numba")`` runs the one-pass loops written beside the
activations and losses; ``Adam/SGD/RMSProp(..., fused=True)`` the loops beside
the optimiser transforms. Both are checked against the NumPy default — layer
by layer, loss by loss, optimiser by optimiser, through a whole training step
and through ``fit`` — in float64 (to 1e-12) and float32 (to 1e-5). Also: the
buffers a layer reuses in training mode never leak into what public methods
return, and the choice is explicit (validated arguments, no global switch).
No timing here: speed is measured by ``benchmarks/train_speed.py``.
"""

import copy
import os
import pickle
import math
import subprocess
import sys

import numpy as np
import pytest

import bprop as bp
from bprop import _jit

REQUIRE_NUMBA = os.environ.get("BPROP_REQUIRE_TORCH") == "1"   # CI installs every extra: nothing skips
needs_numba = pytest.mark.skipif(not REQUIRE_NUMBA and not _jit.numba_available(),
                                 reason="numba is not installed (pip install 'bprop[fast]')")
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}

ACTIVATIONS = [bp.Identity, bp.Sigmoid, bp.Tanh, bp.ReLU, lambda: bp.LeakyReLU(0.1), lambda: bp.ELU(0.7),
               bp.GELU, lambda: bp.GELU(approximate="tanh"), bp.Softmax]
ACT_IDS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "softmax"]
LOSSES = [bp.MSE(), bp.CrossEntropy(), bp.BinaryCrossEntropy(), bp.CrossEntropy(label_smoothing=0.1), bp.MAE(),
          bp.Huber(delta=0.5)]   # the last three have no compiled variant: numba runs their NumPy formula


def _same(a, b, dtype, msg=""):
    np.testing.assert_allclose(a, b, **TOL[str(np.dtype(dtype))], err_msg=msg)


def _step(net, X, Y, loss, weights=None):
    c, out = net._backprop(X, Y, loss, weights)
    return c, out.copy(), {k: g.copy() for k, g in net.grads.items()}


# ------------------------------------------------------------------ layer by layer, loss by loss
@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make_act", ACTIVATIONS, ids=ACT_IDS)
def test_numba_activation_equals_numpy_formula(make_act, dtype, rng):
    Z = (rng.standard_normal((7, 11)) * 3).astype(dtype)
    Z[0, :4] = [1e4, -1e4, 0.0, -0.0]                 # stable at the extremes, exact at 0
    dA = rng.standard_normal(Z.shape).astype(dtype)
    results = {}
    for backend in ("numpy", "numba"):
        layer = make_act()
        layer.backend = backend
        A = layer.forward(Z, training=True).copy()
        dZ = layer.backward(dA).copy()
        assert A.dtype == dZ.dtype == np.dtype(dtype)
        assert np.isfinite(A).all() and np.isfinite(dZ).all()
        results[backend] = (A, dZ)
    _same(results["numba"][0], results["numpy"][0], dtype, "forward")
    _same(results["numba"][1], results["numpy"][1], dtype, "backward")


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [2, 7, 128])
def test_numba_batchnorm_equals_numpy_formula(n, dtype, rng):
    """Training steps (outputs, γ/β gradients, input gradients, running statistics), then eval mode."""
    d = 13
    layers = {}
    for backend in ("numpy", "numba"):
        layer = bp.BatchNorm(d, momentum=0.3, eps=1e-3)
        layer.build(np.random.default_rng(0), dtype)
        layer.params["gamma"][...] = np.linspace(0.5, 1.5, d)
        layer.params["beta"][...] = np.linspace(-1, 1, d)
        layer.backend = backend
        layers[backend] = layer
    for step in range(3):
        A = (rng.standard_normal((n, d)) * 3 + step).astype(dtype)
        A[:, 0] = 2.5                                             # a constant feature: σ² = 0
        dY = rng.standard_normal((n, d)).astype(dtype)
        res = {}
        for backend, layer in layers.items():
            Y = layer.forward(A, training=True).copy()
            dA = layer.backward(dY).copy()
            res[backend] = (Y, dA, layer.grads["gamma"].copy(), layer.grads["beta"].copy(),
                            layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy())
            assert Y.dtype == dA.dtype == np.dtype(dtype)
        for what, a, b in zip(("Y", "dA", "dgamma", "dbeta", "running_mean", "running_var"),
                              res["numba"], res["numpy"]):
            _same(a, b, dtype, f"step {step}: {what}")
    for backend, layer in layers.items():                         # layer 0: no input gradient
        assert layer.backward(dY, need_input_grad=False) is None
    _same(layers["numba"].grads["gamma"], layers["numpy"].grads["gamma"], dtype, "dgamma, no input grad")
    A = rng.standard_normal((5, d)).astype(dtype)
    dY = rng.standard_normal((5, d)).astype(dtype)
    res = {b: (l.forward(A, training=False), l.backward(dY)) for b, l in layers.items()}
    _same(res["numba"][0], res["numpy"][0], dtype, "eval forward")
    _same(res["numba"][1], res["numpy"][1], dtype, "eval backward")
    assert res["numba"][0] is not layers["numba"].forward(A, training=False)   # eval: fresh arrays


@needs_numba
def test_numba_batchnorm_takes_strided_input(rng):
    layers = [bp.BatchNorm(4), bp.BatchNorm(4)]
    for layer, backend in zip(layers, ("numpy", "numba")):
        layer.build(rng, "float64")
        layer.backend = backend
    A = rng.standard_normal((9, 8))[:, ::2]                      # not C-contiguous
    _same(layers[1].forward(A, training=True), layers[0].forward(A, training=True), "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_activation_formulas_match_their_closed_forms(dtype, rng):
    """The in-place NumPy code computes the docstrings' σ and σ' (written here allocating)."""
    Z = (rng.standard_normal((6, 9)) * 3).astype(dtype)
    dA = rng.standard_normal(Z.shape).astype(dtype)
    sig = 1 / (1 + np.exp(-Z.astype(np.float64)))
    soft = np.exp(Z - Z.max(1, keepdims=True)) / np.exp(Z - Z.max(1, keepdims=True)).sum(1, keepdims=True)
    elu = np.where(Z > 0, Z, 0.7 * np.expm1(np.minimum(Z, 0)))
    Zd = Z.astype(np.float64)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(Zd / np.sqrt(2)))
    t = np.tanh(np.sqrt(2 / np.pi) * (Zd + 0.044715 * Zd ** 3))
    cases = {
        "relu": (bp.ReLU(), np.maximum(Z, 0), dA * (Z > 0)),
        "sigmoid": (bp.Sigmoid(), sig, dA * sig * (1 - sig)),
        "tanh": (bp.Tanh(), np.tanh(Z), dA * (1 - np.tanh(Z) ** 2)),
        "leaky": (bp.LeakyReLU(0.1), np.where(Z > 0, Z, 0.1 * Z), np.where(Z > 0, dA, 0.1 * dA)),
        "elu": (bp.ELU(0.7), elu, np.where(Z > 0, dA, dA * (elu + 0.7))),
        "softmax": (bp.Softmax(), soft, soft * (dA - np.sum(dA * soft, axis=1, keepdims=True))),
        "gelu": (bp.GELU(), Z * cdf, dA * (cdf + Z * np.exp(-Z ** 2 / 2) / np.sqrt(2 * np.pi))),
        "gelu_tanh": (bp.GELU(approximate="tanh"), 0.5 * Z * (1 + t),
                      dA * (0.5 * (1 + t) + 0.5 * Z * (1 - t ** 2) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * Z ** 2))),
    }
    for name, (layer, A, dZ) in cases.items():
        _same(layer.forward(Z, training=True), A, dtype, name)
        _same(layer.backward(dA), dZ, dtype, name + "'")


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.spec)
def test_numba_loss_equals_numpy_formula(loss, dtype, rng):
    Z = (rng.standard_normal((12, 5)) * 4).astype(dtype)
    Z[0, 0], Z[1, 1] = 1e4, -1e4                      # stable: finite, no warnings
    if loss.name == "cross_entropy":
        Y = loss.prepare_targets(rng.integers(0, 5, 12), 5, dtype)
    else:
        Y = rng.random((12, 5)).round().astype(dtype)
    c0, G0 = loss.value_and_grad(Z, Y)
    G = np.empty_like(Z)
    c1, G1 = loss.value_and_grad(Z, Y, grad=G, backend="numba")
    assert G1 is G and G.dtype == np.dtype(dtype)
    assert isinstance(c1, float) and np.isfinite(c1)
    assert c1 == pytest.approx(c0, rel=TOL[dtype]["rtol"])
    _same(G1, G0, dtype)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.spec)
def test_loss_writes_into_the_given_buffer_with_and_without_weights(loss, rng):
    Z = rng.standard_normal((6, 3))
    Y = loss.prepare_targets(rng.integers(0, 3, 6), 3, "float64") if loss.name == "cross_entropy" \
        else rng.random((6, 3)).round()
    w = rng.random(6) + 0.5
    for weights in (None, w):
        c0, G0 = loss.value_and_grad(Z, Y, weights)
        G = np.full_like(Z, np.nan)
        c1, G1 = loss.value_and_grad(Z, Y, weights, grad=G)
        assert G1 is G and c1 == c0
        np.testing.assert_array_equal(G, G0)


# ------------------------------------------------------------------ the whole training step
@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make_act", ACTIVATIONS, ids=ACT_IDS)
def test_training_step_with_numba_equals_numpy_for_every_activation(make_act, dtype, rng):
    X = rng.standard_normal((9, 5)).astype(dtype) * 2
    Y = rng.standard_normal((9, 4)).astype(dtype)
    steps = []
    for backend in ("numpy", "numba"):
        net = bp.Sequential([bp.Dense(5, 7), make_act(), bp.Dense(7, 4), make_act()], seed=1, dtype=dtype,
                            backend=backend)
        steps.append(_step(net, X, Y, bp.MSE()))
    (c0, out0, g0), (c1, out1, g1) = steps
    _same(c1, c0, dtype)
    _same(out1, out0, dtype)
    for k in g0:
        _same(g1[k], g0[k], dtype, k)


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.spec)
def test_training_step_with_numba_equals_numpy_for_every_loss(loss, dtype, rng):
    X = rng.standard_normal((10, 6)) * 3
    y = rng.integers(0, 3, 10) if loss.name == "cross_entropy" else rng.random((10, 3)).round()
    steps = []
    for backend in ("numpy", "numba"):
        net = bp.Sequential([bp.Dense(6, 8), bp.ReLU(), bp.BatchNorm(8), bp.Dropout(0.3), bp.Dense(8, 3)],
                            seed=2, dtype=dtype, backend=backend)     # same seed: the same dropout mask
        Xp, Y, lo = net.prepare(X, y, loss)
        steps.append(_step(net, Xp, Y, lo))
    (c0, out0, g0), (c1, out1, g1) = steps
    _same(c1, c0, dtype)
    _same(out1, out0, dtype)
    for k in g0:
        _same(g1[k], g0[k], dtype, k)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_changing_batch_sizes_and_weights_reuse_buffers_correctly(backend, rng):
    """A step on a new batch size (or with weights) after others gives the numbers of a fresh network."""
    net = bp.Sequential([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 3)], seed=0, dtype="float64", backend=backend)
    loss = bp.CrossEntropy()
    for n in (8, 3, 8, 1, 5):
        X, Y, _ = net.prepare(rng.standard_normal((n, 4)), rng.integers(0, 3, n), loss)
        w = rng.random(n) + 0.5
        for weights in (None, w):
            fresh = bp.Sequential([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 3)], seed=0, dtype="float64")
            fresh.load_state_dict(net.state_dict())
            c0, out0, g0 = _step(fresh, X, Y, loss, weights)
            c1, out1, g1 = _step(net, X, Y, loss, weights)
            assert c1 == pytest.approx(c0, rel=1e-12)
            for k in g0:
                _same(g1[k], g0[k], "float64", k)
    from collections import Counter
    kept = [Counter(name for name, _, _ in layer.__dict__.get("_work", {})) for layer in net.layers]
    assert any(kept) and max(max(c.values(), default=0) for c in kept) <= 2   # ≤ 2 batch shapes per buffer


# ------------------------------------------------------------------ optimisers
OPTIMISERS = {
    "sgd": lambda f: bp.optim.SGD(0.1, fused=f),
    "sgd_wd": lambda f: bp.optim.SGD(0.1, weight_decay=0.01, fused=f),
    "momentum": lambda f: bp.optim.SGD(0.05, momentum=0.9, weight_decay=0.01, fused=f),
    "nesterov": lambda f: bp.optim.SGD(0.05, momentum=0.9, nesterov=True, fused=f),
    "rmsprop": lambda f: bp.optim.RMSProp(0.01, fused=f),
    "rmsprop_momentum": lambda f: bp.optim.RMSProp(0.01, momentum=0.5, weight_decay=0.1, fused=f),
    "adam": lambda f: bp.optim.Adam(1e-2, fused=f),
    "adam_wd": lambda f: bp.optim.Adam(1e-2, betas=(0.5, 0.9), weight_decay=0.1, fused=f),
    "adam_lerp_large_weight": lambda f: bp.optim.Adam(1e-2, betas=(0.3, 0.9), fused=f),
    "adamw": lambda f: bp.optim.AdamW(1e-2, fused=f),
    "adam_schedule": lambda f: bp.optim.Adam(bp.optim.ExponentialDecay(1e-2, 0.5), fused=f),
    # scikit-learn's formulas: the velocity absorbs a changing rate, Adam's ε on the uncorrected √v
    "momentum_sklearn": lambda f: bp.optim.SGD(bp.optim.ExponentialDecay(0.05, 0.5), momentum=0.9,
                                               weight_decay=0.01, fused=f, convention="sklearn"),
    "nesterov_sklearn": lambda f: bp.optim.SGD(0.05, momentum=0.9, nesterov=True, fused=f, convention="sklearn"),
    "adam_sklearn": lambda f: bp.optim.Adam(1e-2, fused=f, convention="sklearn"),
    "adam_sklearn_wd": lambda f: bp.optim.Adam(bp.optim.ExponentialDecay(1e-2, 0.5), betas=(0.3, 0.9),
                                               weight_decay=0.1, fused=f, convention="sklearn"),
    "adamw_sklearn": lambda f: bp.optim.AdamW(1e-2, fused=f, convention="sklearn"),
}


def _problem(dtype, rng):
    params = {"0.W": rng.standard_normal((4, 3)).astype(dtype), "0.b": rng.standard_normal(4).astype(dtype),
              "2.gamma": rng.standard_normal(4).astype(dtype)}
    grads = [{k: rng.standard_normal(p.shape).astype(dtype) for k, p in params.items()} for _ in range(4)]
    return params, grads


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_fused_optimiser_equals_the_transform_chain(name, dtype, rng):
    params, grads = _problem(dtype, rng)
    runs = []
    for fused in (False, True):
        p = {k: v.copy() for k, v in params.items()}
        opt = OPTIMISERS[name](fused)
        assert opt.fused is fused
        trajectory = []
        for g in grads:
            opt.step(p, g)
            trajectory.append({k: v.copy() for k, v in p.items()})
        runs.append((trajectory, opt.state_dict()["arrays"], opt.step_count))
    (traj0, state0, n0), (traj1, state1, n1) = runs
    assert n0 == n1 == len(grads)
    for step0, step1 in zip(traj0, traj1):
        for k in step0:
            _same(step1[k], step0[k], dtype, k)
    assert state0.keys() == state1.keys()
    for k in state0:
        _same(state1[k], state0[k], dtype, k)


@needs_numba
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_fused_optimiser_with_mixed_dtypes_equals_the_chain(name, rng):
    # float32 and float64 parameters interleaved: each must get its own dtype's scalars and state
    p32, g32 = _problem("float32", rng)
    p64, g64 = _problem("float64", rng)
    params = {"0.W": p32["0.W"], "0.b": p64["0.b"], "2.gamma": p32["2.gamma"], "3.W": p64["0.W"]}
    grads = [{"0.W": a["0.W"], "0.b": b["0.b"], "2.gamma": a["2.gamma"], "3.W": b["0.W"]} for a, b in zip(g32, g64)]
    runs = []
    for fused in (False, True):
        p = {k: v.copy() for k, v in params.items()}
        opt = OPTIMISERS[name](fused)
        for g in grads:
            opt.step(p, g)
        runs.append(p)
    for k, v in params.items():
        assert runs[1][k].dtype == v.dtype
        _same(runs[1][k], runs[0][k], v.dtype.name, k)
        assert not np.array_equal(runs[1][k], v)                 # every parameter moved


def _denormals(a):
    """How many entries of ``a`` are denormal: non-zero, below the dtype's smallest normal in magnitude."""
    return int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).smallest_normal)))


def _tiny_gradients(params, dtype, rng):
    """Gradients whose optimiser state reaches the denormal range within 2,000 steps of decay.

    A third each: ``g² (1 − β2)`` just above the smallest normal x_min (Adam's ``v``),
    ``g² (1 − α)`` up to 10⁸ x_min (RMSProp's ``s``), and ``g`` up to 10³⁰ x_min
    (``m`` and momentum, which shrink by 0.9 per step).
    """
    tiny = np.finfo(dtype).smallest_normal
    out = {}
    for k, p in params.items():
        u = rng.uniform(0, 1, p.shape)
        group = rng.integers(0, 3, p.shape)
        mag = np.choose(group, [np.sqrt(tiny * 1e3) * 10 ** (2 * u), np.sqrt(tiny * 1e2) * 10 ** (4 * u),
                                tiny * 10 ** (1 + 29 * u)])
        out[k] = (rng.choice([-1, 1], p.shape) * mag).astype(dtype)
    return out


def _denormal_problem(dtype, rng):
    return {"0.W": rng.standard_normal((30, 20)).astype(dtype), "0.b": rng.standard_normal(30).astype(dtype),
            "2.gamma": rng.standard_normal(30).astype(dtype)}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fused", [False, pytest.param(True, marks=needs_numba)], ids=["chain", "fused"])
@pytest.mark.parametrize("name", [n for n in OPTIMISERS if n not in ("sgd", "sgd_wd")])   # those keep no state
def test_optimiser_state_never_holds_denormals(name, fused, dtype, rng):
    """2,000 steps with zero gradients after one with tiny ones: m, v, momentum and square_avg decay
    geometrically, and without the flush they would stick in the denormal range (checked below).

    The fused loops flush at every update; the NumPy chain at every 16th (``_numerics.FLUSH_EVERY``), so it
    is checked after the first flush that follows the 2,000 steps, and at most 15 updates later than that."""
    from bprop._numerics import FLUSH_EVERY
    params = _denormal_problem(dtype, rng)
    grads = _tiny_gradients(params, dtype, rng)
    zeros = {k: np.zeros_like(p) for k, p in params.items()}
    opt = OPTIMISERS[name](fused)
    opt.step(params, grads)
    zero_steps = 2000 if fused else 2000 + (-2001 % FLUSH_EVERY)
    for _ in range(zero_steps):
        opt.step(params, zeros)
    assert fused or opt.step_count % FLUSH_EVERY == 0
    state = opt.state_dict()["arrays"]
    assert state and {k: _denormals(a) for k, a in state.items()} == dict.fromkeys(state, 0)
    assert all(np.isfinite(p).all() for p in params.values())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_denormal_test_reaches_the_denormal_range(dtype, rng):
    """Without the flush, the same gradients leave Adam's m and v denormal (and stuck) after 2,000 steps."""
    g = _tiny_gradients(_denormal_problem(dtype, rng), dtype, rng)["0.W"]
    m, v = np.zeros_like(g), np.zeros_like(g)
    w1, b2 = g.dtype.type(0.1), g.dtype.type(0.999)
    for t in range(2001):
        u = g if t == 0 else np.zeros_like(g)
        m += (u - m) * w1                               # torch's lerp form, as ScaleByAdam
        v = v * b2 + (1 - b2) * u * u
    assert _denormals(m) > 0 and _denormals(v) > 0


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_batchnorm_running_statistics_never_hold_denormals(backend, rng):
    """A constant feature has σ² = 0 (running_var decays by 1 − momentum per step) and a tiny mean."""
    layer = bp.BatchNorm(3)
    layer.build(rng, "float32")
    layer.backend = backend
    A = rng.standard_normal((8, 3)).astype("float32")
    A[:, 0] = 1e-30                                     # running_mean → 1e-30 (normal), running_var → 0
    A[:, 1] = 0.0                                       # running_mean stays 0, running_var → 0
    for _ in range(2000):
        layer.forward(A, training=True)
    for name, buf in layer.buffers.items():
        assert _denormals(buf) == 0, name
    assert layer.buffers["running_var"][0] == 0 and layer.buffers["running_var"][1] == 0
    assert layer.buffers["running_mean"][0] == pytest.approx(1e-30, rel=1e-5)


@needs_numba
def test_fused_optimiser_refuses_non_contiguous_arrays(rng):
    params, grads = _problem("float64", rng)
    opt = bp.optim.Adam(1e-2, fused=True)
    opt.step(params, grads[0])
    before = {k: v.copy() for k, v in params.items()}
    g = dict(grads[1], **{"0.W": np.asfortranarray(grads[1]["0.W"])})
    with pytest.raises(ValueError, match=r"Adam\(fused=True\) needs C-contiguous.*'0.W'.*fused=False"):
        opt.step(params, g)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


@needs_numba
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copied_fused_optimiser_updates_its_own_state(how, rng):
    params, grads = _problem("float64", rng)
    opt = bp.optim.Adam(1e-2, fused=True)
    opt.step(params, grads[0])
    twin_params = {k: v.copy() for k, v in params.items()}
    twin = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    before = opt.state_dict()["arrays"]
    twin.step(twin_params, grads[1])
    for k, v in opt.state_dict()["arrays"].items():
        np.testing.assert_array_equal(v, before[k])            # the original is untouched
    opt.step(params, grads[1])
    for k in params:
        _same(twin_params[k], params[k], "float64", k)


@needs_numba
def test_fused_flag_round_trips_through_config_and_state():
    opt = bp.optim.AdamW(1e-3, fused=True)
    assert bp.optim.from_config(opt.get_config()).fused is True
    assert bp.optim.from_state_dict(opt.state_dict()).fused is True
    assert bp.optim.from_config(bp.optim.SGD(0.1).get_config()).fused is False


# ------------------------------------------------------------------ fit
@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_with_numba_and_fused_adam_gives_the_numpy_parameters(dtype, rng):
    X = rng.standard_normal((70, 6))
    y = rng.integers(0, 3, 70)
    runs = []
    for backend, fused in (("numpy", False), ("numba", True)):
        net = bp.Sequential([bp.Dense(6, 16), bp.ReLU(), bp.BatchNorm(16), bp.Dense(16, 8), bp.Tanh(),
                             bp.Dense(8, 3)], seed=3, dtype=dtype, backend=backend)
        hist = net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2, fused=fused), epochs=3,
                       batch_size=16, verbose=0)
        runs.append((net, hist))
    (ref, h0), (fast, h1) = runs
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)   # 15 steps of float32 rounding
    for k in ref.params:
        np.testing.assert_allclose(fast.params[k], ref.params[k], **tol)
    np.testing.assert_allclose(h1["loss"], h0["loss"], **tol)


# ------------------------------------------------------------------ buffers never leak
def test_public_methods_return_fresh_arrays(rng):
    """Buffers are reused only by training steps: forward/predict/trace results never alias them."""
    net = bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 2)], seed=0)
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    net.backprop(X1, rng.standard_normal((5, 2)), "mse")
    a = net.forward(X1, training=True)
    p = net.predict(X1)
    rec = net.trace(X1, rng.standard_normal((5, 2)), "mse")
    kept = (a.copy(), p.copy(), [{k: v.copy() for k, v in r.items() if isinstance(v, np.ndarray)} for r in rec])
    net.forward(X2, training=True)
    net.predict(X2)
    net.backprop(X2, rng.standard_normal((5, 2)), "mse")
    np.testing.assert_array_equal(a, kept[0])
    np.testing.assert_array_equal(p, kept[1])
    for r, r0 in zip(rec, kept[2]):
        for k, v in r0.items():
            np.testing.assert_array_equal(r[k], v)


def test_copy_of_a_trained_net_does_not_share_buffers(rng):
    net = bp.Sequential([bp.Dense(3, 4), bp.Sigmoid(), bp.Dense(4, 2)], seed=0)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    net.backprop(X, y, "mse")
    twin = net.copy()
    net.backprop(X * 2, y, "mse")
    twin.backprop(X, y, "mse")
    ref = bp.Sequential([bp.Dense(3, 4), bp.Sigmoid(), bp.Dense(4, 2)], seed=0)
    ref.load_state_dict(twin.state_dict())
    ref.backprop(X, y, "mse")
    for k in ref.grads:
        np.testing.assert_allclose(twin.grads[k], ref.grads[k], rtol=1e-6, atol=1e-7)


def test_pickled_net_drops_its_buffers_and_keeps_training(rng):
    net = bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 2)], seed=0, dtype="float64")
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net.backprop(X, y, "mse")
    assert all("_work" in layer.__dict__ for layer in net.layers[:2])
    blob = pickle.dumps(net)
    twin = pickle.loads(blob)
    assert not any("_work" in layer.__dict__ for layer in twin.layers) and "_dout" not in twin.__dict__
    assert twin.backprop(X, y, "mse") == pytest.approx(net.backprop(X, y, "mse"), rel=1e-12)
    for k in net.grads:
        _same(twin.grads[k], net.grads[k], "float64", k)


# ------------------------------------------------------------------ the choice is explicit
def test_backend_is_validated_and_applies_to_every_layer():
    with pytest.raises(ValueError, match="backend"):
        bp.Sequential([bp.Dense(2, 2)], backend="fastest")
    net = bp.Sequential([bp.Dense(2, 3), bp.ReLU(), bp.Dense(3, 1)])
    assert net.backend == "numpy" and all(layer.backend == "numpy" for layer in net.layers)
    if _jit.numba_available():
        net.backend = "numba"
        assert all(layer.backend == "numba" for layer in net.layers)


def test_numba_options_fail_clearly_without_numba(monkeypatch):
    monkeypatch.setattr(_jit, "numba_available", lambda: False)
    with pytest.raises(ModuleNotFoundError, match=r"backend=\"numba\" needs numba.*pip install 'bprop\[fast\]'"):
        bp.Sequential([bp.Dense(2, 2)], backend="numba")
    with pytest.raises(ModuleNotFoundError, match=r"Adam\(fused=True\) needs numba"):
        bp.optim.Adam(1e-3, fused=True)
    with pytest.raises(TypeError, match="fused must be True or False"):
        bp.optim.SGD(0.1, fused="yes")


def test_no_global_switch_and_no_kernels_module():
    import importlib.util
    assert importlib.util.find_spec("bprop.kernels") is None
    code = "import sys, bprop; print('numba' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "BPROP_KERNELS": "numba", "BPROP_BACKEND": "numba"})
    assert r.stdout.strip() == "False"                 # import bprop never imports numba, whatever the environment


@needs_numba
@pytest.mark.parametrize("choose", ["bp.Sequential([bp.Dense(2, 2)], backend='numba')",
                                    "bp.optim.Adam(1e-3, fused=True)"])
def test_choosing_numba_starts_it_before_training(choose):
    # numba's one-time set-up (code generator, type registries) happens where the option is chosen,
    # so the first epoch of a fresh process runs at the speed of the later ones
    code = ("import bprop as bp, bprop._jit as J; s0 = J._started; " + choose +
            "; print(s0, J._started, J._touch(7))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["False", "True", "7"]


def test_compiled_function_keeps_its_python_loop():
    from bprop.activations import _relu_backward_loop
    A = np.array([[1.0, -1.0, 0.0]])
    dA = np.array([[2.0, 3.0, 4.0]])
    out = _relu_backward_loop.py_func(dA, A, np.empty_like(A))   # runs without numba
    np.testing.assert_array_equal(out, [[2.0, 0.0, 0.0]])


# ------------------------------------------------------------------ the CLI and the estimators
@needs_numba
def test_cli_backend_numba_trains_the_numpy_run_and_is_recorded(tmp_path, capsys, monkeypatch):
    import tomllib
    from bprop.cli import main
    monkeypatch.delenv("BPROP_BACKEND", raising=False)
    common = ["train", "--data", "moons", "--n-samples", "200", "--layers", "8,8", "--activation", "tanh",
              "--epochs", "3", "--dtype", "float64", "--quiet", "--no-plots"]
    assert main(common + ["--out", str(tmp_path / "np")]) == 0
    monkeypatch.setenv("BPROP_BACKEND", "numba")          # the environment sets the CLI's default only
    assert main(common + ["--out", str(tmp_path / "nb")]) == 0
    capsys.readouterr()
    cfg = {k: tomllib.loads((tmp_path / k / "config.toml").read_text())["backend"] for k in ("np", "nb")}
    assert cfg == {"np": "numpy", "nb": "numba"}
    a, b = bp.load(tmp_path / "np" / "model.npz"), bp.load(tmp_path / "nb" / "model.npz")
    for k in a.params:
        _same(b.params[k], a.params[k], "float64", k)
    code = main(["train", "--backend", "fastest", "--epochs", "1", "--out", str(tmp_path / "bad"), "--quiet"])
    assert code == 2 and "--backend: unknown backend 'fastest'; valid backends: numpy, numba" in capsys.readouterr().err


@needs_numba
def test_estimator_backend_numba_gives_the_numpy_predictions(rng):
    from bprop.sklearn import BPClassifier
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    probs = []
    for backend in ("numpy", "numba"):
        est = BPClassifier((8,), max_epochs=5, tol=None, batch_size=16, random_state=0, dtype="float64",
                           backend=backend)
        probs.append(est.fit(X, y).predict_proba(X))
        assert est.net_.backend == backend and est.optimizer_.fused is (backend == "numba")
    _same(probs[1], probs[0], "float64")
    with pytest.raises(ValueError, match="backend"):
        BPClassifier(backend="gpu").fit(X, y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dense_with_one_output_gives_the_input_gradient_delta_at_W_exactly(dtype, rng):
    # n_out = 1: ∂C/∂A = δ @ W is computed as the outer product δ ⊗ W (BLAS's gemm is slow with an
    # inner dimension of 1); each entry is the same single product, so the result is bit for bit δ @ W
    layer = bp.Dense(5, 1)
    layer.build(rng, dtype)
    A = rng.standard_normal((7, 5)).astype(dtype)
    layer.forward(A, training=True)
    for delta in (rng.standard_normal((7, 1)).astype(dtype), rng.standard_normal((7, 2)).astype(dtype)[:, :1]):
        dA = layer.backward(delta).copy()
        np.testing.assert_array_equal(dA, delta @ layer.params["W"])
        np.testing.assert_array_equal(layer.grads["W"], delta.T @ A)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_hit_count_equals_numpy_argmax_with_ties_and_nans(dtype, rng):
    # the training meter's compiled count must choose as np.argmax does: the first of tied maxima,
    # the first NaN of a row that has one
    from bprop.training.meter import argmax_hits, argmax_hits_loop
    out = rng.integers(0, 3, (200, 5)).astype(dtype)          # many ties
    out[rng.random(out.shape) < 0.05] = np.nan
    out[0] = np.nan
    out[1] = [1, np.nan, 7, np.nan, 7]
    labels = rng.integers(0, 5, 200)
    for rows in (slice(None), slice(0, 1), slice(0, 0)):
        for lab in (labels, np.argmax(out, axis=1)):
            assert argmax_hits_loop(out[rows], lab[rows]) == argmax_hits(out[rows], lab[rows])
    assert argmax_hits(out, np.argmax(out, axis=1)) == 200


def test_numba_fit_records_the_numpy_accuracy(rng):
    X = rng.standard_normal((90, 4))
    y = rng.integers(0, 3, 90)
    hist = []
    for backend in ("numpy", "numba"):
        net = bp.Sequential([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 3)], seed=3, dtype="float64", backend=backend)
        hist.append(net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.SGD(0.1), epochs=3,
                            batch_size=16, verbose=0))
    assert hist[0]["accuracy"] == hist[1]["accuracy"]
    assert len(set(hist[0]["accuracy"])) > 1                   # the accuracy moved: the test can fail


_FIRST_CALLS_IN_EPOCHS = r"""
import numpy as np, numba, bprop as bp
made, in_epoch = [], [False]
njit = numba.njit
def spy(*a, **k):                        # bprop._jit.compiled makes each loop's kernel at its first call
    made.append(in_epoch[0])
    return njit(*a, **k)
numba.njit = spy
class Flag(bp.training.Callback):
    def on_epoch_begin(self, net, epoch):
        in_epoch[0] = True
rng = np.random.default_rng(0)
X, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)
net = bp.Sequential([bp.Dense(6, 8), bp.BatchNorm(8), bp.ReLU(), bp.Dense(8, 3)], seed=0, backend="numba")
net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-3, fused=True), epochs=2, batch_size=16,
        verbose=0, callbacks=[Flag()])
print(len(made), sum(made))
"""


@needs_numba
def test_a_fresh_process_loads_every_compiled_loop_before_epoch_1():
    # epoch 1 of a new process would otherwise load each loop from numba's cache (2-8 ms each)
    r = subprocess.run([sys.executable, "-c", _FIRST_CALLS_IN_EPOCHS], capture_output=True, text=True, check=True)
    loaded, during_epochs = map(int, r.stdout.split())
    assert loaded >= 5 and during_epochs == 0, r.stdout


@needs_numba
def test_loading_the_loops_before_epoch_1_changes_nothing_of_the_run(rng, monkeypatch):
    # the loading step runs on copies: parameters, optimiser state, generator, BatchNorm statistics and
    # history are those of a run without it
    from bprop.training import warmup
    X, y = rng.standard_normal((50, 5)), rng.integers(0, 3, 50)
    runs = []
    for load in (True, False):
        monkeypatch.setattr(warmup, "_LOADED", set())
        if not load:
            monkeypatch.setattr(warmup, "MAX_PARAMS", 0)
        net = bp.Sequential([bp.Dense(5, 7), bp.BatchNorm(7), bp.ReLU(), bp.Dropout(0.3), bp.Dense(7, 3)],
                            seed=4, dtype="float64", backend="numba")
        opt = bp.optim.Adam(1e-2, fused=True)
        ran = []
        real = warmup.load_step_loops
        monkeypatch.setattr("bprop.training.loop.load_step_loops", lambda *a: ran.append(real(*a)))
        hist = net.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=3, batch_size=8, verbose=0)
        assert ran == [load]
        runs.append((net.state_dict(), opt.state_dict(), net.rng.bit_generator.state, hist["loss"]))
    (p1, o1, g1, h1), (p2, o2, g2, h2) = runs
    assert p1.keys() == p2.keys() and all(np.array_equal(p1[k], p2[k]) for k in p1)
    assert g1 == g2 and h1 == h2
    assert o1["step"] == o2["step"] == 21 and o1["arrays"].keys() == o2["arrays"].keys()
    assert all(np.array_equal(o1["arrays"][k], o2["arrays"][k]) for k in o1["arrays"])
