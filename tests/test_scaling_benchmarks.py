"""benchmarks/distributed.py and benchmarks/out_of_core.py run end to end in --quick mode.

These check the scripts (what they measure, the files they write), never the
timings, which depend on the machine and its load.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import require_mpi

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH.parent), os.environ.get("PYTHONPATH", "")])}


def test_distributed_benchmark_quick(tmp_path):
    require_mpi()
    r = subprocess.run([sys.executable, str(BENCH / "distributed.py"), "--quick", "--rows", "2048", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "distributed.json").read_text())
    assert res["step"]["n_params"] == 235_146 and res["step"]["grad_bytes"] == 4 * 235_146
    assert set(res["step"]["batches"]) == {"128", "1024"} and res["step"]["allreduce_ms"] > 0
    for key in ("fit_1x2", "fit_2x1"):
        assert all(v > 0 for v in res[key]["samples_per_s"].values())
    assert "2 processes × 1 thread" in (tmp_path / "distributed.md").read_text()


def test_out_of_core_benchmark_quick(tmp_path):
    r = subprocess.run([sys.executable, str(BENCH / "out_of_core.py"), "--quick", "--rows", "3000", "--dir",
                        str(tmp_path), "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                       env={**ENV, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "out_of_core.json").read_text())
    assert res["rows"] == 3000 and res["x_bytes"] == 3000 * 1024 * 4
    assert res["peak_rss_mib"] >= res["baseline_rss_mib"] > 0
    assert not list(tmp_path.glob("bprop-ooc-*/*.npy"))          # the scratch files are removed
    assert "peak resident set, one epoch of `fit`" in (tmp_path / "out_of_core.md").read_text()
