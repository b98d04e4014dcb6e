"""The notebook runs, cell by cell in one namespace (as a kernel would), and the HTML views it shows."""

import json
import os

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

import bprop as bp  # noqa: E402
from bprop import _html  # noqa: E402
from bprop.mlp import build_mlp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "docs", "notebooks", "backprop.ipynb")


def test_the_notebook_runs_and_is_stored_without_outputs(capsys):
    with open(NOTEBOOK, encoding="utf-8") as f:
        nb = json.load(f)
    assert nb["nbformat"] == 4
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 8 and all(not c["outputs"] and c["execution_count"] is None for c in code)
    namespace = {"__name__": "__notebook__"}
    last, shown = None, []
    for k, cell in enumerate(code):
        source = "".join(cell["source"])
        lines = source.rstrip().splitlines()
        body, tail = "\n".join(lines[:-1]), lines[-1].split("#")[0].strip()
        try:          # a cell's last expression is what Jupyter shows
            compile(tail, "<cell>", "eval")
            exec(compile(body, f"<cell {k}>", "exec"), namespace)
            last = eval(compile(tail, f"<cell {k}>", "eval"), namespace)
        except SyntaxError:
            exec(compile(source, f"<cell {k}>", "exec"), namespace)
            last = None
        if isinstance(last, (bp.Sequential, bp.training.History, dict)):     # bprop's HTML views
            shown.append(last._repr_html_())
    assert len(shown) == 3 and all("<table" in page for page in shown) and "<svg" in shown[2]
    out = capsys.readouterr().out
    assert "z = [[0.45]]" in out
    assert "δ⁽²⁾ = [[-0.07533" in out and "BP3 — the bias" in out and "diverged" in out


def test_html_views():
    net = build_mlp(1, [1], 1, activation="sigmoid", output_activation="sigmoid", bias=False, dtype="float64")
    page = net._repr_html_()
    assert "Dense(1, 1, bias=False" in page.replace("&#x27;", "'") and "2 parameters" in page
    rec = net.trace(np.array([[0.5]]), np.array([[0.9]]), bp.MSE())[0]
    assert isinstance(rec, dict) and set(rec) >= {"z", "a_in", "a_out", "delta", "dW", "db"}
    html = rec._repr_html_()
    assert "δ = ∂C/∂z (1, 1)" in html and "∂C/∂b" not in html          # no bias, no ∂C/∂b table
    # the colour scale: white at 0, full red at +max|a|, full blue at −max|a|
    assert _html.colour(0.0, 2.0) == "rgb(255,255,255)"
    assert _html.colour(2.0, 2.0) == "rgb(255,64,64)" and _html.colour(-1.0, 1.0) == "rgb(64,64,255)"
    assert "&lt;script&gt;" in _html.table(["<script>"], [["x"]])
    spark = _html.sparkline([3.0, 2.0, 1.0, 0.5])
    assert spark.count(",") == 4 and spark.startswith("<svg")
    h = bp.training.History([{"epoch": e, "loss": 1.0 / e} for e in (1, 2, 3)])
    assert "History: 3 epoch(s)" in h._repr_html_() and "<polyline" in h._repr_html_()


def test_step_through_widget_shows_each_steps_trace():
    from bprop.explain.widget import step_through
    net = build_mlp(1, [1], 1, activation="sigmoid", output_activation="sigmoid", bias=False, dtype="float64")
    net.params["0.W"][...] = 0.8
    net.params["2.W"][...] = 0.6
    box = step_through(net, np.array([[0.5]]), np.array([[0.9]]), bp.MSE(), bp.optim.SGD(0.1), steps=3)
    slider, view = box.children
    assert (slider.min, slider.max, slider.value) == (1, 3, 1)
    # step 1 of the tutorials' example: C = ½(0.588850 − 0.9)² = 0.0484072, w1 → 0.800543
    assert "step 1: C = 0.0484072" in view.value and "0.8005" in view.value and "δ = ∂C/∂z" in view.value
    slider.value = 3
    assert "step 3: C = " in view.value and "step 1" not in view.value
    # three steps taken: the network is left after the third
    assert net.params["2.W"][0, 0] > 0.6045
