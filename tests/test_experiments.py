"""``bprop experiment``: the tutorials' claims, measured in a reduced size, and the command's files.

Each library test runs an experiment small enough for a second or two and
asserts the claim it measures, with margins well outside the run-to-run
spread of the fixed seeds.
"""

import json
import math
import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from bprop.cli import main  # noqa: E402
from bprop.data import Standardizer, load  # noqa: E402
from bprop.experiments import (batchnorm_experiment, depth_experiment, init_experiment,  # noqa: E402
                               optimizer_experiment, rosenbrock, rosenbrock_grad)
from bprop.experiments.batchnorm import trained_fraction  # noqa: E402
from bprop.experiments.optimizers import OPTIMIZERS, rosenbrock_path  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits():
    ds = load("digits", n_samples=500, seed=0)
    st = Standardizer().fit(ds.X_train)
    return st.transform(ds.X_train), ds.y_train, st.transform(ds.X_test), ds.y_test


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- init
def test_xavier_keeps_the_activation_variance_where_uniform_collapses_it(digits):
    X, y, Xt, yt = digits
    res = {r.name: r for r in init_experiment(X, y, Xt, yt, inits=("uniform", "xavier_uniform"), depth=6,
                                              width=32, activation="sigmoid", epochs=1)}
    xav, uni = res["xavier_uniform"], res["uniform"]
    # Var W = 2/(n_in + n_out): Var a⁽ˡ⁾ stays within a factor 10 over 6 sigmoid layers (measured 0.32)
    assert 0.1 < xav.growth < 10 and xav.growth == xav.act_var[-1] / xav.act_var[0]
    # U(0, 1): from layer 2 on z⁽ˡ⁾ ≈ Σ of 32 terms w·a with w, a > 0, about 8 ≫ 1: σ saturates at 1 and
    # Var a⁽ˡ⁾ → 0 (measured 2e-13); δ is multiplied by σ'(z) ≈ e^−8 per layer (measured ratio 3e-21)
    assert uni.growth < 1e-6 and uni.ratio_start < 1e-12 and uni.verdict == "vanishing"
    assert len(xav.grad_start) == 7 and len(xav.act_var) == 6


def test_tanh_xavier_is_stable_and_trains_better_than_uniform(digits):
    X, y, Xt, yt = digits
    res = {r.name: r for r in init_experiment(X, y, Xt, yt, inits=("uniform", "xavier_uniform", "orthogonal"),
                                              depth=6, width=32, activation="tanh", epochs=2)}
    assert res["uniform"].verdict == "vanishing" and res["uniform"].ratio_start < 1e-12
    for name in ("xavier_uniform", "orthogonal"):
        assert res[name].verdict == "stable" and 0.1 < res[name].ratio_start < 10
        assert res[name].accuracy > res["uniform"].accuracy + 0.2


def test_normal_explodes_a_relu_net_and_he_does_not(digits):
    X, y, Xt, yt = digits
    res = {r.name: r for r in init_experiment(X, y, Xt, yt, inits=("normal", "he_normal", "he_normal+0.01"),
                                              depth=6, width=32, activation="relu", epochs=1)}
    # N(0, 1) with ReLU: each layer multiplies Var a by ≈ 32/2 = 16, 16⁵ ≈ 10⁶ over 6 layers (measured 1.6e6)
    assert res["normal"].verdict == "exploding" and res["normal"].growth > 1e4
    # He: Var W = 2/n_in keeps Var a (measured growth 1.5)
    assert res["he_normal"].verdict == "stable" and 0.3 < res["he_normal"].growth < 3
    assert res["he_normal+0.01"].bias_init == 0.01 and res["he_normal+0.01"].verdict == "stable"


def test_xavier_halves_a_relu_nets_variance_per_layer(digits):
    X, y, Xt, yt = digits
    (xav,) = init_experiment(X, y, Xt, yt, inits=("xavier_uniform",), depth=10, width=32, activation="relu",
                             epochs=1)
    # Var W = 2/(n_in + n_out) = 1/n when n_in = n_out: ReLU keeps half, (1/2)⁹ ≈ 0.002 over 10 layers
    assert xav.growth < 0.01 and xav.verdict == "vanishing"


# --------------------------------------------------------------------------- depth
def test_sigmoid_gradient_shrinks_with_depth_as_the_product_of_factors_predicts(digits):
    X, y, *_ = digits
    rows = depth_experiment(X, y, depths=(2, 4, 8), width=32, repeats=2)
    first = [r.grad_first for r in rows]
    assert first[0] > 10 * first[1] > 100 * first[2]                 # σ' ≤ 1/4 per layer
    for r in rows:
        assert r.sigma_factor < 0.3 ** (r.depth - 1)                  # ∏ rms σ' below (0.3)^(L−1)
        assert 1 / 3 < r.measured / r.predicted < 3, (r.depth, r.measured, r.predicted)


