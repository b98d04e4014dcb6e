"""Initialisers: shapes, dtypes, and the distributions of torch.nn.init.

Fans are taken from W's shape (n_out, n_in): fan_in = n_in, fan_out = n_out.
Moments of a 400 x 300 matrix (120 000 draws) are compared with the formulas
within a few standard errors; a seeded generator makes every check repeatable.
"""

import math

import numpy as np
import pytest

import bprop as bp
from bprop import initializers

N_OUT, N_IN = 400, 300  # W is (n_out, n_in)
N = N_OUT * N_IN

# name -> (distribution, std) from torch.nn.init with its defaults
# (kaiming: a=0, mode="fan_in", nonlinearity="relu" -> gain √2).
XAVIER_STD = math.sqrt(2.0 / (N_IN + N_OUT))
EXPECTED = {
    "xavier_uniform": ("uniform", XAVIER_STD),
    "xavier_normal": ("normal", XAVIER_STD),
    "he_uniform": ("uniform", math.sqrt(2.0 / N_IN)),
    "he_normal": ("normal", math.sqrt(2.0 / N_IN)),
    "lecun_normal": ("normal", math.sqrt(1.0 / N_IN)),
}
ALL_NAMES = ["zeros", "constant", "uniform", "normal", "xavier_uniform", "xavier_normal",
             "he_uniform", "he_normal", "lecun_normal", "orthogonal"]


def draw(name, shape=(N_OUT, N_IN), seed=0, dtype=np.float64):
    init = initializers.get(name)
    return init(shape, np.random.default_rng(seed), dtype, fan_in=shape[1], fan_out=shape[0])


def kurtosis(w):
    c = w - w.mean()
    return float(np.mean(c**4) / np.mean(c**2) ** 2)


def assert_moments(w, kind, std):
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    assert abs(w.mean()) < 5 * std / math.sqrt(n)
    # Var of the sample variance: 2σ⁴/n (normal), 0.8σ⁴/n (uniform); 5 standard errors.
    assert w.var() == pytest.approx(std**2, rel=5 * math.sqrt(2.0 / n))
    if kind == "uniform":
        bound = std * math.sqrt(3.0)
        assert np.abs(w).max() <= bound * (1 + 1e-7)
        assert np.abs(w).max() > 0.999 * bound
        assert kurtosis(w) == pytest.approx(1.8, abs=0.05)
    else:
        assert kurtosis(w) == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_variance_scaling_distributions(name):
    kind, std = EXPECTED[name]
    assert_moments(draw(name), kind, std)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dense_uses_fans_from_w_shape(name):
    # Through Dense: W is (n_out, n_in); he_*/lecun use fan_in = n_in = 300, not 400.
    net = bp.Sequential([bp.Dense(N_IN, N_OUT, init=name)], seed=0, dtype="float64")
    W = net.params["0.W"]
    assert W.shape == (N_OUT, N_IN)
    kind, std = EXPECTED[name]
    assert_moments(W, kind, std)


def test_he_normal_std_differs_from_fan_out_version():
    # 2/300 vs 2/400: the moment test above can tell the two fans apart.
    w = draw("he_normal")
    assert abs(w.var() - 2.0 / N_OUT) > 10 * (2.0 / N_OUT) * math.sqrt(2.0 / N)


def test_uniform_and_normal_defaults_match_torch():
    # torch.nn.init.uniform_ defaults to U(0, 1), normal_ to N(0, 1).
    u = draw("uniform")
    assert u.min() >= 0.0 and u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=5 * math.sqrt(1 / 12 / N))
    assert u.var() == pytest.approx(1 / 12, rel=0.02)
    assert_moments(draw("normal"), "normal", 1.0)


def test_zeros_and_constant_are_exact():
    z = draw("zeros", (7, 5))
    assert z.shape == (7, 5) and not z.any()
    c = initializers.get({"name": "constant", "value": 0.25})((3, 4), np.random.default_rng(0),
                                                              np.float64)
    assert c.shape == (3, 4)
    assert np.all(c == 0.25)


