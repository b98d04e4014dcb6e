#!/usr/bin/env python
r"""Training speed of bprop against PyTorch and scikit-learn, measured side by side.

For every case the same synthetic data, layer sizes, batch size, optimiser
(Adam, lr 1e-3) and thread count are given to

* **bprop** — ``net.fit(X, y, loss=..., optimizer=bp.optim.Adam(1e-3, fused=True), epochs=E,
  batch_size=B, verbose=0)`` on a ``Sequential(..., backend="numba")``: exactly what a
  user runs with the compiled variants (``pip install bprop[fast]``);
* **bprop, NumPy** — the same with the defaults (``backend="numpy"``, ``fused=False``):
  the NumPy formulas as written in the layers, losses and transforms;
* **PyTorch** — the usual loop (``randperm`` shuffle per epoch, slices,
  ``zero_grad / loss.backward() / step``) with ``Adam(fused=True)`` and with the
  default ``Adam``;
* **scikit-learn** — ``MLPClassifier``/``MLPRegressor`` (solver ``adam``,
  ``alpha=0``), one ``partial_fit`` per epoch (it shuffles, too), where it applies
  (no BatchNorm in scikit-learn);
* the **matrix-multiply bound** — the forward and backward products of the
  same case alone (``Z = A Wᵀ``, ``∂C/∂W = δᵀA``, ``∂C/∂A = δW`` except for the
  first layer, as bprop computes them), into preallocated arrays, with the
  same BLAS: the throughput no implementation built on these products can beat.

Timings are interleaved (one epoch of every runner per repetition, after a
warm-up), so background load hits all runners alike; the median over the
repetitions is reported. Only ratios measured in one run are meaningful.

Also measured: single-sample and 10 000-sample prediction latency (reference
network, eval mode), ``import bprop`` time (fresh interpreters), and peak
memory (max RSS) of a training run with each library in its own process.

Usage::

    python benchmarks/train_speed.py                  # full run (a few minutes)
    python benchmarks/train_speed.py --quick          # tiny, for CI (seconds; timings meaningless)
    python benchmarks/train_speed.py --cases ref_b128 --repeats 9

Writes ``train_speed.json`` and ``train_speed.md`` under ``--out``
(default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# Targets of SPEC.md "Performance" and issue 15 ("fast on every CPU"), which hold on AMD and Intel alike.
TARGETS = {
    "ref_b128": {"torch_fused": 1.5, "sklearn": 2.0, "bound": 0.80},
    "ref_b32": {"torch_fused": 1.5},
    "ref_b1024": {"bound": 0.85},
    "deep_bn": {"torch_fused": 1.3},
    "tabular": {"torch_fused": 2.5},
    "ref_b128_f64": {"torch_fused": 1.3},
}
#: MNIST (issue 15): the median and the last epoch's bprop / PyTorch fused ratio, per batch size.
MNIST_TARGET = 1.5


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One training configuration, shared by every library."""

    name: str
    title: str
    sizes: list            # layer widths, input first
    batch: int
    n_samples: int
    task: str = "classification"   # or "regression"
    batchnorm: bool = False
    epochs: int = 4        # epochs per timed repetition: one fit call of several epochs, as users train
    dtype: str = "float32"

    @property
    def n_out(self):
        return self.sizes[-1]


def make_cases(quick: bool) -> list[Case]:
    ref = [784, 256, 128, 10]
    deep = [784] + [256] * 8 + [10]
    # (name, title, sizes, batch, samples per epoch, options); --quick: two batches, one epoch
    table = [("ref_b32", "reference 784-256-128-10, batch 32", ref, 32, 4096, {}),
             ("ref_b128", "reference 784-256-128-10, batch 128", ref, 128, 8192, {}),
             ("ref_b1024", "reference 784-256-128-10, batch 1024", ref, 1024, 16384, {}),
             ("ref_b128_f64", "reference 784-256-128-10, batch 128, float64", ref, 128, 8192,
              {"dtype": "float64"}),
             ("deep_bn", "deep 784-8×256-10 + BatchNorm, batch 128", deep, 128, 4096, {"batchnorm": True}),
             ("tabular", "tabular regression 32-64-64-1, MSE, batch 256", [32, 64, 64, 1], 256, 32768,
              {"task": "regression"})]
    return [Case(name, title, sizes, batch, 2 * batch if quick else n, epochs=1 if quick else 4, **kw)
            for name, title, sizes, batch, n, kw in table]


def make_data(case: Case, seed: int = 0):
    """Synthetic, learnable data: ``X`` standard normal, targets from a random teacher network."""
    import numpy as np
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((case.n_samples, case.sizes[0]), dtype=np.float32).astype(case.dtype, copy=False)
    W1 = (rng.standard_normal((case.sizes[0], 32)) / np.sqrt(case.sizes[0])).astype(case.dtype)
    W2 = rng.standard_normal((32, case.n_out)).astype(case.dtype)
    h = np.tanh(X @ W1) @ W2            # small (n, 32) temporaries: no memory peak before training
    if case.task == "regression":
        y = (h + 0.1 * rng.standard_normal(h.shape)).astype(case.dtype)
    else:
        y = np.argmax(h, axis=1).astype(np.int64)
    return X, y


# ----------------------------------------------------------------------------- runners
# A runner is built once per case; calling it trains one repetition (case.epochs epochs).

def fast_backend() -> str:
    """``"numba"`` when numba is installed (the compiled variants), else ``"numpy"``."""
    from bprop._jit import numba_available
    return "numba" if numba_available() else "numpy"


