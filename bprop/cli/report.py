"""The end of a training run: save the model and history, measure it on test data, plot, write report.md.

Also the metrics and tables shared with ``bprop evaluate``.
"""

from __future__ import annotations

import html
import os
import re
import time

import numpy as np

from ..io import write_text
from ..layers import Dense


# --------------------------------------------------------------------------- metrics
def compute_metrics(net, X: np.ndarray, y: np.ndarray, task: str, loss) -> dict:
    """Loss and metrics of ``net`` (eval mode) on standardised ``X`` and labels/targets ``y``.

    ``loss`` is the :class:`~bprop.losses.Loss` the network was trained on.

    Returns
    -------
    dict
        ``metrics`` (``loss`` = C as trained, then ``accuracy, log_loss`` or
        ``mse, rmse, mae, r2``), ``output`` (raw network output),
        ``prediction`` (class indices or values), ``proba`` (classification),
        ``confusion`` (classification), ``loss`` (the loss object).
    """
    from .. import metrics as M
    from .common import targets_for
    n_out = net.n_out
    X, Y, loss = net.prepare(X, targets_for(loss, task, y, n_out), loss)
    out = net.predict(X)
    result = {"output": out, "metrics": {"loss": loss.value(out, Y)}, "loss": loss}
    if task == "classification":
        proba = loss.output_to_prediction(out).astype(np.float64)
        if loss.task != "classification":   # MSE/BCE on one-hot targets: scores, normalised for log-loss
            scores = np.clip(proba, 1e-12, None)
            proba = scores / scores.sum(axis=1, keepdims=True)
        pred = np.argmax(out, axis=1)
        labels = np.asarray(y, dtype=np.int64)
        result["metrics"].update(accuracy=M.accuracy(labels, pred), log_loss=M.log_loss(labels, proba))
        result.update(prediction=pred, proba=proba, confusion=M.confusion_matrix(labels, pred, n_out))
    elif task == "multilabel":        # one yes/no decision σ(z) > ½, i.e. z > 0, per label
        pred = (out > 0).astype(np.int64)
        labels = np.asarray(y, dtype=np.int64).reshape(pred.shape)
        result["metrics"].update(accuracy=float(np.mean(pred == labels)),
                                 subset_accuracy=float(np.mean(np.all(pred == labels, axis=1))))
        result.update(prediction=pred, proba=loss.output_to_prediction(out).astype(np.float64))
    else:
        pred = loss.output_to_prediction(out)          # the output itself, or e^z for Poisson
        result["metrics"].update(M.regression_metrics(np.asarray(y, np.float64).reshape(len(X), -1), pred))
        result["prediction"] = pred
    return result


METRIC_NOTES = {
    "loss": "C, the training loss (quadratic cost has the ½)",
    "accuracy": "fraction of correct classes (multi-label: of correct labels)",
    "subset_accuracy": "fraction of samples with every label correct",
    "log_loss": "−mean ln p(true class)",
    "mse": "mean of squared residuals (no ½)",
    "rmse": "√MSE",
    "mae": "mean |residual|",
    "r2": "1 − SS_res/SS_tot",
}


def metric_note(key: str, loss=None) -> str:
    """What the metric ``key`` means; for ``loss``, the ``label`` of the loss object trained on."""
    if key == "loss" and loss is not None:
        return f"the loss trained on: {loss.label}"
    return METRIC_NOTES.get(key, "")


def metrics_table(title: str, metrics: dict, loss=None):
    from .console import fmt, table
    t = table(title, ["metric", ("value", "right"), "meaning"])
    for k, v in metrics.items():
        t.add_row(k, fmt(v), metric_note(k, loss))
    return t


def confusion_table(cm: np.ndarray, class_names: list[str]):
    from .console import plain, table
    t = table("confusion matrix (rows: true class, columns: predicted)", [""] + [(c, "right") for c in class_names])
    for name, row in zip(class_names, cm):
        t.add_row(plain(name), *[str(v) if v else "·" for v in row])
    return t