@pytest.mark.parametrize("shape", [(N_OUT, N_IN), (N_IN, N_OUT), (50, 50)])
def test_orthogonal(shape):
    W = draw("orthogonal", shape)
    assert W.shape == shape
    small = W @ W.T if shape[0] <= shape[1] else W.T @ W
    np.testing.assert_allclose(small, np.eye(min(shape)), atol=1e-10)


def test_orthogonal_gain():
    W = initializers.get({"name": "orthogonal", "gain": 2.0})((30, 20), np.random.default_rng(1),
                                                             np.float64)
    np.testing.assert_allclose(W.T @ W, 4.0 * np.eye(20), atol=1e-10)


def test_orthogonal_through_dense():
    net = bp.Sequential([bp.Dense(20, 30, init="orthogonal")], seed=0, dtype="float64")
    W = net.params["0.W"]
    np.testing.assert_allclose(W.T @ W, np.eye(20), atol=1e-10)


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype(name, dtype):
    w = draw(name, (6, 4), dtype=dtype)
    assert w.shape == (6, 4)
    assert w.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(w))


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dense_init_by_name(name, dtype):
    net = bp.Sequential([bp.Dense(4, 6, init=name)], seed=0, dtype=dtype)
    W, b = net.params["0.W"], net.params["0.b"]
    assert W.shape == (6, 4) and b.shape == (6,)
    assert W.dtype == np.dtype(dtype) and b.dtype == np.dtype(dtype)
    assert not b.any()  # bias_init=0.0 by default


@pytest.mark.parametrize("name", ["uniform", "normal", "xavier_uniform", "he_normal", "orthogonal"])
def test_reproducible_from_seed_and_seeds_differ(name):
    np.testing.assert_array_equal(draw(name, (8, 5), seed=3), draw(name, (8, 5), seed=3))
    assert not np.array_equal(draw(name, (8, 5), seed=3), draw(name, (8, 5), seed=4))


def test_network_initialisation_reproducible_from_seed():
    def make(seed):
        return bp.Sequential([bp.Dense(5, 8, init="he_uniform"), bp.ReLU(),
                              bp.Dense(8, 3, init="xavier_normal", bias_init="normal")], seed=seed)

    a, b, c = make(11), make(11), make(12)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    for key in ("0.W", "2.W", "2.b"):  # 0.b is the default bias_init=0.0 in every net
        assert not np.array_equal(a.params[key], c.params[key]), key


def test_bias_init_number():
    net = bp.Sequential([bp.Dense(3, 5, bias_init=0.01)], seed=0, dtype="float64")
    np.testing.assert_array_equal(net.params["0.b"], np.full(5, 0.01))


@pytest.mark.parametrize(
    "bias_init",
    ["normal", initializers.get("normal"), {"name": "constant", "value": -0.5}],
    ids=["name", "initializer", "spec"],
)
def test_bias_init_initialiser(bias_init):
    net = bp.Sequential([bp.Dense(3, 2000, bias_init=bias_init)], seed=0, dtype="float64")
    b = net.params["0.b"]
    assert b.shape == (2000,)
    if isinstance(bias_init, dict):
        assert np.all(b == -0.5)
    else:  # N(0, 1)
        assert abs(b.mean()) < 0.15 and b.std() == pytest.approx(1.0, rel=0.1)


def test_custom_callable_initialiser():
    # A user function is called as f(shape, rng) with the network's generator.
    calls = []

    def my_init(shape, rng):
        calls.append((tuple(shape), rng))
        return np.full(shape, 0.5)

    net = bp.Sequential([bp.Dense(3, 4, init=my_init)], seed=0, dtype="float32")
    np.testing.assert_array_equal(net.params["0.W"], np.full((4, 3), 0.5))
    assert net.params["0.W"].dtype == np.float32
    assert calls[0][0] == (4, 3) and calls[0][1] is net.rng


def test_unknown_initialiser_lists_valid_names():
    with pytest.raises(ValueError) as exc:
        initializers.get("glorot_fancy")
    msg = str(exc.value)
    assert "glorot_fancy" in msg
    for name in ("xavier_uniform", "he_normal", "orthogonal"):
        assert name in msg