def bprop_runner(case: Case, X, y, backend: str | None = None):
    """``backend="numba"``: compiled layers and losses and ``Adam(fused=True)``; ``"numpy"``: the defaults."""
    import bprop as bp
    from bprop.optim import Adam
    backend = backend or fast_backend()
    layers = []
    for i, (a, b) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
        last = i == len(case.sizes) - 2
        layers.append(bp.Dense(a, b, init="he_normal" if not last else "xavier_uniform"))
        if not last:
            if case.batchnorm:
                layers.append(bp.BatchNorm(b))
            layers.append(bp.ReLU())
    net = bp.Sequential(layers, seed=0, dtype=case.dtype, backend=backend)
    loss = bp.MSE() if case.task == "regression" else bp.CrossEntropy()
    opt = Adam(1e-3, fused=backend == "numba")

    def run():
        net.fit(X, y, loss=loss, optimizer=opt, epochs=case.epochs, batch_size=case.batch, verbose=0)
    run.model = net
    return run


def bprop_engine_runner(case: Case, X, y):
    """bprop's training step alone — ``net._backprop`` and ``opt.step`` over the batches of X,
    without fit's bookkeeping (shuffle, metrics, gradient norms, divergence checks): where the
    time goes between the matmul bound and fit."""
    net = bprop_runner(case, X, y).model
    from bprop.optim import Adam
    import bprop as bp
    Xc, Y, loss = net.prepare(X, y, bp.MSE() if case.task == "regression" else bp.CrossEntropy())
    opt, params, grads, B = Adam(1e-3, fused=net.backend == "numba"), net.params, net.grads, case.batch

    def run():
        for _ in range(case.epochs):
            for s in range(0, len(Xc), B):
                net._backprop(Xc[s:s + B], Y[s:s + B], loss)
                opt.step(params, grads)
    return run


def torch_runner(case: Case, X, y, fused: bool):
    import torch
    from torch import nn
    torch.manual_seed(0)
    mods = []
    for i, (a, b) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
        mods.append(nn.Linear(a, b))
        if i < len(case.sizes) - 2:
            if case.batchnorm:
                mods.append(nn.BatchNorm1d(b))
            mods.append(nn.ReLU())
    model = nn.Sequential(*mods).to(dtype=getattr(torch, case.dtype)).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused) if fused else \
        torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    if case.task == "regression":
        def loss_fn(out, target):            # bprop's MSE: 1/(2n) Σ ||a − y||²
            return 0.5 * torch.nn.functional.mse_loss(out, target, reduction="sum") / out.shape[0]
    else:
        loss_fn = nn.CrossEntropyLoss()
    n, B = len(X), case.batch
    gen = torch.Generator().manual_seed(0)

    def run():
        for _ in range(case.epochs):
            perm = torch.randperm(n, generator=gen)
            Xs, ys = Xt[perm], yt[perm]
            for s in range(0, n, B):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xs[s:s + B]), ys[s:s + B])
                loss.backward()
                opt.step()
    run.model = model
    return run


def sklearn_runner(case: Case, X, y):
    if case.batchnorm:
        return None                                   # no BatchNorm in scikit-learn
    import warnings
    import numpy as np
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    kw = dict(hidden_layer_sizes=tuple(case.sizes[1:-1]), activation="relu", solver="adam", alpha=0.0,
              batch_size=case.batch, learning_rate_init=1e-3, shuffle=True, random_state=0)
    if case.task == "regression":
        est = MLPRegressor(**kw)
        target = y.ravel() if y.shape[1] == 1 else y
        fit = lambda: est.partial_fit(X, target)                       # noqa: E731
    else:
        est = MLPClassifier(**kw)
        classes = np.arange(case.n_out)
        fit = lambda: est.partial_fit(X, y, classes=classes)          # noqa: E731

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(case.epochs):
                fit()
    run.model = est
    return run


def matmul_runner(case: Case, X, y):
    """Only the matrix products of one training epoch, as bprop computes them, into preallocated arrays."""
    import numpy as np
    rng = np.random.default_rng(1)
    dt = np.dtype(case.dtype)
    sizes, B, n = case.sizes, case.batch, len(X)
    Ws = [rng.standard_normal((b, a)).astype(dt) for a, b in zip(sizes[:-1], sizes[1:])]
    dWs = [np.empty_like(W) for W in Ws]

    def buffers(nb):
        Zs = [np.empty((nb, W.shape[0]), dt) for W in Ws]          # layer outputs (inputs of the next)
        deltas = [rng.standard_normal((nb, W.shape[0])).astype(dt) for W in Ws]
        dAs = [np.empty((nb, W.shape[1]), dt) for W in Ws]
        return Zs, deltas, dAs

    bufs = {nb: buffers(nb) for nb in {B, n % B} if nb}
    L = len(Ws)

    def run():
        for _ in range(case.epochs):
            for s in range(0, n, B):
                A0 = X[s:s + B]
                Zs, deltas, dAs = bufs[len(A0)]
                A = A0
                for l in range(L):                                  # forward: Z = A Wᵀ
                    np.matmul(A, Ws[l].T, out=Zs[l])
                    A = Zs[l]
                for l in range(L - 1, -1, -1):                      # backward: BP4 and δW
                    Ain = A0 if l == 0 else Zs[l - 1]
                    np.matmul(deltas[l].T, Ain, out=dWs[l])
                    if l > 0:
                        np.matmul(deltas[l], Ws[l], out=dAs[l])
    return run


