"""scikit-learn's MLP semantics in the library: ``fit(alpha=)``, the Poisson loss, the
``InvScaling`` and ``Adaptive`` schedules — each against its formula, finite differences or PyTorch."""

import numpy as np
import pytest

import bprop as bp
from bprop.optim import Adaptive, InvScaling
from bprop.optim.schedules import StallCounter

from test_gradients import _central_difference, assert_gradients_correct, rel_error

# ------------------------------------------------------------------ alpha


@pytest.mark.parametrize("weighted", [False, True])
def test_alpha_is_mlps_l2_penalty_on_the_weights_only(weighted, rng):
    """One full-batch SGD step: W ← W − η(∂C/∂W + αW/n_b), b ← b − η ∂C/∂b, and the
    recorded loss is C + α/(2 n_b) Σ‖W‖² (n_b the rows, or the sum of the sample weights)."""
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    w = rng.uniform(0.5, 2.0, size=10) if weighted else None
    alpha, lr = 0.3, 0.1
    net = bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 1)], seed=0, dtype="float64")
    ref = net.copy()
    Y = y.reshape(-1, 1)
    c, _ = ref._backprop(X, Y, bp.MSE(), w)
    n_b = 10 if w is None else w.sum()
    penalty = alpha / (2 * n_b) * sum(np.sum(ref.params[k] ** 2) for k in ("0.W", "2.W"))
    expected = {k: ref.params[k] - lr * (ref.grads[k] + (alpha / n_b * ref.params[k] if k.endswith("W") else 0))
                for k in ref.params}
    h = net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(lr), epochs=1, batch_size=10, shuffle=False,
                alpha=alpha, sample_weight=w, verbose=0)
    for k in expected:
        np.testing.assert_allclose(net.params[k], expected[k], rtol=1e-13, atol=1e-15, err_msg=k)
    assert h["loss"][0] == pytest.approx(c + penalty, rel=1e-13)
    assert penalty > 1e-3 * c      # the penalty is not negligible: the test could fail


def test_alpha_gradient_is_the_derivative_of_the_penalised_cost(rng):
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    alpha = 0.7
    net = bp.Sequential([bp.Dense(3, 2), bp.Sigmoid(), bp.Dense(2, 1)], seed=1, dtype="float64")
    from bprop.training.loop import _add_l2_penalty

    def cost():
        c, _ = net._backprop(X, Y, bp.MSE())
        return c + alpha / 12 * sum(np.sum(net.params[k] ** 2) for k in ("0.W", "2.W"))

    net._backprop(X, Y, bp.MSE())
    _add_l2_penalty(net, ["0.W", "2.W"], alpha, 6)
    analytic = {k: v.copy() for k, v in net.grads.items()}
    for k, p in net.params.items():
        assert rel_error(analytic[k], _central_difference(cost, p)) < 1e-7, k


def test_alpha_must_be_non_negative():
    net = bp.Sequential([bp.Dense(2, 1)])
    with pytest.raises(ValueError, match="alpha"):
        net.fit(np.ones((2, 2)), np.ones(2), loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1, alpha=-1.0)


# ------------------------------------------------------------------ Poisson


def _poisson_data(rng, n=7, k=3):
    return rng.normal(scale=0.7, size=(n, k)), rng.poisson(2.0, size=(n, k)).astype(np.float64)


@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_value_and_grad_against_finite_differences(weighted, rng):
    loss = bp.Poisson()
    out, Y = _poisson_data(rng)
    Y[0, 0] = 0.0                                     # 0 ln 0 = 0
    w = rng.uniform(0.5, 2, size=len(out)) if weighted else None
    C, G = loss.value_and_grad(out.copy(), Y, w)
    assert C == pytest.approx(loss.value(out, Y, w), rel=1e-14)
    num = _central_difference(lambda: loss.value(out, Y, w), out)
    assert rel_error(G, num) < 1e-8
    if not weighted:
        np.testing.assert_allclose(G, (np.exp(out) - Y) / len(out), rtol=1e-14)


def test_poisson_is_zero_at_a_perfect_fit_and_in_a_network(rng):
    Y = rng.poisson(3.0, size=(5, 2)).astype(np.float64) + 1
    assert bp.Poisson().value(np.log(Y), Y) == pytest.approx(0.0, abs=1e-12)
    net = bp.Sequential([bp.Dense(4, 5), bp.Tanh(), bp.Dense(5, 2)], seed=0, dtype="float64")
    assert_gradients_correct(net, rng.normal(size=(5, 4)), Y, bp.Poisson())


