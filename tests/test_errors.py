"""Bad input gets a clear ValueError/TypeError naming what was expected and what came.

One rule (bprop._validation): a value of the wrong type is a TypeError, a value of the right
type that is out of range or not an option a ValueError.
"""

import re
from numbers import Integral, Real

import numpy as np
import pytest

import bprop as bp
from bprop import _validation as V


def mnist_net():
    return bp.Sequential([bp.Dense(784, 16), bp.ReLU(), bp.Dense(16, 10)], seed=0)


# --------------------------------------------------------------------------- feature counts


@pytest.mark.parametrize("method", ["forward", "predict", "backprop", "trace"])
def test_wrong_feature_count_names_layer_and_both_numbers(method):
    net = mnist_net()
    X = np.zeros((2, 780))
    args = (X,) if method in ("forward", "predict") else (X, np.array([1, 2]), bp.CrossEntropy())
    with pytest.raises(ValueError) as exc:
        getattr(net, method)(*args)
    msg = str(exc.value)
    assert "784" in msg and "780" in msg
    assert re.search(r"Dense layer 0\b", msg), msg


def test_one_dimensional_input_is_rejected_clearly():
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    with pytest.raises(ValueError, match=r"X must be 2-D.*\(5,\)"):
        net.forward(np.zeros(5))


# --------------------------------------------------------------------------- non-finite and empty data


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["forward", "predict", "backprop"])
def test_non_finite_X(bad, method):
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    X = np.ones((4, 3))
    X[2, 1] = bad
    args = (X,) if method != "backprop" else (X, np.zeros((4, 2)), bp.MSE())
    with pytest.raises(ValueError, match=r"(?i)nan|inf|finite"):
        getattr(net, method)(*args)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("loss", [bp.MSE(), bp.BinaryCrossEntropy(), bp.CrossEntropy()],
                         ids=["mse", "bce", "ce_onehot"])
def test_non_finite_y(bad, loss):
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    y[1, 0] = bad
    with pytest.raises(ValueError, match=r"(?i)nan|inf|finite"):
        net.backprop(np.ones((3, 3)), y, loss)


def test_empty_X():
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    with pytest.raises(ValueError, match=r"(?i)empty|0 samples|no samples"):
        net.forward(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"(?i)empty|0 samples|no samples"):
        net.backprop(np.zeros((0, 3)), np.zeros((0, 2)), bp.MSE())


def test_sample_count_mismatch_between_X_and_y():
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    with pytest.raises(ValueError) as exc:
        net.backprop(np.ones((4, 3)), np.zeros((5, 2)), bp.MSE())
    assert "4" in str(exc.value) and "5" in str(exc.value)


def test_target_width_mismatch():
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    with pytest.raises(ValueError) as exc:
        net.backprop(np.ones((4, 3)), np.zeros((4, 3)), bp.MSE())
    assert "2" in str(exc.value) and "3" in str(exc.value)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize("labels", [[0, 1, 10], [0, -1, 2], [0, 1, 99]])
def test_labels_outside_classes(labels):
    net = mnist_net()
    with pytest.raises(ValueError) as exc:
        net.backprop(np.zeros((3, 784)), np.array(labels), bp.CrossEntropy())
    msg = str(exc.value)
    assert "10" in msg  # the number of classes (or the valid range 0..9)
    assert re.search(r"(?i)label|class", msg)


def test_non_integer_labels():
    net = bp.Sequential([bp.Dense(3, 4)], seed=0)
    with pytest.raises((ValueError, TypeError), match=r"(?i)label|integer|class"):
        net.backprop(np.ones((3, 3)), np.array([0.5, 1.0, 2.0]), bp.CrossEntropy())


def test_one_hot_rows_must_match_outputs():
    loss = bp.CrossEntropy()
    with pytest.raises(ValueError):
        loss.prepare_targets(np.eye(3), 4, np.float64)


# --------------------------------------------------------------------------- names


def _assert_lists_valid(exc, bad, valid):
    msg = str(exc.value)
    assert bad in msg, msg
    for name in valid:
        assert name in msg, f"{name!r} missing from: {msg}"


def test_unknown_initializer_name_in_dense():
    with pytest.raises(ValueError) as exc:
        bp.Sequential([bp.Dense(3, 2, init="kaiming_fancy")], seed=0)
    _assert_lists_valid(exc, "kaiming_fancy", ["xavier_uniform", "he_normal", "orthogonal", "zeros"])


