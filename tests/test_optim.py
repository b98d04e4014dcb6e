"""Optimisers: parity with torch.optim, convergence, state round trips, errors.

The parity tests feed bprop and torch.optim the *same* gradients, computed by
one NumPy function of the current parameters, so that they test the update
rules alone; the MLP test also compares bprop's backprop with autograd.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

import bprop as bp
from bprop import optim
from bprop.optim import transforms as T

# -- a smooth test problem on a dict of several arrays ------------------------------------


def make_problem(rng, n=16, n_in=4, n_hidden=5, n_out=3):
    """Parameters and data of a 4-5-3 tanh regression, C = 1/(2n) Σ ‖tanh(X W1ᵀ + b1) W2ᵀ + b2 − Y‖²."""
    X = rng.standard_normal((n, n_in))
    Y = rng.standard_normal((n, n_out))
    params = {
        "0.W": rng.standard_normal((n_hidden, n_in)) * 0.5,
        "0.b": rng.standard_normal(n_hidden) * 0.1,
        "2.W": rng.standard_normal((n_out, n_hidden)) * 0.5,
        "2.b": rng.standard_normal(n_out) * 0.1,
    }
    return X, Y, params


def loss_and_grads(params, X, Y):
    """C and ∂C/∂θ of :func:`make_problem`'s loss, by BP1–BP4."""
    n = len(X)
    A1 = np.tanh(X @ params["0.W"].T + params["0.b"])
    out = A1 @ params["2.W"].T + params["2.b"]
    d2 = (out - Y) / n                                  # BP1, identity output
    d1 = (d2 @ params["2.W"]) * (1 - A1**2)             # BP2, tanh' from the output
    grads = {"0.W": d1.T @ X, "0.b": d1.sum(0), "2.W": d2.T @ A1, "2.b": d2.sum(0)}
    return 0.5 * np.sum((out - Y) ** 2) / n, grads


TORCH_NAME = {"SGD": "SGD", "RMSProp": "RMSprop", "Adam": "Adam", "AdamW": "AdamW"}


def torch_optimizer(torch, opt_config, tensors):
    cfg = dict(opt_config)
    kind = TORCH_NAME[cfg.pop("type")]
    cfg.pop("fused")                     # bprop's choice of implementation (the same numbers either way)
    assert cfg.pop("convention", "torch") == "torch"     # PyTorch's formulas (not scikit-learn's)
    if isinstance(cfg["lr"], dict):
        cfg["lr"] = cfg["lr"]["lr"]
    if "betas" in cfg:
        cfg["betas"] = tuple(cfg["betas"])
    return getattr(torch.optim, kind)(tensors, foreach=False, **cfg)


def torch_scheduler(torch, topt, schedule_cfg):
    if not isinstance(schedule_cfg, dict):
        return None
    s = torch.optim.lr_scheduler
    kind = schedule_cfg["type"]
    if kind == "StepDecay":
        return s.StepLR(topt, step_size=schedule_cfg["step_size"], gamma=schedule_cfg["gamma"])
    if kind == "ExponentialDecay":
        return s.ExponentialLR(topt, gamma=schedule_cfg["gamma"])
    if kind == "CosineDecay":
        return s.CosineAnnealingLR(topt, T_max=schedule_cfg["total_steps"], eta_min=schedule_cfg["min_lr"])
    raise AssertionError(kind)


OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.1),
    "sgd_momentum": lambda: optim.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda: optim.SGD(0.1, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda: optim.SGD(0.1, weight_decay=0.05),
    "sgd_momentum_weight_decay": lambda: optim.SGD(0.05, momentum=0.5, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda: optim.RMSProp(0.01),
    "rmsprop_momentum_wd": lambda: optim.RMSProp(0.005, alpha=0.9, eps=1e-6, momentum=0.9, weight_decay=0.01),
    "adam": lambda: optim.Adam(0.01),
    "adam_options": lambda: optim.Adam(0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
    "adam_small_beta1": lambda: optim.Adam(0.02, betas=(0.3, 0.9)),   # torch's lerp takes its other branch
    "adamw": lambda: optim.AdamW(0.01),
    "adamw_strong_decay": lambda: optim.AdamW(0.01, betas=(0.85, 0.995), weight_decay=0.5),
    "sgd_step_decay": lambda: optim.SGD(optim.StepDecay(0.2, step_size=7, gamma=0.5), momentum=0.9),
    "adam_cosine": lambda: optim.Adam(optim.CosineDecay(0.05, total_steps=30, min_lr=1e-3)),
    "rmsprop_exponential": lambda: optim.RMSProp(optim.ExponentialDecay(0.01, gamma=0.9), momentum=0.5),
    "adamw_step_decay": lambda: optim.AdamW(optim.StepDecay(0.01, step_size=5, gamma=0.3), weight_decay=0.1),
}


def max_rel_err(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))


@pytest.mark.parametrize("case", list(OPTIMIZERS))
def test_trajectory_matches_torch(torch, rng, case):
    opt = OPTIMIZERS[case]()
    X, Y, params = make_problem(rng)
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    cfg = opt.get_config()
    topt = torch_optimizer(torch, cfg, list(tensors.values()))
    tsched = torch_scheduler(torch, topt, cfg["lr"])
    for step in range(25):
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        _, grads = loss_and_grads(params, X, Y)
        opt.step(params, grads)
        _, tgrads = loss_and_grads({k: t.detach().numpy() for k, t in tensors.items()}, X, Y)
        for k, t in tensors.items():
            t.grad = torch.from_numpy(tgrads[k])
        topt.step()
        if tsched is not None:
            tsched.step()
        for k, t in tensors.items():
            # within 1e-9 relative (elements near 0 compared on the scale 1e-3)
            assert max_rel_err(params[k], t.detach().numpy()) < 1e-9, (case, step, k)
    assert opt.step_count == 25


@pytest.mark.parametrize("case", ["sgd_momentum", "sgd_nesterov", "rmsprop_momentum_wd", "adam", "adamw"])
def test_mlp_trajectory_matches_torch(torch, case):
    """20 full-batch steps of a 4-5-3 tanh MLP with MSE: bprop backprop + optimiser vs autograd + torch.optim."""
    nn = torch.nn
    data = np.random.default_rng(7)
    X = data.standard_normal((32, 4))
    y = data.standard_normal((32, 3))
    net = bp.Sequential([bp.Dense(4, 5), bp.Tanh(), bp.Dense(5, 3)], seed=3, dtype="float64")
    tnet = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():
        for i in (0, 2):
            tnet[i].weight.copy_(torch.from_numpy(net.params[f"{i}.W"]))
            tnet[i].bias.copy_(torch.from_numpy(net.params[f"{i}.b"]))
    opt = OPTIMIZERS[case]()
    topt = torch_optimizer(torch, opt.get_config(), list(tnet.parameters()))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(20):
        c = net.backprop(X, y, bp.MSE())
        opt.step(net.params, net.grads)
        topt.zero_grad()
        tc = 0.5 * ((tnet(Xt) - yt) ** 2).sum(1).mean()    # the seeds' C = 1/(2n) Σ ‖a − y‖²
        tc.backward()
        topt.step()
        assert c == pytest.approx(tc.item(), rel=1e-10)
        for i in (0, 2):
            assert max_rel_err(net.params[f"{i}.W"], tnet[i].weight.detach().numpy()) < 1e-9, (step, i)
            assert max_rel_err(net.params[f"{i}.b"], tnet[i].bias.detach().numpy()) < 1e-9, (step, i)


# -- convergence on a parabola and on Rosenbrock ------------------------------------------


def quadratic_bowl():
    """f(x) = ½ xᵀAx − bᵀx with eigenvalues 1..10 and minimum x* = A⁻¹b."""
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    A = q @ np.diag([1.0, 2.0, 5.0, 10.0]) @ q.T
    b = np.array([1.0, -2.0, 0.5, 3.0])
    return (lambda x: A @ x - b), np.linalg.solve(A, b)


def rosenbrock_grad(x):
    """∇ of f(x, y) = (1 − x)² + 100 (y − x²)², minimum at (1, 1)."""
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def minimise(opt, grad, x0, steps):
    params = {"x": np.array(x0, dtype=float)}
    for _ in range(steps):
        opt.step(params, {"x": grad(params["x"])})
    return params["x"]


# Constant-rate SGD/momentum converge linearly on a bowl (rate ≤ max|1 − η λ_i|), so 1e-8 is
# reached. Adam and RMSProp with a constant rate hover at a distance of the order of η around
# the minimum (their step is ≈ η·sign(g)), so they get a cosine decay to 0 and a looser 1e-4.
BOWL = {
    "sgd": (lambda: optim.SGD(0.15), 500, 1e-8),
    "momentum": (lambda: optim.SGD(0.05, momentum=0.8), 500, 1e-8),
    "nesterov": (lambda: optim.SGD(0.05, momentum=0.8, nesterov=True), 500, 1e-8),
    "rmsprop": (lambda: optim.RMSProp(optim.CosineDecay(0.05, 2000)), 2000, 1e-4),
    "adam": (lambda: optim.Adam(optim.CosineDecay(0.1, 2000)), 2000, 1e-4),
    "adamw": (lambda: optim.AdamW(optim.CosineDecay(0.1, 2000), weight_decay=0.0), 2000, 1e-4),
}


@pytest.mark.parametrize("case", list(BOWL))
def test_reaches_minimum_of_quadratic_bowl(case):
    make, steps, tol = BOWL[case]
    grad, x_star = quadratic_bowl()
    x = minimise(make(), grad, np.zeros(4), steps)
    assert np.linalg.norm(x - x_star) < tol


# Rosenbrock's valley is curved and flat along its floor (curvature ≈ 0.4 along it vs ≈ 1000
# across), so first-order methods crawl along it; 1e-3 from (1, 1) shows they reach the minimum
# and not merely the valley (which passes within 1e-3 of it only near (1, 1)).
ROSENBROCK = {
    "sgd": (lambda: optim.SGD(1e-3), 40000),
    "momentum": (lambda: optim.SGD(1e-3, momentum=0.9), 10000),
    "nesterov": (lambda: optim.SGD(1e-3, momentum=0.9, nesterov=True), 10000),
    "rmsprop": (lambda: optim.RMSProp(optim.CosineDecay(1e-2, 10000), momentum=0.9), 10000),
    "adam": (lambda: optim.Adam(optim.CosineDecay(2e-2, 10000)), 10000),
    "adamw": (lambda: optim.AdamW(optim.CosineDecay(2e-2, 10000), weight_decay=0.0), 10000),
}


@pytest.mark.parametrize("case", list(ROSENBROCK))
def test_reaches_minimum_of_rosenbrock(case):
    make, steps = ROSENBROCK[case]
    x = minimise(make(), rosenbrock_grad, [-1.2, 1.0], steps)
    assert np.linalg.norm(x - 1.0) < 1e-3, x


# -- state ----------------------------------------------------------------------------------

STATEFUL = ["sgd_momentum", "sgd_nesterov", "rmsprop_momentum_wd", "adam_options", "adamw", "adam_cosine"]


def _via_files(state, tmp_path):
    """Scalars through JSON and arrays through .npz, as a checkpoint writer does."""
    scalars = {k: v for k, v in state.items() if k != "arrays"}
    (tmp_path / "opt.json").write_text(json.dumps(scalars, allow_nan=False))
    np.savez(tmp_path / "opt.npz", **state["arrays"])
    back = json.loads((tmp_path / "opt.json").read_text())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        back["arrays"] = {k: f[k] for k in f.files}
    return back


@pytest.mark.parametrize("case", STATEFUL)
def test_state_dict_round_trip_is_bit_for_bit(rng, tmp_path, case):
    X, Y, params0 = make_problem(rng)

    def run(opt, params, steps):
        for _ in range(steps):
            opt.step(params, loss_and_grads(params, X, Y)[1])

    straight = {k: v.copy() for k, v in params0.items()}
    run(OPTIMIZERS[case](), straight, 10)

    resumed = {k: v.copy() for k, v in params0.items()}
    first = OPTIMIZERS[case]()
    run(first, resumed, 5)
    state = _via_files(first.state_dict(), tmp_path)
    second = optim.from_state_dict(state)
    assert second.step_count == 5 and second.lr == first.lr
    run(second, resumed, 5)
    for k in params0:
        np.testing.assert_array_equal(resumed[k], straight[k])


def test_state_dict_layout(rng):
    X, Y, params = make_problem(rng)
    opt = optim.Adam(1e-3)
    opt.step(params, loss_and_grads(params, X, Y)[1])
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["step"] == 1 and state["lr"] == 1e-3
    assert sorted(state["arrays"]) == sorted(f"adam.{s}/{k}" for s in "mv" for k in params)
    json.dumps({k: v for k, v in state.items() if k != "arrays"}, allow_nan=False)
    # copies, not the live state
    state["arrays"]["adam.m/0.W"][...] = 0
    assert np.any(opt.transforms[0].state["m"]["0.W"] != 0)


def test_load_state_dict_rejects_foreign_state(rng):
    X, Y, params = make_problem(rng)
    adam = optim.Adam(1e-3)
    adam.step(params, loss_and_grads(params, X, Y)[1])
    with pytest.raises(ValueError, match="state_dict is for a Adam optimiser, not SGD"):
        optim.SGD(0.1, momentum=0.9).load_state_dict(adam.state_dict())
    state = adam.state_dict()
    state["arrays"]["adam.q/0.W"] = np.zeros(3)
    with pytest.raises(ValueError, match="does not fit"):
        optim.Adam(1e-3).load_state_dict(state)
    # state of another network's shapes is caught on the next step
    other = optim.Adam(1e-3)
    other.load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="has shape"):
        other.step({"0.W": np.zeros((2, 2))}, {"0.W": np.zeros((2, 2))})