# --------------------------------------------------------------------------- plots
def make_plots(run_dir: str, net, history, prep, result, eval_X_raw, eval_y) -> list[tuple[str, str]]:
    """Every plot of a run; returns ``(caption, file name)`` pairs."""
    from . import plots
    ds, recs = prep.ds, history.records
    made = []
    metric = "rmse" if ds.task == "regression" else "accuracy"

    def path(name):
        return os.path.join(run_dir, name)

    if recs:
        plots.loss_curves(recs, path("loss.png"), loss_label=prep.loss.label, title=f"Loss — {ds.name}")
        made.append(("Loss per epoch (training and validation)", "loss.png"))
        plots.metric_curves(recs, metric, path("metric.png"), title=f"{metric.capitalize()} — {ds.name}")
        made.append((f"{metric.capitalize()} per epoch (training and validation)", "metric.png"))
        plots.gradient_norms(recs, path("gradient_norms.png"), layer_names=_layer_names(net))
        made.append(("Gradient norm ‖∂C/∂W‖₂ per Dense layer, log scale (vanishing/exploding gradients)",
                     "gradient_norms.png"))
    if ds.task == "classification":
        plots.confusion_matrix(result["confusion"], ds.class_names, path("confusion_matrix.png"),
                               title=f"Confusion matrix — {ds.name} ({prep.eval_part} data)")
        made.append((f"Confusion matrix on the {prep.eval_part} data", "confusion_matrix.png"))
    elif ds.task == "regression":
        plots.residuals(eval_y, result["prediction"], path("residuals.png"),
                        title=f"{ds.name} ({prep.eval_part} data)")
        made.append((f"Predictions and residuals on the {prep.eval_part} data", "residuals.png"))

    def raw_output(Xraw):
        return net.predict(prep.std(Xraw))

    def predicted(Xraw):                 # a regression's prediction: the output, or e^z for Poisson
        return prep.loss.output_to_prediction(raw_output(Xraw))

    Xtr, ytr = ds.X_train, ds.y_train
    Xte, yte = ds.X_test, ds.y_test
    if ds.n_features == 2 and ds.task == "classification":
        loss = prep.loss
        plots.decision_boundary(lambda Xr: loss.output_to_prediction(raw_output(Xr)).astype(np.float64),
                                Xtr, ytr, Xte, yte, ds.class_names, path("decision_boundary.png"),
                                feature_names=ds.feature_names, title=f"Decision boundary — {ds.name}")
        made.append(("Decision boundary with the data (circles: train, triangles: test)", "decision_boundary.png"))
    elif ds.n_features == 2 and ds.task == "regression":
        plots.regression_surface(predicted, Xtr, ytr, Xte, yte, path("surface.png"),
                                 feature_names=ds.feature_names, title=f"Predicted surface — {ds.name}")
        made.append(("Predicted surface with the data", "surface.png"))
    elif ds.n_features == 1 and ds.task == "regression":
        plots.regression_fit_1d(predicted, Xtr, ytr, Xte, yte, path("fit.png"),
                                feature_name=ds.feature_names[0], title=f"Fit — {ds.name}")
        made.append(("The network's curve with the data", "fit.png"))
    return made


def _layer_names(net) -> dict:
    names, l = {}, 0
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            l += 1
            names[f"{i}.W"] = f"layer {l}: W {layer.n_out}×{layer.n_in} ({i}.W)"
    return names