def test_unknown_bias_initializer_name():
    with pytest.raises(ValueError) as exc:
        bp.Sequential([bp.Dense(3, 2, bias_init="nope")], seed=0)
    _assert_lists_valid(exc, "nope", ["zeros", "normal"])


def test_unknown_activation_name():
    with pytest.raises(ValueError) as exc:
        bp.activations.get("swishy")
    _assert_lists_valid(exc, "swishy", ["sigmoid", "tanh", "relu", "gelu", "softmax"])


def test_unknown_loss_name():
    with pytest.raises(ValueError) as exc:
        bp.losses.get("hinge")
    _assert_lists_valid(exc, "hinge", ["mse", "cross_entropy", "binary_cross_entropy"])


def test_known_names_resolve():
    assert isinstance(bp.activations.get("relu"), bp.ReLU)
    assert isinstance(bp.losses.get("cross_entropy"), bp.CrossEntropy)


@pytest.mark.parametrize("dtype", ["float16", "int32", "double-ish"])
def test_unknown_dtype(dtype):
    with pytest.raises((ValueError, TypeError)) as exc:
        bp.Sequential([bp.Dense(3, 2)], dtype=dtype)
    assert "float32" in str(exc.value) and "float64" in str(exc.value)


# --------------------------------------------------------------------------- hyper-parameters


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: bp.Dropout(1.5), ["p", "1.5"]),
        (lambda: bp.Dropout(-0.1), ["p", "-0.1"]),
        (lambda: bp.Dropout(1.0), ["p", "1"]),
        (lambda: bp.BatchNorm(4, eps=-1e-5), ["eps"]),
        (lambda: bp.BatchNorm(4, eps=0.0), ["eps"]),
        (lambda: bp.BatchNorm(4, momentum=1.5), ["momentum"]),
        (lambda: bp.BatchNorm(0), ["0"]),
        (lambda: bp.Dense(0, 3), ["n_in", "0"]),
        (lambda: bp.Dense(3, 0), ["n_out", "0"]),
        (lambda: bp.Dense(-2, 3), ["n_in", "-2"]),
        (lambda: bp.ELU(alpha=-1.0), ["alpha"]),
        (lambda: bp.GELU(approximate="fast"), ["approximate", "fast", "tanh", "none"]),
    ],
    ids=["dropout>1", "dropout<0", "dropout=1", "bn-eps<0", "bn-eps=0", "bn-momentum", "bn-n=0",
         "dense-n_in=0", "dense-n_out=0", "dense-n_in<0", "elu-alpha", "gelu-approx"],
)
def test_bad_hyper_parameters(make, words):
    with pytest.raises(ValueError) as exc:
        make()
    for word in words:
        assert word in str(exc.value), str(exc.value)


@pytest.mark.parametrize("make", [lambda: bp.Dense(2.5, 3), lambda: bp.Dense("3", 3),
                                  lambda: bp.BatchNorm(4.0)])
def test_non_integer_sizes(make):
    # a value of the wrong type is a TypeError (bprop._validation's one rule)
    with pytest.raises(TypeError, match="must be an integer"):
        make()


@pytest.mark.parametrize("make", [lambda: bp.Dropout("0.1"), lambda: bp.BatchNorm(4, eps=None),
                                  lambda: bp.ELU(alpha=True)])
def test_non_number_hyper_parameters_are_type_errors(make):
    with pytest.raises(TypeError, match="must be a real number"):
        make()


# --------------------------------------------------------------------------- the vocabulary of checks
POSITIVE = V.Interval(Real, 0, None, closed="neither")
SIZE = V.Interval(Integral, 1, None, closed="left")


