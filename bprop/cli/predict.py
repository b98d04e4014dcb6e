"""Predict for every row of a CSV file: class labels (mapped back to the original names) or values.

The CSV holds feature columns: with a header, the columns named like the
model's features are taken (in the model's order; others, such as a target
column, are ignored); without one, the file must have exactly as many
columns as the model has inputs. The Standardizer saved with the model is
applied first. Output: a CSV with a 'prediction' column (and with --proba one
column 'p_<class>' per class) — for a multi-label model one 0/1 column per
label (and with --proba 'p_<label>') — to OUT.csv or to standard output. A label
that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return, and not a plain number) is written with a leading ' (OWASP's
advice against CSV injection). OUT.csv never replaces a file of a run folder
or the input, nor any existing file unless --force is given.
"""

from __future__ import annotations

import csv
import io
import os
import sys

import numpy as np

from ..io import write_text
from .options import UsageError, add_parser
from .runfolder import check_output

EXAMPLES = """\
  bprop predict runs/moons points.csv                    # CSV to standard output
  bprop predict runs/moons/model.npz points.csv -o predictions.csv --proba
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "predict", __doc__, EXAMPLES)
    p.add_argument("model", metavar="MODEL", help="a model .npz file or a run folder, e.g. runs/moons/model.npz")
    p.add_argument("input", metavar="INPUT.csv", help="CSV file of feature rows, e.g. points.csv")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="write the predictions here instead of to standard "
                   "output, e.g. -o predictions.csv")
    p.add_argument("--force", action="store_true", help="replace OUT.csv if it exists (never a file of a run "
                   "folder such as model.npz, nor INPUT.csv), e.g. -o predictions.csv --force")
    p.add_argument("--proba", action="store_true", help="add one probability column per class "
                   "(classification models)")
    p.set_defaults(func=run)


#: the end of the CSV reader's message for a non-numeric value, and what predict says instead
TRAINING_HINT = "or choose another column with --target"
PREDICT_HINT = "or leave the column out of INPUT.csv"
#: first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell) -> str:
    """``cell`` as text, with a leading ``'`` if a spreadsheet would run it as a formula
    (``=HYPERLINK(...)``, ``@SUM(...)``); plain numbers such as ``-1`` stay as they are."""
    text = str(cell)
    if not text.startswith(FORMULA_STARTS):
        return text
    try:
        float(text)
        return text
    except ValueError:
        return "'" + text


def run(args) -> int:
    import bprop as bp
    from ..data.tabular import read_features
    from .common import model_file, model_loss, transform_features

    if not os.path.isfile(args.input):
        raise FileNotFoundError(f"no such input file: {args.input}" if not os.path.isdir(args.input)
                                else f"{args.input} is a folder, not a CSV file")
    path, _ = model_file(args.model)
    if args.output is not None:
        check_output(args.output, [args.input, path], args.force)
    net = bp.load(path)
    meta = net.metadata or {}
    task = meta.get("task", "regression")
    if args.proba and task == "regression":
        raise UsageError("--proba needs a classification or multi-label model; this one does regression")
    try:
        X, _ = read_features(args.input, feature_names=meta.get("feature_names"), n_features=net.n_in)
    except ValueError as exc:   # the CSV reader's advice for training data: predict has no --target
        raise ValueError(str(exc).replace(TRAINING_HINT, PREDICT_HINT)) from None
    Xs = transform_features(net, X, args.input) if len(X) else X
    out = net.predict(Xs) if len(X) else np.empty((0, net.n_out))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if task == "classification":
        names = meta.get("class_names") or [str(i) for i in range(net.n_out)]
        loss = model_loss(meta, task)
        proba = loss.output_to_prediction(out).astype(np.float64) if len(X) else out
        labels = np.asarray(names, dtype=object)[np.argmax(out, axis=1)] if len(X) else []
        w.writerow(["prediction"] + ([spreadsheet_safe(f"p_{c}") for c in names] if args.proba else []))
        for i, label in enumerate(labels):
            w.writerow([spreadsheet_safe(label)] + ([f"{p:.6g}" for p in proba[i]] if args.proba else []))
    elif task == "multilabel":                                   # one 0/1 column per label: σ(z) > ½ ⇔ z > 0
        names = meta.get("class_names") or [f"label_{j}" for j in range(net.n_out)]
        proba = model_loss(meta, task).output_to_prediction(out).astype(np.float64) if len(X) else out
        w.writerow([spreadsheet_safe(c) for c in names] + ([spreadsheet_safe(f"p_{c}") for c in names]
                                                           if args.proba else []))
        for i, row in enumerate(out):
            w.writerow([str(int(v > 0)) for v in row] + ([f"{p:.6g}" for p in proba[i]] if args.proba else []))
    else:
        k = out.shape[1]
        pred = model_loss(meta, task).output_to_prediction(out) if len(X) else out   # e^z for Poisson
        w.writerow(["prediction"] if k == 1 else [f"prediction_{j}" for j in range(k)])
        for row in pred:
            w.writerow([f"{v:.8g}" for v in row])
    if args.output:
        write_text(args.output, buf.getvalue())
        print(f"wrote {len(X)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    return 0
