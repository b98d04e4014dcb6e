"""Learning-rate schedules: documented rates, parity with torch.optim.lr_scheduler, config, errors."""

import json
import math

import numpy as np
import pytest

from bprop import optim
from bprop.optim import schedules


def torch_rates(torch, make_scheduler, lr, steps):
    """The rate of each of ``steps`` updates when the scheduler steps after each update."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def test_documented_rates():
    assert [optim.Constant(0.1)(k) for k in (0, 5, 10**6)] == [0.1, 0.1, 0.1]
    assert [optim.StepDecay(1.0, step_size=3, gamma=0.5)(k) for k in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert optim.ExponentialDecay(2.0, gamma=0.5)(3) == 0.25
    cos = optim.CosineDecay(1.0, total_steps=4, min_lr=0.2)
    np.testing.assert_allclose([cos(k) for k in range(7)],
                               [1.0, 0.2 + 0.4 * (1 + math.sqrt(0.5)), 0.6, 0.2 + 0.4 * (1 - math.sqrt(0.5)),
                                0.2, 0.2, 0.2], rtol=1e-15)
    warm = optim.LinearWarmup(4, 0.8)
    assert [warm(k) for k in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8], rel=1e-15)
    # the wrapped schedule starts counting when the warm-up ends
    warm_cos = optim.LinearWarmup(2, optim.CosineDecay(1.0, total_steps=2))
    np.testing.assert_allclose([warm_cos(k) for k in range(5)], [0.5, 1.0, 1.0, 0.5, 0.0], atol=1e-15)


@pytest.mark.parametrize("case", ["step", "exponential", "cosine", "warmup"])
def test_rates_match_torch_schedulers(torch, case):
    S = torch.optim.lr_scheduler
    ours, theirs = {
        "step": (optim.StepDecay(0.3, step_size=4, gamma=0.7), lambda o: S.StepLR(o, step_size=4, gamma=0.7)),
        "exponential": (optim.ExponentialDecay(0.3, gamma=0.93), lambda o: S.ExponentialLR(o, gamma=0.93)),
        "cosine": (optim.CosineDecay(0.3, total_steps=40, min_lr=0.01),
                   lambda o: S.CosineAnnealingLR(o, T_max=40, eta_min=0.01)),
        "warmup": (optim.LinearWarmup(5, 0.3),
                   lambda o: S.LinearLR(o, start_factor=1 / 5, end_factor=1.0, total_iters=4)),
    }[case]
    expected = torch_rates(torch, theirs, 0.3, 41)
    # PyTorch's rates are products accumulated step by step; bprop's are closed forms
    np.testing.assert_allclose([ours(k) for k in range(41)], expected, rtol=1e-12, atol=1e-15)


def test_reduce_on_plateau_reacts_to_a_plateau():
    s = optim.ReduceOnPlateau(1.0, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    rates = []
    for m in [5, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2]:
        s.observe(m)
        rates.append(s(0))
    #           5  4  3  3  3  3=3rd bad → halve, cooldown, bad again …         better
    assert rates == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25]
    s.observe(2)   # improvements keep the rate
    assert s(123) == 0.25 and s.best == 2
    for _ in range(20):
        s.observe(10)
    assert s(0) == 0.2   # floored at min_lr


PLATEAU_CASES = {
    "defaults": ({}, [1.0] * 30),
    "min_rel": ({"factor": 0.5, "patience": 2, "threshold": 0.1},
                [10, 9.5, 9.2, 8, 7.9, 7.85, 7.8, 7.0, 6.9, 6.89, 6.88, 6.87, 5, 5, 5, 5, 5, 5]),
    "max_cooldown": ({"mode": "max", "factor": 0.3, "patience": 1, "cooldown": 2, "min_lr": 0.05},
                     [0.1, 0.2, 0.2, 0.19, 0.3, 0.3, 0.3, 0.3, 0.3, 0.31, 0.31, 0.2, 0.2, 0.2, 0.2, 0.2]),
    "abs": ({"threshold_mode": "abs", "threshold": 0.5, "patience": 0, "factor": 0.9},
            [3, 2.6, 2.4, 1.8, 1.7, 1.0, 0.9, 0.3, 0.2, 0.1]),
}


@pytest.mark.parametrize("case", list(PLATEAU_CASES))
def test_reduce_on_plateau_matches_torch(torch, case):
    kwargs, metrics = PLATEAU_CASES[case]
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.5)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    ours = optim.ReduceOnPlateau(0.5, **kwargs)
    for m in metrics:
        ours.observe(m)
        tsched.step(m)
        assert ours(0) == topt.param_groups[0]["lr"]
        assert ours.num_bad_epochs == tsched.num_bad_epochs
        assert ours.cooldown_counter == tsched.cooldown_counter


def test_reduce_on_plateau_state_round_trip():
    s = optim.ReduceOnPlateau(0.1, patience=1, cooldown=3)
    for m in [3, 2, 2, 2]:
        s.observe(m)
    state = json.loads(json.dumps(s.state_dict(), allow_nan=False))
    t = schedules.from_config(s.get_config())
    t.load_state_dict(state)
    for m in [2, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]:
        s.observe(m)
        t.observe(m)
        assert (t(0), t.best, t.num_bad_epochs, t.cooldown_counter) == (s(0), s.best, s.num_bad_epochs,
                                                                           s.cooldown_counter)
    fresh = optim.ReduceOnPlateau(0.1, mode="max")
    assert fresh.state_dict()["best"] is None          # -inf is not JSON
    fresh.load_state_dict(fresh.state_dict())
    assert fresh.best == -math.inf


SCHEDULES = {
    "constant": {"lr": 0.1},
    "step": {"lr": 0.1, "step_size": 10, "gamma": 0.5},
    "exponential": {"lr": 0.1, "gamma": 0.99},
    "cosine": {"lr": 0.1, "total_steps": 100, "min_lr": 0.001},
    "warmup": {"warmup_steps": 10, "after": optim.CosineDecay(0.1, 90)},
    "plateau": {"lr": 0.1, "factor": 0.5, "patience": 3},
    "invscaling": {"lr": 0.1, "power_t": 0.25, "samples_per_epoch": 50, "steps_per_epoch": 5},
    "adaptive": {"lr": 0.1, "tol": 1e-3, "n_iter_no_change": 4},
}


@pytest.mark.parametrize("name", list(schedules.NAMES))
def test_get_by_name_and_config_round_trip(name):
    s = schedules.get(name, **SCHEDULES[name])
    cfg = s.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    again = schedules.from_config(cfg)
    assert again.get_config() == cfg
    assert [again(k) for k in range(0, 120, 7)] == [s(k) for k in range(0, 120, 7)]
    assert repr(again).startswith(cfg["type"] + "(")
    # and as an optimiser's lr, through the optimiser's config
    opt = optim.from_config(optim.Adam(s).get_config())
    assert opt.lr == s(0)


def test_unknown_schedule_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown schedule 'linear'. Valid schedules are: constant, step, "
                                         "exponential, cosine, warmup, plateau"):
        schedules.get("linear", lr=0.1)
    with pytest.raises(ValueError, match="Unknown schedule type 'Cyclic'"):
        schedules.from_config({"type": "Cyclic"})
    s = optim.Constant(0.1)
    assert schedules.get(s) is s


BAD = [
    (lambda: optim.Constant(-1.0), ValueError, r"Invalid learning rate: -1.0 \(expected lr > 0\)"),
    (lambda: optim.StepDecay(0.1, step_size=0), ValueError, r"Invalid step_size: 0 \(expected an integer step_size >= 1\)"),
    (lambda: optim.StepDecay(0.1, step_size=2.5), TypeError, r"step_size must be an integer, got float 2.5"),
    (lambda: optim.StepDecay(0.1, 5, gamma=1.5), ValueError, r"Invalid gamma: 1.5 \(expected 0 < gamma <= 1\)"),
    (lambda: optim.ExponentialDecay(0.1, gamma=0.0), ValueError, r"Invalid gamma: 0.0"),
    (lambda: optim.CosineDecay(0.1, total_steps=-3), ValueError, r"Invalid total_steps: -3"),
    (lambda: optim.CosineDecay(0.1, 10, min_lr=0.2), ValueError, r"Invalid min_lr: 0.2 \(expected 0 <= min_lr <= 0.1\)"),
    (lambda: optim.LinearWarmup(0, 0.1), ValueError, r"Invalid warmup_steps: 0"),
    (lambda: optim.LinearWarmup(5, -0.1), ValueError, r"Invalid learning rate: -0.1"),
    (lambda: optim.ReduceOnPlateau(0.1, factor=1.0), ValueError, r"Invalid factor: 1.0 \(expected 0 < factor < 1\)"),
    (lambda: optim.ReduceOnPlateau(0.1, mode="maximum"), ValueError, r"Invalid mode: 'maximum' \(expected one of 'min', 'max'\)"),
    (lambda: optim.ReduceOnPlateau(0.1, threshold_mode="pct"), ValueError, r"Invalid threshold_mode: 'pct'"),
    (lambda: optim.ReduceOnPlateau(0.1, patience=-1), ValueError, r"Invalid patience: -1"),
    # a value of the wrong type is a TypeError in every schedule
    (lambda: optim.StepDecay(0.1, 5, gamma="0.5"), TypeError, r"gamma must be a real number, got str '0.5'"),
    (lambda: optim.CosineDecay(0.1, total_steps=None), TypeError, r"total_steps must be an integer, got NoneType"),
    (lambda: optim.LinearWarmup(5, "fast"), TypeError, r"after must be a Real or a Schedule, got str 'fast'"),
    (lambda: optim.ReduceOnPlateau(0.1, mode=1), TypeError, r"mode must be a str, got int 1"),
    (lambda: optim.ReduceOnPlateau(0.1, cooldown=1.0), TypeError, r"cooldown must be an integer, got float 1.0"),
    # and in the factory
    (lambda: schedules.get(3, lr=0.1), TypeError, r"schedule must be a str or a dict or a Schedule, got int 3"),
    (lambda: schedules.get({"step_size": 3}, lr=0.1), ValueError, r"a schedule given as a dict needs a 'name'"),
    (lambda: schedules.get("step", lr=0.1, step_size=0), ValueError, r"Invalid step_size: 0"),
]


@pytest.mark.parametrize("make, exc, message", BAD)
def test_bad_arguments_raise(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@pytest.mark.parametrize("name", list(schedules.NAMES))
def test_every_schedule_declares_its_arguments(name):
    import inspect
    cls = schedules.NAMES[name]
    assert list(inspect.signature(cls).parameters) == list(cls._parameter_constraints)


# --------------------------------------------------------------------------- the factory

def test_factory_defaults_follow_the_run():
    run = dict(lr=0.1, total_steps=600, steps_per_epoch=30)
    assert schedules.get("constant", **run).get_config() == {"type": "Constant", "lr": 0.1}
    assert schedules.get("step", **run).get_config() == {"type": "StepDecay", "lr": 0.1, "step_size": 200,
                                                         "gamma": 0.1}
    exp = schedules.get("exponential", **run)
    assert exp(600) == pytest.approx(0.1 * 0.01, rel=1e-12)          # ×0.01 over the run
    assert schedules.get("cosine", **run).get_config()["total_steps"] == 600
    warm = schedules.get("warmup", **run)
    assert warm.warmup_steps == 60 and warm.after.get_config() == {"type": "Constant", "lr": 0.1}   # min(150, 60)
    assert schedules.get("warmup", lr=0.1, total_steps=6000, steps_per_epoch=30).warmup_steps == 150   # 5 epochs
    assert schedules.get("plateau", **run).get_config() == optim.ReduceOnPlateau(0.1).get_config()
    # options override the defaults; case and "-" do not matter
    assert schedules.get("Step", step_size=7, **run).step_size == 7
    assert schedules.get({"name": "step", "gamma": 0.5}, **run).get_config() == schedules.get(
        "step", gamma=0.5, **run).get_config()


def test_factory_warmup_then_another_schedule():
    s = schedules.get({"name": "warmup", "warmup_steps": 10, "after": {"name": "cosine", "min_lr": 0.01}},
                      lr=0.1, total_steps=100)
    assert s.get_config()["after"] == {"type": "CosineDecay", "lr": 0.1, "total_steps": 90, "min_lr": 0.01}
    assert s(9) == pytest.approx(0.1) and s(100) == pytest.approx(0.01)
    # a given schedule is used as it is
    after = optim.ExponentialDecay(0.2, 0.9)
    assert schedules.get("warmup", warmup_steps=3, after=after).after is after


def test_factory_options_per_epoch():
    """With per_epoch=True lengths are epochs and per-update factors are per epoch."""
    s = schedules.get("step", lr=0.1, steps_per_epoch=50, per_epoch=True, step_size=10, gamma=0.5)
    assert (s.step_size, s.gamma) == (500, 0.5)
    e = schedules.get("exponential", lr=0.1, steps_per_epoch=4, per_epoch=True, gamma=0.9)
    assert e(4) == pytest.approx(0.1 * 0.9, rel=1e-12)                # ×0.9 per epoch of 4 updates
    w = schedules.get("warmup", lr=0.1, steps_per_epoch=8, per_epoch=True, warmup_steps=2)
    assert w.warmup_steps == 16 and w.after(0) == 0.1