def test_step_is_in_place_keeps_grads_and_dtype():
    p = {"0.W": np.ones((3, 2), np.float32), "0.b": np.zeros(3, np.float32)}
    g = {"0.W": np.full((3, 2), 0.5, np.float32), "0.b": np.full(3, -1.0, np.float32)}
    g_before = {k: v.copy() for k, v in g.items()}
    live = dict(p)
    opt = optim.AdamW(1e-2, weight_decay=0.1)
    opt.step(p, g)
    m = opt.transforms[0].state["m"]["0.W"]
    opt.step(p, g)
    assert p["0.W"] is live["0.W"] and p["0.W"].dtype == np.float32
    assert opt.transforms[0].state["m"]["0.W"] is m and m.dtype == np.float32
    for k in g:
        np.testing.assert_array_equal(g[k], g_before[k])


@pytest.mark.parametrize("fused", [False, True], ids=["chain", "fused"])
@pytest.mark.parametrize("case", ["sgd", "momentum", "nesterov", "adam"])
def test_sklearn_convention_follows_mlp_optimisers(case, fused, rng):
    """convention="sklearn" takes the steps of scikit-learn's SGDOptimizer / AdamOptimizer, to float64
    rounding, with the rate divided by 5 every 7 steps (where the torch form's momentum differs);
    gradients of every size down to 1e-9, where Adam's two ε placements differ."""
    if fused:
        pytest.importorskip("numba")
    sk = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    shapes = {"0.W": (5, 3), "0.b": (5,)}
    start = {k: rng.normal(size=shape) for k, shape in shapes.items()}
    ours = {k: v.copy() for k, v in start.items()}
    theirs = [start[k].copy() for k in shapes]
    if case == "adam":
        opt, ref = optim.Adam(1e-3, fused=fused, convention="sklearn"), sk.AdamOptimizer(theirs, 1e-3)
        torch_form = optim.Adam(1e-3, fused=fused)
    else:
        mu, nesterov = (0.0, False) if case == "sgd" else (0.9, case == "nesterov")
        rate = optim.Adaptive(0.1, n_iter_no_change=None)
        opt = optim.SGD(rate, momentum=mu, nesterov=nesterov, fused=fused, convention="sklearn")
        ref = sk.SGDOptimizer(theirs, 0.1, momentum=mu, nesterov=nesterov)
        torch_form = optim.SGD(optim.Adaptive(0.1, n_iter_no_change=None), momentum=mu, nesterov=nesterov,
                               fused=fused)
    other = {k: v.copy() for k, v in start.items()}
    for t in range(40):
        grads = {k: rng.normal(size=shape) * 10.0 ** rng.integers(-9, 1) for k, shape in shapes.items()}
        opt.step(ours, grads)
        torch_form.step(other, grads)
        ref.update_params(theirs, [grads[k] for k in shapes])
        if case != "adam" and t % 7 == 6:
            for s in (opt.schedule, torch_form.schedule):
                assert s.reduce()
            ref.learning_rate /= 5.0
            assert opt.lr == ref.learning_rate
        for k, theirs_k in zip(shapes, theirs):
            np.testing.assert_allclose(ours[k], theirs_k, rtol=1e-14, atol=1e-15, err_msg=f"step {t + 1} {k}")
    if case != "sgd":      # the torch forms take other steps (plain SGD is the same in both)
        assert max(np.max(np.abs(other[k] - t_k)) for k, t_k in zip(shapes, theirs)) > 1e-8


