#!/usr/bin/env python
"""Learning-quality benchmark: test accuracy of bprop, PyTorch and scikit-learn.

Trains the same multilayer perceptron on MNIST and Fashion-MNIST with

* bprop (public API only: ``bp.Sequential``, ``net.fit``, ``bp.optim``),
* PyTorch (``torch.nn`` + ``torch.optim``, a plain mini-batch loop),
* scikit-learn's ``MLPClassifier`` (where the recipe can be expressed in it),

over several seeds, and prints a Markdown table of test accuracy (mean ± std,
min–max) and training wall time per run. Every library gets 2 threads
(``torch.set_num_threads(2)``; ``threadpoolctl`` for NumPy's BLAS and
scikit-learn). Results are written to ``<out>/accuracy.json`` and
``<out>/accuracy.md``; a run merges into an existing JSON, replacing the
(dataset, recipe, library) rows it recomputes, so the recipes can be run one
at a time.

Recipes (see ``RECIPES`` and benchmarks/README.md):

* ``reference`` — 784-256-128-10, ReLU, cross-entropy, Adam 1e-3, batch 128,
  10 epochs, float32, raw pixels in [0, 1]. Acceptance: bprop's mean accuracy
  within 0.15 points of PyTorch's, or better.
* ``best`` — our best recipe for ≤ 5 minutes of bprop training on 2 cores.

Usage::

    python benchmarks/accuracy.py                                  # everything, 3 seeds
    python benchmarks/accuracy.py --recipes reference --datasets mnist
    python benchmarks/accuracy.py --quick                          # smoke run, seconds
    python benchmarks/accuracy.py --validation --recipes best --set epochs=12 --set dropout=0.3
                                         # tuning: hold out 10k training images, report on them

``--validation`` never looks at the test set: it trains on 50 000 training
images and reports accuracy on the 10 000 held out (stratified, fixed split).
That is what the best recipe was tuned with; its test accuracy was measured
only afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

THREADS = 2  # default of --threads
VAL_SIZE = 10_000
VAL_SEED = 20240607
TIME_BUDGET_S = 300.0  # the best recipe's bprop training must fit in 5 minutes

# ----------------------------------------------------------------------------------------
# Recipes
# ----------------------------------------------------------------------------------------
#: hidden        widths of the hidden layers (each Dense -> [BatchNorm] -> ReLU -> [Dropout])
#: init          "torch": W and b ~ U(±1/√fan_in) in every library that lets us choose
#:               (torch.nn.Linear's default; bprop replicates it with bp.initializers.Uniform)
#: optimizer     "adam" (coupled L2 = weight_decay, 0 here) or "adamw" (decoupled weight_decay)
#: schedule      None (constant lr) or "warmup_cosine": linear warm-up over warmup_epochs,
#:               then cosine decay to 0 at the last step (bp.optim.LinearWarmup + CosineDecay;
#:               the same rates in torch via LambdaLR)
#: standardize   None (pixels in [0, 1]) or "global": (x − mean)/std with the scalar mean and
#:               std of the training pixels (per-pixel standardisation blows up the border
#:               pixels that are almost always 0 in the training set)
#: sklearn       whether scikit-learn's MLPClassifier can express the recipe
RECIPES: dict[str, dict] = {
    "reference": dict(
        hidden=(256, 128), batchnorm=False, dropout=0.0, init="torch",
        optimizer="adam", lr=1e-3, weight_decay=0.0, schedule=None, warmup_epochs=0,
        epochs=10, batch_size=128, standardize=None, label_smoothing=0.0, sklearn=True,
    ),
    "best": dict(
        hidden=(512, 512), batchnorm=True, dropout=0.3, init="torch",
        optimizer="adamw", lr=2e-3, weight_decay=1e-2, schedule="warmup_cosine", warmup_epochs=1,
        epochs=20, batch_size=128, standardize="global", label_smoothing=0.0, sklearn=False,
    ),
}

#: Per-data-set variations of a recipe ("sibling recipes"); empty: the same recipe everywhere.
DATASET_OVERRIDES: dict[tuple[str, str], dict] = {}

DATASETS = ("mnist", "fashion-mnist")
LIBS = ("bprop", "torch", "sklearn")


def recipe_for(name: str, dataset: str, overrides: dict) -> dict:
    cfg = dict(RECIPES[name])
    cfg.update(DATASET_OVERRIDES.get((name, dataset), {}))
    cfg.update(overrides)
    cfg["hidden"] = tuple(int(h) for h in cfg["hidden"])
    return cfg


def parse_overrides(items: list[str]) -> dict:
    """``["epochs=12", "hidden=512,512", "batchnorm=true"]`` -> a dict of typed values."""
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"error: --set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        if key not in RECIPES["reference"]:
            raise SystemExit(f"error: unknown recipe key {key!r}; valid keys: {', '.join(RECIPES['reference'])}")
        if key == "hidden":
            val = tuple(int(v) for v in raw.split(",") if v)
        elif raw.lower() in ("true", "false"):
            val = raw.lower() == "true"
        elif raw.lower() in ("none", "null"):
            val = None
        else:
            try:
                val = int(raw)
            except ValueError:
                try:
                    val = float(raw)
                except ValueError:
                    val = raw
        out[key] = val
    return out


def lr_factor(step: int, *, warmup_steps: int, total_steps: int) -> float:
    """The warm-up + cosine rate as a fraction of the peak (used for torch's LambdaLR).

    Equals ``bp.optim.LinearWarmup(W, bp.optim.CosineDecay(1, T − W))(step)``.
    """
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    t = min(step - warmup_steps, total_steps - warmup_steps)
    return (1 + math.cos(math.pi * t / (total_steps - warmup_steps))) / 2


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------


def load_data(dataset: str, data_dir, *, quick: bool, validation: bool):
    import bprop as bp

    ds = bp.data.load(dataset, data_dir=data_dir, n_samples=6000 if quick else None, progress=False)
    X_train, y_train = ds.X_train, ds.y_train
    X_test, y_test = ds.X_test, ds.y_test
    if validation:  # a stratified hold-out of the training set; the test set is never read
        rng = np.random.default_rng(VAL_SEED)
        n_val = len(X_train) // 6
        val_idx = []
        for c in np.unique(y_train):
            idx = np.flatnonzero(y_train == c)
            val_idx.append(rng.choice(idx, size=round(len(idx) * n_val / len(X_train)), replace=False))
        val_idx = np.sort(np.concatenate(val_idx))
        mask = np.zeros(len(X_train), dtype=bool)
        mask[val_idx] = True
        X_test, y_test = X_train[mask], y_train[mask]
        X_train, y_train = X_train[~mask], y_train[~mask]
    return (X_train.astype(np.float32), y_train.astype(np.int64),
            X_test.astype(np.float32), y_test.astype(np.int64))


def preprocess(cfg, X_train, X_test):
    if cfg["standardize"] in (None, "none"):
        return X_train, X_test
    if cfg["standardize"] != "global":
        raise SystemExit(f"error: unknown standardize {cfg['standardize']!r} (expected none or global)")
    mean = float(X_train.mean(dtype=np.float64))
    std = float(X_train.std(dtype=np.float64))
    return ((X_train - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)


# ----------------------------------------------------------------------------------------
# The three libraries
# ----------------------------------------------------------------------------------------


def total_steps(cfg, n):
    return cfg["epochs"] * math.ceil(n / cfg["batch_size"])


def warmup_steps(cfg, n):
    """Warm-up updates: ``warmup_epochs`` epochs, at most half the run (for --quick)."""
    return min(int(cfg["warmup_epochs"] * math.ceil(n / cfg["batch_size"])), total_steps(cfg, n) // 2)


def mlp_layers(cfg, n_in, n_classes, *, dense, batchnorm, relu, dropout) -> list:
    """``dense → [batchnorm] → relu → [dropout]`` per hidden layer, then ``dense`` to the logits.

    The constructors are bprop's or torch's, so both libraries get the same network.
    """
    layers = []
    for width in cfg["hidden"]:
        layers.append(dense(n_in, width))
        if cfg["batchnorm"]:
            layers.append(batchnorm(width))
        layers.append(relu())
        if cfg["dropout"]:
            layers.append(dropout(cfg["dropout"]))
        n_in = width
    layers.append(dense(n_in, n_classes))
    return layers


def run_bprop(cfg, seed, X, y, Xt, yt, n_classes=10):
    import bprop as bp

    def torch_default(n_in):  # torch.nn.Linear: kaiming_uniform_(a=√5) = U(±1/√fan_in); bias the same
        b = 1.0 / math.sqrt(n_in)
        return bp.initializers.Uniform(-b, b)

    t0 = time.perf_counter()
    if cfg["init"] == "torch":
        def dense(n_in, n_out):
            return bp.Dense(n_in, n_out, init=torch_default(n_in), bias_init=torch_default(n_in))
    else:
        def dense(n_in, n_out):
            return bp.Dense(n_in, n_out, init=cfg["init"])
    layers = mlp_layers(cfg, X.shape[1], n_classes, dense=dense, batchnorm=bp.BatchNorm, relu=bp.ReLU,
                        dropout=bp.Dropout)
    net = bp.Sequential(layers, seed=seed, dtype="float32")

    lr = cfg["lr"]
    if cfg["schedule"] == "warmup_cosine":
        T = total_steps(cfg, len(X))
        W = warmup_steps(cfg, len(X))
        lr = bp.optim.CosineDecay(cfg["lr"], total_steps=T - W)
        if W:
            lr = bp.optim.LinearWarmup(W, lr)
    elif cfg["schedule"] not in (None, "none", "constant"):
        raise SystemExit(f"error: unknown schedule {cfg['schedule']!r}")
    if cfg["optimizer"] == "adamw":
        opt = bp.optim.AdamW(lr, weight_decay=cfg["weight_decay"])
    else:
        opt = bp.optim.Adam(lr, weight_decay=cfg["weight_decay"])

    targets = y
    if cfg["label_smoothing"]:
        eps = cfg["label_smoothing"]
        targets = np.full((len(y), n_classes), eps / n_classes, dtype=np.float32)
        targets[np.arange(len(y)), y] += 1 - eps
    hist = net.fit(X, targets, loss=bp.CrossEntropy(), optimizer=opt, epochs=cfg["epochs"],
                   batch_size=cfg["batch_size"], shuffle=True, verbose=0)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = float(np.mean(np.argmax(net.predict(Xt), axis=1) == yt))
    eval_s = time.perf_counter() - t1
    return dict(accuracy=acc, train_s=train_s, eval_s=eval_s, final_loss=float(hist["loss"][-1]))


def run_torch(cfg, seed, X, y, Xt, yt, n_classes=10):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    def dense(n_in, n_out):
        lin = nn.Linear(n_in, n_out)  # default init: U(±1/√fan_in) for W and b
        if cfg["init"] != "torch":
            {"he_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
             "he_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
             "xavier_uniform": nn.init.xavier_uniform_}[cfg["init"]](lin.weight)
            nn.init.zeros_(lin.bias)
        return lin

    mods = mlp_layers(cfg, X.shape[1], n_classes, dense=dense, batchnorm=nn.BatchNorm1d, relu=nn.ReLU,
                      dropout=nn.Dropout)
    model = nn.Sequential(*mods)
    Xtr, ytr = torch.from_numpy(X), torch.from_numpy(y)
    OptCls = torch.optim.AdamW if cfg["optimizer"] == "adamw" else torch.optim.Adam
    opt = OptCls(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n_batches = math.ceil(len(X) / cfg["batch_size"])
    sched = None
    if cfg["schedule"] == "warmup_cosine":
        T, W = total_steps(cfg, len(X)), warmup_steps(cfg, len(X))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, warmup_steps=W, total_steps=T))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"])
    gen = torch.Generator().manual_seed(seed)
    bs = cfg["batch_size"]
    model.train()
    for _ in range(cfg["epochs"]):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(n_batches):  # the last partial batch included, as in bprop
            idx = perm[i * bs:(i + 1) * bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    model.eval()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())
    eval_s = time.perf_counter() - t1
    return dict(accuracy=acc, train_s=train_s, eval_s=eval_s, final_loss=float(loss.item()))


def run_sklearn(cfg, seed, X, y, Xt, yt, n_classes=10):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=cfg["hidden"], activation="relu", solver="adam",
        learning_rate_init=cfg["lr"], batch_size=cfg["batch_size"], max_iter=cfg["epochs"],
        alpha=0.0,  # no L2 penalty, like the other two (sklearn's default would be 1e-4)
        shuffle=True, random_state=seed,
        tol=0.0, n_iter_no_change=cfg["epochs"] + 1,  # never stop early: exactly `epochs` epochs
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = float(np.mean(clf.predict(Xt) == yt))
    eval_s = time.perf_counter() - t1
    return dict(accuracy=acc, train_s=train_s, eval_s=eval_s, final_loss=float(clf.loss_),
                epochs_run=int(clf.n_iter_))


RUNNERS = {"bprop": run_bprop, "torch": run_torch, "sklearn": run_sklearn}


# ----------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------


def summarize(runs: list[dict]) -> dict:
    acc = np.array([r["accuracy"] for r in runs]) * 100
    t = np.array([r["train_s"] for r in runs])
    cpu = [r["cpu_s"] for r in runs if "cpu_s" in r]
    return dict(n=len(runs), mean=float(acc.mean()), std=float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                min=float(acc.min()), max=float(acc.max()), time_mean=float(t.mean()),
                time_min=float(t.min()), time_max=float(t.max()),
                cpu_mean=float(np.mean(cpu)) if len(cpu) == len(runs) else None)


def describe(cfg: dict) -> str:
    arch = "784-" + "-".join(map(str, cfg["hidden"])) + "-10"
    parts = [arch, "ReLU"]
    if cfg["batchnorm"]:
        parts.append("BatchNorm")
    if cfg["dropout"]:
        parts.append(f"dropout {cfg['dropout']:g}")
    opt = "AdamW" if cfg["optimizer"] == "adamw" else "Adam"
    opt += f" {cfg['lr']:g}"
    if cfg["weight_decay"]:
        opt += f" (wd {cfg['weight_decay']:g})"
    parts.append(opt)
    if cfg["schedule"] == "warmup_cosine":
        parts.append(f"{cfg['warmup_epochs']}-epoch warm-up + cosine")
    parts.append(f"batch {cfg['batch_size']}")
    parts.append(f"{cfg['epochs']} epochs")
    if cfg["label_smoothing"]:
        parts.append(f"label smoothing {cfg['label_smoothing']:g}")
    if cfg["standardize"]:
        parts.append("standardised input")
    return ", ".join(parts)


def markdown(results: dict) -> str:
    """The Markdown report for the merged results (``results["groups"]``)."""
    lines = []
    meta = results.get("meta", {})
    if meta:
        lines.append(f"Machine: {meta.get('machine', '?')}; {meta.get('threads', THREADS)} threads per library; "
                     f"bprop {meta.get('bprop')}, torch {meta.get('torch')}, scikit-learn {meta.get('sklearn')}, "
                     f"NumPy {meta.get('numpy')}.")
        lines.append("")
    def order(key):
        dataset, recipe = key.split("/")
        return (DATASETS.index(dataset) if dataset in DATASETS else 9,
                list(RECIPES).index(recipe) if recipe in RECIPES else 9, key)

    for key in sorted(results["groups"], key=order):
        g = results["groups"][key]
        dataset, recipe = key.split("/")
        split = "validation hold-out (10 000 training images)" if g.get("validation") else "test set"
        lines.append(f"### {dataset} — {recipe} recipe ({split})")
        lines.append("")
        lines.append(f"{describe(g['config'])}. Run on {g['date']}, load average at start {g.get('loadavg', '?')}.")
        lines.append("")
        lines.append("| library | accuracy % (mean ± std) | min – max | seeds | train wall time s (mean, min – max) "
                     "| CPU s (mean) |")
        lines.append("|---|---|---|---|---|---|")
        for lib in LIBS:
            if lib not in g["libs"]:
                continue
            entry = g["libs"][lib]
            if "skipped" in entry:
                lines.append(f"| {lib} | n/a ({entry['skipped']}) | | | | |")
                continue
            s = entry["summary"]
            flag = ""
            if recipe == "best" and lib == "bprop" and s["time_max"] > TIME_BUDGET_S:
                flag = " ⚠ over the 5-minute budget"
            lines.append(f"| {lib} | {s['mean']:.2f} ± {s['std']:.2f} | {s['min']:.2f} – {s['max']:.2f} | "
                         f"{s['n']} | {s['time_mean']:.1f} ({s['time_min']:.1f} – {s['time_max']:.1f}){flag} | "
                         + (f"{s['cpu_mean']:.1f} |" if s.get("cpu_mean") is not None else "– |"))
        if "bprop" in g["libs"] and "torch" in g["libs"] and "summary" in g["libs"]["torch"] \
                and "summary" in g["libs"]["bprop"]:
            d = g["libs"]["bprop"]["summary"]["mean"] - g["libs"]["torch"]["summary"]["mean"]
            lines.append("")
            lines.append(f"bprop − PyTorch: {d:+.2f} points of mean accuracy.")
        lines.append("")
    return "\n".join(lines)


def machine_line() -> str:
    return f"{platform.machine()} {platform.system()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("BPROP_DATA_DIR") or None,
                   help="folder holding the MNIST/Fashion-MNIST IDX files (default: $BPROP_DATA_DIR)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 per library (default 3)")
    p.add_argument("--recipes", default="reference,best", help="comma-separated: reference,best")
    p.add_argument("--datasets", default="mnist,fashion-mnist", help="comma-separated: mnist,fashion-mnist")
    p.add_argument("--libs", default="bprop,torch,sklearn", help="comma-separated: bprop,torch,sklearn")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 6000 training images, 1 epoch, 1 seed; written to accuracy_quick.*")
    p.add_argument("--validation", action="store_true",
                   help="tune without the test set: train on 50 000 training images, report on the other "
                        "10 000; written to accuracy_validation.*")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe setting, e.g. --set epochs=15 --set hidden=1024,1024")
    p.add_argument("--out", default="benchmarks/results", help="output folder (default benchmarks/results)")
    p.add_argument("--threads", type=int, default=THREADS,
                   help="threads per library: torch.set_num_threads and threadpoolctl (default 2)")
    p.add_argument("--fresh", action="store_true", help="do not merge into an existing JSON")
    args = p.parse_args(argv)

    def split_list(s, valid, what):
        items = [x.strip() for x in s.split(",") if x.strip()]
        for x in items:
            if x not in valid:
                p.error(f"unknown {what} {x!r} (valid: {', '.join(valid)})")
        return items

    recipes = split_list(args.recipes, tuple(RECIPES), "recipe")
    datasets = split_list(args.datasets, DATASETS, "dataset")
    libs = split_list(args.libs, LIBS, "library")
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    overrides = parse_overrides(args.overrides)
    seeds = list(range(1 if args.quick else args.seeds))
    if args.quick:
        overrides.setdefault("epochs", 1)

    import sklearn
    import torch
    from threadpoolctl import threadpool_limits

    import bprop as bp

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    suffix = "_quick" if args.quick else "_validation" if args.validation else ""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"accuracy{suffix}.json", out / f"accuracy{suffix}.md"
    results = {"groups": {}}
    if json_path.exists() and not args.fresh:
        results = json.loads(json_path.read_text())
    results["meta"] = dict(machine=machine_line(), bprop=getattr(bp, "__version__", "?"), torch=torch.__version__,
                           sklearn=sklearn.__version__, numpy=np.__version__, threads=args.threads)

    with threadpool_limits(limits=args.threads):
        for dataset in datasets:
            X, y, Xt, yt = load_data(dataset, args.data_dir, quick=args.quick, validation=args.validation)
            for recipe in recipes:
                cfg = recipe_for(recipe, dataset, overrides)
                Xp, Xtp = preprocess(cfg, X, Xt)
                key = f"{dataset}/{recipe}"
                group = {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
                         "validation": args.validation, "quick": args.quick,
                         "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                         "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
                         "n_train": len(X), "n_eval": len(Xt), "libs": {}}
                old = results["groups"].get(key)
                if old and old.get("config") == group["config"]:
                    group["libs"] = {k: v for k, v in old["libs"].items() if k not in libs}
                print(f"\n== {key}: {describe(cfg)} — train {len(X)}, evaluate {len(Xt)}", flush=True)
                for lib in libs:
                    if lib == "sklearn" and not cfg["sklearn"]:
                        group["libs"][lib] = {"skipped": "MLPClassifier has no BatchNorm, dropout, "
                                                         "AdamW or schedule"}
                        print(f"   {lib:8s} skipped: cannot express this recipe", flush=True)
                        continue
                    runs = []
                    for seed in seeds:
                        load = os.getloadavg()[0]
                        c0 = time.process_time()
                        r = RUNNERS[lib](cfg, seed, Xp, y, Xtp, yt)
                        r["cpu_s"] = time.process_time() - c0  # train + evaluation, all threads
                        r["seed"], r["loadavg_1min"] = seed, load
                        runs.append(r)
                        print(f"   {lib:8s} seed {seed}: accuracy {100 * r['accuracy']:.2f} %, "
                              f"train {r['train_s']:.1f} s (CPU {r['cpu_s']:.1f} s, load {load:.1f})", flush=True)
                    group["libs"][lib] = {"runs": runs, "summary": summarize(runs)}
                results["groups"][key] = group
                json_path.write_text(json.dumps(results, indent=1) + "\n")
                md_path.write_text(f"# Accuracy benchmark{' (' + suffix[1:] + ')' if suffix else ''}\n\n"
                                   "Generated by `benchmarks/accuracy.py`; see benchmarks/README.md.\n\n"
                                   + markdown(results))
    print()
    print(markdown(results))
    print(f"written: {json_path}, {md_path}")


if __name__ == "__main__":
    sys.exit(main())
