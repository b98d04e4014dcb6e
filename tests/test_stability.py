"""Numerical stability: logits of ±1e4 give finite values, with no warnings.

Every test turns warnings into errors and asks NumPy to raise on overflow,
invalid operations and division by zero (underflow to 0 is harmless).
"""

import warnings
from functools import partial

import numpy as np
import pytest

import bprop as bp

BIG = 1e4


@pytest.fixture(autouse=True)
def strict_numerics():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


def extreme_logits(dtype):
    return np.array([[BIG, -BIG, 0.0],
                     [-BIG, BIG, -BIG],
                     [-BIG, -BIG, -BIG],
                     [BIG, BIG, BIG]], dtype=dtype)


DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(dtype):
    Z = extreme_logits(dtype)
    labels = np.array([1, 1, 0, 2])  # row 0 is confidently wrong: loss ≈ 2e4 / n
    loss = bp.CrossEntropy()
    Y = loss.prepare_targets(labels, 3, dtype)
    C, d = loss.value_and_grad(Z, Y)
    assert np.isfinite(C) and np.all(np.isfinite(d))
    # Exact values: row 0 costs 2e4, row 1 ~0, row 2 and 3 ln 3 each.
    assert C == pytest.approx((2 * BIG + 2 * np.log(3.0)) / 4, rel=1e-6)
    expected_d = np.array([[1, -1, 0], [0, 0, 0], [-2 / 3, 1 / 3, 1 / 3],
                           [1 / 3, 1 / 3, -2 / 3]]) / 4
    np.testing.assert_allclose(d, expected_d, atol=1e-6)
    assert loss(Z, labels) == pytest.approx(C)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_extreme_logits(dtype):
    Z = extreme_logits(dtype)
    Y = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]], dtype=dtype)
    loss = bp.BinaryCrossEntropy()
    C, d = loss.value_and_grad(Z, loss.prepare_targets(Y, 3, dtype))
    assert np.isfinite(C) and np.all(np.isfinite(d))
    # Per element: softplus(z) − y·z; the wrong-side ±1e4 terms cost 1e4 each.
    z64, y64 = Z.astype(np.float64), Y.astype(np.float64)
    per = np.maximum(z64, 0) - y64 * z64 + np.log1p(np.exp(-np.abs(z64)))
    assert C == pytest.approx(per.sum() / 4, rel=1e-6)
    sig = np.where(z64 > 0, 1.0, np.where(z64 < 0, 0.0, 0.5))
    np.testing.assert_allclose(d, (sig - y64) / 4, atol=1e-6)


@pytest.mark.parametrize("loss", [bp.CrossEntropy(), bp.BinaryCrossEntropy()],
                         ids=["ce", "bce"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_with_huge_logits_backprop_is_finite(loss, dtype):
    net = bp.Sequential([bp.Dense(2, 3)], seed=0, dtype=dtype)
    net.params["0.W"][...] = np.array([[BIG, 0], [-BIG, 0], [0, BIG]])
    X = np.array([[1.0, 0.0], [-1.0, 1.0], [0.5, -1.0]])
    y = np.array([1, 0, 2]) if isinstance(loss, bp.CrossEntropy) else np.eye(3)[[1, 0, 2]]
    C = net.backprop(X, y, loss)
    assert np.isfinite(C) and C > 1.0  # confidently wrong somewhere
    for key, g in net.grads.items():
        assert np.all(np.isfinite(g)), key


ACTIVATIONS = dict(sigmoid=bp.Sigmoid, softmax=bp.Softmax, elu=bp.ELU, gelu=bp.GELU, tanh=bp.Tanh,
                   gelu_tanh=partial(bp.GELU, approximate="tanh"))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation_layers_finite_at_extremes(name, dtype):
    net = bp.Sequential([bp.Dense(3, 3, bias=False, init="zeros"), ACTIVATIONS[name]()],
                        seed=0, dtype=dtype)
    net.params["0.W"][...] = np.eye(3)
    X = extreme_logits(np.float64)
    out = net.forward(X)
    assert np.all(np.isfinite(out))
    C = net.backprop(X, np.zeros((4, 3)), bp.MSE())
    assert np.isfinite(C)
    assert np.all(np.isfinite(net.grads["0.W"]))


def test_limits_of_saturating_activations():
    X = np.array([[BIG, -BIG, 0.0]])

    def out(act):
        net = bp.Sequential([bp.Dense(3, 3, bias=False), act], seed=0, dtype="float64")
        net.params["0.W"][...] = np.eye(3)
        return net.forward(X)[0]

    np.testing.assert_allclose(out(bp.Sigmoid()), [1.0, 0.0, 0.5], atol=1e-15)
    np.testing.assert_allclose(out(bp.ELU()), [BIG, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out(bp.GELU()), [BIG, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out(bp.GELU(approximate="tanh")), [BIG, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out(bp.Softmax()), [1.0, 0.0, 0.0], atol=1e-15)