def torch_matmul_runner(case: Case, X, y):
    """:func:`matmul_runner` with PyTorch's BLAS (MKL or oneDNN on x86): the products alone, ``torch.mm(out=)``."""
    import torch
    dt = getattr(torch, case.dtype)
    gen = torch.Generator().manual_seed(1)
    sizes, B, n = case.sizes, case.batch, len(X)
    Xt = torch.from_numpy(X)
    Ws = [torch.randn((b, a), generator=gen, dtype=dt) for a, b in zip(sizes[:-1], sizes[1:])]
    dWs = [torch.empty_like(W) for W in Ws]

    def buffers(nb):
        return ([torch.empty((nb, W.shape[0]), dtype=dt) for W in Ws],
                [torch.randn((nb, W.shape[0]), generator=gen, dtype=dt) for W in Ws],
                [torch.empty((nb, W.shape[1]), dtype=dt) for W in Ws])

    bufs = {nb: buffers(nb) for nb in {B, n % B} if nb}
    L = len(Ws)

    def run():
        with torch.no_grad():
            for _ in range(case.epochs):
                for s in range(0, n, B):
                    A0 = Xt[s:s + B]
                    Zs, deltas, dAs = bufs[len(A0)]
                    A = A0
                    for l in range(L):
                        torch.mm(A, Ws[l].T, out=Zs[l])
                        A = Zs[l]
                    for l in range(L - 1, -1, -1):
                        torch.mm(deltas[l].T, A0 if l == 0 else Zs[l - 1], out=dWs[l])
                        if l > 0:
                            torch.mm(deltas[l], Ws[l], out=dAs[l])
    return run


def flops_per_sample(case: Case) -> int:
    """Floating-point operations of the matrix products of one training sample (2 per multiply-add):
    forward ``A Wᵀ`` and ``δᵀ A`` for every layer, ``δ W`` for all but the first."""
    pairs = list(zip(case.sizes[:-1], case.sizes[1:]))
    return sum(2 * a * b * (3 if i else 2) for i, (a, b) in enumerate(pairs))


def cpu_peak() -> dict:
    """This CPU's peak FLOP/s from ``lscpu``: cores × 2 FMA units × 2 flops × vector lanes × clock.

    The lanes come from the widest vector extension in the flags (AVX-512: 16 float32, AVX2+FMA: 8,
    else SSE: 4); the clock is lscpu's ``CPU max MHz`` where it shows one, else the ``cpu MHz`` of
    /proc/cpuinfo (a virtual machine's nominal clock: turbo may run faster). Two FMA units per core is
    an assumption (Zen 4/5 and Intel server cores have two; some client cores have one).
    """
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    info["model"] = fields.get("Model name", platform.processor() or "unknown")
    flags = set(fields.get("Flags", "").split())
    mhz = fields.get("CPU max MHz")
    source = "lscpu CPU max MHz"
    if not mhz:
        source = "/proc/cpuinfo cpu MHz (nominal)"
        try:
            mhz = next(line.split(":")[1] for line in open("/proc/cpuinfo") if line.startswith("cpu MHz"))
        except (OSError, StopIteration):
            mhz = None
    cores = int(fields.get("Core(s) per socket", 0) or 0) * int(fields.get("Socket(s)", 1) or 1) or os.cpu_count()
    lanes32 = 16 if "avx512f" in flags else 8 if {"avx2", "fma"} <= flags else 4
    info.update(cores=cores, lanes_float32=lanes32, fma_units_assumed=2, clock_source=source,
                avx512="avx512f" in flags, amx="amx_tile" in flags)
    if mhz:
        ghz = float(mhz) / 1000
        info["clock_ghz"] = ghz
        info["peak_gflops_float32"] = cores * 2 * 2 * lanes32 * ghz
        info["peak_gflops_float64"] = info["peak_gflops_float32"] / 2
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                        for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        pass
    return info


# ----------------------------------------------------------------------------- timing
def median(xs):
    return statistics.median(xs) if xs else None


def time_case(case: Case, repeats: int, warmup: int, libs: set) -> dict:
    X, y = make_data(case)
    if case.task == "regression" and y.ndim == 1:
        y = y.reshape(-1, 1)
    runners = {"bprop": bprop_runner(case, X, y), "bprop_numpy": bprop_runner(case, X, y, "numpy"),
               "bprop_engine": bprop_engine_runner(case, X, y)}
    if "torch" in libs:
        runners["torch_fused"] = torch_runner(case, X, y, fused=True)
        runners["torch_default"] = torch_runner(case, X, y, fused=False)
    if "sklearn" in libs:
        r = sklearn_runner(case, X, y)
        if r is not None:
            runners["sklearn"] = r
    runners["bound"] = matmul_runner(case, X, y)
    if "torch" in libs:
        runners["bound_torch"] = torch_matmul_runner(case, X, y)
    for _ in range(warmup):
        for r in runners.values():
            r()
    times = {k: [] for k in runners}
    for _ in range(repeats):
        for k, r in runners.items():                 # interleaved: noise hits every runner alike
            t0 = time.perf_counter()
            r()
            times[k].append(time.perf_counter() - t0)
    samples = case.n_samples * case.epochs
    res = {"case": case.name, "title": case.title, "batch": case.batch, "sizes": case.sizes,
           "batchnorm": case.batchnorm, "task": case.task, "samples_per_rep": samples,
           "seconds": {k: v for k, v in times.items()},
           "samples_per_s": {k: samples / median(v) for k, v in times.items()}}
    # Ratios pair the runs of one repetition (taken seconds apart, under the same background load),
    # then take the median over repetitions: steadier than a ratio of two medians.
    paired = {k: median([t / tb for t, tb in zip(times[k], times["bprop"])]) for k in times if k != "bprop"}
    res["ratios"] = {k: paired[k] for k in ("torch_fused", "torch_default", "sklearn") if k in paired}
    if "torch_fused" in times:          # the NumPy defaults against PyTorch fused, paired the same way
        res["numpy_ratio_torch_fused"] = median([t / tb for t, tb in zip(times["torch_fused"], times["bprop_numpy"])])
    res["fraction_of_bound"] = paired["bound"]
    res["engine_fraction_of_bound"] = paired["bound"] / paired["bprop_engine"]
    if "bound_torch" in times:          # NumPy's BLAS against PyTorch's on the same products
        res["numpy_blas_over_torch_blas"] = median([t / tb for t, tb in zip(times["bound_torch"], times["bound"])])
    res["bound_gflops"] = flops_per_sample(case) * res["samples_per_s"]["bound"] / 1e9
    return res