def test_lr_follows_schedule_and_observe_forwards():
    opt = optim.SGD(optim.StepDecay(1.0, step_size=2, gamma=0.5))
    p, g = {"x": np.zeros(1)}, {"x": np.ones(1)}
    rates = []
    for _ in range(5):
        rates.append(opt.lr)
        opt.step(p, g)
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert p["x"][0] == -3.25

    plateau = optim.Adam(optim.ReduceOnPlateau(0.1, factor=0.5, patience=1))
    for metric in [1.0, 1.0, 1.0]:
        plateau.observe(metric)
    assert plateau.lr == 0.05
    optim.Adam(0.1).observe(1.0)   # no schedule to drive: a no-op


# -- transforms -------------------------------------------------------------------------------


def test_clip_by_global_norm_matches_torch(torch, rng):
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = [torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.from_numpy(g.copy())
    tnorm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    norm = optim.clip_grad_norm_(grads, 1.0)
    assert norm == pytest.approx(tnorm.item(), rel=1e-12)
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)
    assert optim.global_norm(grads) == pytest.approx(1.0, rel=1e-5)


def test_clip_transforms_compose_with_any_optimizer():
    p = {"x": np.zeros(3)}
    g = {"x": np.array([3.0, -4.0, 0.0])}
    opt = optim.chain(T.ClipByGlobalNorm(1.0), T.ScaleByLearningRate(1.0))
    opt.step(p, g)
    np.testing.assert_allclose(p["x"], [-0.6, 0.8, 0.0], rtol=1e-6)
    opt = optim.chain(T.ClipByValue(0.5), T.Trace(0.5), T.ScaleByLearningRate(0.1))
    opt.step(p := {"x": np.zeros(3)}, g)
    opt.step(p, g)
    np.testing.assert_allclose(p["x"], [-0.05 - 0.075, 0.05 + 0.075, 0.0])
    assert np.array_equal(g["x"], [3.0, -4.0, 0.0])