def test_poisson_matches_torch_poisson_nll_loss(torch, rng):
    out, Y = _poisson_data(rng)
    z = torch.tensor(out, requires_grad=True)
    # PyTorch's per-element e^z − y z, summed over outputs and averaged over samples ...
    t_loss = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction="sum")(z, torch.tensor(Y)) / len(out)
    t_loss.backward()
    C, G = bp.Poisson().value_and_grad(out.copy(), Y)
    # ... is bprop's C up to the constant mean of Σ_j (y ln y − y), which has no gradient
    const = np.sum(np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0) - Y) / len(out)
    assert C == pytest.approx(t_loss.item() + const, rel=1e-13)
    np.testing.assert_allclose(G, z.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_poisson_rejects_negative_targets_and_is_registered():
    with pytest.raises(ValueError, match="non-negative"):
        bp.Poisson().prepare_targets(np.array([1.0, -1.0]), 1, np.float64)
    assert isinstance(bp.losses.get("poisson"), bp.Poisson)
    assert isinstance(bp.losses.get({"type": "Poisson"}), bp.Poisson)
    np.testing.assert_allclose(bp.Poisson().output_to_prediction(np.array([[0.0, 1.0]])), [[1.0, np.e]])


# ------------------------------------------------------------------ MLP's learning-rate rules


def test_invscaling_changes_at_each_epoch_end_with_the_samples_seen():
    s = InvScaling(0.1, power_t=0.25, samples_per_epoch=4, steps_per_epoch=2)
    # epoch 1 (steps 0, 1): t = 0; epoch 2: t = 4; epoch 3: t = 8 (scikit-learn: init / (t_ + 1) ** power_t)
    assert [s(k) for k in range(6)] == [0.1, 0.1, 0.1 / 5 ** 0.25, 0.1 / 5 ** 0.25, 0.1 / 9 ** 0.25, 0.1 / 9 ** 0.25]
    assert bp.optim.schedules.from_config(s.get_config())(5) == s(5)


def test_adaptive_divides_by_five_after_a_stall_and_is_exhausted_at_1e_6():
    s = Adaptive(0.1, tol=0.01, n_iter_no_change=2)
    s.observe(1.0)                      # best 1.0
    s.observe(0.995)                    # not better by tol: count 1 (best becomes 0.995)
    s.observe(0.995)                    # count 2
    assert s(0) == 0.1
    s.observe(0.994)                    # count 3 > 2: ÷5, count restarts
    assert s(0) == pytest.approx(0.02) and s.no_improvement_count == 0
    s.observe(0.5)                      # an improvement by more than tol
    assert s.no_improvement_count == 0 and s(0) == pytest.approx(0.02)
    state = s.state_dict()
    for _ in range(200):
        s.observe(0.5)
    assert s.exhausted and s(0) <= 1e-6 and s(0) > 1e-6 / 5
    t = Adaptive(0.1, tol=0.01, n_iter_no_change=2)
    t.load_state_dict(state)
    assert t(0) == pytest.approx(0.02) and t.best == 0.5 and not t.exhausted


def test_adaptive_driven_by_its_caller_divides_exactly_as_mlp():
    """n_iter_no_change=None: observe() counts nothing; reduce() is SGDOptimizer.trigger_stopping's
    'adaptive' branch, a division by 5 (0.1 / 5, not 0.1 * 0.2, which rounds otherwise)."""
    s = Adaptive(0.1, n_iter_no_change=None)
    for _ in range(50):
        s.observe(1.0)
    assert s(0) == 0.1 and s.no_improvement_count == 0
    assert s.reduce() and s(0) == 0.1 / 5 != 0.1 * 0.2
    while s.reduce():
        pass
    assert s.exhausted and 1e-6 / 5 < s(0) <= 1e-6


def test_stall_counter_is_mlps_no_improvement_count():
    """MLP._update_no_improvement_count: a loss above best − tol counts, the best follows every decrease;
    a score is watched as −score; a NaN resets the count and never becomes the best."""
    c = StallCounter(tol=0.1)
    assert [c.update(m) for m in (1.0, 0.95, 0.96, 0.5, float("nan"), 0.45)] == [True, True, False, True,
                                                                                  False, True]
    assert c.best == 0.45 and c.count == 1            # 0.45 > 0.5 − 0.1: a new best, not an improvement
    scores = StallCounter(tol=0.01)
    for s in (0.5, 0.505, 0.6):
        scores.update(-s)
    assert -scores.best == 0.6 and scores.count == 0
