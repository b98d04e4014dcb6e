r"""Mini-batch training: the fit loop, History, callbacks, early stopping and checkpoints.

One epoch of :func:`fit` is the mini-batch stochastic gradient descent of the
tutorials: shuffle the training set with the network's generator, cut it into
batches of ``batch_size`` (the last, partial batch included), and for each
batch run backpropagation (forward pass, BP1–BP4) and let the optimiser update
every weight and bias in place, :math:`θ ← θ − η\,∂C/∂θ` for plain SGD.

Checkpoints hold everything that determines the rest of a run — parameters,
buffers, optimiser state, the generator's state, the train/validation split,
the history and the early-stopping state — so :func:`resume` continues a run
and ends with the same parameters, bit for bit, as one that never stopped.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import metrics as _metrics
from ._validation import check_array, check_number, check_positive_int, check_same_length
from .errors import DivergenceError
from .io import model_payload, net_from_payload, read_npz, write_npz_atomic
from .layers import BatchNorm, Dense
from .losses import Loss, get as get_loss

CHECKPOINT_FORMAT = "bprop-checkpoint"
EVAL_CHUNK = 8192  # rows per eval-mode forward pass (bounds memory on large sets)


# ---------------------------------------------------------------------------------------- History
class History:
    """What happened in each epoch of :func:`fit`.

    Attributes
    ----------
    records : list of dict
        One per epoch: ``epoch`` (1-based), ``loss`` (mean training loss ``C``
        over the epoch's batches), ``val_loss``, metrics (``accuracy``; or
        ``mse, rmse, mae, r2``) on the training batches as they were seen and
        ``val_<metric>`` on the validation set, ``lr`` (rate of the epoch's
        last step), ``time`` (seconds) and ``grad_norm/<key>`` for every Dense
        weight: the root-mean-square over the epoch's steps of ``‖∂C/∂W‖₂`` —
        the data behind a vanishing/exploding-gradient plot.
    step_lr : list of float
        The learning rate of every optimiser step.
    stop_reason : str
        Why training ended ("completed", "early stopping ...", "stopped by callback").
    best_epoch : int or None
        The epoch early stopping judged best.
    """

    def __init__(self, records=None, step_lr=None, stop_reason="", best_epoch=None):
        self.records: list[dict] = list(records or [])
        self.step_lr: list[float] = list(step_lr or [])
        self.stop_reason = stop_reason
        self.best_epoch = best_epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> list:
        """Per-epoch values of one column, e.g. ``history["val_loss"]``."""
        if not any(key in r for r in self.records):
            raise KeyError(f"no column {key!r} in this history; columns: {', '.join(self.columns)}")
        return [r.get(key) for r in self.records]

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.records:
            cols += [k for k in r if k not in cols]
        return cols

    def to_list(self) -> list[dict]:
        """A list of dicts, one per epoch (copies)."""
        return [dict(r) for r in self.records]

    def to_dict(self) -> dict:
        return {"records": self.to_list(), "step_lr": list(self.step_lr),
                "stop_reason": self.stop_reason, "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(d.get("records"), d.get("step_lr"), d.get("stop_reason", ""), d.get("best_epoch"))

    def to_csv(self, path) -> None:
        """Write one row per epoch (atomic)."""
        cols = self.columns
        _atomic_text(path, lambda f: _write_csv(f, cols, self.records))

    def to_json(self, path) -> None:
        """Write :meth:`to_dict` as JSON (atomic)."""
        _atomic_text(path, lambda f: json.dump(self.to_dict(), f, indent=2))

    def __repr__(self) -> str:
        last = self.records[-1] if self.records else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items()
                          if isinstance(v, float) and not k.startswith("grad_norm"))
        return f"History({len(self)} epochs; last: {shown})"


def _write_csv(f, cols, records):
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    for r in records:
        w.writerow(r)


def _atomic_text(path, write) -> None:
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------- callbacks
class Callback:
    """Base class of fit callbacks; override the hooks you need.

    A hook that returns ``True`` stops training (after the current batch for
    :meth:`on_batch_end`, after the current epoch for :meth:`on_epoch_end`).
    Plain functions are accepted too and are called as ``on_epoch_end``.
    """

    def on_train_begin(self, net, info: dict) -> None:
        """``info``: ``epochs``, ``initial_epoch``, ``steps_per_epoch``, ``n_train``, ``n_val``."""

    def on_epoch_begin(self, net, epoch: int) -> None:
        """``epoch`` is 1-based."""

    def on_batch_end(self, net, step: int, batch_loss: float) -> bool | None:
        """``step`` counts batches within the epoch, from 1."""

    def on_epoch_end(self, net, record: dict) -> bool | None:
        """``record`` is the epoch's :class:`History` record."""

    def on_train_end(self, net, history: History) -> None:
        pass


