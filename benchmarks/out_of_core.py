"""Training on data that stays on disk: peak memory of one epoch on a memory-mapped X.

Writes ``X.npy`` (float32, default 1,000,000 × 1024 = 3.8 GiB, in chunks) and
``y.npy`` to a scratch folder, then, in a fresh process, trains a
1024-256-10 network (ReLU, cross-entropy, Adam, batch 256) for one epoch on
``np.load(..., mmap_mode="r")`` and predicts on the whole file. It reports
that process's peak resident set (``VmHWM``: the Python heap *and* the
file's pages mapped in), its baseline after importing bprop, and the time.

    python benchmarks/out_of_core.py                    # 3.8 GiB file, ~2 min on 2 cores
    python benchmarks/out_of_core.py --rows 50000       # smaller
    python benchmarks/out_of_core.py --quick            # seconds: checks the script

Results: ``benchmarks/results/out_of_core.md`` and ``.json`` (or ``--out DIR``).
The file is removed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _machine import cpu_name

HERE = Path(__file__).resolve().parent
D, HIDDEN, K = 1024, 256, 10


def write_files(folder: Path, rows: int) -> None:
    X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.float32, shape=(rows, D))
    rng = np.random.default_rng(0)
    w = rng.standard_normal((D, K), dtype=np.float32)
    y = np.empty(rows, np.int64)
    for s in range(0, rows, 16384):
        e = min(s + 16384, rows)
        X[s:e] = rng.standard_normal((e - s, D), dtype=np.float32)
        y[s:e] = np.argmax(X[s:e] @ w, axis=1)
    X.flush()
    del X
    np.save(folder / "y.npy", y)


def _rss_mib() -> float:
    """This process's peak resident set in MiB: ``VmHWM`` (Linux; it starts afresh at exec, unlike
    ``ru_maxrss``, which a child inherits from the parent that forked it), else ``ru_maxrss``."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # Linux: KiB


def worker(folder: Path) -> dict:
    import bprop as bp
    base = _rss_mib()
    X = np.load(folder / "X.npy", mmap_mode="r")
    y = np.load(folder / "y.npy")
    net = bp.Sequential([bp.Dense(D, HIDDEN, init="he_normal"), bp.ReLU(), bp.Dense(HIDDEN, K)], seed=0)
    t0 = time.perf_counter()
    history = net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-3), epochs=1, batch_size=256,
                      verbose=0)
    t_fit = time.perf_counter() - t0
    fit_peak = _rss_mib()
    t0 = time.perf_counter()
    accuracy = float(np.mean(np.argmax(net.predict(X), axis=1) == y))
    t_predict = time.perf_counter() - t0
    return {"rows": len(X), "x_bytes": int(X.nbytes), "baseline_rss_mib": base, "fit_peak_rss_mib": fit_peak,
            "peak_rss_mib": _rss_mib(), "fit_s": t_fit, "predict_s": t_predict,
            "train_loss": history.records[-1]["loss"], "accuracy": accuracy}



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--dir", type=Path, default=None, help="scratch folder for the files (default: a temporary one)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    scratch = Path(tempfile.mkdtemp(prefix="bprop-ooc-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        write_files(scratch, rows)
        t_write = time.perf_counter() - t0
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
        r = subprocess.run([sys.executable, __file__, "--worker", str(scratch)], env=env, capture_output=True,
                           text=True, timeout=7200)
        if r.returncode != 0:
            sys.exit(r.stderr[-3000:])
        res = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            for f in scratch.glob("*.npy"):
                f.unlink()
            scratch.rmdir()
    res.update(cpu=cpu_name(), cores=os.cpu_count(), threads=env["OMP_NUM_THREADS"], write_s=t_write, quick=args.quick)
    md = "\n".join([
        f"# One epoch on a memory-mapped X ({cpu_name()}, {os.cpu_count()} cores, {res['threads']} threads)", "",
        f"X: {res['rows']:,} × {D} float32 = {res['x_bytes'] / 2**30:.2f} GiB on disk "
        f"(written in {t_write:.0f} s); network {D}-{HIDDEN}-{K}, ReLU, cross-entropy, Adam, batch 256."
        f"{' Quick run (smoke test).' if args.quick else ''}", "",
        "| measure | value |", "|---|---:|",
        f"| resident set after `import bprop` | {res['baseline_rss_mib']:.0f} MiB |",
        f"| peak resident set, one epoch of `fit` | {res['fit_peak_rss_mib']:.0f} MiB |",
        f"| peak resident set, then `predict` on all of X | {res['peak_rss_mib']:.0f} MiB |",
        f"| time, one epoch | {res['fit_s']:.1f} s ({res['rows'] / res['fit_s']:,.0f} samples/s) |",
        f"| time, predict | {res['predict_s']:.1f} s |",
        f"| training loss / accuracy after one epoch | {res['train_loss']:.3f} / {res['accuracy']:.3f} |", ""])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "out_of_core.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.out / "out_of_core.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
