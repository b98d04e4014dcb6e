"""``bprop explain``: BP3 in every walk-through, the named worked examples, Adam's moments, Chinese.

Every expectation is worked by hand here in float64 (scalar formulas, no
bprop code), or is a number printed in the example's published source.
"""

import math
import os
import re

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from bprop.cli import main  # noqa: E402
from bprop.cli.explain import build  # noqa: E402
from bprop.cli import build_parser  # noqa: E402
from bprop.explain import walk  # noqa: E402
from bprop.explain.examples import EXAMPLES  # noqa: E402


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def s(z):
    return 1.0 / (1.0 + math.exp(-z))


def fmt6(v):
    return f"{v:.6f}".replace("-", "−")


def walkthrough(*argv):
    args = build_parser().parse_args(["explain", *map(str, argv)])
    net, X, y, loss, opt, setup = build(args)
    return walk(net, X, y, loss, opt, setup, steps=1)


# --------------------------------------------------------------------------- BP3 by default
def test_default_output_names_all_four_equations_and_the_bias_update(capsys):
    code, out, err = run_cli(capsys, "explain")
    assert code == 0, err
    # seed 002 by hand: x = 0.5, w1 = 0.8, w2 = 0.6, y = 0.9, η = 0.1
    a1 = s(0.4)                                  # 0.598688
    a2 = s(0.6 * a1)                             # 0.588850
    d2 = (a2 - 0.9) * a2 * (1 - a2)              # BP1: −0.075331
    d1 = d2 * 0.6 * a1 * (1 - a1)                # BP2: −0.010859
    assert fmt6(d2) == "−0.075331" and fmt6(d1) == "−0.010859"
    for tag in ("[BP1]", "[BP2]", "[BP3]", "[BP4]"):
        assert tag in out, tag
    assert "BP3 — the bias" in out and "Add a bias b⁽ˡ⁾ = 0 to every layer" in out
    # with b = 0 added, ∂C/∂b = δ and b ← 0 − η δ: 0.007533 and 0.001086; no input factor
    assert f"[BP3]   ∂C/∂b⁽²⁾ = δ⁽²⁾ = {fmt6(d2)}" in out
    assert f"[BP3]   ∂C/∂b⁽¹⁾ = δ⁽¹⁾ = {fmt6(d1)}" in out
    assert f"b⁽²⁾ ← b⁽²⁾ − η ∂C/∂b⁽²⁾ = 0.000000 − 0.1 × ({fmt6(d2)}) = {fmt6(-0.1 * d2)}" in out
    assert fmt6(-0.1 * d2) == "0.007533" and fmt6(-0.1 * d1) == "0.001086"
    assert f"= {fmt6(d2)} × {fmt6(a1)} = {fmt6(d2 * a1)}" in out     # ∂C/∂W⁽²⁾ = δ⁽²⁾ a⁽¹⁾
    assert "no such input factor" in out
    # the weights' own update is still that of the network without biases
    assert "W⁽¹⁾ ← W⁽¹⁾ − η ∂C/∂W⁽¹⁾ = 0.800000 − 0.1 × (−0.005430) = 0.800543" in out


def test_bias_twin_changes_nothing_but_the_bias():
    w = walkthrough()
    assert w.bias_added and w.steps[0].layers[0].b is None
    for plain, twin in zip(w.steps[0].layers, w.bias_step.layers):
        assert np.array_equal(plain.z, twin.z) and np.array_equal(plain.delta, twin.delta)
        assert np.array_equal(plain.W_new, twin.W_new)
        assert np.array_equal(twin.db, plain.delta.sum(axis=0))          # BP3
        assert np.array_equal(twin.b_new, 0.0 - 0.1 * twin.db)           # b ← b − η δ


