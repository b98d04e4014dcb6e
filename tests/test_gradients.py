"""Central-difference gradient checks in float64.

Every layer, activation and loss, and random deep networks mixing them, are
checked twice: by an independent finite-difference helper written here and by
``bp.gradcheck`` (which is itself shown to fail on a deliberately wrong gradient).

Dropout is checked with its mask held fixed: the helper restores the
network's generator state before every evaluation, so each forward pass draws
the same mask as the analytic backward pass.
"""

import numpy as np
import pytest

import bprop as bp

EPS = 1e-6
TOL = 1e-6  # central differences in float64 reach ~1e-8 here


# --------------------------------------------------------------------------- helpers


def rel_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖), with a tiny floor so two zeros compare equal."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def _central_difference(f, arr, eps=EPS):
    """∂f/∂arr by central differences, perturbing ``arr`` in place (and restoring it)."""
    g = np.zeros(arr.shape, dtype=np.float64)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        fp = f()
        arr[idx] = old - eps
        fm = f()
        arr[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g


def numerical_grads(net, X, y, loss):
    """∂C/∂θ for every parameter by central differences, with Dropout's mask fixed."""
    state = net.rng.bit_generator.state

    def cost():
        net.rng.bit_generator.state = state
        return float(loss(net.forward(X, training=True), y))

    grads = {key: _central_difference(cost, p) for key, p in net.params.items()}
    net.rng.bit_generator.state = state
    return grads


def analytic_grads(net, X, y, loss):
    """``net.backprop``'s gradients (copies) and loss, drawing the same Dropout mask."""
    state = net.rng.bit_generator.state
    C = net.backprop(X, y, loss)
    net.rng.bit_generator.state = state
    return C, {key: g.copy() for key, g in net.grads.items()}


def assert_gradients_correct(net, X, y, loss):
    """Own finite differences and ``bp.gradcheck`` both agree with backprop."""
    C, ana = analytic_grads(net, X, y, loss)
    assert np.isfinite(C)
    num = numerical_grads(net, X, y, loss)
    assert set(ana) == set(net.params)
    for key in net.params:
        assert ana[key].shape == net.params[key].shape, key
        assert np.linalg.norm(num[key]) > 0, f"{key}: zero gradient makes the check vacuous"
        err = rel_error(ana[key], num[key])
        assert err < TOL, f"{key}: relative error {err:.3e}"

    before = {key: p.copy() for key, p in net.params.items()}
    result = bp.gradcheck(net, X, y, loss)
    assert result.passed, str(result)
    assert set(result.errors) == set(net.params)
    assert all(err <= result.tolerance for err in result.errors.values()), str(result)
    for key in net.params:  # gradcheck leaves the parameters as they were
        np.testing.assert_array_equal(net.params[key], before[key], err_msg=key)


def one_hot(labels, k):
    return np.eye(k)[labels]


# Factories, not instances: a layer belongs to one network.
ACTIVATIONS = {
    "identity": lambda: bp.Identity(),
    "sigmoid": lambda: bp.Sigmoid(),
    "tanh": lambda: bp.Tanh(),
    "relu": lambda: bp.ReLU(),
    "leaky_relu": lambda: bp.LeakyReLU(),
    "leaky_relu_0.2": lambda: bp.LeakyReLU(slope=0.2),
    "elu": lambda: bp.ELU(),
    "elu_0.5": lambda: bp.ELU(alpha=0.5),
    "gelu": lambda: bp.GELU(),
    "gelu_tanh": lambda: bp.GELU(approximate="tanh"),
    "softmax": lambda: bp.Softmax(),
}


def f64(layers, seed=0):
    return bp.Sequential(layers, seed=seed, dtype="float64")


# --------------------------------------------------------------------------- the helper itself


def test_helper_on_a_known_function():
    # f(w) = Σ sin(w)·w² has ∂f/∂w = cos(w)·w² + 2w·sin(w).
    w = np.array([0.3, -1.2, 2.0])
    num = _central_difference(lambda: float(np.sum(np.sin(w) * w**2)), w)
    exact = np.cos(w) * w**2 + 2 * w * np.sin(w)
    assert rel_error(num, exact) < 1e-9
    assert rel_error(num, 1.01 * exact) > 1e-3  # and it can tell a 1 % error


# --------------------------------------------------------------------------- activations


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_between_dense_layers(name, rng):
    net = f64([bp.Dense(4, 5), ACTIVATIONS[name](), bp.Dense(5, 3)])
    X = rng.normal(size=(6, 4))
    y = rng.normal(size=(6, 3))
    assert_gradients_correct(net, X, y, bp.MSE())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_as_output_layer_general_bp1(name, rng):
    # The network ends in the activation, so BP1 is used in its general form.
    net = f64([bp.Dense(4, 3), ACTIVATIONS[name]()])
    X = rng.normal(size=(5, 4))
    y = rng.uniform(size=(5, 3))
    assert_gradients_correct(net, X, y, bp.MSE())


# --------------------------------------------------------------------------- losses


def _loss_targets(kind, rng, n, k):
    if kind == "mse":
        return bp.MSE(), rng.normal(size=(n, k))
    if kind == "ce_labels":
        return bp.CrossEntropy(), rng.integers(0, k, size=n)
    if kind == "ce_onehot":
        return bp.CrossEntropy(), one_hot(rng.integers(0, k, size=n), k)
    if kind == "bce":
        return bp.BinaryCrossEntropy(), rng.integers(0, 2, size=(n, k)).astype(np.float64)
    if kind == "bce_soft":
        return bp.BinaryCrossEntropy(), rng.uniform(size=(n, k))
    if kind == "mae":
        return bp.MAE(), rng.normal(size=(n, k))
    if kind == "huber":        # δ = 0.7 against outputs of scale 2: both the quadratic and the linear part
        return bp.Huber(delta=0.7), rng.normal(size=(n, k))
    if kind == "ce_smooth":
        return bp.CrossEntropy(label_smoothing=0.1), rng.integers(0, k, size=n)
    raise AssertionError(kind)


LOSS_KINDS = ["mse", "ce_labels", "ce_onehot", "bce", "bce_soft", "mae", "huber", "ce_smooth"]


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_loss_value_and_grad_against_finite_differences(kind, rng):
    n, k = 6, 4
    loss, y = _loss_targets(kind, rng, n, k)
    out = rng.normal(scale=2.0, size=(n, k))
    Y = loss.prepare_targets(y, k, np.float64)
    assert Y.shape == (n, k)
    C, dout = loss.value_and_grad(out, Y)
    assert C == pytest.approx(loss.value(out, Y), rel=1e-14)
    assert C == pytest.approx(loss(out, y), rel=1e-14)
    num = _central_difference(lambda: float(loss.value(out, Y)), out)
    assert rel_error(dout, num) < TOL


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_loss_in_a_network(kind, rng):
    net = f64([bp.Dense(4, 6), bp.Tanh(), bp.Dense(6, 3)])
    loss, y = _loss_targets(kind, rng, 7, 3)
    X = rng.normal(size=(7, 4))
    assert_gradients_correct(net, X, y, loss)


def test_fused_logit_deltas_carry_one_over_n(rng):
    # SPEC: δ_L = (softmax(Z) − Y)/n and (σ(Z) − Y)/n.
    n, k = 5, 3
    Z = rng.normal(size=(n, k))
    Y = one_hot(rng.integers(0, k, size=n), k)
    _, d = bp.CrossEntropy().value_and_grad(Z, Y)
    sm = np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
    np.testing.assert_allclose(d, (sm - Y) / n, rtol=1e-13, atol=1e-16)
    Yb = rng.integers(0, 2, size=(n, k)).astype(float)
    _, d = bp.BinaryCrossEntropy().value_and_grad(Z, Yb)
    np.testing.assert_allclose(d, (1 / (1 + np.exp(-Z)) - Yb) / n, rtol=1e-13, atol=1e-16)
    _, d = bp.MSE().value_and_grad(Z, Yb)
    np.testing.assert_allclose(d, (Z - Yb) / n, rtol=1e-13, atol=1e-16)


# --------------------------------------------------------------------------- layers


@pytest.mark.parametrize("bias", [True, False])
def test_dense(bias, rng):
    net = f64([bp.Dense(3, 4, bias=bias), bp.Sigmoid(), bp.Dense(4, 2, bias=bias)])
    X = rng.normal(size=(5, 3))
    assert_gradients_correct(net, X, rng.normal(size=(5, 2)), bp.MSE())


def test_dense_single_sample_and_single_unit(rng):
    net = f64([bp.Dense(1, 1), bp.Tanh(), bp.Dense(1, 1)])
    assert_gradients_correct(net, rng.normal(size=(1, 1)), rng.normal(size=(1, 1)), bp.MSE())


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_training_mode(momentum, rng):
    # Dense before BatchNorm has no bias: BatchNorm removes it, so its gradient is 0.
    net = f64([bp.Dense(4, 6, bias=False), bp.BatchNorm(6, momentum=momentum),
               bp.ReLU(), bp.Dense(6, 3)])
    # Non-trivial gamma/beta so every term of the BatchNorm backward matters.
    net.params["1.gamma"][...] = rng.uniform(0.5, 1.5, size=6)
    net.params["1.beta"][...] = rng.normal(size=6)
    X = rng.normal(loc=1.0, scale=2.0, size=(8, 4))
    assert_gradients_correct(net, X, rng.integers(0, 3, size=8), bp.CrossEntropy())


def test_batchnorm_as_last_layer(rng):
    net = f64([bp.Dense(3, 4, bias=False), bp.BatchNorm(4)])
    net.params["1.gamma"][...] = rng.uniform(0.5, 1.5, size=4)
    X = rng.normal(size=(6, 3))
    assert_gradients_correct(net, X, rng.normal(size=(6, 4)), bp.MSE())


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_with_fixed_mask(p, rng):
    net = f64([bp.Dense(4, 8), bp.ReLU(), bp.Dropout(p), bp.Dense(8, 3)], seed=3)
    X = rng.normal(size=(6, 4))
    y = rng.normal(size=(6, 3))
    # The mask really is random in training mode (else the check proves little).
    a = net.forward(X, training=True)
    b = net.forward(X, training=True)
    assert not np.allclose(a, b)
    assert_gradients_correct(net, X, y, bp.MSE())


# --------------------------------------------------------------------------- layer contract


def _layer_input_grad_check(layer, A, rng, training=True):
    """Layer.backward(dOut) returns ∂L/∂A for L = Σ G ⊙ forward(A) and fills its grads."""
    G = rng.normal(size=A.shape if layer.n_out is None else (A.shape[0], layer.n_out))

    def L():
        return float(np.sum(G * layer.forward(A, training=training)))

    out = layer.forward(A, training=training)
    assert out.shape == G.shape
    dA = layer.backward(G)
    num = _central_difference(L, A)
    assert rel_error(dA, num) < TOL
    for key, p in layer.params.items():  # backward filled grads under the same keys
        layer.forward(A, training=training)
        layer.backward(G)
        g = layer.grads[key].copy()
        assert rel_error(g, _central_difference(L, p)) < TOL, key


def _built(make, rng):
    layer = make()
    bp.Sequential([layer], seed=0, dtype="float64")  # builds the layer (params, grads, rng)
    if "gamma" in layer.params:
        layer.params["gamma"][...] = rng.uniform(0.5, 1.5, size=4)
        layer.params["beta"][...] = rng.normal(size=4)
    return layer


@pytest.mark.parametrize(
    "make",
    [lambda: bp.Dense(4, 3), lambda: bp.Dense(4, 3, bias=False), lambda: bp.BatchNorm(4)]
    + list(ACTIVATIONS.values()),
    ids=["dense", "dense_nobias", "batchnorm"] + list(ACTIVATIONS),
)
def test_layer_backward_returns_input_gradient(make, rng):
    _layer_input_grad_check(_built(make, rng), rng.normal(size=(5, 4)), rng)


def test_batchnorm_eval_mode_backward(rng):
    # In eval mode BatchNorm is an affine map with the running statistics.
    layer = _built(lambda: bp.BatchNorm(4), rng)
    layer.buffers["running_mean"][...] = rng.normal(size=4)
    layer.buffers["running_var"][...] = rng.uniform(0.2, 3.0, size=4)
    _layer_input_grad_check(layer, rng.normal(size=(5, 4)), rng, training=False)


# --------------------------------------------------------------------------- deep random networks

MIXABLE = ["sigmoid", "tanh", "relu", "leaky_relu_0.2", "elu", "gelu", "gelu_tanh", "identity"]


def random_network(seed):
    """A random float64 network mixing Dense, activations, BatchNorm and Dropout, and its loss."""
    r = np.random.default_rng(1000 + seed)
    n_in = int(r.integers(2, 5))
    depth = int(r.integers(2, 5))
    sizes = [n_in] + [int(r.integers(3, 7)) for _ in range(depth)]
    layers = []
    for i in range(depth):
        use_bn = bool(r.random() < 0.5)
        layers.append(bp.Dense(sizes[i], sizes[i + 1], bias=not use_bn))
        if use_bn:
            layers.append(bp.BatchNorm(sizes[i + 1]))
        layers.append(ACTIVATIONS[MIXABLE[r.integers(len(MIXABLE))]]())
        if r.random() < 0.3:
            layers.append(bp.Dropout(0.25))
    k = int(r.integers(2, 5))
    layers.append(bp.Dense(sizes[-1], k))
    kind = ["mse", "ce_labels", "ce_onehot", "bce", "mse_sigmoid", "mse_softmax"][seed % 6]
    n = 8
    if kind == "mse_sigmoid":
        layers.append(bp.Sigmoid())
        loss, y = bp.MSE(), r.uniform(size=(n, k))
    elif kind == "mse_softmax":
        layers.append(bp.Softmax())
        loss, y = bp.MSE(), one_hot(r.integers(0, k, size=n), k)
    else:
        loss, y = _loss_targets(kind, r, n, k)
    net = f64(layers, seed=seed)
    for key, p in net.params.items():  # BatchNorm with non-trivial affine parameters
        if key.endswith("gamma"):
            p[...] = r.uniform(0.5, 1.5, size=p.shape)
        elif key.endswith("beta"):
            p[...] = r.normal(scale=0.5, size=p.shape)
    X = r.normal(size=(n, n_in))
    return net, X, y, loss


@pytest.mark.parametrize("seed", range(12))
def test_random_deep_network(seed):
    net, X, y, loss = random_network(seed)
    assert_gradients_correct(net, X, y, loss)


def test_random_networks_cover_every_mixable_layer():
    kinds = set()
    for seed in range(12):
        net, *_ = random_network(seed)
        kinds |= {type(layer).__name__ for layer in net.layers}
    assert {"BatchNorm", "Dropout", "Dense", "Sigmoid", "Tanh", "ReLU", "GELU", "Softmax"} <= kinds


# --------------------------------------------------------------------------- gradcheck checked


def _gradcheck_setup(rng):
    net = f64([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)])
    return net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2))