def time_prediction(repeats: int, quick: bool, libs: set) -> list[dict]:
    """Latency of ``predict`` on 1 and 10 000 samples for the reference network (eval mode)."""
    import numpy as np
    case = Case("predict", "reference 784-256-128-10", [784, 256, 128, 10], 128, 256)
    X, y = make_data(case)
    net = bprop_runner(case, X, y).model
    calls = {}
    if "torch" in libs:
        import torch
        tmodel = torch_runner(case, X, y, fused=True).model.eval()

        def torch_predict(x):
            with torch.inference_mode():
                return tmodel(torch.from_numpy(x))
    if "sklearn" in libs:
        est = sklearn_runner(case, X, y).model
        est.partial_fit(X, y, classes=np.arange(10))
    out = []
    rng = np.random.default_rng(2)
    for n, inner in ((1, 200 if not quick else 5), (10_000, 2 if not quick else 1)):
        x = rng.standard_normal((n, 784)).astype(np.float32)
        calls = {"bprop": lambda x=x: net.predict(x)}
        if "torch" in libs:
            calls["torch"] = lambda x=x: torch_predict(x)
        if "sklearn" in libs:
            calls["sklearn"] = lambda x=x: est.predict_proba(x)
        for f in calls.values():
            for _ in range(3):
                f()
        times = {k: [] for k in calls}
        for _ in range(repeats * (5 if n == 1 else 1)):
            for k, f in calls.items():
                t0 = time.perf_counter()
                for _ in range(inner):
                    f()
                times[k].append((time.perf_counter() - t0) / inner)
        lat = {k: median(v) for k, v in times.items()}
        row = {"n": n, "latency_s": lat}
        row["ratios"] = {k: lat["bprop"] / lat[k] for k in lat if k != "bprop"}
        out.append(row)
    return out


# ----------------------------------------------------------------------------- denormals
def _fill_state(arrays, kind: str, rng):
    """Adam's ``m`` (first) and ``v`` (second) as after long training: normal values, or 3/4 denormal."""
    import numpy as np
    for slot, a in arrays:
        mag = rng.uniform(1, 8, a.shape)
        if kind == "denormal":
            vals = np.where(rng.random(a.shape) < 0.75, mag * 1e-39, mag * (1e-4 if slot == "m" else 1e-8))
        else:
            vals = mag * (1e-4 if slot == "m" else 1e-8)
        if slot == "m":
            vals *= rng.choice([-1.0, 1.0], a.shape)
        a[...] = vals.astype(a.dtype)


def time_denormals(repeats: int, quick: bool, libs: set) -> dict:
    """Adam steps with zero gradients on the reference network's 235k float32 parameters, when the
    optimiser state is normal and when 3/4 of it is denormal (as a dead unit's ``m`` after ~800 steps):
    the per-step time of each, and their ratio (1.0: denormals cost nothing). bprop flushes them at its
    first update (:mod:`bprop._numerics`); PyTorch keeps them (``m`` stuck, ``v`` decaying). Also a plain
    ``a *= 0.9`` on 10⁶ denormal against normal float32 values: whether this CPU penalises them at all."""
    import numpy as np
    import bprop as bp
    rng = np.random.default_rng(3)
    sizes = [784, 256, 128, 10]
    shapes = [s for a, b in zip(sizes[:-1], sizes[1:]) for s in ((b, a), (b,))]
    steps = 3 if quick else 30
    runners = {}

    def bprop_adam(fused):
        params = {f"{i}.p": rng.standard_normal(sh).astype(np.float32) for i, sh in enumerate(shapes)}
        zeros = {k: np.zeros_like(p) for k, p in params.items()}
        opt = bp.optim.Adam(1e-3, fused=fused)
        opt.step(params, zeros)
        adam = next(t for t in opt.transforms if isinstance(t, bp.optim.transforms.ScaleByAdam))
        state = [(slot, a) for slot in ("m", "v") for a in adam.state[slot].values()]

        def run(kind):
            _fill_state(state, kind, rng)
            t0 = time.perf_counter()
            for _ in range(steps):
                opt.step(params, zeros)
            return time.perf_counter() - t0
        return run

    if fast_backend() == "numba":
        runners["bprop fused Adam"] = bprop_adam(True)
    runners["bprop Adam (NumPy chain)"] = bprop_adam(False)
    if "torch" in libs:
        import torch

        def torch_adam(fused):
            ps = [torch.randn(sh, dtype=torch.float32, requires_grad=True) for sh in shapes]
            for p in ps:
                p.grad = torch.zeros_like(p)
            opt = torch.optim.Adam(ps, lr=1e-3, fused=fused) if fused else torch.optim.Adam(ps, lr=1e-3)
            opt.step()
            state = [(slot, opt.state[p][key].numpy()) for slot, key in (("m", "exp_avg"), ("v", "exp_avg_sq"))
                     for p in ps]

            def run(kind):
                with torch.no_grad():
                    _fill_state(state, kind, rng)
                t0 = time.perf_counter()
                for _ in range(steps):
                    opt.step()
                return time.perf_counter() - t0
            return run
        runners["PyTorch fused Adam"] = torch_adam(True)
        runners["PyTorch Adam"] = torch_adam(False)

    big = np.empty(10**5 if quick else 10**6, np.float32)

    def multiply(kind):
        big[...] = (rng.uniform(1, 8, big.shape) * (1e-39 if kind == "denormal" else 1e-4)).astype(np.float32)
        t0 = time.perf_counter()
        for _ in range(steps):
            np.multiply(big, np.float32(0.9), out=big)
        return time.perf_counter() - t0
    runners["NumPy a *= 0.9 (10⁶ floats)"] = multiply

    times = {k: {"normal": [], "denormal": []} for k in runners}
    for _ in range(repeats):
        for k, run in runners.items():
            for kind in ("normal", "denormal"):
                times[k][kind].append(run(kind) / steps)
    rows = {k: {"normal_s": median(v["normal"]), "denormal_s": median(v["denormal"]),
                "slowdown": median([d / n for d, n in zip(v["denormal"], v["normal"])])} for k, v in times.items()}
    return {"steps": steps, "n_params": int(sum(np.prod(sh) for sh in shapes)), "rows": rows}