# --------------------------------------------------------------------------- batchnorm
def test_batchnorm_trains_at_rates_and_inits_where_the_plain_net_does_not(digits):
    X, y, Xt, yt = digits
    cells = batchnorm_experiment(X, y, Xt, yt, inits=("normal", "xavier_uniform"), lrs=(0.1, 3.0), depth=4,
                                 width=32, epochs=2, activation="sigmoid")
    assert len(cells) == 8 and [c.batchnorm for c in cells] == [False] * 4 + [True] * 4
    # ln 10 ≈ 2.30 is the loss of a uniform guess; without BatchNorm no cell gets below 2 in 2 epochs
    # (measured 2.14 … 2.35), with it 3 of 4 do (1.08 … 1.89)
    assert trained_fraction(cells, False, good=2.0) == (0, 4)
    assert trained_fraction(cells, True, good=2.0)[0] >= 2


def test_batchnorm_keeps_a_relu_net_from_diverging(digits):
    X, y, Xt, yt = digits
    cells = batchnorm_experiment(X, y, Xt, yt, inits=("normal",), lrs=(0.1, 1.0), depth=4, width=32, epochs=2,
                                 activation="relu")
    plain, bn = cells[:2], cells[2:]
    # N(0, 1) weights: Var a grows ×16 per ReLU layer, and SGD diverges (bprop.DivergenceError)
    assert any(c.diverged and c.final_loss == float("inf") and math.isnan(c.accuracy) for c in plain)
    # BatchNorm renormalises every layer: no divergence, and it learns
    assert not any(c.diverged for c in bn) and min(c.final_loss for c in bn) < 2.0


# --------------------------------------------------------------------------- optimizers
def test_rosenbrock_gradient_is_its_derivative():
    p = np.array([-0.7, 1.3])
    h = 1e-6
    num = [(rosenbrock(p + h * e) - rosenbrock(p - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(rosenbrock_grad(p), num, rtol=1e-8)
    assert rosenbrock(np.array([1.0, 1.0])) == 0.0 and rosenbrock(np.array([-1.5, 2.0])) == 12.5


def test_every_optimizer_walks_down_rosenbrocks_valley():
    for name, (opt, _, lr) in OPTIMIZERS.items():
        path = rosenbrock_path(opt, lr, 2000)
        assert len(path) == 2001, name                          # never left the plane
        end = path[-1]
        assert rosenbrock(end) < 0.05 and math.hypot(end[0] - 1, end[1] - 1) < 0.2, (name, end)
    # SGD's rate 2e-3 is at the edge: twice it diverges
    assert len(rosenbrock_path("sgd", 4e-3, 2000)) < 2001


def test_optimizer_experiment_trains_each_one(digits):
    X, y, Xt, yt = digits
    rows = optimizer_experiment(X, y, Xt, yt, names=("sgd", "adam"), hidden=(16,), epochs=3, steps=100)
    for r in rows:
        assert len(r.losses) == 3 and r.losses[-1] < r.losses[0] and r.accuracy > 0.3   # 10 classes: 0.1 by chance
        assert r.path.shape == (101, 2)


# --------------------------------------------------------------------------- the command
def test_experiment_command_writes_its_run_folder(tmp_path, capsys):
    out = tmp_path / "depth"
    code, text, err = run_cli(capsys, "experiment", "depth", "--depths", "2,4", "--repeats", 1, "--n-samples",
                              200, "--width", 16, "--out", out)
    assert code == 0, err
    for name in ("results.csv", "results.json", "report.md", "depth.png"):
        assert (out / name).is_file(), name
    assert (out / "depth.png").read_bytes()[:8] == PNG
    doc = json.loads((out / "results.json").read_text())
    assert [r["depth"] for r in doc["results"]] == [2, 4] and doc["finding"]
    report = (out / "report.md").read_text()
    assert "## Finding" in report and "predicts" in report and "(depth.png)" in report
    assert (out / "results.csv").read_text().splitlines()[0].startswith("hidden layers,")
    assert "predicts" in text


def test_experiment_in_chinese(tmp_path, capsys):
    out = tmp_path / "init"
    code, text, err = run_cli(capsys, "experiment", "init", "--inits", "uniform,xavier_uniform", "--depth", 3,
                              "--width", 16, "--epochs", 1, "--n-samples", 200, "--out", out, "--lang", "zh",
                              "--no-plots", "--quiet")
    assert code == 0, err
    report = (out / "report.md").read_text()
    assert "## 结论" in report and "梯度消失" in report and "教程 003" in report
    assert "梯度消失" in text and not list(out.glob("*.png"))


@pytest.mark.parametrize("argv, message", [
    (["init", "--depths", "2,4"], "--depths does not apply to 'bprop experiment init'"),
    (["depth", "--init", "xavir"], "valid initializers: zeros"),
    (["batchnorm", "--lrs", "0.1,-1"], "every learning rate must be positive"),
    (["init", "--inits", "he_normal+x"], "--inits: expected a number"),
    (["optimizers", "--lang", "de"], "valid languages: en, zh"),
    (["init", "--data", "sine"], "the experiments classify"),
    (["nonsense"], "invalid choice"),
])
def test_experiment_usage_errors(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, "experiment", *argv, "--out", tmp_path / "x")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and message in err, err