def test_gradcheck_result_object(rng):
    net, X, y = _gradcheck_setup(rng)
    res = bp.gradcheck(net, X, y, bp.MSE())
    assert res.passed is True or res.passed == True  # noqa: E712 (a bool-like)
    assert set(res.errors) == {"0.W", "0.b", "2.W", "2.b"}
    assert 0 < res.tolerance < 1e-3
    assert max(res.errors.values()) < 1e-6
    text = str(res)
    for key in res.errors:
        assert key in text


def _corrupt_backward(monkeypatch, cls, index, key, factor):
    """Patch ``cls.backward`` (class level: gradcheck works on a copy of the network)
    so that the layer at ``index`` reports ``factor`` times its true gradient ``key``."""
    original = cls.backward

    def wrong_backward(self, dOut, *args, **kwargs):
        dIn = original(self, dOut, *args, **kwargs)
        if self.index == index:
            self.grads[key] *= factor
        return dIn

    monkeypatch.setattr(cls, "backward", wrong_backward)


@pytest.mark.parametrize("factor", [1.05, 0.0, -1.0])
def test_gradcheck_fails_on_a_wrong_weight_gradient(monkeypatch, rng, factor):
    net, X, y = _gradcheck_setup(rng)
    _corrupt_backward(monkeypatch, bp.Dense, 2, "W", factor)
    res = bp.gradcheck(net, X, y, bp.MSE())
    assert not res.passed
    assert res.errors["2.W"] > res.tolerance
    # Only the corrupted parameter is flagged.
    assert res.errors["2.b"] <= res.tolerance
    assert res.errors["0.W"] <= res.tolerance
    assert "2.W" in str(res)
    # Our own helper agrees that the gradient is wrong.
    _, ana = analytic_grads(net, X, y, bp.MSE())
    num = numerical_grads(net, X, y, bp.MSE())
    assert rel_error(ana["2.W"], num["2.W"]) > 1e-3


def test_gradcheck_fails_on_a_wrong_activation_derivative(monkeypatch, rng):
    net, X, y = _gradcheck_setup(rng)
    original = bp.Tanh.backward
    monkeypatch.setattr(bp.Tanh, "backward", lambda self, dOut, *a, **k: 1.1 * original(self, dOut, *a, **k))
    res = bp.gradcheck(net, X, y, bp.MSE())
    assert not res.passed
    assert res.errors["0.W"] > res.tolerance and res.errors["0.b"] > res.tolerance
    assert res.errors["2.W"] <= res.tolerance
