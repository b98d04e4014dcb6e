r"""One playground session: data, network, optimiser, a training thread and its snapshots.

Nothing here re-implements training. The network is :func:`bprop.mlp.build_mlp`,
an epoch is ``net.fit(..., epochs=1)`` (so ``N`` epochs played equal one
``net.fit(..., epochs=N)`` with the same seed), a step in step mode is
:func:`bprop.explain.take_step`, z, a and δ of the selected sample come from
``net.trace``, the neuron heatmaps from each layer's own ``forward`` in eval
mode, and the equations BP1–BP4 from :mod:`bprop.explain.equations`.

A :class:`Session` is driven by :meth:`Session.handle` (one decoded client
message → a list of reply messages) and publishes snapshots through the
``publish`` callback, at most :data:`SNAPSHOT_HZ` per second while playing.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import os
import tempfile
import threading
import time
from numbers import Integral, Real

import numpy as np

from .. import losses as losses_mod
from .. import optim
from .._validation import Interval, Items, Options, check
from ..data import synthetic
from ..data.tabular import read_csv
from ..explain.equations import step_sections
from ..explain.render import MarkdownRenderer
from ..explain.step import Setup, take_step
from ..layers import BatchNorm, Dense
from ..mlp import build_mlp
from ..optim.transforms import AddL1Penalty
from ..training import Callback

#: snapshots per second while playing
SNAPSHOT_HZ = 15
#: the largest CSV upload (bytes of text)
MAX_CSV_BYTES = 1 << 20
#: the most rows and columns of an uploaded CSV
MAX_CSV_ROWS, MAX_CSV_COLUMNS = 5000, 32
#: cells per side of the output heatmap, and of each neuron's
GRID, NEURON_GRID = 40, 16
#: a network is at most this big
MAX_LAYERS, MAX_UNITS = 8, 16
#: the last points of the loss and gradient-norm curves kept and sent
MAX_HISTORY = 2000

DATASETS = ("circles", "xor", "gaussian", "spiral", "moons", "plane", "ripple")
FEATURES = {   # name -> f(x1, x2), the inputs TF Playground offers
    "x1": lambda a, b: a, "x2": lambda a, b: b, "x1^2": lambda a, b: a * a, "x2^2": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b, "sin_x1": lambda a, b: np.sin(a), "sin_x2": lambda a, b: np.sin(b),
}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity", "leaky_relu", "elu", "gelu")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
INITS = ("auto", "uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal",
         "orthogonal")
LOSSES = ("auto", "mse", "cross_entropy", "binary_cross_entropy")
REGULARIZATIONS = ("none", "l1", "l2")

#: the settings of a session and what each may be (the argument-check vocabulary of bprop._validation)
CONSTRAINTS = {
    "dataset": Options(DATASETS + ("csv",), type=str),
    "noise": Interval(Real, 0, 1, closed="both"),
    "train_ratio": Interval(Real, 0.1, 0.9, closed="both"),
    "n_samples": Interval(Integral, 20, 2000, closed="both"),
    "batch_size": Interval(Integral, 1, 2000, closed="both"),
    "features": Items(Options(tuple(FEATURES), type=str)),
    "loss": Options(LOSSES, type=str),
    "optimizer": Options(OPTIMIZERS, type=str),
    "learning_rate": Interval(Real, 0, 10, closed="right"),
    "regularization": Options(REGULARIZATIONS, type=str),
    "reg_rate": Interval(Real, 0, 10, closed="both"),
    "init": Options(INITS, type=str),
    "bias_init": Interval(Real, -1, 1, closed="both"),
    "seed": Interval(Integral, 0, 2**31 - 1, closed="both"),
    "layers": Items(dict),
}
LAYER_CONSTRAINTS = {
    "units": Interval(Integral, 1, MAX_UNITS, closed="both"),
    "activation": Options(ACTIVATIONS, type=str),
    "batchnorm": Options((True, False), type=bool),
    "dropout": Interval(Real, 0, 0.9, closed="both"),
}
DEFAULTS = {
    "dataset": "circles", "noise": 0.05, "train_ratio": 0.5, "n_samples": 500, "batch_size": 10,
    "features": ["x1", "x2"], "loss": "auto", "optimizer": "sgd", "learning_rate": 0.03,
    "regularization": "none", "reg_rate": 0.0, "init": "auto", "bias_init": 0.0, "seed": 0,
    "layers": [{"units": 4, "activation": "tanh", "batchnorm": False, "dropout": 0.0},
               {"units": 2, "activation": "tanh", "batchnorm": False, "dropout": 0.0}],
}


class ProtocolError(ValueError):
    """A message the session cannot act on; the reply names the problem and the fix."""


def check_config(raw) -> dict:
    """A complete, checked configuration: ``raw``'s entries over :data:`DEFAULTS`."""
    if not isinstance(raw, dict):
        raise ProtocolError(f"config must be an object of settings, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ProtocolError(f"unknown setting(s) {', '.join(map(repr, unknown))}; valid settings: "
                            f"{', '.join(DEFAULTS)}")
    cfg = {**DEFAULTS, **raw}
    try:
        out = {name: check(cfg[name], name, CONSTRAINTS[name]) for name in DEFAULTS}
        if not out["features"]:
            raise ValueError("features is empty; choose at least one input feature, e.g. ['x1', 'x2']")
        if len(out["layers"]) > MAX_LAYERS:
            raise ValueError(f"layers has {len(out['layers'])} hidden layers; the playground allows {MAX_LAYERS}")
        layers = []
        for k, layer in enumerate(out["layers"]):
            bad = sorted(set(layer) - set(LAYER_CONSTRAINTS))
            if bad:
                raise ValueError(f"layers[{k}] has unknown key(s) {', '.join(map(repr, bad))}; "
                                 f"valid keys: {', '.join(LAYER_CONSTRAINTS)}")
            full = {**DEFAULTS["layers"][0], **layer}
            layers.append({name: check(full[name], f"layers[{k}].{name}", c) for name, c in LAYER_CONSTRAINTS.items()})
        out["layers"] = layers
        out["features"] = list(dict.fromkeys(out["features"]))
    except (TypeError, ValueError) as exc:
        raise ProtocolError(str(exc)) from None
    return out