# ----------------------------------------------------------------------------- MNIST
def mnist_files() -> str | None:
    """``$BPROP_DATA_DIR`` when it holds MNIST's IDX files (nothing is downloaded here), else None."""
    d = os.environ.get("BPROP_DATA_DIR")
    if d and all(os.path.isfile(os.path.join(d, f)) for f in ("train-images-idx3-ubyte.gz",
                                                             "train-labels-idx1-ubyte.gz")):
        return d
    return None


def mnist_child(batch: int, quick: bool, threads: int) -> dict:
    """In a fresh process: one ``net.fit`` of the reference net on MNIST (bprop, numba + fused Adam),
    one PyTorch fused-Adam epoch after each bprop epoch (from a callback, outside bprop's epoch time).
    Epoch 1 of bprop includes loading (or compiling) the numba kernels in this new process."""
    set_threads(threads)
    import numpy as np
    import bprop as bp
    n, epochs = (512, 2) if quick else (30_000, 10)
    ds = bp.data.load("mnist", n_samples=n, seed=0, data_dir=mnist_files(), progress=False)
    X, y = ds.X_train.astype(np.float32), ds.y_train
    case = Case("mnist", "MNIST", [784, 256, 128, 10], batch, len(X), epochs=1)
    torch_run = torch_runner(case, X, y, fused=True)
    t0 = time.perf_counter()
    net = bprop_runner(case, X, y).model         # backend="numba" starts numba here (bprop._jit.start_numba)
    setup_s = time.perf_counter() - t0
    torch_times = []

    fit_began = []

    class TorchEpoch(bp.training.Callback):
        def on_train_begin(self, net, info):            # after fit's checks and its loading of the loops
            fit_began.append(time.perf_counter())

        def on_epoch_end(self, net, record):
            t0 = time.perf_counter()
            torch_run()
            torch_times.append(time.perf_counter() - t0)

    t_fit = time.perf_counter()
    hist = net.fit(X, y, loss=bp.CrossEntropy(), optimizer=bp.optim.Adam(1e-3, fused=fast_backend() == "numba"),
                   epochs=epochs, batch_size=batch, verbose=0, callbacks=[TorchEpoch()])
    fit_start_s = fit_began[0] - t_fit
    bp_times = [r["time"] for r in hist.records]
    ratios = [t / b for t, b in zip(torch_times, bp_times)]
    return {"batch": batch, "n_samples": len(X), "epochs": epochs, "bprop_s": bp_times, "torch_fused_s": torch_times,
            "ratios": ratios, "first": ratios[0], "median": median(ratios), "last": ratios[-1],
            "bprop_first_over_median": bp_times[0] / median(bp_times[1:] or bp_times), "bprop_setup_s": setup_s,
            "bprop_fit_start_s": fit_start_s,
            "bprop_samples_per_s": len(X) / median(bp_times), "torch_samples_per_s": len(X) / median(torch_times),
            "final_train_accuracy": hist.records[-1]["accuracy"]}


def measure_mnist(quick: bool, threads: int, runs: int = 3) -> list:
    """Per batch size, ``runs`` fresh processes (:func:`mnist_child`); each ratio reported is the
    median over the processes (a first epoch happens once per process, so one process gives one
    sample of it). The row keeps every process's own numbers under ``"runs"``."""
    rows = []
    keys = ("first", "median", "last", "bprop_first_over_median", "bprop_samples_per_s", "torch_samples_per_s",
            "bprop_setup_s", "bprop_fit_start_s", "final_train_accuracy")
    for batch in (32, 128):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--mnist-child", str(batch), "--threads", str(threads)]
        if quick:
            cmd.append("--quick")
        done = []
        for _ in range(1 if quick else runs):
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=1800)
            if r.returncode != 0:
                raise RuntimeError(f"MNIST child (batch {batch}) failed:\n{r.stderr}")
            done.append(json.loads(r.stdout.strip().splitlines()[-1]))
        row = {k: v for k, v in done[0].items() if k not in keys}
        row.update({k: median([d[k] for d in done]) for k in keys})
        row["processes"], row["runs"] = len(done), done
        rows.append(row)
    return rows


def _python_child(code: str, env=None) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, **(env or {})}, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"child process failed:\n{r.stderr}")
    return r.stdout.strip().splitlines()[-1]