class _FunctionCallback(Callback):
    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, net, record):
        return self.fn(net, record)


def _as_callbacks(callbacks) -> list[Callback]:
    out = []
    for cb in callbacks or ():
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise TypeError(f"callbacks must be Callback objects or functions, got {type(cb).__name__}")
    return out


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Smallest change that counts as an improvement.
    monitor : str
        A History column; ``"val_loss"`` by default (``"loss"`` is used when
        there is no validation data). Columns named like accuracy or r2 are
        maximised, the others minimised.
    restore_best : bool
        At the end of training, put back the parameters and buffers of the best epoch.
    """

    patience: int = 10
    min_delta: float = 0.0
    monitor: str = "val_loss"
    restore_best: bool = True

    def __post_init__(self):
        check_positive_int(self.patience, "patience", minimum=0)
        check_number(self.min_delta, "min_delta", low=0.0)

    @property
    def maximize(self) -> bool:
        return self.monitor.removeprefix("val_") in ("accuracy", "r2")

    def improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value > best + self.min_delta if self.maximize else value < best - self.min_delta


# ---------------------------------------------------------------------------------------- helpers
def _task(loss: Loss) -> str:
    return loss.task


def _labels_of(Y: np.ndarray, task: str) -> np.ndarray | None:
    if task == "classification":
        return np.argmax(Y, axis=1)
    if task == "multilabel":
        return Y > 0.5
    return None


def _predicted_labels(out: np.ndarray, task: str) -> np.ndarray:
    return np.argmax(out, axis=1) if task == "classification" else out > 0


def _stratified_split(n: int, fraction: float, labels, rng) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``: a random ``fraction`` held out, per class when labels are given."""
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    val = []
    for idx in groups:
        idx = idx[rng.permutation(len(idx))]
        val.append(idx[: int(round(fraction * len(idx)))])
    val = np.sort(np.concatenate(val)) if val else np.array([], np.int64)
    if len(val) == 0:
        val = np.sort(rng.permutation(n)[:1])
    if len(val) >= n:
        raise ValueError(f"validation_split={fraction} leaves no training samples out of {n}")
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return train.astype(np.int64), val.astype(np.int64)


def _class_sample_weights(class_weight, labels: np.ndarray, n_classes: int) -> np.ndarray:
    if class_weight == "balanced":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        per_class = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        per_class = np.ones(n_classes)
        for c, w in class_weight.items():
            c = int(c)
            if not 0 <= c < n_classes:
                raise ValueError(f"class_weight names class {c}, but the classes are 0..{n_classes - 1}")
            per_class[c] = check_number(w, f"class_weight[{c}]", low=0.0)
    else:
        raise ValueError(f"class_weight must be a dict {{class: weight}} or 'balanced', got {class_weight!r}")
    return per_class[labels]


def _sample_weights(X, Y, loss, sample_weight, class_weight) -> np.ndarray | None:
    """Per-sample weights from ``sample_weight`` times the classes' ``class_weight`` (None: unweighted)."""
    weights = None
    if sample_weight is not None:
        weights = check_array(sample_weight, name="sample_weight", dtype=np.float64, ndim=1)
        check_same_length(X, weights)
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("sample_weight must be non-negative with a positive sum")
    if class_weight is not None:
        if _task(loss) != "classification":
            raise ValueError(f"class_weight needs a classification loss (CrossEntropy), got {type(loss).__name__}")
        cw = _class_sample_weights(class_weight, np.argmax(Y, axis=1), Y.shape[1])
        weights = cw if weights is None else weights * cw
    return weights