def _features(X2: np.ndarray, names: list[str]) -> np.ndarray:
    """The chosen input features of 2-D points ``X2`` (n, 2)."""
    a, b = X2[:, 0], X2[:, 1]
    return np.column_stack([FEATURES[name](a, b) for name in names])


def parse_csv(text: str, name: str, *, train_ratio: float, seed: int):
    """An uploaded CSV (last column the target) read by :func:`bprop.data.tabular.read_csv`."""
    if not isinstance(text, str):
        raise ProtocolError("upload: csv must be the file's text")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CSV_BYTES:
        raise ProtocolError(f"upload: {name} is over {MAX_CSV_BYTES // 1024} KiB; the playground takes "
                            f"small data sets (at most {MAX_CSV_ROWS} rows)")
    with tempfile.TemporaryDirectory(prefix="bprop-playground-") as tmp:
        path = os.path.join(tmp, "upload.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        try:
            ds = read_csv(path, test_size=1.0 - train_ratio, seed=seed)
        except (ValueError, TypeError, OSError) as exc:
            raise ProtocolError(f"upload: {str(exc).replace(repr(path), repr(name)).replace(path, name)}") from None
    n = len(ds.X_train) + len(ds.X_test)
    if n > MAX_CSV_ROWS or ds.X_train.shape[1] + 1 > MAX_CSV_COLUMNS:
        raise ProtocolError(f"upload: {name} has {n} rows and {ds.X_train.shape[1] + 1} columns; the playground "
                            f"takes at most {MAX_CSV_ROWS} rows and {MAX_CSV_COLUMNS} columns")
    if ds.X_train.shape[1] < 2:
        raise ProtocolError(f"upload: {name} has {ds.X_train.shape[1]} feature column(s); give at least two "
                            "(x1, x2, …) and the target last")
    return ds


class Session:
    """One visitor's playground: its configuration, network, optimiser and training thread.

    Parameters
    ----------
    publish : callable(dict) -> None
        Called (from any thread) with each snapshot to send.
    config : dict, optional
        Settings over :data:`DEFAULTS`.
    """

    def __init__(self, publish, config=None):
        self.publish = publish
        self.lock = threading.RLock()
        self.wake = threading.Condition(self.lock)
        self.playing = False
        self.closed = False
        self.selected = 0
        self.csv = None            # (name, Dataset) of an uploaded file
        self.thread = threading.Thread(target=self._run, name="bprop-playground-session", daemon=True)
        self.reset(check_config(config or {}))
        self.thread.start()

    # ------------------------------------------------------------------ set-up
    def reset(self, cfg: dict | None = None) -> None:
        """Rebuild data, network and optimiser from ``cfg`` (default: the current settings); epoch 0."""
        with self.lock:
            self.cfg = cfg if cfg is not None else self.cfg
            self._load_data()
            self._build()
            self.epoch, self.steps, self.step_rows = 0, 0, None
            self.history, self.grad_history = [], []
            self.last_update, self.last_grads = {}, {}
            self.error = None
            self.selected = min(self.selected, len(self.X_train) - 1)

    def _load_data(self) -> None:
        cfg = self.cfg
        if cfg["dataset"] == "csv":
            if self.csv is None:
                raise ProtocolError("dataset 'csv' needs a file: upload one first (message 'upload')")
            name, ds = self.csv
            self.task, self.class_names = ds.task, ds.class_names
            raw_train, raw_test = ds.X_train, ds.X_test
            self.feature_names = list(ds.feature_names)
        else:
            ds = synthetic.load(cfg["dataset"], n_samples=cfg["n_samples"], noise=cfg["noise"],
                                seed=cfg["seed"], test_size=1.0 - cfg["train_ratio"])
            self.task, self.class_names = ds.task, ds.class_names
            raw_train, raw_test = ds.X_train, ds.X_test
            self.feature_names = list(cfg["features"])
        self.raw_train, self.raw_test = raw_train, raw_test
        self.y_train, self.y_test = ds.y_train, ds.y_test
        both = np.vstack([raw_train, raw_test])
        span = float(np.max(np.abs(both[:, :2]))) * 1.1 or 1.0
        self.extent = [-span, span]
        if cfg["dataset"] == "csv":
            self.X_train, self.X_test = raw_train, raw_test
        else:
            self.X_train, self.X_test = _features(raw_train, self.feature_names), _features(raw_test, self.feature_names)
        self.n_classes = len(self.class_names) if self.class_names else 0

    def _loss_and_outputs(self):
        name = self.cfg["loss"]
        if name == "auto":
            name = "mse" if self.task == "regression" else "cross_entropy"
        if self.task == "regression" and name != "mse":
            raise ProtocolError(f"loss {name!r} needs classes, and this data set is a regression; use 'mse'")
        k = self.n_classes
        if name == "cross_entropy":
            return losses_mod.CrossEntropy(), k, self.y_train, self.y_test
        if name == "binary_cross_entropy":
            if k == 2:
                return losses_mod.BinaryCrossEntropy(), 1, self.y_train.astype(float), self.y_test.astype(float)
            eye = np.eye(k)
            return losses_mod.BinaryCrossEntropy(), k, eye[self.y_train], eye[self.y_test]
        if self.task == "regression":
            return losses_mod.MSE(), 1, self.y_train, self.y_test
        eye = np.eye(k)     # MSE on one-hot targets, the output through a sigmoid
        return losses_mod.MSE(), k, eye[self.y_train], eye[self.y_test]

    def _build(self) -> None:
        cfg = self.cfg
        self.loss, n_out, self.t_train, self.t_test = self._loss_and_outputs()
        self.output_activation = "sigmoid" if (self.loss.name == "mse" and self.task != "regression") else None
        layers = cfg["layers"]
        init = None if cfg["init"] == "auto" else cfg["init"]
        self.net = build_mlp(self.X_train.shape[1], [layer["units"] for layer in layers], n_out,
                             activation=[layer["activation"] for layer in layers] or "tanh",
                             output_activation=self.output_activation, init=init, bias_init=cfg["bias_init"],
                             batchnorm=[layer["batchnorm"] for layer in layers] or False,
                             dropout=[layer["dropout"] for layer in layers] or 0.0, seed=cfg["seed"],
                             dtype="float64")
        self.dense = [i for i, layer in enumerate(self.net.layers) if isinstance(layer, Dense)]
        self.optimizer = self._optimizer()

    def _optimizer(self):
        """The optimiser by name; L2 is its ``weight_decay``, L1 an :class:`AddL1Penalty` before its chain."""
        cfg = self.cfg
        kwargs = {"lr": cfg["learning_rate"]}
        if cfg["regularization"] == "l2":
            kwargs["weight_decay"] = cfg["reg_rate"]
        opt = optim.get(cfg["optimizer"], **kwargs)
        if cfg["regularization"] == "l1" and cfg["reg_rate"] > 0:
            return optim.chain(AddL1Penalty(cfg["reg_rate"]), *opt.transforms)
        return opt

    # ------------------------------------------------------------------ training
    def train_epochs(self, epochs: int = 1) -> None:
        """``epochs`` epochs of ``net.fit`` with the session's settings (one call per epoch)."""
        for _ in range(epochs):
            with self.lock:
                keep = _LastStep(self.net)
                hist = self.net.fit(self.X_train, self.t_train, loss=self.loss, optimizer=self.optimizer, epochs=1,
                                    batch_size=min(self.cfg["batch_size"], len(self.X_train)), verbose=0,
                                    callbacks=[keep])
                self.epoch += 1
                rec = hist.records[-1]
                self.last_update = keep.update()
                self.last_grads = {k: g.copy() for k, g in self.net.grads.items()}
                self._record(rec)

    def _record(self, rec: dict | None) -> None:
        train, test = self.losses()
        self.history.append({"epoch": self.epoch, "step": self.steps, "loss": train, "val_loss": test})
        norms = {}
        for l, i in enumerate(self.dense, start=1):
            g = self.last_grads.get(f"{i}.W")
            key = f"grad_norm/{i}.W"
            norms[str(l)] = float(rec[key]) if rec is not None and key in rec else \
                (float(np.linalg.norm(g)) if g is not None else 0.0)
        self.grad_history.append({"epoch": self.epoch, "norms": norms})
        del self.history[:-MAX_HISTORY], self.grad_history[:-MAX_HISTORY]

    def losses(self) -> tuple[float, float]:
        """C on the whole training and test parts, the network in eval mode."""
        train = float(self.loss(self.net.predict(self.X_train), self.t_train))
        test = float(self.loss(self.net.predict(self.X_test), self.t_test)) if len(self.X_test) else float("nan")
        return train, test

    def step(self) -> dict:
        """One mini-batch step with :func:`bprop.explain.take_step`; returns the ``formulas`` message.

        The batch is the selected sample followed by the next ``batch_size − 1``
        rows of a permutation drawn from ``net.rng``, so that row 1 of every
        matrix in the equations is the selected sample.
        """
        with self.lock:
            n, B = len(self.X_train), min(self.cfg["batch_size"], len(self.X_train))
            others = self.net.rng.permutation(n)
            others = others[others != self.selected][: B - 1]
            rows = np.concatenate([[self.selected], others])
            Xb, tb = self.X_train[rows], self.t_train[rows]
            before = {k: v.copy() for k, v in self.net.params.items()}
            s = take_step(self.net, Xb, tb, self.loss, self.optimizer, number=self.steps + 1)
            self.steps += 1
            self.last_update = {k: self.net.params[k] - before[k] for k in before}
            self.last_grads = {k: g.copy() for k, g in self.net.grads.items()}
            batches_per_epoch = math.ceil(n / B)
            if self.steps % batches_per_epoch == 0:
                self.epoch += 1
            self._record(None)
            return {"type": "formulas", "step": self.steps, "sample": int(self.selected), "rows": len(rows),
                    "sections": self._sections(s)}

    def _sections(self, s) -> list[dict]:
        opt = type(self.optimizer).__name__
        if self.cfg["regularization"] == "l1" and self.cfg["reg_rate"] > 0:
            opt = f"{self.cfg['optimizer']} + L1"
        plain = opt == "SGD" and self.cfg["optimizer"] == "sgd" and self.cfg["regularization"] == "none"
        setup = Setup(title="", widths=[], activation="", output_activation=self.output_activation or "identity",
                      loss_label=self.loss.name, optimizer_label=self.cfg["optimizer"], optimizer_class=opt,
                      lr=self.cfg["learning_rate"], has_bias=True, plain_sgd=plain)
        r = _ShortLatex(precision=4)
        return [{"title": sec.title, "equations": [{"tag": e.tag, "latex": r.eq(e)} for e in sec.eqs]}
                for sec in step_sections(s, setup)]

    def _run(self) -> None:
        """The worker thread: while playing, train epochs and publish a snapshot every 1/SNAPSHOT_HZ s."""
        last = 0.0
        while True:
            with self.lock:
                while not self.playing and not self.closed:
                    self.wake.wait()
                if self.closed:
                    return
                try:
                    self.train_epochs(1)       # under the same lock: no epoch starts after a pause is handled
                except Exception as exc:       # noqa: BLE001 - reported to the page; the thread must live on
                    self.playing = False
                    self.error = str(exc)
                    self.publish({"type": "error", "message": f"training stopped: {exc}"})
                    self.publish(self.snapshot())
                    continue
            now = time.monotonic()
            if now - last >= 1.0 / SNAPSHOT_HZ:
                last = now
                with self.lock:
                    if self.playing:
                        self.publish(self.snapshot())
            else:
                time.sleep(0)   # let a command take the lock

    def set_playing(self, playing: bool) -> None:
        # The flag first, without the lock: the worker reads it before every epoch, so a pause never
        # waits for the lock behind a worker that takes it again at once.
        self.playing = playing
        with self.lock:
            self.wake.notify_all()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.playing = False
            self.wake.notify_all()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)

    # ------------------------------------------------------------------ read-outs
    def _grid(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs at ``size × size`` points over the drawn plane (rows: top to bottom)."""
        lo, hi = self.extent
        xs = np.linspace(lo, hi, size)
        gx, gy = np.meshgrid(xs, xs[::-1])
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        if self.cfg["dataset"] == "csv":
            rest = np.vstack([self.X_train, self.X_test]).mean(axis=0)
            inputs = np.tile(rest, (len(pts), 1))
            inputs[:, :2] = pts
            return pts, inputs
        return pts, _features(pts, self.feature_names)

    def _output_map(self, out: np.ndarray) -> list:
        """The heatmap value of each point: P(class 1), the winning class, or the regression output."""
        if self.task == "regression":
            return out[:, 0].tolist()
        p = self.loss.output_to_prediction(out) if self.loss.takes_logits else out
        if p.shape[1] == 1:
            return p[:, 0].tolist()
        if p.shape[1] == 2:
            return (p[:, 1] / np.maximum(p.sum(axis=1), 1e-300)).tolist()
        return (np.argmax(p, axis=1) + np.max(p, axis=1) / np.maximum(p.sum(axis=1), 1e-300) * 0.999).tolist()

    def _neuron_maps(self, inputs: np.ndarray) -> list:
        """Each hidden neuron's activation over the grid: every layer's own forward, eval mode."""
        maps, A = [], inputs
        for i, layer in enumerate(self.net.layers):
            A = layer.forward(A, False)
            nxt = i + 1 < len(self.net.layers) and isinstance(self.net.layers[i + 1], Dense)
            if nxt:
                maps.append(np.round(A.T, 4).tolist())
        return maps

    def sample_trace(self) -> list[dict]:
        """z, a and δ of every layer for the selected training sample: ``net.trace`` on that one row.

        A network with BatchNorm cannot take a batch of one in training mode; its
        sample is traced as row ``selected`` of the whole training set (so its δ carries 1/n).
        """
        r = self.selected
        if any(isinstance(layer, BatchNorm) for layer in self.net.layers):
            recs, row = self.net.trace(self.X_train, self.t_train, self.loss), r
        else:
            recs, row = self.net.trace(self.X_train[r:r + 1], self.t_train[r:r + 1], self.loss), 0
        return [{"z": rec["z"][row].tolist(), "a": rec["a_out"][row].tolist(), "delta": rec["delta"][row].tolist()}
                for rec in recs]

    def snapshot(self) -> dict:
        """Everything the page draws, as JSON-able lists (float64 numbers, exact)."""
        with self.lock:
            if not self.history:
                train, test = self.losses()
            else:
                train, test = self.history[-1]["loss"], self.history[-1]["val_loss"]
            pts, inputs = self._grid(GRID)
            _, small = self._grid(NEURON_GRID)
            opt_state = self.optimizer.state_dict().get("arrays", {})
            layers = []
            for l, i in enumerate(self.dense, start=1):
                W = self.net.params[f"{i}.W"]
                entry = {"index": i, "W": W.tolist(),
                         "b": self.net.params[f"{i}.b"].tolist() if f"{i}.b" in self.net.params else None,
                         "dW": _list(self.last_grads.get(f"{i}.W")), "db": _list(self.last_grads.get(f"{i}.b")),
                         "dW_update": _list(self.last_update.get(f"{i}.W")),
                         "db_update": _list(self.last_update.get(f"{i}.b"))}
                for key, arr in opt_state.items():
                    kind, _, param = key.partition("/")
                    if param == f"{i}.W" and kind in ("adam.m", "adam.v"):
                        entry[kind.replace("adam.", "adam_")] = arr.tolist()
                layers.append(entry)
            return {
                "type": "snapshot", "epoch": self.epoch, "step": self.steps, "playing": self.playing,
                "loss_train": train, "loss_test": test, "loss_name": self.loss.name, "task": self.task,
                "n_classes": self.n_classes, "features": self.feature_names,
                "widths": [self.X_train.shape[1]] + [self.net.layers[i].n_out for i in self.dense],
                "activations": [layer["activation"] for layer in self.cfg["layers"]], "layers": layers,
                "selected": int(self.selected), "sample": self.sample_trace(),
                "selected_point": self.raw_train[self.selected, :2].tolist(),
                "heatmap": {"size": GRID, "extent": self.extent,
                            "values": np.round(self._output_map(self.net.predict(inputs)), 5).tolist()},
                "neurons": {"size": NEURON_GRID, "maps": self._neuron_maps(small)},
                "history": self.history[-MAX_HISTORY:], "grad_history": self.grad_history[-MAX_HISTORY:],
                "error": self.error,
            }

    def points(self) -> dict:
        """The data points to draw (the first two raw features) and their targets."""
        with self.lock:
            return {"type": "data", "extent": self.extent, "task": self.task, "n_classes": self.n_classes,
                    "train": np.round(self.raw_train[:, :2], 5).tolist(), "train_y": self.y_train.tolist(),
                    "test": np.round(self.raw_test[:, :2], 5).tolist(), "test_y": self.y_test.tolist(),
                    "config": self.cfg, "csv_name": self.csv[0] if self.csv else None}

    # ------------------------------------------------------------------ exports
    def export_model(self) -> bytes:
        """The network as bprop's ``.npz`` (``bp.load`` reads it back)."""
        with self.lock, tempfile.TemporaryDirectory(prefix="bprop-playground-") as tmp:
            path = os.path.join(tmp, "model.npz")
            self.net.metadata["playground"] = {"features": self.feature_names, "config": self.cfg}
            self.net.save(path)
            with open(path, "rb") as f:
                return f.read()

    def export_history(self) -> str:
        with self.lock:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            keys = [str(l) for l in range(1, len(self.dense) + 1)]
            w.writerow(["epoch", "step", "loss", "val_loss"] + [f"grad_norm_W{k}" for k in keys])
            for rec, g in zip(self.history, self.grad_history):
                w.writerow([rec["epoch"], rec["step"], repr(rec["loss"]), repr(rec["val_loss"])]
                           + [repr(g["norms"].get(k, 0.0)) for k in keys])
            return buf.getvalue()

    def command_line(self) -> str:
        """The configuration as a ``bprop train`` command (what the CLI can express of it)."""
        cfg = self.cfg
        data = "csv:data.csv" if cfg["dataset"] == "csv" else cfg["dataset"]
        parts = ["bprop", "train", "--data", data]
        if cfg["dataset"] != "csv":
            parts += ["--n-samples", str(cfg["n_samples"]), "--noise", f"{cfg['noise']:g}"]
        parts += ["--test-size", f"{1 - cfg['train_ratio']:g}", "--no-standardize"]
        if cfg["layers"]:
            parts += ["--layers", ",".join(str(layer["units"]) for layer in cfg["layers"]),
                      "--activation", cfg["layers"][0]["activation"]]
            if any(layer["batchnorm"] for layer in cfg["layers"]):
                parts.append("--batchnorm")
            drop = max(layer["dropout"] for layer in cfg["layers"])
            if drop:
                parts += ["--dropout", f"{drop:g}"]
        parts += ["--loss", self.loss.name, "--optimizer", cfg["optimizer"], "--lr", f"{cfg['learning_rate']:g}",
                  "--batch-size", str(cfg["batch_size"]), "--epochs", str(max(self.epoch, 1)),
                  "--seed", str(cfg["seed"]), "--dtype", "float64"]
        if cfg["init"] != "auto":
            parts += ["--init", cfg["init"]]
        if cfg["regularization"] == "l2" and cfg["reg_rate"]:
            parts += ["--weight-decay", f"{cfg['reg_rate']:g}"]
        missing = []     # what bprop train's options cannot say
        if cfg["regularization"] == "l1" and cfg["reg_rate"]:
            missing.append(f"L1 λ = {cfg['reg_rate']:g}")
        if cfg["dataset"] != "csv" and cfg["features"] != ["x1", "x2"]:
            missing.append(f"features {', '.join(cfg['features'])}")
        if len({layer["activation"] for layer in cfg["layers"]}) > 1:
            missing.append(f"activations {', '.join(layer['activation'] for layer in cfg['layers'])}")
        if cfg["bias_init"]:
            missing.append(f"bias init {cfg['bias_init']:g}")
        line = " ".join(parts)
        return line + (f"   # not expressible as options: {'; '.join(missing)}" if missing else "")

    # ------------------------------------------------------------------ messages
    def handle(self, msg) -> list[dict]:
        """Act on one decoded client message; returns the replies (see ``docs/PLAYGROUND.md``)."""
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ProtocolError('a message is a JSON object with a "type", e.g. {"type": "play"}')
        kind = msg["type"]
        if kind == "play":
            self.set_playing(True)
            return [{"type": "state", "playing": True}]
        if kind == "pause":
            self.set_playing(False)
            return [{"type": "state", "playing": False}, self.snapshot()]
        if kind == "step":
            self.set_playing(False)
            with self.lock:
                formulas = self.step()
                return [{"type": "state", "playing": False}, formulas, self.snapshot()]
        if kind == "reset":
            self.set_playing(False)
            self.reset()
            return [{"type": "state", "playing": False}, self.points(), self.snapshot()]
        if kind == "config":
            cfg = check_config(msg.get("config", {}))
            self.set_playing(False)
            with self.lock:
                old = self.cfg
                try:
                    self.reset(cfg)
                except ProtocolError:
                    self.reset(old)
                    raise
            data = self.points()
            if "seq" in msg:
                data["seq"] = msg["seq"]      # which config this answers (the page ignores older answers)
            return [{"type": "state", "playing": False}, data, self.snapshot()]
        if kind == "select":
            index = msg.get("index")
            with self.lock:
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.X_train):
                    raise ProtocolError(f"select: index must be a training sample 0..{len(self.X_train) - 1}, "
                                        f"got {index!r}")
                self.selected = index
                return [self.snapshot()]
        if kind == "upload":
            name = str(msg.get("name") or "upload.csv")[:200]
            with self.lock:
                ds = parse_csv(msg.get("csv"), name, train_ratio=self.cfg["train_ratio"], seed=self.cfg["seed"])
                self.set_playing(False)
                old_csv, old_cfg = self.csv, self.cfg
                self.csv = (name, ds)
                try:
                    self.reset({**self.cfg, "dataset": "csv"})
                except ProtocolError:
                    self.csv = old_csv
                    self.reset(old_cfg)
                    raise
                return [{"type": "state", "playing": False}, self.points(), self.snapshot()]
        if kind == "export":
            what = msg.get("what")
            if what == "model":
                data = base64.b64encode(self.export_model()).decode("ascii")
                return [{"type": "export", "what": "model", "filename": "model.npz", "base64": data}]
            if what == "history":
                return [{"type": "export", "what": "history", "filename": "history.csv", "text": self.export_history()}]
            if what == "command":
                return [{"type": "export", "what": "command", "text": self.command_line()}]
            raise ProtocolError(f"export: what must be 'model', 'history' or 'command', got {what!r}")
        if kind == "hello":
            return [self.points(), self.snapshot()]
        raise ProtocolError(f"unknown message type {kind!r}; valid types: hello, config, play, pause, step, reset, "
                            "select, upload, export")


class _LastStep(Callback):
    """A ``fit`` callback that keeps the parameters before the latest step, for the last update Δθ."""

    def __init__(self, net):
        self.prev = {k: v.copy() for k, v in net.params.items()}
        self.before = self.prev
        self.net = net

    def on_batch_end(self, net, step, batch_loss):
        self.before = self.prev
        self.prev = {k: v.copy() for k, v in net.params.items()}
        return None

    def update(self) -> dict:
        return {k: self.net.params[k] - self.before[k] for k in self.before}


class _ShortLatex(MarkdownRenderer):
    """bprop explain's LaTeX spelling, with matrices over 6 rows or columns shortened (⋮, ⋯)."""

    def matrix(self, rows):
        return super().matrix(_shorten(rows))

    def row(self, entries):
        return super().row(_shorten([entries])[0])


def _shorten(rows: list[list[str]]) -> list[list[str]]:
    if len(rows) > 6:
        rows = rows[:4] + [[r"\vdots"] * len(rows[0])] + rows[-1:]
    if rows and len(rows[0]) > 6:
        rows = [r[:4] + [r"\cdots"] + r[-1:] for r in rows]
    return rows


def _list(a):
    return None if a is None else a.tolist()
