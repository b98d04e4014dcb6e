"""The seeds' worked example (002): a 1-1-1 sigmoid network, worked by hand.

Network (no biases):  x --w1--> [σ] --w2--> [σ] --> a2,   cost C = ½ (a2 − y)²
with x = 0.5, w1 = 0.8, w2 = 0.6, y = 0.9 and one SGD step of lr = 0.1.

bprop's MSE is C = 1/(2n) Σ ‖a − y‖², which for n = 1 sample and 1 output is
exactly the quadratic cost ½ (a2 − y)² of the seed.

Forward pass
    z1 = w1·x              = 0.8 · 0.5                    = 0.4
    a1 = σ(z1)             = 1 / (1 + e^−0.4)             = 0.598687660112452
    z2 = w2·a1             = 0.6 · 0.598687660112452      = 0.3592125960674712
    a2 = σ(z2)             = 1 / (1 + e^−0.35921...)      = 0.5888498124157379
    C  = ½ (a2 − y)²       = ½ (−0.3111501875842621)²     = 0.048407219616860765

Backward pass (σ'(z) = σ(z)(1 − σ(z)))
    BP1  δ2 = (a2 − y) · σ'(z2)
            = −0.3111501875842621 · 0.5888498124157379 · 0.4111501875842621
            = −0.07533123734112321
    BP2  δ1 = δ2 · w2 · σ'(z1)
            = −0.07533123734112321 · 0.6 · 0.598687660112452 · 0.401312339887548
            = −0.010859483556726234
    BP4  ∂C/∂w2 = δ2 · a1 = −0.07533123734112321 · 0.598687660112452 = −0.045099882217132826
         ∂C/∂w1 = δ1 · x  = −0.010859483556726234 · 0.5             = −0.005429741778363117

SGD step (w ← w − lr · ∂C/∂w)
    w1' = 0.8 − 0.1 · (−0.005429741778363117) = 0.8005429741778364   (SPEC: ≈ 0.800543)
    w2' = 0.6 − 0.1 · (−0.045099882217132826) = 0.6045099882217133   (SPEC: ≈ 0.604510)

The seed's code instead back-propagates ``gradient_output = a1 · (y − a2) · σ'(z2)``
(that is −∂C/∂w2, already multiplied by a1) rather than −δ2, so its w1 step
carries an extra factor a1 = σ(w1·x):
    w1'(seed) = 0.8 + 0.1 · 0.5 · (a1·(−δ2)) · w2 · σ'(z1) = 0.8003250719400303
"""

import numpy as np
import pytest

import bprop as bp

X_IN, W1, W2, TARGET, LR = 0.5, 0.8, 0.6, 0.9, 0.1

# The hand-derived numbers above, as literals.
HAND = {
    "z1": 0.4,
    "a1": 0.598687660112452,
    "z2": 0.3592125960674712,
    "a2": 0.5888498124157379,
    "C": 0.048407219616860765,
    "delta2": -0.07533123734112321,
    "delta1": -0.010859483556726234,
    "dC_dw2": -0.045099882217132826,
    "dC_dw1": -0.005429741778363117,
    "w1_new": 0.8005429741778364,
    "w2_new": 0.6045099882217133,
}
TOL = 1e-12


@pytest.fixture
def net():
    n = bp.Sequential(
        [bp.Dense(1, 1, bias=False), bp.Sigmoid(), bp.Dense(1, 1, bias=False), bp.Sigmoid()],
        seed=0,
        dtype="float64",
    )
    n.params["0.W"][...] = W1
    n.params["2.W"][...] = W2
    return n


X = np.array([[X_IN]])
Y = np.array([[TARGET]])


def test_hand_numbers_are_self_consistent():
    # Guard against a typo in the literals: recompute them from the definitions.
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    a1 = sig(W1 * X_IN)
    a2 = sig(W2 * a1)
    d2 = (a2 - TARGET) * a2 * (1 - a2)
    d1 = d2 * W2 * a1 * (1 - a1)
    assert a1 == pytest.approx(HAND["a1"], abs=TOL)
    assert a2 == pytest.approx(HAND["a2"], abs=TOL)
    assert d2 == pytest.approx(HAND["delta2"], abs=TOL)
    assert d1 == pytest.approx(HAND["delta1"], abs=TOL)
    assert HAND["w1_new"] == pytest.approx(0.800543, abs=5e-7)
    assert HAND["w2_new"] == pytest.approx(0.604510, abs=5e-7)


def test_no_bias_parameters(net):
    assert set(net.params) == {"0.W", "2.W"}
    assert net.params["0.W"].shape == (1, 1)