def test_chain_config_round_trip_and_unique_state_names():
    opt = optim.chain(T.ClipByValue(1.0), T.Trace(0.9), T.Trace(0.5, nesterov=True),
                      T.ScaleByLearningRate(optim.CosineDecay(0.1, 10)))
    p, g = {"x": np.ones(2)}, {"x": np.ones(2)}
    opt.step(p, g)
    assert sorted(opt.state_dict()["arrays"]) == ["trace.momentum/x", "trace1.momentum/x"]
    cfg = opt.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    again = optim.from_config(cfg)
    assert again.get_config() == cfg


def test_schedule_state_is_in_optimizer_state():
    opt = optim.SGD(optim.LinearWarmup(2, optim.ReduceOnPlateau(0.1, patience=0)))
    opt.observe(1.0)
    opt.observe(2.0)
    state = opt.state_dict()
    assert state["transforms"]["lr"]["after"]["lr"] == pytest.approx(0.01)
    again = optim.from_state_dict(json.loads(json.dumps(state)) | {"arrays": {}})
    assert again.schedule.after.lr == pytest.approx(0.01)
    assert again.schedule.after.best == 1.0


# -- registry, config, errors ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(optim.NAMES))
def test_get_by_name_and_config_round_trip(name):
    opt = optim.get(name, lr=0.05)
    assert opt.lr == 0.05
    cfg = opt.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    again = optim.from_config(cfg)
    assert type(again) is type(opt) and again.get_config() == cfg
    assert repr(again).startswith(cfg["type"] + "(")