def time_import(repeats: int, libs: set) -> dict:
    """``import`` time of each library in fresh interpreters (median)."""
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    mods = {"bprop": "bprop"}
    if "torch" in libs:
        mods["torch"] = "torch"
    if "sklearn" in libs:
        mods["sklearn"] = "sklearn.neural_network"
    res = {}
    for k, m in mods.items():
        res[k] = median([float(_python_child(code.format(m=m))) for _ in range(repeats)])
    code_nb = "import bprop, sys; print(int('numba' in sys.modules))"
    res["bprop_imports_numba"] = bool(int(_python_child(code_nb)))
    return res


def _peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB.

    ``VmHWM`` from ``/proc/self/status`` where there is one (Linux): unlike
    ``ru_maxrss``, it starts afresh in an exec'd child instead of inheriting the
    parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def memory_child(lib: str, quick: bool, threads: int) -> dict:
    """Train the reference case (batch 128) in this process; report the peak RSS (MiB)."""
    set_threads(threads, torch_too=lib.startswith("torch"))
    case = [c for c in make_cases(quick) if c.name == "ref_b128"][0]
    X, y = make_data(case)
    runner = {"bprop": lambda: bprop_runner(case, X, y),
              "bprop_numpy": lambda: bprop_runner(case, X, y, "numpy"),
              "torch_fused": lambda: torch_runner(case, X, y, fused=True),
              "torch_default": lambda: torch_runner(case, X, y, fused=False),
              "sklearn": lambda: sklearn_runner(case, X, y)}[lib]()
    before = _peak_rss_mib()
    runner()
    peak = _peak_rss_mib()
    return {"peak_rss_mib": peak, "before_training_mib": before, "training_increase_mib": peak - before,
            "data_mib": (X.nbytes + y.nbytes) / 2**20}


def measure_memory(quick: bool, threads: int, libs: set) -> dict:
    names = ["bprop", "bprop_numpy"] + (["torch_fused", "torch_default"] if "torch" in libs else []) + \
        (["sklearn"] if "sklearn" in libs else [])
    res = {}
    for lib in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", lib, "--threads", str(threads)]
        if quick:
            cmd.append("--quick")
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"memory child {lib} failed:\n{r.stderr}")
        res[lib] = json.loads(r.stdout.strip().splitlines()[-1])
    return res


def set_threads(n: int, torch_too: bool = True) -> dict:
    """Limit NumPy's BLAS (threadpoolctl) and, if ``torch_too``, PyTorch to ``n`` threads."""
    info = {"threads": n}
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
        info["threadpoolctl"] = True
    except ImportError:        # environment variables were set before NumPy was imported
        info["threadpoolctl"] = False
    if torch_too:
        try:
            import torch
            torch.set_num_threads(n)
        except ImportError:
            pass
    return info


# ----------------------------------------------------------------------------- report
def _fmt_rate(x):
    return "—" if x is None else f"{x:,.0f}"


def _fmt_ratio(x, target=None):
    if x is None:
        return "—"
    s = f"{x:.2f}×"
    if target is not None and x < target and f"{x:.2f}" == f"{target:.2f}":
        s = f"{x:.3f}×"               # a miss that two decimals would round up to the target
    if target is not None:
        s += " ✅" if x >= target else f" ❌ (target {target}×)"
    return s


def _fmt_first(x):
    """Epoch 1 over the median epoch, against the start-up target (within 10 %)."""
    return f"{x:.2f} ✅" if x <= 1.1 else f"{x:.2f} ❌ (target ≤ 1.10)"


