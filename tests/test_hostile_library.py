"""Careless arguments to the library get one clear error before anything is built or allocated.

Each case was once accepted silently (a NaN bias, an Identity net handing back
the caller's own X) or failed late and unclearly (NumPy's seed message that
does not name ``seed``, a ``MemoryError`` traceback for an absurd layer).
"""

import numpy as np
import pytest

import bprop as bp
from bprop import initializers
from bprop.layers.base import check_allocation


@pytest.mark.parametrize("seed, exc, msg", [
    (-1, ValueError, r"^Invalid seed: -1 \(expected an integer seed >= 0\)$"),
    ("abc", TypeError, r"^seed must be None or an integer, got str 'abc'$"),
    (1.5, TypeError, r"^seed must be None or an integer, got float 1.5$"),
    (True, TypeError, r"^seed must be None or an integer, got bool True$"),
])
def test_seed_is_checked_and_named(seed, exc, msg):
    with pytest.raises(exc, match=msg):
        bp.Sequential([bp.Dense(2, 2)], seed=seed)


def test_valid_seeds_still_reproduce():
    a = bp.Sequential([bp.Dense(3, 4)], seed=np.int64(7))
    b = bp.Sequential([bp.Dense(3, 4)], seed=7)
    np.testing.assert_array_equal(a.params["0.W"], b.params["0.W"])
    assert bp.Sequential([bp.Dense(3, 4)], seed=None).seed is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_bias_init_is_refused(value):
    with pytest.raises(ValueError, match=r"^Invalid bias_init: .* \(expected finite bias_init\)$"):
        bp.Dense(2, 2, bias_init=value)


@pytest.mark.parametrize("make, msg", [
    (lambda: initializers.Constant(float("nan")), r"Invalid value: nan"),
    (lambda: initializers.Uniform(0.0, float("inf")), r"Invalid b: inf"),
    (lambda: initializers.Normal(float("nan"), 1.0), r"Invalid mean: nan"),
    (lambda: initializers.Normal(0.0, -1.0), r"Invalid std: -1.0 \(expected std >= 0\)"),
    (lambda: initializers.XavierUniform(gain=float("nan")), r"Invalid gain: nan"),
])
def test_initialiser_arguments_are_finite(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_initialiser_argument_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="value must be a real number, got str 'x'"):
        initializers.Constant("x")


def test_absurd_layer_is_refused_before_any_allocation():
    with pytest.raises(ValueError, match=r"^Dense layer 2: W \(99999999999, 4\) needs [\d,.]+ GiB "
                                         r"\(4 arrays of float64\) but this machine has [\d,.]+ GiB; use fewer units$"):
        bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 99999999999)])


def test_allocation_check_passes_what_fits():
    check_allocation("Dense layer 0", "W", (256, 784), np.float64, copies=4)   # no error


def test_identity_network_never_hands_back_the_callers_array():
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    net = bp.Sequential([bp.Identity(), bp.Dropout(0.5)])
    for out in (net.predict(X), net.forward(X), net.forward(X, training=False)):
        assert out is not X and not np.shares_memory(out, X)
        np.testing.assert_array_equal(out, X)
    out = net.predict(X)
    out[0, 0] = 99.0
    assert X[0, 0] == 0.0                                # writing the result leaves the input alone
