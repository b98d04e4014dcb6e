"""benchmarks/train_speed.py runs end to end in --quick mode and writes its reports.

This checks the script (cases, columns, files), never the timings: speed is
measured by running the benchmark itself, not by a timed test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
CASES = {"ref_b32", "ref_b128", "ref_b1024", "ref_b128_f64", "deep_bn", "tabular"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r.stdout


def _have(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_json_report_has_every_case_and_measurement(quick_run):
    out, _ = quick_run
    report = json.loads((out / "train_speed.json").read_text())
    assert report["meta"]["quick"] is True and report["meta"]["threads"] == 2
    rows = {r["case"]: r for r in report["training"]}
    assert set(rows) == CASES
    for name, r in rows.items():
        sps = r["samples_per_s"]
        assert sps["bprop"] > 0 and sps["bound"] > 0
        assert r["fraction_of_bound"] > 0 and all(v > 0 for v in r["ratios"].values())
        if _have("torch"):
            assert {"torch_fused", "torch_default"} <= set(r["ratios"])
        if _have("sklearn") and name != "deep_bn":
            assert "sklearn" in r["ratios"]
    assert "sklearn" not in rows["deep_bn"]["samples_per_s"]        # no BatchNorm in scikit-learn
    assert [p["n"] for p in report["prediction"]] == [1, 10_000]
    assert all(p["latency_s"]["bprop"] > 0 for p in report["prediction"])
    assert report["import"]["bprop"] > 0 and report["import"]["bprop_imports_numba"] is False
    assert report["memory"]["bprop"]["peak_rss_mib"] > 0
    assert report["meta"]["cpu"]["cores"] >= 1 and "model" in report["meta"]["cpu"]
    rows = report["denormal"]["rows"]
    assert "bprop Adam (NumPy chain)" in rows and all(v["slowdown"] > 0 for v in rows.values())
    if os.environ.get("BPROP_DATA_DIR") and _have("torch") and "mnist" in report:
        assert [r["batch"] for r in report["mnist"]] == [32, 128]


def test_markdown_report_lists_the_tables(quick_run):
    out, stdout = quick_run
    md = (out / "train_speed.md").read_text()
    for heading in ("## Training throughput", "## Prediction latency", "## Import time", "## Peak memory",
                    "## The bound and the CPU", "## Denormal optimiser state"):
        assert heading in md
    for title in ("reference 784-256-128-10, batch 128", "deep 784-8×256-10 + BatchNorm",
                  "tabular regression 32-64-64-1"):
        assert title in md
    assert "bprop / bound" in md and "--quick" in md
    assert "wrote" in stdout


def test_unknown_case_is_a_usage_error(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--cases", "nope", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown case" in r.stderr