def test_get_defaults_and_passthrough():
    assert optim.get("momentum").momentum == 0.9
    assert optim.get("Adam").lr == 1e-3
    opt = optim.SGD(0.1)
    assert optim.get(opt) is opt
    with pytest.raises(ValueError, match="Unknown optimizer 'adagrad'. Valid optimizers are: sgd, momentum"):
        optim.get("adagrad")
    with pytest.raises(ValueError, match="Unknown optimizer type"):
        optim.from_config({"type": "Adagrad"})


BAD = [
    (lambda: optim.SGD(-0.1), ValueError, r"Invalid learning rate: -0.1 \(expected lr > 0\)"),
    (lambda: optim.Adam(0), ValueError, r"Invalid learning rate: 0 \(expected lr > 0\)"),
    (lambda: optim.Adam(float("nan")), ValueError, r"Invalid learning rate: nan"),
    (lambda: optim.Adam("fast"), TypeError, r"lr must be a real number, got str 'fast'"),
    (lambda: optim.SGD(0.1, momentum=-0.5), ValueError, r"Invalid momentum value: -0.5 \(expected 0 <= momentum < 1\)"),
    (lambda: optim.SGD(0.1, momentum=1.0), ValueError, r"Invalid momentum value: 1.0"),
    (lambda: optim.SGD(0.1, nesterov=True), ValueError, r"Invalid nesterov=True with momentum=0.0 \(expected momentum > 0"),
    (lambda: optim.SGD(0.1, weight_decay=-1e-4), ValueError, r"Invalid weight_decay value: -0.0001 \(expected weight_decay >= 0\)"),
    (lambda: optim.RMSProp(0.1, alpha=1.5), ValueError, r"Invalid alpha value: 1.5 \(expected 0 <= alpha < 1\)"),
    (lambda: optim.RMSProp(0.1, eps=-1e-8), ValueError, r"Invalid epsilon value: -1e-08 \(expected eps >= 0\)"),
    (lambda: optim.Adam(0.1, betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1.0 \(expected 0 <= betas\[0\] < 1\)"),
    (lambda: optim.AdamW(0.1, betas=(0.9, -0.1)), ValueError, r"Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.Adam(0.1, betas=0.9), ValueError, r"Invalid betas: 0.9 \(expected a pair"),
    (lambda: optim.AdamW(0.1, weight_decay=-0.01), ValueError, r"Invalid weight_decay value: -0.01"),
    (lambda: T.ClipByGlobalNorm(0.0), ValueError, r"Invalid max_norm: 0.0 \(expected max_norm > 0\)"),
    (lambda: optim.chain(T.Trace(0.9), "adam"), TypeError, r"chain expects Transform objects, got str at position 1"),
]


@pytest.mark.parametrize("make, exc, message", BAD)
def test_bad_hyper_parameters_raise(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


def test_bad_step_arguments():
    opt = optim.SGD(0.1)
    with pytest.raises(ValueError, match=r"grads lack the parameters \['0.b'\]"):
        opt.step({"0.W": np.zeros(2), "0.b": np.zeros(1)}, {"0.W": np.zeros(2)})
    with pytest.raises(ValueError, match="gradient '0.W' has shape"):
        opt.step({"0.W": np.zeros(2)}, {"0.W": np.zeros(3)})
    with pytest.raises(TypeError, match="floating-point ndarray"):
        opt.step({"0.W": np.zeros(2, int)}, {"0.W": np.zeros(2)})


def test_import_needs_numpy_only():
    code = ("import sys, bprop.optim; "
            "bad = [m for m in ('torch', 'scipy', 'sklearn', 'numba', 'matplotlib', 'rich', 'threadpoolctl') "
            "if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