# --------------------------------------------------------------------------- --example bias
def test_example_bias_by_hand(capsys):
    # x = (1, 0.5); W1 = [[0.5, −0.3], [0.2, 0.4]], b1 = (0.1, −0.2); W2 = [[0.7, −0.6]], b2 = 0.3; y = 0.8; η = 0.5
    x1, x2 = 1.0, 0.5
    z11 = 0.5 * x1 - 0.3 * x2 + 0.1               # 0.45
    z12 = 0.2 * x1 + 0.4 * x2 - 0.2               # 0.20
    a11, a12 = s(z11), s(z12)
    z2 = 0.7 * a11 - 0.6 * a12 + 0.3
    a2 = s(z2)
    d2 = (a2 - 0.8) * a2 * (1 - a2)               # BP1
    d11 = d2 * 0.7 * a11 * (1 - a11)              # BP2, neuron 1
    d12 = d2 * -0.6 * a12 * (1 - a12)             # BP2, neuron 2
    w = walkthrough("--example", "bias")
    step = w.steps[0]
    l1, l2 = step.layers
    assert not w.bias_added and w.bias_step is step
    np.testing.assert_allclose(l1.z, [[z11, z12]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(l1.delta, [[d11, d12]], rtol=1e-13)
    np.testing.assert_allclose(l1.db, [d11, d12], rtol=1e-13)                        # ∂C/∂b = δ
    np.testing.assert_allclose(l1.dW, [[d11 * x1, d11 * x2], [d12 * x1, d12 * x2]], rtol=1e-13)  # δ_k a_j
    np.testing.assert_allclose(l1.b_new, [0.1 - 0.5 * d11, -0.2 - 0.5 * d12], rtol=1e-13)
    np.testing.assert_allclose(l2.b_new, [0.3 - 0.5 * d2], rtol=1e-13)
    np.testing.assert_allclose(l2.W_new, [[0.7 - 0.5 * d2 * a11, -0.6 - 0.5 * d2 * a12]], rtol=1e-13)
    code, out, err = run_cli(capsys, "explain", "--example", "bias")
    assert code == 0, err
    assert "how a bias is updated (seed 000)" in out and "with biases" in out
    assert f"∂C/∂b⁽¹⁾ = δ⁽¹⁾ = [{fmt6(d11)}, {fmt6(d12)}]" in out
    assert f"= [{fmt6(0.1 - 0.5 * d11)}, {fmt6(-0.2 - 0.5 * d12)}]" in out


# --------------------------------------------------------------------------- --example 2-2-2 (Mazur)
MAZUR = {  # printed in "A Step by Step Backpropagation Example" (Mazur, 2015)
    "out_h1": 0.593269992, "out_h2": 0.596884378, "out_o1": 0.75136507, "out_o2": 0.772928465,
    "E_total": 0.298371109, "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
    "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
}


def mazur_by_hand():
    i1, i2, t1, t2, lr = 0.05, 0.10, 0.01, 0.99, 0.5
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.60
    h1, h2 = s(w1 * i1 + w2 * i2 + b1), s(w3 * i1 + w4 * i2 + b1)
    o1, o2 = s(w5 * h1 + w6 * h2 + b2), s(w7 * h1 + w8 * h2 + b2)
    E = 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2
    do1, do2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    dh1 = (do1 * w5 + do2 * w7) * h1 * (1 - h1)
    dh2 = (do1 * w6 + do2 * w8) * h2 * (1 - h2)
    return {"out_h1": h1, "out_h2": h2, "out_o1": o1, "out_o2": o2, "E_total": E,
            "w5": w5 - lr * do1 * h1, "w6": w6 - lr * do1 * h2, "w7": w7 - lr * do2 * h1, "w8": w8 - lr * do2 * h2,
            "w1": w1 - lr * dh1 * i1, "w2": w2 - lr * dh1 * i2, "w3": w3 - lr * dh2 * i1, "w4": w4 - lr * dh2 * i2,
            "b1": (b1 - lr * dh1, b1 - lr * dh2), "b2": (b2 - lr * do1, b2 - lr * do2)}


def test_example_2_2_2_matches_the_hand_computation_and_the_published_numbers(capsys):
    hand = mazur_by_hand()
    for key, published in MAZUR.items():        # Mazur prints 8–9 decimals
        assert abs(hand[key] - published) < 5e-9, key
    w = walkthrough("--example", "2-2-2")
    (l1, l2), step = w.steps[0].layers, w.steps[0]
    assert step.C == pytest.approx(hand["E_total"], rel=1e-14)
    np.testing.assert_allclose(l1.a_out, [[hand["out_h1"], hand["out_h2"]]], rtol=1e-14)
    np.testing.assert_allclose(l2.a_out, [[hand["out_o1"], hand["out_o2"]]], rtol=1e-14)
    np.testing.assert_allclose(l2.W_new, [[hand["w5"], hand["w6"]], [hand["w7"], hand["w8"]]], rtol=1e-14)
    np.testing.assert_allclose(l1.W_new, [[hand["w1"], hand["w2"]], [hand["w3"], hand["w4"]]], rtol=1e-14)
    np.testing.assert_allclose(l1.b_new, hand["b1"], rtol=1e-14)
    np.testing.assert_allclose(l2.b_new, hand["b2"], rtol=1e-14)
    assert len(w.setup.checks) == 15
    for check in w.setup.checks:
        assert abs(check.value(step) - check.published) < 5e-9, check.label
    code, out, err = run_cli(capsys, "explain", "--example", "2-2-2")
    assert code == 0, err
    assert "Checked against the published numbers" in out
    assert re.search(r"w5⁺ +0\.358916480 +0\.358916480 ", out)       # published, bprop (9 decimals)
    assert re.search(r"E_total +0\.298371109 +0\.298371109 ", out)
    assert "[BP3]" in out and "b⁽²⁾ ← b⁽²⁾ − η ∂C/∂b⁽²⁾" in out
    code, md, _ = run_cli(capsys, "explain", "--example", "2-2-2", "--format", "markdown")
    assert code == 0 and "| w5⁺ | $0.358916480$ | $0.358916480$ |" in md and "## BP3 — the bias" in md
    code, tex, _ = run_cli(capsys, "explain", "--example", "2-2-2", "--format", "latex")
    assert code == 0 and r"\begin{tabular}{lrrr}" in tex and r"\tag*{BP3}" in tex


def test_an_option_changes_one_value_of_an_example(capsys):
    code, out, err = run_cli(capsys, "explain", "--example", "2-2-2", "--lr", 0.1)
    assert code == 0, err
    h1, h2 = s(0.15 * 0.05 + 0.20 * 0.10 + 0.35), s(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
    o1 = s(0.40 * h1 + 0.45 * h2 + 0.60)
    w5 = 0.40 - 0.1 * (o1 - 0.01) * o1 * (1 - o1) * h1          # 0.4 − 0.1 × 0.082167 = 0.391783
    assert fmt6(w5) == "0.391783" and fmt6(w5) in out


# --------------------------------------------------------------------------- --example adam
def test_example_adam_moments_by_hand(capsys):
    a1 = s(0.4)
    a2 = s(0.6 * a1)
    d2 = (a2 - 0.9) * a2 * (1 - a2)
    g2, g1 = d2 * a1, d2 * 0.6 * a1 * (1 - a1) * 0.5               # ∂C/∂w2, ∂C/∂w1
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    m, v = (1 - b1) * g1, (1 - b2) * g1 * g1                      # t = 1, m₀ = v₀ = 0
    m_hat, v_hat = m / (1 - b1), v / (1 - b2)                     # = g1, g1²
    kb = 0.8 - lr * m_hat / (math.sqrt(v_hat) + eps)              # Kingma & Ba: ≈ 0.8 + 0.1
    seed = 0.8 - lr * m_hat / math.sqrt(v_hat + eps)              # seed 004: ε under the root
    assert fmt6(kb) == "0.900000" and fmt6(seed) == "0.899983"
    w = walkthrough("--example", "adam")
    assert w.steps[0].layers[0].W_new[0, 0] == pytest.approx(kb, rel=1e-15)
    code, out, err = run_cli(capsys, "explain", "--example", "adam")
    assert code == 0, err
    assert "Adam step of W⁽¹⁾ (t = 1, β1 = 0.9, β2 = 0.999, ε = 1e-08)" in out
    assert f"m = β1 m₀ + (1 − β1) g = 0.9 × 0.000000 + 0.1 × ({fmt6(g1)}) = {fmt6(m)}" in out
    assert f"m̂ = m / (1 − β1^1) = {fmt6(m)} / 0.1 = {fmt6(m_hat)}" in out
    assert f"v̂ = v / (1 − β2^1) = {v:.4e} / 0.001 = {v_hat:.4e}" in out
    assert "[Kingma & Ba] W⁽¹⁾ ← W⁽¹⁾ − η m̂ / (√v̂ + ε)" in out and f"= {fmt6(seed)}" in out
    assert fmt6(0.6 - lr * g2 / (abs(g2) + eps)) in out                # w2: 0.700000


# --------------------------------------------------------------------------- Chinese, errors
def test_lang_zh_uses_the_seeds_terms_and_the_same_numbers(capsys, monkeypatch):
    code, en, _ = run_cli(capsys, "explain")
    code, zh, err = run_cli(capsys, "explain", "--lang", "zh")
    assert code == 0, err
    for term in ("前向传播", "反向传播", "误差信号", "权重更新", "偏置更新", "学习率", "BP3 — 偏置"):
        assert term in zh, term
    for number in ("0.800543", "0.604510", "0.007533", "0.800325"):
        assert number in en and number in zh
    monkeypatch.setenv("BPROP_LANG", "zh")
    assert run_cli(capsys, "explain", "--format", "markdown")[1].startswith("# 反向传播")
    code, out, err = run_cli(capsys, "explain", "--lang", "fr")
    assert code == 2 and out == "" and err.count("\n") == 1 and "valid languages: en, zh" in err


@pytest.mark.parametrize("argv, message", [
    (["--example", "bais"], "valid examples: tutorial-002, bias, 2-2-2, adam; did you mean 'bias'"),
    (["--example", "bias", "--layers", "1,1,1"], "--example bias fixes the network"),
])
def test_example_usage_errors(capsys, argv, message):
    code, out, err = run_cli(capsys, "explain", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_every_example_runs_in_every_format(capsys):
    for name in EXAMPLES:
        for fmt in ("text", "markdown", "latex"):
            code, out, err = run_cli(capsys, "explain", "--example", name, "--format", fmt)
            assert code == 0 and "BP3" in out, (name, fmt, err)


def test_activation_derivative_is_the_layers_own_backward():
    import bprop as bp
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(bp.Sigmoid().derivative(z), sig * (1 - sig), rtol=1e-15)   # σ(1 − σ)
    np.testing.assert_allclose(bp.Tanh().derivative(z), 1 - np.tanh(z) ** 2, rtol=1e-14)  # 1 − tanh²
    assert bp.ReLU().derivative(z).tolist() == [[0.0, 0.0, 0.0, 1.0, 1.0]]                # [z > 0]
    layer = bp.Sigmoid()
    layer.derivative(z)
    assert layer._cache is None                                                          # a copy did the work
