"""Data-parallel training over MPI on this machine: compute per step, Allreduce per step, and throughput.

Measures, for the reference network 784-256-128-10 (ReLU, cross-entropy,
Adam, float32: 235,402 parameters, 0.94 MB of gradients per step):

1. the compute of one training step (backprop + Adam) on one thread, at batch
   128 and 1024, for the whole batch and for one rank's half of it;
2. the ``Allreduce`` of the flat 0.94 MB gradient buffer between 2 processes;
3. one epoch's throughput (samples/s) of ``fit`` as 1 process × 2 threads
   against 2 processes × 1 thread (``mpiexec -n 2``, ``fit(..., comm=...)``).

    python benchmarks/distributed.py            # ~1 min
    python benchmarks/distributed.py --quick    # seconds: checks the script

Results: ``benchmarks/results/distributed.md`` and ``.json`` (or ``--out DIR``).
The numbers feed the cost model of ``docs/SCALING.md``. The machine is shared
and its timings noisy: repeated timings give medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _machine import cpu_name

HERE = Path(__file__).resolve().parent
SIZES = [784, 256, 128, 10]


def _net(bp, seed=0):
    from bprop.mlp import build_mlp
    return build_mlp(SIZES[0], SIZES[1:-1], SIZES[-1], activation="relu", seed=seed, dtype="float32")


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n)
    return X, y


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def worker_step(args, comm):
    """Per-step compute (whole batch and this rank's half) and the Allreduce of the gradient buffer."""
    import bprop as bp
    from bprop.training.distributed import DataParallel
    net, loss = _net(bp), bp.CrossEntropy()
    opt = bp.optim.Adam(1e-3)
    out = {"n_params": net.n_params, "grad_bytes": 4 * net.n_params, "batches": {}}
    for batch in (128, 1024):
        X, y = _data(batch)
        _, Y, _ = net.prepare(X, y, loss)
        row = {}
        for label, rows in (("whole", batch), ("half", batch // 2)):
            def step():
                net._backprop(X[:rows], Y[:rows], loss)
                opt.step(net.params, net.grads)
            step()
            row[f"compute_{label}_ms"] = 1e3 * _median_time(step, args.repeats)
        out["batches"][str(batch)] = row
    if comm is not None:
        dp = DataParallel(comm)
        dp.allreduce(net.grads, 0.0)
        comm.Barrier()
        out["allreduce_ms"] = 1e3 * _median_time(lambda: dp.allreduce(net.grads, 0.0), 5 * args.repeats)
    return out


def worker_fit(args, comm):
    """One epoch of fit on ``args.rows`` rows: samples per second."""
    import bprop as bp
    X, y = _data(args.rows)
    res = {}
    for batch in (128, 1024):
        net = _net(bp)
        net.fit(X[:2048], y[:2048], loss="cross_entropy", optimizer=bp.optim.Adam(1e-3), epochs=1,
                batch_size=batch, verbose=0, comm=comm)      # warm-up
        if comm is not None:
            comm.Barrier()
        t0 = time.perf_counter()
        net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-3), epochs=1, batch_size=batch,
                verbose=0, comm=comm)
        res[str(batch)] = args.rows / (time.perf_counter() - t0)
    return {"samples_per_s": res}


def _child(mode, args, n, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", mode, "--rows", str(args.rows), "--repeats", str(args.repeats)]
    if n > 1:
        mpiexec = shutil.which("mpiexec")
        if mpiexec is None:
            sys.exit("mpiexec not found: pip install mpich mpi4py")
        cmd = [mpiexec, "-n", str(n), *cmd]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _markdown(res):
    m = res["meta"]
    lines = [f"# Data-parallel training on {m['cpu']} ({m['cores']} cores)", "",
             f"Reference network {'-'.join(map(str, SIZES))}: {res['step']['n_params']:,} parameters, "
             f"{res['step']['grad_bytes'] / 1e6:.2f} MB of float32 gradients per step. "
             f"{'Quick run (smoke test, not a measurement). ' if m['quick'] else ''}"
             f"Medians of {m['repeats']} repetitions; a shared machine.", "",
             "| batch | compute, whole batch, 1 thread | compute, half batch (one of 2 ranks) | Allreduce, 2 ranks |",
             "|---:|---:|---:|---:|"]
    for b, row in res["step"]["batches"].items():
        lines.append(f"| {b} | {row['compute_whole_ms']:.2f} ms | {row['compute_half_ms']:.2f} ms | "
                     f"{res['step']['allreduce_ms']:.3f} ms |")
    lines += ["", f"One epoch of `fit` on {m['rows']:,} rows:", "",
              "| batch | 1 process × 2 threads | 2 processes × 1 thread (`mpiexec -n 2`) | ratio |", "|---:|---:|---:|---:|"]
    for b in res["fit_1x2"]["samples_per_s"]:
        a, c = res["fit_1x2"]["samples_per_s"][b], res["fit_2x1"]["samples_per_s"][b]
        lines.append(f"| {b} | {a:,.0f} samples/s | {c:,.0f} samples/s | {c / a:.2f} |")
    return "\n".join(lines) + "\n"



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a few repetitions on a small data set (seconds)")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--worker", choices=["step", "fit"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.rows = args.rows or (4096 if args.quick else 65536)
    args.repeats = args.repeats or (3 if args.quick else 30)
    if args.worker:
        comm = None
        if (os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or "1") != "1":
            from mpi4py import MPI
            comm = MPI.COMM_WORLD
        res = (worker_step if args.worker == "step" else worker_fit)(args, comm)
        if comm is None or comm.Get_rank() == 0:
            print(json.dumps(res))
        return 0
    res = {"meta": {"cpu": cpu_name(), "cores": os.cpu_count(), "quick": args.quick, "rows": args.rows,
                    "repeats": args.repeats, "python": platform.python_version(), "numpy": np.__version__}}
    res["step"] = _child("step", args, 2, 1)
    res["fit_1x2"] = _child("fit", args, 1, 2)
    res["fit_2x1"] = _child("fit", args, 2, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distributed.json").write_text(json.dumps(res, indent=2) + "\n")
    md = _markdown(res)
    (args.out / "distributed.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