@pytest.mark.parametrize("check, value, exc, message", [
    (lambda v: V.check(v, "lr", POSITIVE), -0.1, ValueError, r"^Invalid learning rate: -0.1 \(expected lr > 0\)$"),
    (lambda v: V.check(v, "lr", POSITIVE), float("inf"), ValueError, r"Invalid learning rate: inf"),
    (lambda v: V.check(v, "lr", POSITIVE), "fast", TypeError, r"^lr must be a real number, got str 'fast'$"),
    (lambda v: V.check(v, "lr", POSITIVE), True, TypeError, r"lr must be a real number, got bool True"),
    (lambda v: V.check(v, "n", SIZE), 0, ValueError, r"^Invalid n: 0 \(expected an integer n >= 1\)$"),
    (lambda v: V.check(v, "n", SIZE), 2.0, TypeError, r"^n must be an integer, got float 2.0$"),
    (lambda v: V.check(v, "p", V.Interval(Real, 0, 1, closed="left")), 1, ValueError,
     r"^Invalid p: 1 \(expected 0 <= p < 1\)$"),
    (lambda v: V.check(v, "mode", V.Options(("min", "max"), type=str)), "maximum", ValueError,
     r"^Invalid mode: 'maximum' \(expected one of 'min', 'max'\)$"),
    (lambda v: V.check(v, "mode", V.Options(("min", "max"), type=str)), 1, TypeError, r"^mode must be a str, got int 1$"),
    (lambda v: V.check(v, "kind", V.Options({"a": 1, "b": 2}, kind="activation")), "c", ValueError,
     r"^Unknown activation 'c'. Valid activations are: a, b$"),
    (lambda v: V.check(v, "tol", [V.Interval(Real, 0, None), None]), "x", TypeError,
     r"^tol must be a real number or None, got str 'x'$"),
    (lambda v: V.check(v, "sizes", [SIZE, V.Items(SIZE)]), (3, 0), ValueError, r"^Invalid sizes\[1\]: 0 "),
    (lambda v: V.check(v, "sizes", [SIZE, V.Items(SIZE)]), (3, "4"), TypeError, r"^sizes must be an integer or a list"),
], ids=["range", "inf", "type", "bool", "int-range", "int-type", "half-open", "option", "option-type", "registry",
        "any-of", "items-range", "items-type"])
def test_one_rule_and_one_message_style(check, value, exc, message):
    with pytest.raises(exc, match=message):
        check(value)


def test_check_returns_the_converted_value():
    assert V.check(np.float32(0.5), "p", V.Interval(Real, 0, 1)) == 0.5
    assert type(V.check(np.int64(3), "n", SIZE)) is int
    assert V.check(None, "tol", [V.Interval(Real, 0, None), None]) is None
    assert V.check([1, 2], "sizes", V.Items(SIZE)) == [1, 2]
    assert V.check_params({"n": 2, "lr": 1}, {"lr": POSITIVE, "n": SIZE}) == {"n": 2, "lr": 1.0}


@pytest.mark.parametrize("helper, good", [
    (lambda v: V.check_number(v, "x", low=0.0), 1.0),
    (lambda v: V.check_positive_int(v, "x"), 1),
    (lambda v: V.check_real(v, "x", "x", ge=0), 1.0),
    (lambda v: V.check_int(v, "x", ge=0), 1),
])
def test_the_older_helpers_follow_the_same_rule(helper, good):
    assert helper(good) == good
    with pytest.raises(TypeError):      # not a number: TypeError in every helper
        helper("1")
    with pytest.raises(ValueError):     # a number out of range: ValueError in every helper
        helper(-5)
    with pytest.raises(ValueError, match=r"Invalid size: 'XL' \(expected one of 'S', 'M'\)"):
        V.check_choice("XL", "size", ("S", "M"))


# --------------------------------------------------------------------------- construction


def test_mismatched_consecutive_dense_layers():
    with pytest.raises(ValueError) as exc:
        bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(5, 2)])
    msg = str(exc.value)
    assert "4" in msg and "5" in msg
    assert "2" in msg  # names the offending layer's index


def test_batchnorm_size_mismatch():
    with pytest.raises(ValueError) as exc:
        bp.Sequential([bp.Dense(3, 4), bp.BatchNorm(6)])
    assert "4" in str(exc.value) and "6" in str(exc.value)


def test_empty_or_non_layer_list():
    with pytest.raises((ValueError, TypeError)):
        bp.Sequential([])
    with pytest.raises(TypeError):
        bp.Sequential([bp.Dense(3, 2), "relu"])


def test_unknown_loss_object_in_backprop():
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    with pytest.raises((TypeError, ValueError)):
        net.backprop(np.ones((2, 3)), np.zeros((2, 2)), "mse-ish")


def test_errors_are_not_assertions():
    # `python -O` strips asserts: user mistakes must never be AssertionError.
    for make in (lambda: bp.Dropout(2.0), lambda: bp.Dense(0, 1),
                 lambda: bp.Sequential([bp.Dense(3, 4), bp.Dense(5, 1)])):
        with pytest.raises(Exception) as exc:
            make()
        assert not isinstance(exc.value, AssertionError)