def _fmt_us(s):
    return "—" if s is None else (f"{s * 1e6:,.1f} µs" if s < 1e-3 else f"{s * 1e3:,.2f} ms")


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = ["# bprop training speed", "",
             f"{meta['date']} · {meta['machine']} · {meta['threads']} threads · numpy {meta['numpy']} · "
             f"torch {meta.get('torch', '—')} · scikit-learn {meta.get('sklearn', '—')} · "
             f"{meta['kernels']} · {meta['repeats']} interleaved repetitions, median"
             + (" · **--quick: timings meaningless**" if meta["quick"] else ""), "",
             "## Training throughput (samples/s)", "",
             "| case | bprop | bprop NumPy | PyTorch fused Adam | PyTorch Adam | scikit-learn | matmul bound "
             "| bprop / PyTorch fused | bprop NumPy / PyTorch fused | bprop / PyTorch | bprop / scikit-learn "
             "| bprop / bound | step alone / bound |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["training"]:
        s, q, t = r["samples_per_s"], r["ratios"], TARGETS.get(r["case"], {})
        lines.append(
            f"| {r['title']} | {_fmt_rate(s['bprop'])} | {_fmt_rate(s.get('bprop_numpy'))} | "
            f"{_fmt_rate(s.get('torch_fused'))} | "
            f"{_fmt_rate(s.get('torch_default'))} | {_fmt_rate(s.get('sklearn'))} | {_fmt_rate(s['bound'])} | "
            f"{_fmt_ratio(q.get('torch_fused'), t.get('torch_fused'))} | {_fmt_ratio(r.get('numpy_ratio_torch_fused'))} | "
            f"{_fmt_ratio(q.get('torch_default'))} | "
            f"{_fmt_ratio(q.get('sklearn'), t.get('sklearn'))} | "
            f"{r['fraction_of_bound']:.0%}"
            + ("" if "bound" not in t else (" ✅" if r["fraction_of_bound"] >= t["bound"] else
                                            f" ❌ (target {t['bound']:.0%})"))
            + f" | {r['engine_fraction_of_bound']:.0%} |")
    cpu = meta.get("cpu", {})
    if cpu:
        blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})" for b in cpu.get("blas", []))
        peak = cpu.get("peak_gflops_float32")
        lines += ["", "## The bound and the CPU", "",
                  f"CPU: **{cpu.get('model')}**, {cpu.get('cores')} cores, AVX-512 {'yes' if cpu.get('avx512') else 'no'}, "
                  f"AMX {'yes' if cpu.get('amx') else 'no'}; NumPy's BLAS: {blas or 'unknown'}. "
                  + (f"Peak {peak:,.0f} GFLOP/s float32 ({cpu['peak_gflops_float64']:,.0f} float64) = "
                     f"{cpu['cores']} cores × {cpu['fma_units_assumed']} FMA units (assumed) × 2 flops × "
                     f"{cpu['lanes_float32']} float32 lanes × {cpu['clock_ghz']:.2f} GHz ({cpu['clock_source']})."
                     if peak else "No clock rate found: peak unknown."), "",
                  "| case | matmul bound (NumPy BLAS) GFLOP/s | share of peak | NumPy BLAS / PyTorch BLAS, same products |",
                  "|---|---:|---:|---:|"]
        for r in report["training"]:
            pk = cpu.get("peak_gflops_float64" if "float64" in r["title"] else "peak_gflops_float32")
            share = "—" if not pk else f"{r['bound_gflops'] / pk:.0%}"
            rel = r.get("numpy_blas_over_torch_blas")
            lines.append(f"| {r['title']} | {r['bound_gflops']:,.1f} | {share} | "
                         f"{'—' if rel is None else f'{rel:.2f}×'} |")
    if report.get("denormal"):
        d = report["denormal"]
        lines += ["", f"## Denormal optimiser state ({d['n_params']:,} float32 parameters, {d['steps']} Adam steps "
                  "with zero gradients)", "",
                  "| runner | per step, normal state | per step, 3/4 of m and v denormal | slowdown |",
                  "|---|---:|---:|---:|"]
        for k, v in d["rows"].items():
            lines.append(f"| {k} | {_fmt_us(v['normal_s'])} | {_fmt_us(v['denormal_s'])} | {v['slowdown']:.2f}× |")
        lines.append("\nbprop sets state below the smallest normal number to 0 (`bprop._numerics`): the fused "
                     "loop at its first update, so its slowdown is that one step spread over the others; the NumPy "
                     "chain at every 16th update, so up to 15 steps still meet the denormals. The last row shows "
                     "whether this CPU penalises a plain multiply of denormals.")
    if report.get("mnist"):
        procs = report["mnist"][0].get("processes", 1)
        lines += ["", "## MNIST, reference network, Adam 1e-3 (fresh process; one PyTorch epoch after each bprop epoch; "
                  f"median of {procs} process(es))",
                  "", "| batch | samples | epochs | bprop samples/s | PyTorch fused samples/s | bprop / PyTorch: first epoch "
                  "| median | last | bprop epoch 1 / median | bprop set-up | bprop fit start |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["mnist"]:
            ok = lambda x: _fmt_ratio(x, MNIST_TARGET)               # noqa: E731
            lines.append(f"| {r['batch']} | {r['n_samples']:,} | {r['epochs']} | {_fmt_rate(r['bprop_samples_per_s'])} | "
                         f"{_fmt_rate(r['torch_samples_per_s'])} | {r['first']:.2f}× | {ok(r['median'])} | "
                         f"{ok(r['last'])} | {_fmt_first(r['bprop_first_over_median'])} | "
                         f"{r.get('bprop_setup_s', float('nan')):.2f} s | "
                         f"{1e3 * r.get('bprop_fit_start_s', float('nan')):.0f} ms |")
        lines.append("\nEpoch 1 includes everything that happens inside `fit`'s first epoch in a fresh process "
                     "(target: within 10 % of the median epoch). \"Set-up\" is building the network and optimiser "
                     "with `backend=\"numba\"`/`fused=True`, which imports numba and sets up its code generator once "
                     "per process (`bprop._jit.start_numba`). \"Fit start\" is the time `fit` takes before its first "
                     "epoch: checking the data, and loading the step's compiled loops from numba's on-disk cache "
                     "(a few ms each) with one step on copies of the network and optimiser "
                     "(`bprop.training.warmup`), so that they do not load in epoch 1.")
    if report.get("prediction"):
        lines += ["", "## Prediction latency (reference network, eval mode)", "",
                  "| samples | bprop | PyTorch | scikit-learn | bprop / PyTorch |", "|---:|---:|---:|---:|---:|"]
        for r in report["prediction"]:
            lat, q = r["latency_s"], r["ratios"]
            tgt, limit = "", {1: 0.5, 10_000: 0.6}.get(r["n"])
            if limit is not None and "torch" in q:
                tgt = " ✅" if q["torch"] <= limit else f" ❌ (target ≤ {limit}×)"
            ratio = "—" if "torch" not in q else f"{q['torch']:.2f}×"
            lines.append(f"| {r['n']:,} | {_fmt_us(lat['bprop'])} | {_fmt_us(lat.get('torch'))} | "
                         f"{_fmt_us(lat.get('sklearn'))} | {ratio}{tgt} |")
    if report.get("import"):
        imp = report["import"]
        lines += ["", "## Import time (fresh interpreter, median)", "",
                  "| library | seconds |", "|---|---:|",
                  f"| `import bprop` | {imp['bprop']:.3f}" + (" ✅" if imp["bprop"] < 0.3 else " ❌ (target < 0.3 s)")
                  + " |"]
        if "torch" in imp:
            lines.append(f"| `import torch` | {imp['torch']:.3f} |")
        if "sklearn" in imp:
            lines.append(f"| `import sklearn.neural_network` | {imp['sklearn']:.3f} |")
        lines.append(f"\n`import bprop` imports numba: {'yes' if imp['bprop_imports_numba'] else 'no'}.")
    if report.get("memory"):
        lines += ["", "## Peak memory, reference case batch 128 (each library in its own process)", "",
                  "| library | peak RSS (MiB) | before training (MiB) | training adds (MiB) |",
                  "|---|---:|---:|---:|"]
        data = next(iter(report["memory"].values()))["data_mib"]
        for lib, m in report["memory"].items():
            lines.append(f"| {lib} | {m['peak_rss_mib']:.0f} | {m['before_training_mib']:.0f} | "
                         f"{m['training_increase_mib']:.0f} |")
        lines.append(f"\nThe training data take {data:.0f} MiB; \"before training\" includes the imported "
                     "libraries and the data, \"training adds\" the copies, buffers and compiled code of one "
                     "fit (bprop: reused per-batch and per-layer buffers, and numba's compiler when it is used).")
    lines += ["", "Ratios > 1 mean bprop is faster; each is the median over repetitions of the ratio of "
              "two runs timed back to back. The matmul bound times only the matrix products of the "
              "same training steps (same shapes, dtype and BLAS), so no implementation using them can exceed "
              "it; \"bprop / bound\" is the share of that ceiling `net.fit` reaches. \"step alone / bound\" times "
              "bprop's training step without fit's bookkeeping (`net._backprop` + `opt.step` over the batches, "
              "no shuffle, metrics, gradient norms or divergence checks).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and one repetition (CI: checks the script)")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for train_speed.json/.md")
    p.add_argument("--threads", type=int, default=2, help="threads for BLAS and PyTorch (default 2)")
    p.add_argument("--repeats", type=int, default=None, help="timed repetitions per runner (default 7; quick 1)")
    p.add_argument("--warmup", type=int, default=1, help="untimed repetitions first (default 1)")
    p.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: predict,import,memory,mnist,denormal")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--mnist-child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.quick, args.threads)))
        return 0
    if args.mnist_child:
        print(json.dumps(mnist_child(args.mnist_child, args.quick, args.threads)))
        return 0

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))        # for the child processes
    libs = set()
    if not args.no_torch:
        try:
            import torch  # noqa: F401
            libs.add("torch")
        except ImportError:
            print("PyTorch not installed: skipped", file=sys.stderr)
    if not args.no_sklearn:
        try:
            import sklearn  # noqa: F401
            libs.add("sklearn")
        except ImportError:
            print("scikit-learn not installed: skipped", file=sys.stderr)
    thread_info = set_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 7)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    import numpy as np
    import bprop
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
            "python": platform.python_version(), "numpy": np.__version__, "bprop": bprop.__version__,
            "kernels": f"bprop: backend={fast_backend()!r}, Adam fused={fast_backend() == 'numba'}; "
                       "bprop NumPy: the defaults", "repeats": repeats, "warmup": args.warmup,
            "quick": args.quick, "cpu": cpu_peak(), **thread_info}
    if "torch" in libs:
        import torch
        meta["torch"] = torch.__version__
    if "sklearn" in libs:
        import sklearn
        meta["sklearn"] = sklearn.__version__
    try:
        meta["load_average"] = os.getloadavg()
    except OSError:
        pass

    cases = make_cases(args.quick)
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",")]
        unknown = sorted(set(wanted) - {c.name for c in cases})
        if unknown:
            p.error(f"unknown case(s) {unknown}; valid: {', '.join(c.name for c in cases)}")
        cases = [c for c in cases if c.name in wanted]

    report = {"meta": meta, "training": []}
    for case in cases:
        r = time_case(case, repeats, args.warmup, libs)
        report["training"].append(r)
        s, q = r["samples_per_s"], r["ratios"]
        print(f"{case.name:10s} bprop {s['bprop']:>10,.0f}/s  "
              + "  ".join(f"{k} {v:.2f}x" for k, v in q.items())
              + f"  bound {s['bound']:,.0f}/s ({r['fraction_of_bound']:.0%})", flush=True)
    if "denormal" not in skip:
        report["denormal"] = time_denormals(repeats, args.quick, libs)
        print("denormal state: " + "  ".join(f"{k} {v['slowdown']:.2f}x" for k, v in report["denormal"]["rows"].items()),
              flush=True)
    if "mnist" not in skip and "torch" in libs:
        if mnist_files() is None:
            print("MNIST rows skipped: set BPROP_DATA_DIR to a folder with MNIST's IDX files", file=sys.stderr)
        else:
            report["mnist"] = measure_mnist(args.quick, args.threads)
            for r in report["mnist"]:
                print(f"mnist b{r['batch']}: ratio first {r['first']:.2f}x median {r['median']:.2f}x "
                      f"last {r['last']:.2f}x", flush=True)
    if "predict" not in skip:
        report["prediction"] = time_prediction(repeats, args.quick, libs)
        for r in report["prediction"]:
            print(f"predict n={r['n']:<6d} " + "  ".join(f"{k} {_fmt_us(v)}" for k, v in r["latency_s"].items()),
                  flush=True)
    if "import" not in skip:
        report["import"] = time_import(1 if args.quick else 7, libs)
        print(f"import bprop {report['import']['bprop']:.3f} s", flush=True)
    if "memory" not in skip:
        report["memory"] = measure_memory(args.quick, args.threads, libs)
        print("peak RSS " + "  ".join(f"{k} {v['peak_rss_mib']:.0f} MiB" for k, v in report["memory"].items()),
              flush=True)
    meta["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    (out / "train_speed.md").write_text(md)
    print(f"\nwrote {out / 'train_speed.json'} and {out / 'train_speed.md'}")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