def _validation_set(net, loss, X, Y, weights, validation_data, split):
    """``(X, Y, weights, X_val, Y_val)``: ``validation_data`` prepared, or ``split = (train, val)`` indices applied."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val, Y_val, _ = net.prepare(validation_data[0], validation_data[1], loss)
        return X, Y, weights, X_val, Y_val
    if split is None:
        return X, Y, weights, None, None
    train, val = split
    return X[train], Y[train], None if weights is None else weights[train], X[val], Y[val]


def _batches(n: int, batch_size: int, merge_singleton: bool) -> list[tuple[int, int]]:
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if merge_singleton and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]   # BatchNorm cannot train on one sample
    return bounds


def evaluate(net, X: np.ndarray, Y: np.ndarray, loss: Loss, *, prefix: str = "") -> dict:
    """Loss and metrics of ``net`` in eval mode on prepared ``X``, ``Y`` (chunked forward passes)."""
    task = _task(loss)
    outs = [net._forward(X[s:s + EVAL_CHUNK], False) for s in range(0, len(X), EVAL_CHUNK)]
    out = outs[0] if len(outs) == 1 else np.concatenate(outs)
    res = {f"{prefix}loss": loss.value(out, Y)}
    if task == "regression":
        res.update({f"{prefix}{k}": v for k, v in _metrics.regression_metrics(Y, out).items()})
    else:
        res[f"{prefix}accuracy"] = _metrics.accuracy(_labels_of(Y, task), _predicted_labels(out, task))
    return res


class _EpochMeter:
    """Accumulates the training loss, metrics and gradient norms of one epoch."""

    def __init__(self, task: str, grad_keys: list[str], Y_train: np.ndarray):
        self.task, self.grad_keys = task, grad_keys
        self.n = 0
        self.loss_sum = 0.0
        self.correct = 0.0
        self.sq = self.abs = 0.0
        self.ss_res = 0.0
        self.grad_sq = dict.fromkeys(grad_keys, 0.0)
        self.steps = 0
        if task == "regression":
            Yd = Y_train.astype(np.float64)
            self.ss_tot = np.sum((Yd - Yd.mean(axis=0)) ** 2, axis=0)
            self.n_out = Y_train.shape[1]

    def add_batch(self, c: float, out: np.ndarray, Yb: np.ndarray, labels_b) -> None:
        nb = len(out)
        self.n += nb
        self.loss_sum += c * nb
        if self.task == "regression":
            r = (out - Yb).astype(np.float64)
            self.sq += float(np.sum(r * r))
            self.abs += float(np.sum(np.abs(r)))
            self.ss_res = self.ss_res + np.sum(r * r, axis=0)
        elif self.task == "classification":
            self.correct += int(np.count_nonzero(np.argmax(out, axis=1) == labels_b))
        else:
            self.correct += float(np.mean((out > 0) == labels_b)) * nb

    def add_grads(self, sq: dict) -> None:
        self.steps += 1
        for k in self.grad_keys:
            self.grad_sq[k] += sq[k]

    def record(self) -> dict:
        rec = {"loss": self.loss_sum / self.n}
        if self.task == "regression":
            mse = self.sq / (self.n * self.n_out)
            rec.update(mse=mse, rmse=math.sqrt(mse), mae=self.abs / (self.n * self.n_out),
                       r2=_metrics.r2_from_sums(self.ss_res, self.ss_tot))
        else:
            rec["accuracy"] = self.correct / self.n
        for k in self.grad_keys:
            rec[f"grad_norm/{k}"] = math.sqrt(self.grad_sq[k] / max(self.steps, 1))
        return rec


def _print_record(rec: dict, epochs: int) -> None:
    parts = [f"epoch {rec['epoch']:>{len(str(epochs))}}/{epochs}"]
    for k, v in rec.items():
        if k in ("epoch", "time") or k.startswith("grad_norm"):
            continue
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    parts.append(f"{rec['time']:.2f}s")
    print("  ".join(parts), file=sys.stdout, flush=True)


# ---------------------------------------------------------------------------------------- fit
@dataclass
class _Run:
    """Everything a checkpoint needs to continue a run."""

    net: object
    loss: Loss
    optimizer: object
    epochs: int
    batch_size: int
    shuffle: bool
    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    X_val: np.ndarray | None
    Y_val: np.ndarray | None
    split: tuple[np.ndarray, np.ndarray] | None
    settings: dict
    early_stopping: EarlyStopping | None
    clip_norm: float | None
    clip_value: float | None
    history: History
    es_state: dict
    best_state: dict | None


def fit(net, X, y, *, loss, optimizer, epochs: int, batch_size: int = 32, shuffle: bool = True,
        validation_data=None, validation_split: float = 0.0, early_stopping=None,
        clip_norm: float | None = None, clip_value: float | None = None, callbacks=(),
        checkpoint=None, verbose: int = 1, sample_weight=None, class_weight=None) -> History:
    r"""Train ``net`` with mini-batch gradient descent; returns a :class:`History`.

    Parameters
    ----------
    net : Sequential
    X : array-like (n, n_in)
    y : array-like
        Targets for ``loss`` (class labels or one-hot rows for CrossEntropy).
    loss : Loss or str
    optimizer : bprop.optim optimiser
        Its state persists across ``fit`` calls, so calling ``fit`` again continues.
    epochs : int
        Passes over the training data (0 is allowed and only evaluates).
    batch_size : int
        ``batch_size=len(X), shuffle=False`` gives one full-batch step per
        epoch. The last partial batch is used (merged into the one before if
        it would hold a single sample and the network has BatchNorm).
    shuffle : bool
        Reshuffle the training set each epoch with ``net.rng``.
    validation_data : (X_val, y_val), optional
    validation_split : float in [0, 1)
        Fraction of ``X`` held out for validation (stratified by class for
        classification), drawn with ``net.rng``. Ignored if ``validation_data`` is given.
    early_stopping : EarlyStopping or int, optional
        An int is the patience of ``EarlyStopping()``.
    clip_norm : float, optional
        Rescale the gradients so their global 2-norm is at most ``clip_norm``
        (``torch.nn.utils.clip_grad_norm_``: factor ``clip_norm/(‖g‖ + 1e-6)`` when below 1).
    clip_value : float, optional
        Clip every gradient entry to ``[−clip_value, clip_value]`` (after ``clip_norm``).
    callbacks : sequence of Callback or functions
    checkpoint : path, optional
        Written atomically after every epoch; continue with :func:`resume`.
    verbose : int
        0 silent, 1 one line per epoch.
    sample_weight : array-like (n,), optional
        Per-sample weights: each batch's loss is ``Σ w_x C_x / Σ w_x``.
    class_weight : dict or "balanced", optional
        Multiplies each sample's weight by its class's weight (CrossEntropy only).

    Raises
    ------
    DivergenceError
        When the loss, a gradient or a parameter becomes non-finite. If the
        loss or a gradient is non-finite while the parameters are finite, no
        update is made: the parameters and optimiser state are those from
        before the failing step. If an update overflowed a parameter (found at
        the next step or at the end of the epoch), the parameters and
        optimiser state are put back to their values at the start of the
        epoch, the last state known to be finite. A checkpoint on disk is left
        intact.
    """
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a bprop.optim optimiser (e.g. bp.optim.Adam(1e-3)), "
                        f"got {optimizer!r}")
    check_number(validation_split, "validation_split", low=0.0, high=1.0, high_open=True)
    for name, v in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if v is not None:
            check_number(v, name, low=0.0, low_open=True)
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        early_stopping = EarlyStopping(patience=early_stopping)
    elif early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping or an int patience, got {early_stopping!r}")

    X, Y, loss = net.prepare(X, y, loss)
    weights = _sample_weights(X, Y, loss, sample_weight, class_weight)
    split = None
    if validation_data is None and validation_split > 0:
        labels = np.argmax(Y, axis=1) if _task(loss) == "classification" else None
        split = _stratified_split(len(X), validation_split, labels, net.rng)
    X, Y, weights, X_val, Y_val = _validation_set(net, loss, X, Y, weights, validation_data, split)

    settings = {"batch_size": batch_size, "shuffle": bool(shuffle), "validation_split": validation_split,
                "clip_norm": clip_norm, "clip_value": clip_value}
    run = _Run(net, loss, optimizer, epochs, batch_size, bool(shuffle), X, Y, weights, X_val, Y_val,
               split, settings, early_stopping, clip_norm, clip_value, History(), {}, None)
    return _train(run, start_epoch=0, callbacks=_as_callbacks(callbacks), checkpoint=checkpoint,
                  verbose=verbose)


def _all_finite(arrays: dict) -> bool:
    # A float64 sum is NaN/inf exactly when an entry is (float32 sums cannot overflow in float64);
    # only a float64 sum that overflows needs the exact, allocating check.
    for a in arrays.values():
        if not math.isfinite(float(np.sum(a, dtype=np.float64))) and not np.isfinite(a).all():
            return False
    return True


def _restore(params: dict, opt, snapshot, history: History, lr_mark: int) -> None:
    """Put back the parameters and optimiser state saved at the start of the epoch."""
    for k, v in snapshot[0].items():
        params[k][...] = v
    opt.load_state_dict(snapshot[1])
    del history.step_lr[lr_mark:]


def _clip(grads: dict, sq: dict, clip_norm, clip_value) -> None:
    if clip_norm is not None:
        total = math.sqrt(sum(sq.values()))
        coef = clip_norm / (total + 1e-6)
        if coef < 1.0:
            for g in grads.values():
                g *= g.dtype.type(coef)
    if clip_value is not None:
        for g in grads.values():
            np.clip(g, -clip_value, clip_value, out=g)


def _train(run: _Run, *, start_epoch: int, callbacks: list[Callback], checkpoint, verbose: int) -> History:
    # Overflow in a diverging run is detected explicitly (DivergenceError), not through warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _train_loop(run, start_epoch=start_epoch, callbacks=callbacks, checkpoint=checkpoint,
                           verbose=verbose)


def _train_loop(run: _Run, *, start_epoch: int, callbacks: list[Callback], checkpoint, verbose: int) -> History:
    net, loss, opt, history = run.net, run.loss, run.optimizer, run.history
    task = _task(loss)
    X, Y, weights = run.X, run.Y, run.weights
    n = len(X)
    labels = _labels_of(Y, task)
    has_bn = any(isinstance(l, BatchNorm) for l in net.layers)
    bounds = _batches(n, run.batch_size, has_bn)
    grad_keys = [f"{i}.W" for i, l in enumerate(net.layers) if isinstance(l, Dense)]
    params, grads = net.params, net.grads
    es = run.early_stopping
    monitor = None
    if es is not None:
        monitor = es.monitor if (run.X_val is not None or not es.monitor.startswith("val_")) \
            else es.monitor.removeprefix("val_")
    # Batches of a shuffled epoch are gathered row by row into these small reused buffers
    # (contiguous, still in cache for the matmuls that follow, no X-sized copy).
    width = max(e - s for s, e in bounds)
    gather = {name: np.empty((width,) + a.shape[1:], a.dtype)
              for name, a in (("X", X), ("Y", Y), ("labels", labels), ("weights", weights)) if a is not None}

    info = {"epochs": run.epochs, "initial_epoch": start_epoch, "steps_per_epoch": len(bounds),
            "n_train": n, "n_val": 0 if run.X_val is None else len(run.X_val)}
    for cb in callbacks:
        cb.on_train_begin(net, info)
    stop = None
    for epoch in range(start_epoch + 1, run.epochs + 1):
        t0 = time.perf_counter()
        for cb in callbacks:
            cb.on_epoch_begin(net, epoch)
        # The last state known to be finite. Parameters are checked once per epoch (and when
        # the loss goes non-finite), not after every step: an overflowed parameter shows up in
        # the next step's loss, and a per-step pass over every parameter costs ~5% of a step.
        snapshot = ({k: v.copy() for k, v in params.items()}, opt.state_dict())
        lr_mark = len(history.step_lr)
        perm = net.rng.permutation(n) if run.shuffle else None
        meter = _EpochMeter(task, grad_keys, Y)
        for step, (s, e) in enumerate(bounds, start=1):
            if perm is None:
                Xb, Yb = X[s:e], Y[s:e]
                lb = None if labels is None else labels[s:e]
                wb = None if weights is None else weights[s:e]
            else:
                # mode="clip": the indices are in range; "raise" would copy through a temporary.
                idx = perm[s:e]
                Xb, Yb = (np.take(a, idx, axis=0, out=gather[k][:e - s], mode="clip")
                          for k, a in (("X", X), ("Y", Y)))
                lb = None if labels is None else np.take(labels, idx, axis=0, out=gather["labels"][:e - s],
                                                         mode="clip")
                wb = None if weights is None else np.take(weights, idx, axis=0, out=gather["weights"][:e - s],
                                                          mode="clip")
            c, out = net._backprop(Xb, Yb, loss, wb)
            meter.add_batch(c, out, Yb, lb)
            sq = {k: float(np.dot(g.ravel(), g.ravel())) for k, g in grads.items()}
            if not (math.isfinite(c) and math.isfinite(sum(sq.values()))):
                what = "loss" if not math.isfinite(c) else "gradient"
                if _all_finite(params):
                    raise DivergenceError(
                        f"training diverged at epoch {epoch}, step {step}: the {what} is not finite "
                        f"(loss {c}); no update was made, the parameters are those before this "
                        f"step. Try a smaller learning rate (now {opt.lr}) or clip_norm.")
                _restore(params, opt, snapshot, history, lr_mark)
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, step {step}: an earlier update of this "
                    f"epoch made a parameter infinite or NaN; the parameters and optimiser state "
                    f"were put back to the start of epoch {epoch}. Try a smaller learning rate "
                    f"(now {opt.lr}) or clip_norm.")
            meter.add_grads(sq)
            if run.clip_norm is not None or run.clip_value is not None:
                _clip(grads, sq, run.clip_norm, run.clip_value)
            history.step_lr.append(float(opt.lr) if opt.lr is not None else float("nan"))
            opt.step(params, grads)
            if any(cb.on_batch_end(net, step, c) for cb in callbacks):
                stop = "stopped by callback"
                break
        if not _all_finite(params):
            _restore(params, opt, snapshot, history, lr_mark)
            raise DivergenceError(
                f"training diverged in epoch {epoch}: a parameter became infinite or NaN; the "
                f"parameters and optimiser state were put back to the start of epoch {epoch}. "
                f"Try a smaller learning rate (now {opt.lr}) or clip_norm.")
        rec = {"epoch": epoch, **meter.record()}
        if run.X_val is not None:
            rec.update(evaluate(net, run.X_val, run.Y_val, loss, prefix="val_"))
        rec["lr"] = history.step_lr[-1] if history.step_lr else (opt.lr or float("nan"))
        rec["time"] = time.perf_counter() - t0
        history.records.append(rec)
        opt_observe = getattr(opt, "observe", None)
        if opt_observe is not None:
            opt_observe(rec.get("val_loss", rec["loss"]))
        if es is not None and stop is None:
            if monitor not in rec:
                raise ValueError(f"early_stopping monitors {es.monitor!r}, which is not recorded; "
                                 f"columns: {', '.join(rec)}")
            value = rec[monitor]
            if es.improved(value, run.es_state.get("best")):
                run.es_state.update(best=value, best_epoch=epoch, wait=0)
                if es.restore_best:
                    run.best_state = net.state_dict()
            else:
                run.es_state["wait"] = run.es_state.get("wait", 0) + 1
                if run.es_state["wait"] >= es.patience:
                    stop = (f"early stopping: {monitor} did not improve for {es.patience} epochs "
                            f"(best {run.es_state['best']:.6g} at epoch {run.es_state['best_epoch']})")
            history.best_epoch = run.es_state.get("best_epoch")
        if verbose:
            _print_record(rec, run.epochs)
        if any(cb.on_epoch_end(net, rec) for cb in callbacks) and stop is None:
            stop = "stopped by callback"
        if stop is not None:
            history.stop_reason = stop
        if checkpoint is not None:
            save_checkpoint(checkpoint, run, epoch)
        if stop is not None:
            break
    if not history.stop_reason:
        history.stop_reason = "completed"
    if es is not None and es.restore_best and run.best_state is not None:
        net.load_state_dict(run.best_state)
    for cb in callbacks:
        cb.on_train_end(net, history)
    if verbose and stop:
        print(stop, file=sys.stdout, flush=True)
    return history


# ---------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, run: _Run, epoch: int) -> None:
    """Write model, optimiser state, generator state, split, history and early-stopping state atomically."""
    arrays, meta = model_payload(run.net)
    opt_state = run.optimizer.state_dict()
    arrays.update({f"optim/{k}": v for k, v in opt_state.pop("arrays").items()})
    if run.split is not None:
        arrays["split/train"], arrays["split/val"] = run.split
    if run.best_state is not None:
        arrays.update({f"best/{k}": v for k, v in run.best_state.items()})
    es = run.early_stopping
    meta.update({
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "epochs": run.epochs,
        "rng_state": run.net.rng.bit_generator.state,
        "optimizer": opt_state,
        "loss": run.loss.get_config(),
        "settings": run.settings,
        "early_stopping": None if es is None else vars(es),
        "early_stopping_state": run.es_state,
        "history": run.history.to_dict(),
    })
    write_npz_atomic(path, arrays, meta)


def load_checkpoint(path) -> tuple[dict, dict]:
    """Read a checkpoint: ``(arrays, meta)``; raises ``ValueError`` if ``path`` is not one."""
    arrays, meta = read_npz(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a bprop checkpoint (format {meta.get('format')!r}); "
                         "checkpoints are written by fit(..., checkpoint=PATH)")
    return arrays, meta


def resume(path, X, y, *, epochs: int | None = None, validation_data=None, sample_weight=None,
           class_weight=None, callbacks=(), checkpoint="same", verbose: int = 1):
    """Continue the run saved in checkpoint ``path``; returns ``(net, history)``.

    Pass the same ``X``, ``y`` (and ``validation_data``, ``sample_weight``,
    ``class_weight``) as the original ``fit``. Training continues from the
    epoch after the checkpoint up to ``epochs`` in total (default: the
    original target), writing the checkpoint back to ``path`` (or
    ``checkpoint``; ``None`` to write none). The parameters at the end equal,
    bit for bit, those of a run that never stopped.
    """
    from .optim import from_state_dict

    arrays, meta = load_checkpoint(path)
    net = net_from_payload(arrays, meta, os.fspath(path))
    net.rng.bit_generator.state = meta["rng_state"]
    opt_arrays = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    optimizer = from_state_dict({**meta["optimizer"], "arrays": opt_arrays})
    loss = get_loss(meta["loss"])
    s = meta["settings"]
    es = None if meta["early_stopping"] is None else EarlyStopping(**meta["early_stopping"])
    target = meta["epochs"] if epochs is None else check_positive_int(epochs, "epochs", minimum=0)

    X, Y, loss = net.prepare(X, y, loss)
    weights = _sample_weights(X, Y, loss, sample_weight, class_weight)
    split = None
    if validation_data is None and "split/train" in arrays:
        split = (arrays["split/train"], arrays["split/val"])
        if split[0].max(initial=-1) >= len(X) or split[1].max(initial=-1) >= len(X):
            raise ValueError(f"the checkpoint's validation split does not fit X with {len(X)} rows: "
                             "pass the same data as the original fit")
    X, Y, weights, X_val, Y_val = _validation_set(net, loss, X, Y, weights, validation_data, split)
    best = {k[len("best/"):]: v for k, v in arrays.items() if k.startswith("best/")} or None
    history = History.from_dict(meta["history"])
    history.stop_reason = ""
    run = _Run(net, loss, optimizer, target, s["batch_size"], s["shuffle"], X, Y, weights, X_val, Y_val,
               split, s, es, s["clip_norm"], s["clip_value"], history,
               dict(meta.get("early_stopping_state") or {}), best)
    out = path if checkpoint == "same" else checkpoint
    history = _train(run, start_epoch=int(meta["epoch"]), callbacks=_as_callbacks(callbacks),
                     checkpoint=out, verbose=verbose)
    return net, history