# --------------------------------------------------------------------------- report.md
#: Markdown's punctuation that can start a link, an emphasis, a heading, a list, a table cell or an image
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def md_text(value) -> str:
    """Text a user or a data file chose (data set, class and file names) for report.md, shown as it is:
    HTML's ``& < > " '`` become entities and Markdown's punctuation is backslash-escaped, so that a
    class named ``<script>`` or ``[x](javascript:…)`` neither runs nor links; line breaks become spaces."""
    text = html.escape(" ".join(str(value).split()), quote=True)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def md_code(value) -> str:
    """``value`` as a Markdown code span (shown literally, HTML included), fenced with more backticks
    than any run of them in it."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def report_markdown(run_dir, net, history, prep, cfg, result, made_plots, lang: str = "en") -> str:
    from ..i18n import translator
    from .common import describe_layers
    tr = translator(lang)
    ds = prep.ds
    recs = history.records
    name = md_text(ds.name)
    classes = ", ".join(md_text(c) for c in (ds.class_names or [])[:12])
    lines = [f"# {tr('bprop run')}: {name}", "", f"{time.strftime('%Y-%m-%d %H:%M:%S')} · bprop "
             f"{__import__('bprop').__version__} · settings in [config.toml](config.toml) "
             f"(repeat with {md_code('bprop train --config ' + os.path.join(run_dir, 'config.toml'))})", ""]
    lines += ["## " + tr("Data"), "", f"- **{name}**: {md_text(ds.description)}" if ds.description else f"- **{name}**",
              f"- task: {ds.task}; {ds.n_features} features; "
              + (f"{ds.n_outputs} classes ({classes}{', …' if ds.n_outputs > 12 else ''})"
                 if ds.task == "classification" else f"{ds.n_outputs} target column(s)"),
              f"- samples: {len(prep.X_train)} training, {0 if prep.X_val is None else len(prep.X_val)} validation, "
              f"{ds.n_test} test",
              f"- features standardised: {'yes (x − mean)/std of the training part, saved in model.npz' if prep.standardizer is not None else 'no'}",
              ""]
    lines += ["## " + tr("Network"), "", f"`{describe_layers(net)}` — **{net.n_params:,} parameters**, {net.dtype.name}", "",
              "```", net.summary(), "```", "",
              "Notation: `W (n_out, n_in)`, `Z = A @ W.T + b`, `δ = ∂C/∂Z`.", ""]
    wd = f", weight decay {cfg['weight_decay']:g}" if cfg["weight_decay"] else ""
    lines += ["## " + tr("Training"), "",
              f"- loss: {prep.loss.name}; optimiser {cfg['optimizer']}, lr {cfg['lr']:g}, schedule {cfg['schedule']}{wd}",
              f"- batch size {cfg['batch_size']}, {len(recs)} of {cfg['epochs']} epochs "
              f"({md_text(history.stop_reason or 'completed')})"
              + (f"; best epoch {history.best_epoch}" if history.best_epoch else ""),
              f"- seed {cfg['seed']}; time {sum(r.get('time', 0.0) for r in recs):.1f} s", ""]
    if recs:
        last = recs[-1]
        cols = [k for k in last if k not in ("epoch", "time") and not k.startswith("grad_norm/")]
        lines += [tr("Last epoch:"), "", "| " + " | ".join(cols) + " |", "|" + "---:|" * len(cols),
                  "| " + " | ".join(f"{last[k]:.4g}" if isinstance(last[k], float) else str(last[k]) for k in cols)
                  + " |", ""]
    lines += ["## " + tr("Final metrics ({part} data, {n} samples)").format(part=tr(prep.eval_part),
                                                                           n=len(result['prediction'])), "",
              f"| {tr('metric')} | {tr('value')} | {tr('meaning')} |", "|---|---:|---|"]
    for k, v in result["metrics"].items():
        lines.append(f"| {k} | {v:.4f} | {metric_note(k, prep.loss)} |")
    lines.append("")
    if made_plots:
        lines += ["## " + tr("Plots"), ""]
        if lang != "en":
            lines += [tr("(The plots are labelled in English: bprop ships no CJK font.)"), ""]
        for caption, name in made_plots:
            lines += [f"### {caption}", "", f"![{caption}]({name})", ""]
    lines += ["## " + tr("Files"), "", "- `model.npz` — the trained network (with the standardizer and class names); "
              "`bprop predict` and `bprop evaluate` read it",
              "- `checkpoint.npz` — model + optimiser state + RNG state + history; "
              f"{md_code(f'bprop train --resume {run_dir} --epochs N')} continues",
              "- `history.csv`, `history.json` — per-epoch loss, metrics, learning rate, gradient norms, time",
              "- `config.toml` — every setting, resolved", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- finishing a run
def finish_run(run_dir: str, net, history, prep, cfg: dict, con, *, plots: bool = True, quiet: bool = False,
               lang: str = "en") -> dict:
    """Write model.npz, history, metrics, plots and report.md; print the final metrics."""
    ds = prep.ds
    net.save(os.path.join(run_dir, "model.npz"))
    history.to_csv(os.path.join(run_dir, "history.csv"))
    history.to_json(os.path.join(run_dir, "history.json"))
    if prep.X_test is not None:
        prep.eval_part, X_eval, y_eval, X_eval_raw = "test", prep.X_test, ds.y_test, ds.X_test
    elif prep.X_val is not None:
        prep.eval_part, X_eval, y_eval, X_eval_raw = "validation", prep.X_val, prep.y_val, prep.X_val_raw
    else:
        prep.eval_part, X_eval, y_eval, X_eval_raw = "training", prep.X_train, prep.y_train, prep.X_train_raw
    result = compute_metrics(net, X_eval, y_eval, ds.task, prep.loss)
    made = make_plots(run_dir, net, history, prep, result, X_eval_raw, y_eval) if plots else []
    write_text(os.path.join(run_dir, "report.md"),
               report_markdown(run_dir, net, history, prep, cfg, result, made, lang))
    from .console import plain
    if history.stop_reason and history.stop_reason != "completed":
        con.print(plain(history.stop_reason))
    if quiet:
        m = result["metrics"]
        key = "accuracy" if "accuracy" in m else "rmse"
        print(f"{run_dir}: {prep.eval_part} {key} {m[key]:.4f}, loss {m['loss']:.4f}")
    else:
        con.print(metrics_table(f"{ds.name}: {prep.eval_part} data ({len(X_eval)} samples)", result["metrics"],
                                prep.loss))
        con.print(f"run folder: [bold]{plain(run_dir)}[/bold] (report.md, model.npz, checkpoint.npz, history.csv/json, "
                  f"config.toml{', plots' if made else ''})")
    return result