def test_trace_matches_hand_derivation(net):
    rec = net.trace(X, Y, bp.MSE())
    assert len(rec) == 2
    first, second = rec
    assert first["a_in"][0, 0] == pytest.approx(X_IN, abs=TOL)
    assert first["z"][0, 0] == pytest.approx(HAND["z1"], abs=TOL)
    assert first["a_out"][0, 0] == pytest.approx(HAND["a1"], abs=TOL)
    assert second["a_in"][0, 0] == pytest.approx(HAND["a1"], abs=TOL)
    assert second["z"][0, 0] == pytest.approx(HAND["z2"], abs=TOL)
    assert second["a_out"][0, 0] == pytest.approx(HAND["a2"], abs=TOL)
    # BP1 and BP2
    assert second["delta"][0, 0] == pytest.approx(HAND["delta2"], abs=TOL)
    assert first["delta"][0, 0] == pytest.approx(HAND["delta1"], abs=TOL)
    # BP4
    assert second["dW"][0, 0] == pytest.approx(HAND["dC_dw2"], abs=TOL)
    assert first["dW"][0, 0] == pytest.approx(HAND["dC_dw1"], abs=TOL)


def test_backprop_loss_grads_and_one_sgd_step(net):
    C = net.backprop(X, Y, bp.MSE())
    assert C == pytest.approx(HAND["C"], abs=TOL)
    assert net.grads["0.W"][0, 0] == pytest.approx(HAND["dC_dw1"], abs=TOL)
    assert net.grads["2.W"][0, 0] == pytest.approx(HAND["dC_dw2"], abs=TOL)
    # A manual SGD step on the live parameters.
    for key in net.params:
        net.params[key] -= LR * net.grads[key]
    assert net.params["0.W"][0, 0] == pytest.approx(HAND["w1_new"], abs=TOL)
    assert net.params["2.W"][0, 0] == pytest.approx(HAND["w2_new"], abs=TOL)
    # The updated weights are the ones the network now uses.
    a2_after = 1 / (1 + np.exp(-HAND["w2_new"] / (1 + np.exp(-HAND["w1_new"] * X_IN))))
    assert net.predict(X)[0, 0] == pytest.approx(a2_after, abs=TOL)
    # ... and the step lowered the cost.
    assert bp.MSE()(net.predict(X), Y) < HAND["C"]


def _seed_code_one_step():
    """One iteration of the seed's loop, verbatim in its arithmetic."""

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_derivative(x):  # takes σ(z), returns σ'(z)
        return x * (1 - x)

    weight1, weight2 = W1, W2
    layer1 = sigmoid(X_IN * weight1)
    output = sigmoid(layer1 * weight2)
    error = TARGET - output
    gradient_output = layer1 * error * sigmoid_derivative(output)
    error_at_hidden = gradient_output * weight2
    gradient_hidden = X_IN * error_at_hidden * sigmoid_derivative(layer1)
    weight2 = weight2 + gradient_output * LR
    weight1 = weight1 + gradient_hidden * LR
    return weight1, weight2


def test_seed_code_w1_update_differs_by_factor_a1(net):
    seed_w1, seed_w2 = _seed_code_one_step()
    net.backprop(X, Y, bp.MSE())
    bprop_step_w1 = -LR * net.grads["0.W"][0, 0]
    bprop_step_w2 = -LR * net.grads["2.W"][0, 0]
    # w2 agrees: the seed's gradient_output is −∂C/∂w2.
    assert seed_w2 == pytest.approx(W2 + bprop_step_w2, abs=TOL)
    # w1 does not: the seed's step is bprop's (BP2) step times a1 = σ(w1·x).
    assert seed_w1 == pytest.approx(0.8003250719400303, abs=TOL)
    assert abs(seed_w1 - HAND["w1_new"]) > 1e-4
    assert (seed_w1 - W1) == pytest.approx(HAND["a1"] * bprop_step_w1, rel=1e-12)


def test_explain_model_holds_the_hand_numbers(net):
    # bprop.explain keeps the numbers of one step, taken with the library (trace, backprop, SGD).
    from bprop.explain import take_step
    step = take_step(net, X, Y, bp.MSE(), bp.optim.SGD(lr=LR))
    first, second = step.layers
    assert step.C == pytest.approx(HAND["C"], abs=TOL)
    assert (first.z[0, 0], first.a_out[0, 0]) == pytest.approx((HAND["z1"], HAND["a1"]), abs=TOL)
    assert (second.z[0, 0], second.a_out[0, 0]) == pytest.approx((HAND["z2"], HAND["a2"]), abs=TOL)
    assert step.grad_a[0, 0] == pytest.approx(HAND["a2"] - TARGET, abs=TOL)           # ∇ₐC
    assert second.sigma_prime[0, 0] == pytest.approx(HAND["a2"] * (1 - HAND["a2"]), abs=TOL)
    assert (second.delta[0, 0], first.delta[0, 0]) == pytest.approx((HAND["delta2"], HAND["delta1"]), abs=TOL)
    assert (second.dW[0, 0], first.dW[0, 0]) == pytest.approx((HAND["dC_dw2"], HAND["dC_dw1"]), abs=TOL)
    assert first.db is None and first.b is None                                         # no biases
    assert (first.W[0, 0], second.W[0, 0]) == (W1, W2)                                  # before the update
    assert (first.W_new[0, 0], second.W_new[0, 0]) == pytest.approx((HAND["w1_new"], HAND["w2_new"]), abs=TOL)
    assert net.params["0.W"][0, 0] == first.W_new[0, 0]                                 # the step was taken
