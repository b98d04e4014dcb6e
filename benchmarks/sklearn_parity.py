#!/usr/bin/env python
"""Side-by-side accuracy of ``BPClassifier``/``BPRegressor`` and ``MLPClassifier``/``MLPRegressor``.

Both estimators run at their defaults — one hidden layer of 100 ReLU units, Adam 1e-3,
``alpha=1e-4``, ``batch_size="auto"``, 200 epochs at most with the tol=1e-4 /
10-epoch convergence test — on the small data sets that ship with scikit-learn
(digits, iris, wine, breast_cancer, diabetes) and a ``make_classification`` set,
standardised (X always; diabetes' y too, as MLP needs it), with a stratified
75/25 split fixed per seed. The table gives the test accuracy (R² for diabetes),
mean ± sample std over the seeds, the difference bprop − MLP of the means and
the largest difference of one seed's scores. Only the estimators' own defaults
differ where bprop has no equivalent (none here). With the same ``random_state``
bprop draws MLP's initial weights and batch order and trains with MLP's Adam,
so the two fit the same model, to float64 rounding (the differences are ~0).

Usage::

    python benchmarks/sklearn_parity.py                 # 5 seeds, every data set (~2 min on 2 cores)
    python benchmarks/sklearn_parity.py --seeds 1 --datasets iris,wine
    python benchmarks/sklearn_parity.py --epochs 40     # the short-training comparison of issue 11

Results: ``<out>/sklearn_parity.json`` and ``<out>/sklearn_parity.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from _machine import cpu_name

DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes", "classification")


def load(name: str):
    """``(X, y, task)`` of a data set shipped with scikit-learn (``make_classification`` seeded)."""
    from sklearn import datasets

    if name == "classification":
        X, y = datasets.make_classification(n_samples=1000, n_features=20, n_informative=8, n_redundant=4,
                                            n_classes=3, class_sep=0.8, random_state=0)
        return X, y, "classification"
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, "regression" if name == "diabetes" else "classification"


def run_one(name: str, seed: int, epochs: int, threads: int) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from bprop.sklearn import BPClassifier, BPRegressor

    X, y, task = load(name)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                          stratify=y if task == "classification" else None)
    sc = StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    if task == "regression":
        mu, sd = ytr.mean(), ytr.std()
        ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
    mlp_cls, bp_cls = (MLPClassifier, BPClassifier) if task == "classification" else (MLPRegressor, BPRegressor)
    models = {"mlp": mlp_cls(max_iter=epochs, random_state=seed), "bprop": bp_cls(max_epochs=epochs, random_state=seed)}
    row = {"dataset": name, "seed": seed, "task": task}
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for lib, model in models.items():
            t0 = time.perf_counter()
            model.fit(Xtr, ytr)
            row[f"{lib}_time"] = time.perf_counter() - t0
            row[lib] = float(model.score(Xte, yte))
            row[f"{lib}_epochs"] = int(model.n_iter_)
    return row


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        rs = [r for r in rows if r["dataset"] == name]
        s = {"dataset": name, "metric": "R²" if rs[0]["task"] == "regression" else "accuracy", "seeds": len(rs)}
        for lib in ("mlp", "bprop"):
            v = np.array([r[lib] for r in rs])
            s[lib] = float(v.mean())
            s[f"{lib}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            s[f"{lib}_time"] = float(np.mean([r[f"{lib}_time"] for r in rs]))
            s[f"{lib}_epochs"] = float(np.mean([r[f"{lib}_epochs"] for r in rs]))
        s["diff"] = s["bprop"] - s["mlp"]
        s["max_abs_diff"] = float(max(abs(r["bprop"] - r["mlp"]) for r in rs))   # seed by seed
        out.append(s)
    return out


def markdown(summary: list[dict], meta: dict) -> str:
    lines = [f"# BPClassifier/BPRegressor vs MLPClassifier/MLPRegressor ({meta['seeds']} seeds, "
             f"max {meta['epochs']} epochs, defaults)", "",
             f"CPU: {meta['cpu']}; {meta['threads']} thread(s); scikit-learn {meta['sklearn']}; {meta['date']}", "",
             "| data set | metric | MLP | bprop | bprop − MLP | max \\|bprop − MLP\\| per seed "
             "| epochs MLP / bprop | s per fit MLP / bprop |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['dataset']} | {s['metric']} | {s['mlp']:.4f} ± {s['mlp_std']:.4f} | "
                     f"{s['bprop']:.4f} ± {s['bprop_std']:.4f} | {s['diff']:+.4f} | {s['max_abs_diff']:.1e} | "
                     f"{s['mlp_epochs']:.0f} / {s['bprop_epochs']:.0f} | {s['mlp_time']:.2f} / {s['bprop_time']:.2f} |")
    return "\n".join(lines) + "\n"



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    import sklearn

    names = [d for d in args.datasets.split(",") if d]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        ap.error(f"unknown data set(s) {unknown}; choose from {', '.join(DATASETS)}")
    rows = []
    for name in names:
        for seed in range(args.seeds):
            rows.append(run_one(name, seed, args.epochs, args.threads))
            r = rows[-1]
            print(f"{name:>15} seed {seed}: MLP {r['mlp']:.4f}  bprop {r['bprop']:.4f}", flush=True)
    summary = summarise(rows)
    meta = {"seeds": args.seeds, "epochs": args.epochs, "threads": args.threads, "cpu": cpu_name(),
            "sklearn": sklearn.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "sklearn_parity" + ("" if args.epochs == 200 else f"_{args.epochs}ep") + \
        ("" if args.seeds == 5 else f"_{args.seeds}seeds")
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "summary": summary, "runs": rows}, indent=1))
    text = markdown(summary, meta)
    (out / f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
