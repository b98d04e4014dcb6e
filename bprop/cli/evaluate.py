"""Measure a trained model on data: a metrics table, and a confusion matrix for classification.

RUN_OR_MODEL is a run folder made by 'bprop train' or a model .npz file. With
a run folder and no --data, the run's own data set is loaded with its saved
settings (config.toml) and the model is measured on its test part; the
first line says which data that is. A model file from elsewhere needs
--data: the data set its metadata names (which could be any path, such as
csv:/etc/passwd) is never opened on its word alone. The features are
standardised with the Standardizer saved in the model, and the classes are
matched by name.
"""

from __future__ import annotations

import os

import numpy as np

from .config import read_train_config
from .options import UsageError, add_parser

EXAMPLES = """\
  bprop evaluate runs/moons                              # the run's own test data
  bprop evaluate runs/moons --part train                 # ... or its training part
  bprop evaluate runs/moons/model.npz --data moons --noise 0.4 --seed 7
  bprop evaluate model.npz --data csv:holdout.csv --target label --part all
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "evaluate", __doc__, EXAMPLES)
    p.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a model .npz file, e.g. runs/moons")
    p.add_argument("--data", metavar="NAME", help="data set or csv:PATH (default: the run's), e.g. --data moons")
    p.add_argument("--part", choices=("test", "train", "all"), default=None,
                   help="which part of the data: test (default), train, or all (default all for csv: data "
                        "given with --data); e.g. --part all")
    p.add_argument("--n-samples", type=int, metavar="N", help="as in train, e.g. --n-samples 1000")
    p.add_argument("--noise", type=float, metavar="S", help="noise of a synthetic set, e.g. --noise 0.3")
    p.add_argument("--target", metavar="COLUMN", help="csv: target column (default the last), e.g. --target y")
    p.add_argument("--seed", type=int, metavar="INT", help="seed of data generation and split, e.g. --seed 7")
    p.add_argument("--test-size", type=float, metavar="F", help="test fraction of the split, e.g. --test-size 0.3")
    p.add_argument("--data-dir", metavar="DIR", help="folder with MNIST IDX files, e.g. --data-dir ~/data")
    p.set_defaults(func=run)


def run(args) -> int:
    import bprop as bp
    from .common import load_dataset, model_file, model_loss, transform_features
    from .console import console, plain
    from .report import compute_metrics, confusion_table, metrics_table

    path, run_dir = model_file(args.model)
    net = bp.load(path)
    meta = net.metadata or {}
    settings = {}
    if run_dir is not None and os.path.exists(os.path.join(run_dir, "config.toml")):
        settings = read_train_config(os.path.join(run_dir, "config.toml"))
    if args.data is None and "data" not in settings:
        named = meta.get("data")
        hint = f" (its metadata names {named!r}; give --data {named} to use that)" if isinstance(named, str) else ""
        raise UsageError(f"--data is needed for a model file outside a run folder{hint}")
    spec = args.data or settings["data"]
    same = args.data is None or args.data == settings.get("data", meta.get("data"))

    def pick(option, key, default):
        value = getattr(args, option)
        if value is not None:
            return value
        return settings.get(key, default) if same else default

    con = console()
    if args.data is None:
        con.print(f"data: {plain(spec)} (from {plain(os.path.join(run_dir, 'config.toml'))})")
    ds = load_dataset(spec, n_samples=pick("n_samples", "n_samples", None), noise=pick("noise", "noise", None),
                      target=pick("target", "target", None), data_dir=pick("data_dir", "data_dir", None),
                      test_size=pick("test_size", "test_size", 0.2), seed=pick("seed", "seed", 0),
                      task=meta.get("task"))          # a CSV target is read as the model's task
    part = args.part or ("all" if spec.lower().startswith("csv:") and not same else "test")
    if part == "test" and ds.n_test == 0:
        part = "all"
    X = {"test": ds.X_test, "train": ds.X_train}.get(part)
    y = {"test": ds.y_test, "train": ds.y_train}.get(part)
    if part == "all":
        X, y = np.vstack([ds.X_train, ds.X_test]), np.concatenate([ds.y_train, ds.y_test])
    task = meta.get("task") or ("classification" if ds.task == "classification" else "regression")
    if task != ds.task:
        raise ValueError(f"the model does {task} but {spec} is a {ds.task} data set")
    Xs = transform_features(net, X, f"--data {spec}")
    if task == "classification":
        names = meta.get("class_names") or ds.class_names
        index = {c: i for i, c in enumerate(names)}
        unknown = [c for c in ds.class_names if c not in index]
        if unknown:
            raise ValueError(f"{spec} has classes {unknown} the model was not trained on (its classes: "
                             f"{', '.join(names)})")
        y = np.array([index[c] for c in ds.class_names], dtype=np.int64)[y]
    result = compute_metrics(net, Xs, y, task, model_loss(meta, task))
    con.print(f"model {plain(path)}: {net.n_params:,} parameters; data {plain(spec)} ({part} part, {len(X)} "
              "samples)")
    con.print(metrics_table(f"{spec}: {part} data", result["metrics"], result["loss"]))
    if task == "classification":
        con.print(confusion_table(result["confusion"], list(names)))
    return 0
