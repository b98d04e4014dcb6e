"""Train a network and write a run folder: model, checkpoint, history, config, plots and a report.

With no options, trains a 64-128-64-10 ReLU network with Adam on
scikit-learn's digits for 20 epochs (a few seconds). Features are
standardised with the training part's mean and standard deviation; the
Standardizer and the class names are saved in the model, so 'bprop predict'
applies the same transform and maps predictions back to the original labels.

The run folder (--out, default runs/<timestamp>-<data>) gets: model.npz,
checkpoint.npz (after every epoch), history.csv, history.json, config.toml
(every setting, resolved: 'bprop train --config RUN/config.toml' repeats the
run exactly), report.md, and the PNG plots loss.png, metric.png,
gradient_norms.png, confusion_matrix.png or residuals.png, and
decision_boundary.png (2-D classification), surface.png (2-D regression) or
fit.png (1-D regression).

Settings come from, in increasing priority: the defaults, --config FILE.toml
(keys named like the options: batch_size or batch-size, layers = [128, 64]),
and the command line. Ctrl-C stops training, keeps the checkpoint of the last
finished epoch and prints how to resume; --resume RUN continues a run from its
checkpoint (optionally with more --epochs) and ends with the same model, bit
for bit, as a run that never stopped.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from numbers import Integral, Real

from ..io import write_text
from .._validation import Interval, check
from ..training import Callback
from .config import DEFAULTS, read_train_config
from .options import UsageError, add_parser, check_name, dump_toml, parse_int_list

EXAMPLES = """\
  bprop train                                              # digits, 64-128-64-10, Adam, 20 epochs
  bprop train --data moons --noise 0.25 --layers 16,16 --activation tanh --epochs 300 --out runs/moons
  bprop train --data spiral --layers 64,64 --batchnorm --dropout 0.1 --schedule cosine --epochs 200
  bprop train --data sine --layers 32,32 --activation tanh --lr 3e-3 --epochs 400
  bprop train --data csv:houses.csv --target price --layers 64 --early-stopping 20 --epochs 500
  bprop train --data mnist --layers 256,128 --batch-size 128 --epochs 10
  bprop train --config runs/moons/config.toml --seed 1     # the same run with another seed
  bprop train --resume runs/moons --epochs 500             # continue to 500 epochs
"""

SCHEDULES = {
    "constant": {},
    "step": {"every": None, "gamma": 0.1},
    "exponential": {"gamma": 0.95},
    "cosine": {"min_lr": 0.0},
    "warmup": {"epochs": 1},
    "plateau": {"factor": 0.5, "patience": 5},
}
#: --schedule keys named for their unit, and the schedule argument each one gives (in epochs)
SCHEDULE_ARGS = {"every": "step_size", "epochs": "warmup_steps"}
#: --schedule keys counted in epochs, checked under their own names
SCHEDULE_EPOCHS = {"every": Interval(Integral, 1, None, closed="left"),
                   "epochs": Interval(Integral, 1, None, closed="left"),
                   "patience": Interval(Integral, 0, None, closed="left")}
COMMENTS = {
    "data": "bprop datasets lists the names; csv:PATH for a CSV file",
    "n_samples": "all samples",
    "test_size": "fraction held out as the test part (reported in report.md)",
    "standardize": "x' = (x − mean) / std, fitted on the training part, saved with the model",
    "layers": "hidden widths; input and output widths come from the data",
    "loss": "cross_entropy (classification), mse (regression), mae, huber, poisson (y ≥ 0), bce (multi-label); "
            "arguments: huber:delta=0.5",
    "lr": "learning rate η",
    "schedule": "constant | step:every=E,gamma=G | exponential:gamma=G | cosine:min_lr=M | warmup:epochs=E | "
                "plateau:factor=F,patience=P (E in epochs, G per epoch)",
    "val_split": "fraction of the training part held out for validation",
    "early_stopping": "patience in epochs; 0 = off",
    "clip_norm": "off",
    "backend": "numpy (the formulas as written) or numba (compiled variants and a fused optimiser; same numbers)",
}


def register(subparsers) -> None:
    p = add_parser(subparsers, "train", __doc__, EXAMPLES)
    g = p.add_argument_group("run")
    g.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file (options given on the "
                   "command line win), e.g. --config runs/moons/config.toml")
    g.add_argument("--out", metavar="DIR", help="run folder to write, e.g. --out runs/moons "
                   "(default runs/<timestamp>-<data>)")
    g.add_argument("--overwrite", action="store_true", default=None,
                   help="replace the run already in the --out folder (its files are removed first; a folder "
                   "holding other files is still refused), e.g. --out runs/moons --overwrite")
    g.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its checkpoint; only "
                   "--epochs, --data-dir, --threads and --quiet may be given with it; e.g. --resume runs/moons "
                   "--epochs 400")
    g.add_argument("--quiet", action="store_true", default=None,
                   help="no progress bar or epoch table; print only the run folder and the test metrics")
    g.add_argument("--no-plots", dest="plots", action="store_false", default=True,
                   help="skip the PNG plots (and their links in report.md)")
    g.add_argument("--threads", type=int, metavar="N", help="at most N threads for NumPy's BLAS and numba while "
                   "training (needs threadpoolctl); default: the libraries' own (one per core). On a machine "
                   "shared with other busy processes give at most the cores this run has to itself: BLAS "
                   "threads spin while they wait. Not saved in config.toml; e.g. --threads 1")
    g.add_argument("--lang", default=None, metavar="CODE",
                   help="language of report.md: en or zh (default $BPROP_LANG, else en); e.g. --lang zh")
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="NAME", help="data set (see 'bprop datasets') or csv:PATH, e.g. --data moons "
                   "(default digits)")
    g.add_argument("--n-samples", type=int, metavar="N", help="synthetic sets: points to generate (default 500); "
                   "others: a stratified subset of N samples; e.g. --n-samples 1000")
    g.add_argument("--noise", type=float, metavar="S", help="noise of a synthetic set, e.g. --noise 0.2")
    g.add_argument("--target", metavar="COLUMN", help="csv: target column, by name or index (default the last), "
                   "e.g. --target price; several columns of 0/1 labels train a multi-label network with bce, e.g. "
                   "--target rain,wind")
    g.add_argument("--data-dir", metavar="DIR", help="folder with the MNIST/Fashion-MNIST IDX .gz files "
                   "(else BPROP_DATA_DIR, else the cache, downloading once), e.g. --data-dir ~/data/mnist")
    g.add_argument("--test-size", type=float, metavar="F", help="fraction held out as test data, e.g. --test-size "
                   "0.25 (default 0.2; MNIST keeps its official test set)")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="standardise features with the training part's mean and std (default on, except for the pixel "
                   "sets mnist and fashion-mnist)")
    g = p.add_argument_group("network")
    g.add_argument("--layers", metavar="H1,H2,...", help="hidden layer widths, e.g. --layers 128,64 "
                   "(default 128,64; 'none' for no hidden layer)")
    g.add_argument("--activation", metavar="NAME", help="hidden activation: relu (default), leaky_relu, elu, "
                   "gelu, tanh, sigmoid, identity; e.g. --activation tanh")
    g.add_argument("--init", metavar="NAME", help="weight initialiser: he_normal for ReLU-like activations and "
                   "xavier_uniform otherwise by default; torch_default starts weights and biases as torch.nn.Linear "
                   "does, U(±1/√n_in); e.g. --init orthogonal")
    g.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None,
                   help="BatchNorm after every hidden Dense layer (then without bias), e.g. --batchnorm")
    g.add_argument("--sync-batchnorm", action=argparse.BooleanOptionalAction, default=None,
                   help="under mpiexec, BatchNorm statistics of the global batch (all-reduced) instead of each "
                   "process's part: the run then equals the one-process run (with --batchnorm)")
    g.add_argument("--dropout", type=float, metavar="P", help="dropout probability after every hidden "
                   "activation, e.g. --dropout 0.2 (default 0)")
    g.add_argument("--dtype", metavar="DTYPE", help="float32 (default) or float64, e.g. --dtype float64")
    g.add_argument("--backend", metavar="NAME", help="numpy: the NumPy formulas as written in the layers, losses "
                   "and optimisers; numba: their compiled one-pass variants and a fused optimiser (pip install "
                   "'bprop[fast]'), the same numbers, faster; default $BPROP_BACKEND, else numpy; e.g. --backend numba")
    g = p.add_argument_group("training")
    g.add_argument("--loss", metavar="NAME", help="cross_entropy (classification default; "
                   "cross_entropy:label_smoothing=0.1 smooths the targets), mse (regression default; one-hot "
                   "targets on classes), mae, huber (huber:delta=0.5), poisson (counts or rates y ≥ 0, "
                   "predicted as e^z), or bce (also for several 0/1 target columns, --target a,b); e.g. --loss huber")
    g.add_argument("--optimizer", metavar="NAME", help="sgd, momentum, nesterov, rmsprop, adam (default), adamw; "
                   "e.g. --optimizer momentum")
    g.add_argument("--lr", type=float, metavar="η", help="learning rate (default: 1e-3 for adam/adamw, 0.01 "
                   "otherwise), e.g. --lr 3e-3")
    g.add_argument("--weight-decay", type=float, metavar="λ", help="L2 weight decay (decoupled for adamw), "
                   "e.g. --weight-decay 1e-4 (default 0; 0.01 for adamw)")
    g.add_argument("--schedule", metavar="SPEC", help="learning-rate schedule: constant (default), "
                   "step[:every=E,gamma=G], exponential[:gamma=G], cosine[:min_lr=M], warmup[:epochs=E], "
                   "plateau[:factor=F,patience=P]; E in epochs, G per epoch; e.g. --schedule cosine")
    g.add_argument("--batch-size", type=int, metavar="N", help="mini-batch size, e.g. --batch-size 128 "
                   "(default 32)")
    g.add_argument("--epochs", type=int, metavar="N", help="passes over the training data, e.g. --epochs 50 "
                   "(default 20); with --resume: the new total")
    g.add_argument("--clip-norm", type=float, metavar="MAX", help="rescale gradients to a global 2-norm of at "
                   "most MAX, e.g. --clip-norm 1.0 (default off)")
    g.add_argument("--val-split", type=float, metavar="F", help="fraction of the training part held out for "
                   "validation, e.g. --val-split 0.2 (default 0.1; 0 for none)")
    g.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="stop when the validation loss has "
                   "not improved for PATIENCE epochs and keep the best epoch's weights, e.g. --early-stopping 10 "
                   "(default 0 = off)")
    g.add_argument("--seed", type=int, metavar="INT", help="seed of data generation, splits, initialisation, "
                   "shuffling and dropout, e.g. --seed 1 (default 0)")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- resolving settings
#: What each number or switch of the config accepts (the vocabulary of bprop._validation).
SETTINGS = {
    "n_samples": Interval(Integral, 1, None, closed="left"),
    "noise": Interval(Real, 0, None, closed="left"),
    "test_size": Interval(Real, 0, 1, closed="left"),
    "standardize": bool,
    "batchnorm": bool,
    "sync_batchnorm": bool,
    "dropout": Interval(Real, 0, 1, closed="left"),
    "lr": Interval(Real, 0, None, closed="neither"),
    "weight_decay": Interval(Real, 0, None, closed="left"),
    "batch_size": Interval(Integral, 1, None, closed="left"),
    "epochs": Interval(Integral, 0, None, closed="left"),
    "clip_norm": Interval(Real, 0, None, closed="neither"),
    "val_split": Interval(Real, 0, 1, closed="left"),
    "early_stopping": Interval(Integral, 0, None, closed="left"),
    "seed": Interval(Integral, 0, None, closed="left"),
    "quiet": bool,
    "threads": Interval(Integral, 1, None, closed="left"),
}
#: the most parameters 'bprop train' builds (784-256-128-10 for MNIST has 235,146): a mistyped width
#: is refused before anything is allocated
MAX_PARAMETERS = 100_000_000


def _setting(value, key):
    """``value`` of config key ``key`` checked against :data:`SETTINGS`; a :class:`UsageError`
    naming the option otherwise. A TOML whole float (``epochs = 3.0``) counts as an integer
    and a string that spells a number (``lr = "1e-3"``) as that number."""
    constraint = SETTINGS[key]
    if isinstance(constraint, Interval) and constraint.type is Integral:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
    elif isinstance(constraint, Interval) and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass        # the check below reports the string
    try:
        return check(value, key, constraint)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--{key.replace('_', '-')}: {exc}") from None


def _folder(value, key):
    """A folder path of config key ``key`` (``out``, ``data_dir``): a non-empty string, else a usage error."""
    try:
        check(value, key, str)
    except TypeError as exc:
        raise UsageError(f"--{key.replace('_', '-')}: {exc}") from None
    if not value.strip():
        raise UsageError(f"--{key.replace('_', '-')}: expected a folder, got an empty string")
    return value


def check_network_size(layers: list[int], n_in: int = 1, n_out: int = 1) -> None:
    """A usage error naming the hidden layer at which a network of these widths passes
    :data:`MAX_PARAMETERS` (checked with the data's ``n_in``/``n_out`` once known)."""
    sizes = [n_in, *layers, n_out]
    total = 0
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        total += a * b + b
        if total > MAX_PARAMETERS:
            where = f"hidden layer {i + 1} of {b:,} units" if i < len(layers) else f"the output layer after " \
                f"{a:,} units"
            raise UsageError(f"--layers: {where} gives the network at least {total:,} parameters; bprop train "
                             f"builds at most {MAX_PARAMETERS:,}: use smaller widths, e.g. --layers 128,64")


def parse_schedule(spec: str) -> tuple[str, dict]:
    """``"step:every=10,gamma=0.5"`` → ``("step", {"every": 10, "gamma": 0.5})`` with defaults filled in."""
    name, _, rest = str(spec).strip().partition(":")
    name = check_name("schedule", "--schedule", name, SCHEDULES)
    params = dict(SCHEDULES[name])
    if rest.strip():
        for item in rest.split(","):
            k, eq, v = item.partition("=")
            k = k.strip()
            if not eq or k not in params:
                valid = ", ".join(params) or "none"
                raise UsageError(f"--schedule {spec}: expected {name}:key=value,... with keys {valid}; "
                                 f"got {item.strip()!r}")
            try:
                params[k] = int(v) if k in SCHEDULE_EPOCHS else float(v)
            except ValueError:
                raise UsageError(f"--schedule {spec}: {k} must be a number, got {v!r}") from None
            if k in SCHEDULE_EPOCHS:
                try:
                    check(params[k], k, SCHEDULE_EPOCHS[k])
                except ValueError as exc:
                    raise UsageError(f"--schedule {spec}: {exc}") from None
    return name, params


def format_schedule(name: str, params: dict) -> str:
    items = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
                     if v is not None)
    return f"{name}:{items}" if items else name


def resolve(args, file_cfg: dict) -> dict:
    """Defaults < config file < command line, every value checked and made concrete."""
    from .. import activations, optim
    from ..initializers import REGISTRY

    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    cfg = {**DEFAULTS, **{k: v for k, v in file_cfg.items() if k in DEFAULTS}, **given}
    out = {}
    out["data"] = str(cfg["data"])
    from .common import check_data_name
    check_data_name(out["data"])
    out["n_samples"] = None if cfg["n_samples"] is None else _setting(cfg["n_samples"], "n_samples")
    out["noise"] = None if cfg["noise"] is None else _setting(cfg["noise"], "noise")
    out["target"] = None if cfg["target"] is None else cfg["target"]
    if isinstance(out["target"], list) and out["target"] and all(isinstance(t, str) for t in out["target"]):
        out["target"] = ",".join(out["target"])      # target = ["rain", "wind"] in a config file: --target rain,wind
    if out["target"] is not None and (not isinstance(out["target"], (str, int)) or isinstance(out["target"], bool)):
        raise UsageError(f"--target: expected a column name or index, got {out['target']!r}")
    out["data_dir"] = None if cfg["data_dir"] is None else _folder(cfg["data_dir"], "data_dir")
    out["test_size"] = _setting(cfg["test_size"], "test_size")
    if cfg["standardize"] is None:
        # MNIST pixels are already in [0, 1], and border pixels that are almost always 0 would get a tiny
        # std and blow up to z-scores in the thousands on new images: leave image sets as they are.
        # Arrays on disk (npy:/npz:) are used as they are: standardising would copy X into memory.
        cfg["standardize"] = out["data"].lower().replace("_", "-") not in ("mnist", "fashion-mnist") and \
            not out["data"].lower().startswith(("npy:", "npz:"))
    out["standardize"] = _setting(cfg["standardize"], "standardize")
    out["layers"] = parse_int_list(cfg["layers"], "--layers", allow_empty=True)
    check_network_size(out["layers"])
    out["activation"] = check_name("activation", "--activation", cfg["activation"], activations.ACTIVATIONS)
    init = str(cfg["init"]).lower()
    if init == "auto":
        from ..mlp import default_init
        init = default_init(out["activation"])
    out["init"] = check_name("initializer", "--init", init, REGISTRY)
    out["batchnorm"] = _setting(cfg["batchnorm"], "batchnorm")
    out["sync_batchnorm"] = _setting(cfg["sync_batchnorm"], "sync_batchnorm")
    out["dropout"] = _setting(cfg["dropout"], "dropout")
    loss = str(cfg["loss"]).strip()
    if loss.lower() != "auto":
        from .common import parse_loss
        loss = parse_loss(cfg["loss"]).spec
    out["loss"] = loss
    out["optimizer"] = check_name("optimizer", "--optimizer", cfg["optimizer"], optim.NAMES)
    lr = cfg["lr"] if cfg["lr"] is not None else optim.NAMES[out["optimizer"]][1]["lr"]
    out["lr"] = _setting(lr, "lr")
    wd = cfg["weight_decay"] if cfg["weight_decay"] is not None else (0.01 if out["optimizer"] == "adamw" else 0.0)
    out["weight_decay"] = _setting(wd, "weight_decay")
    out["batch_size"] = _setting(cfg["batch_size"], "batch_size")
    out["epochs"] = _setting(cfg["epochs"], "epochs")
    sched, sparams = parse_schedule(cfg["schedule"])
    if sched == "step" and sparams["every"] is None:
        sparams["every"] = max(out["epochs"] // 3, 1)
    out["schedule"] = format_schedule(sched, sparams)
    out["clip_norm"] = None if cfg["clip_norm"] in (None, 0, 0.0) else _setting(cfg["clip_norm"], "clip_norm")
    out["val_split"] = _setting(cfg["val_split"], "val_split")
    out["early_stopping"] = _setting(cfg["early_stopping"], "early_stopping")
    out["seed"] = _setting(cfg["seed"], "seed")
    dtype = str(cfg["dtype"]).lower()
    if dtype not in ("float32", "float64"):
        raise UsageError(f"--dtype: expected float32 or float64, got {cfg['dtype']!r}")
    out["dtype"] = dtype
    out["backend"] = resolve_backend(cfg["backend"])
    make_optimizer(out, 1)      # the schedule's and optimiser's own checks, before any data is loaded
    return out


def threads_option(args) -> int | None:
    """``--threads N`` checked (an integer ≥ 1, and threadpoolctl importable), or None when not given."""
    if getattr(args, "threads", None) is None:
        return None
    threads = _setting(args.threads, "threads")
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        raise UsageError("--threads: threadpoolctl is not installed; pip install 'bprop[threads]' or leave "
                         "--threads out") from None
    return threads


def resolve_backend(value) -> str:
    """``--backend`` (or the config's), else ``$BPROP_BACKEND``, else ``"numpy"``; usage error if unusable."""
    from .._jit import BACKENDS, numba_available
    if value is None:
        value = os.environ.get("BPROP_BACKEND") or "numpy"
        option = "BPROP_BACKEND" if os.environ.get("BPROP_BACKEND") else "--backend"
    else:
        option = "--backend"
    backend = check_name("backend", option, str(value).lower(), list(BACKENDS))
    if backend == "numba" and not numba_available():
        raise UsageError(f"{option} numba: numba is not installed; pip install 'bprop[fast]' or use --backend numpy")
    return backend


# --------------------------------------------------------------------------- data and model
class Prepared:
    """The data of a run, split and standardised, and what the network needs to know about it."""

    def __init__(self, cfg: dict, ds, standardizer, loss):
        from .._memmap import is_mapped
        from ..data._dataset import split
        self.ds = ds
        self.task = ds.task
        self.loss = loss
        X, y = ds.X_train, ds.y_train
        if cfg["val_split"] > 0 and is_mapped(X):
            # a memory map stays one: the validation part is its last rows, a view (see bprop.data.arrays)
            cut = len(X) - int(math.ceil(cfg["val_split"] * len(X)))
            if cut < 1:
                raise ValueError(f"--val-split {cfg['val_split']} leaves no training rows out of {len(X)}")
            Xt, yt, Xv, yv = X[:cut], y[:cut], X[cut:], y[cut:]
        elif cfg["val_split"] > 0:
            if len(X) < 2:
                raise ValueError(f"{ds.name} has {len(X)} training sample(s): too few for --val-split")
            Xt, yt, Xv, yv = split(X, y, test_size=cfg["val_split"], seed=cfg["seed"],
                                   stratify=ds.task == "classification", parts=("training", "validation"),
                                   what=f"the training part of {ds.name} (after --test-size held out "
                                        f"{ds.n_test} of {len(X) + ds.n_test} rows)",
                                   option="--val-split")
        else:
            Xt, yt, Xv, yv = X, y, None, None
        self.X_train_raw, self.y_train = Xt, yt
        self.X_val_raw, self.y_val = Xv, yv
        if standardizer is None and cfg["standardize"]:
            from ..data import Standardizer
            standardizer = Standardizer().fit(Xt)
        self.standardizer = standardizer
        self.X_train = self.std(Xt)
        self.X_val = None if Xv is None else self.std(Xv)
        self.X_test = self.std(ds.X_test) if len(ds.X_test) else None

    def std(self, X):
        return X if self.standardizer is None else self.standardizer.transform(X)

    def targets(self, y):
        from .common import targets_for
        return targets_for(self.loss, self.task, y, self.ds.n_outputs)

    @property
    def validation_data(self):
        return None if self.X_val is None else (self.X_val, self.targets(self.y_val))


def choose_loss(cfg: dict, task: str, y=None):
    """The loss object of ``cfg["loss"]`` (``"auto"``: the default of the task); usage error for a
    mismatch with the task, or with the training targets ``y`` when given."""
    import numpy as np

    from .. import losses
    from .common import default_loss
    if cfg["loss"].lower() == "auto":
        return default_loss(task)
    loss = losses.get(cfg["loss"])
    low = float(np.min(y)) if isinstance(loss, losses.Poisson) and y is not None and len(y) else 0.0
    if low < 0:
        raise UsageError(f"--loss {cfg['loss']} models counts or rates y ≥ 0, but the targets of {cfg['data']} go "
                         f"down to {low:.4g}; use mse (or huber, mae) for such targets")
    if task == "regression" and loss.task != "regression":
        raise UsageError(f"--loss {cfg['loss']} needs class labels, but {cfg['data']} is a regression data set; "
                         "use mse")
    if task == "multilabel" and loss.task != "multilabel":
        raise UsageError(f"--loss {cfg['loss']}: the target columns of {cfg['data']} are 0/1 labels (multi-label), "
                         "trained with --loss bce")
    return loss


def steps_per_epoch(n_train: int, batch_size: int, batchnorm: bool) -> int:
    steps = max(math.ceil(n_train / batch_size), 1)
    if batchnorm and steps > 1 and n_train % batch_size == 1:
        steps -= 1   # fit merges a last batch of one sample into the one before
    return steps


def make_optimizer(cfg: dict, spe: int):
    """The optimiser of ``cfg`` with its learning-rate schedule, both made by their factories
    (:func:`bprop.optim.schedules.get` with the schedule's options given per epoch,
    :func:`bprop.optim.get`)."""
    from .. import optim
    name, params = parse_schedule(cfg["schedule"])
    options = {SCHEDULE_ARGS.get(k, k): v for k, v in params.items() if v is not None}
    try:
        rate = optim.schedules.get(name, lr=cfg["lr"], total_steps=max(cfg["epochs"], 1) * spe, steps_per_epoch=spe,
                                   per_epoch=True, **options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--schedule {cfg['schedule']}: {exc}") from None
    try:
        return optim.get(cfg["optimizer"], lr=rate, weight_decay=cfg["weight_decay"],
                         fused=cfg.get("backend") == "numba")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--optimizer {cfg['optimizer']}: {exc}") from None


def build_model(cfg: dict, prep: Prepared):
    from ..mlp import build_mlp
    ds = prep.ds
    net = build_mlp(ds.n_features, cfg["layers"], ds.n_outputs, activation=cfg["activation"],
                    init=cfg["init"], bias_init="torch_default" if cfg["init"] == "torch_default" else 0.0,
                    batchnorm=cfg["batchnorm"], dropout=cfg["dropout"], seed=cfg["seed"],
                    sync_batchnorm=cfg["sync_batchnorm"],
                    dtype=cfg["dtype"], backend=cfg["backend"])
    net.metadata = {
        "data": cfg["data"],
        "task": ds.task,
        "loss": prep.loss.spec,
        "class_names": ds.class_names,
        "feature_names": list(ds.feature_names),
        "standardizer": None if prep.standardizer is None else prep.standardizer.to_dict(),
    }
    return net


# --------------------------------------------------------------------------- progress and epoch table
class EpochTable(Callback):
    """A fit callback: a rich progress bar over each epoch's batches and one table row per epoch."""

    def __init__(self, console, task: str, has_val: bool):
        self.console = console
        self.metric = "accuracy" if task != "regression" else "rmse"
        self.has_val = has_val
        self.progress = None
        self.task_id = None
        self.epochs = 0
        self.last_epoch = 0
        self.running = 0.0

    def columns(self):
        m = {"accuracy": "acc", "rmse": "rmse"}[self.metric]
        cols = [("epoch", 9), ("loss", 10)]
        if self.has_val:
            cols.append(("val loss", 10))
        cols.append((m, 8))
        if self.has_val:
            cols.append((f"val {m}", 8))
        cols += [("lr", 9), ("time", 7)]
        return cols

    def header(self) -> str:
        return "  ".join(f"{name:>{w}}" for name, w in self.columns())

    def row(self, rec: dict) -> str:
        from .console import fmt
        values = [f"{rec['epoch']}/{self.epochs}", fmt(rec["loss"])]
        if self.has_val:
            values.append(fmt(rec.get("val_loss")))
        values.append(fmt(rec.get(self.metric)))
        if self.has_val:
            values.append(fmt(rec.get(f"val_{self.metric}")))
        values += [f"{rec['lr']:.2e}" if rec.get("lr") == rec.get("lr") else "-", f"{rec['time']:.2f}s"]
        return "  ".join(f"{v:>{w}}" for v, (_, w) in zip(values, self.columns()))

    def on_train_begin(self, net, info):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self.epochs = info["epochs"]
        self.last_epoch = info["initial_epoch"]
        self.spe = info["steps_per_epoch"]
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("batches · loss {task.fields[loss]}"), TimeElapsedColumn(),
                                 console=self.console, transient=True)
        self.progress.start()
        self.console.print(f"[bold]{self.header()}[/bold]")

    def on_epoch_begin(self, net, epoch):
        self.running, self.seen = 0.0, 0
        self.task_id = self.progress.add_task(f"epoch {epoch}/{self.epochs}", total=self.spe, loss="-")

    def on_batch_end(self, net, step, batch_loss):
        self.seen += 1
        self.running += (batch_loss - self.running) / self.seen
        self.progress.update(self.task_id, advance=1, loss=f"{self.running:.4f}")

    def on_epoch_end(self, net, rec):
        self.progress.remove_task(self.task_id)
        self.last_epoch = rec["epoch"]
        self.console.print(self.row(rec))

    def on_train_end(self, net, history):
        self.stop()

    def stop(self):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class LastEpoch(Callback):
    """A fit callback that only remembers the last finished epoch (for --quiet)."""

    def __init__(self):
        self.last_epoch = 0

    def on_train_begin(self, net, info):
        self.last_epoch = info["initial_epoch"]

    def on_epoch_end(self, net, rec):
        self.last_epoch = rec["epoch"]

    def stop(self):
        pass


# --------------------------------------------------------------------------- the run folder
def default_out(data: str) -> str:
    stem = data
    if data.lower().startswith("csv:"):
        stem = "csv-" + os.path.splitext(os.path.basename(data[4:]))[0]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem) or "data"
    base = os.path.join("runs", f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}")
    out, n = base, 2
    while os.path.exists(out):
        out, n = f"{base}-{n}", n + 1
    return out


def write_config(run_dir: str, cfg: dict) -> None:
    header = ("bprop train — the resolved settings of this run.\n"
              f"Repeat it with: bprop train --config {os.path.join(run_dir, 'config.toml')} --out NEW_FOLDER")
    write_text(os.path.join(run_dir, "config.toml"), dump_toml(cfg, COMMENTS, header))


class WriteConfig(Callback):
    """A fit callback that writes config.toml once training really starts (the checkpoint and the data
    accepted), so that a run or ``--resume`` that fails before leaves the old config as it was."""

    def __init__(self, run_dir: str, cfg: dict):
        self.run_dir, self.cfg = run_dir, cfg

    def on_train_begin(self, net, info):
        write_config(self.run_dir, self.cfg)


def _lang(args) -> str:
    from ..i18n import resolve
    try:
        return resolve(args.lang)
    except ValueError as exc:
        raise UsageError(f"--lang: {exc}") from None


def run(args) -> int:
    """``bprop train``; under ``mpiexec -n N``, data-parallel (``fit(..., comm=MPI.COMM_WORLD)``).

    Then every process loads the data and builds the same network; rank 0
    alone holds the run folder's lock, prints and writes the run folder. An
    error on any rank aborts every rank (one line from the rank that had it),
    since the others would otherwise wait for it forever.
    """
    from .common import mpi_world
    comm = mpi_world()
    if comm is None:
        return _run(args, None)
    try:
        return _run(args, comm)
    except BaseException as exc:  # noqa: BLE001 - one rank stopping alone would hang the others
        from ..errors import DistributedError, DivergenceError
        collective = isinstance(exc, (DivergenceError, DistributedError))
        if comm.Get_rank() == 0 or not collective:
            who = "" if comm.Get_rank() == 0 else f"rank {comm.Get_rank()}: "
            print(f"error: {who}{exc}" if not isinstance(exc, KeyboardInterrupt) else "error: interrupted",
                  file=sys.stderr, flush=True)
        from .options import EXIT_INTERRUPTED
        if collective:          # every rank met it: no rank aborts before rank 0's line is out
            comm.Barrier()
        from ..training.distributed import abort
        abort(comm, EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else
              getattr(exc, "exit_code", 1) if isinstance(getattr(exc, "exit_code", 1), int) else 1)
        raise


def _run(args, comm) -> int:
    args.lang = _lang(args)
    threads_option(args)                     # a bad --threads is a usage error before any work
    if args.resume is not None:
        return run_resume(args, comm)
    from .runfolder import check_empty, check_not_in_use, clear_for_run, locked
    root = comm is None or comm.Get_rank() == 0
    file_cfg = {}
    if args.config is not None:
        file_cfg = read_train_config(args.config)
    cfg = resolve(args, file_cfg)
    quiet = _setting(args.quiet if args.quiet is not None else file_cfg.get("quiet", False), "quiet") or not root
    out = _folder(args.out if args.out is not None else file_cfg["out"], "out") \
        if args.out is not None or "out" in file_cfg else default_out(cfg["data"])
    if root:
        check_not_in_use(out, "--out")
        check_empty(out, bool(args.overwrite))
    from .common import csv_task, load_dataset
    ds = load_dataset(cfg["data"], n_samples=cfg["n_samples"], noise=cfg["noise"], target=cfg["target"],
                      data_dir=cfg["data_dir"], test_size=cfg["test_size"], seed=cfg["seed"], progress=not quiet,
                      # raw CSV values are trained in cfg["dtype"] unless standardised first
                      dtype=None if cfg["standardize"] else cfg["dtype"], task=csv_task(cfg["loss"]))
    check_network_size(cfg["layers"], ds.n_features, ds.n_outputs)
    loss = choose_loss(cfg, ds.task, ds.y_train)
    cfg["loss"] = loss.spec
    prep = Prepared(cfg, ds, None, loss)
    net = build_model(cfg, prep)
    spe = steps_per_epoch(len(prep.X_train), cfg["batch_size"], cfg["batchnorm"])
    optimizer = make_optimizer(cfg, spe)
    if not root:
        return _train(args, cfg, quiet, out, ds, prep, net, optimizer, comm)
    with locked(out, "--out"):
        clear_for_run(out, bool(args.overwrite))
        return _train(args, cfg, quiet, out, ds, prep, net, optimizer, comm)


def _train(args, cfg, quiet, out, ds, prep, net, optimizer, comm=None) -> int:
    root = comm is None or comm.Get_rank() == 0
    from .console import console
    con = console(quiet=quiet)
    _announce(con, cfg, ds, net, prep, out)

    from ..training import EarlyStopping
    es = None
    if cfg["early_stopping"] > 0:
        es = EarlyStopping(patience=cfg["early_stopping"], monitor="val_loss" if prep.X_val is not None else "loss")
    cb = LastEpoch() if quiet else EpochTable(con, ds.task, prep.X_val is not None)
    checkpoint = os.path.join(out, "checkpoint.npz")
    try:
        history = net.fit(prep.X_train, prep.targets(prep.y_train), loss=prep.loss, optimizer=optimizer,
                          epochs=cfg["epochs"], batch_size=cfg["batch_size"], shuffle=True,
                          validation_data=prep.validation_data, early_stopping=es, clip_norm=cfg["clip_norm"],
                          callbacks=[WriteConfig(out, cfg), cb] if root else [], checkpoint=checkpoint,
                          verbose=0, comm=comm, threads=threads_option(args))
    except KeyboardInterrupt:
        cb.stop()
        return _interrupted(out, cb.last_epoch, cfg["epochs"])
    finally:
        cb.stop()
    if not root:
        return 0
    from .report import finish_run
    finish_run(out, net, history, prep, cfg, con, plots=args.plots, quiet=quiet, lang=args.lang)
    return 0


def _announce(con, cfg, ds, net, prep, out):
    from .common import describe_layers
    from .console import plain
    n_val = 0 if prep.X_val is None else len(prep.X_val)
    con.print(f"[bold]data[/bold]     {plain(cfg['data'])}: {ds.task}, {ds.n_features} features, "
              f"{ds.n_outputs} {'classes' if ds.task == 'classification' else 'output(s)'}; "
              f"{len(prep.X_train)} train / {n_val} validation / {ds.n_test} test samples")
    con.print(f"[bold]network[/bold]  {describe_layers(net)}  ({net.n_params:,} parameters, {cfg['dtype']})")
    con.print(f"[bold]training[/bold] loss {prep.loss.name}, {cfg['optimizer']} lr {cfg['lr']:g}"
              f"{'' if cfg['schedule'] == 'constant' else ' (' + cfg['schedule'] + ')'}, batch {cfg['batch_size']}, "
              f"{cfg['epochs']} epochs → {plain(out)}")


def _interrupted(out: str, last_epoch: int, epochs: int) -> int:
    from .options import EXIT_INTERRUPTED
    if last_epoch <= 0 or not os.path.exists(os.path.join(out, "checkpoint.npz")):
        print(f"interrupted before the first epoch finished: nothing to resume in {out}", file=sys.stderr)
    else:
        print(f"interrupted: {os.path.join(out, 'checkpoint.npz')} holds epoch {last_epoch} of {epochs}; "
              f"continue with: bprop train --resume {out}", file=sys.stderr)
    return EXIT_INTERRUPTED


def run_resume(args, comm=None) -> int:
    """``--resume RUN``: read RUN/config.toml and RUN/checkpoint.npz and continue training, holding
    the folder's lock; config.toml is rewritten only once training has really started."""
    run_dir = args.resume
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"--resume: no such run folder: {run_dir}")
    ckpt = os.path.join(run_dir, "checkpoint.npz")
    cfg_path = os.path.join(run_dir, "config.toml")
    from .runfolder import check_not_in_use
    root = comm is None or comm.Get_rank() == 0
    if root:
        check_not_in_use(run_dir, "--resume")    # a run still writing there: say so, not "no checkpoint yet"
    for path in (cfg_path, ckpt):
        if not os.path.exists(path):
            raise FileNotFoundError(f"--resume: {run_dir} has no {os.path.basename(path)}; it is not a run "
                                    "folder made by 'bprop train', or no epoch finished")
    allowed = {"epochs", "data_dir", "quiet", "threads", "resume", "plots", "lang", "func", "command"}
    extra = [k for k, v in vars(args).items() if k not in allowed and v is not None]
    if extra:
        names = ", ".join("--" + k.replace("_", "-") for k in sorted(extra))
        raise UsageError(f"--resume continues a run with its own settings; {names} cannot be changed "
                         "(only --epochs, --data-dir, --threads and --quiet)")
    from .runfolder import locked
    if not root:
        return _resume(args, run_dir, ckpt, cfg_path, comm)
    with locked(run_dir, "--resume"):
        return _resume(args, run_dir, ckpt, cfg_path, comm)


def _resume(args, run_dir: str, ckpt: str, cfg_path: str, comm=None) -> int:
    root = comm is None or comm.Get_rank() == 0
    from ..resume import resume
    from ..training import load_checkpoint
    file_cfg = read_train_config(cfg_path)
    ns = argparse.Namespace(**{k: None for k in DEFAULTS})
    ns.epochs, ns.data_dir = args.epochs, args.data_dir
    cfg = resolve(ns, file_cfg)
    quiet = bool(args.quiet) or not root
    _, meta = load_checkpoint(ckpt)
    done = int(meta["epoch"])
    if cfg["epochs"] < done:
        raise UsageError(f"--epochs {cfg['epochs']}: the checkpoint already holds {done} epochs")
    from .common import csv_task, load_dataset
    ds = load_dataset(cfg["data"], n_samples=cfg["n_samples"], noise=cfg["noise"], target=cfg["target"],
                      data_dir=cfg["data_dir"], test_size=cfg["test_size"], seed=cfg["seed"], progress=not quiet,
                      task=csv_task(cfg["loss"]))
    metadata = meta.get("metadata") or {}
    from ..data import Standardizer
    st = metadata.get("standardizer")
    from .. import losses
    loss = losses.get(metadata["loss"]) if metadata.get("loss") else choose_loss(cfg, ds.task)
    prep = Prepared(cfg, ds, Standardizer.from_dict(st) if st else None, loss)
    from .console import console, plain
    con = console(quiet=quiet)
    con.print(f"resuming {plain(run_dir)} from epoch {done} to epoch {cfg['epochs']}")
    original = int(meta.get("epochs", cfg["epochs"]))
    if cfg["epochs"] > original and cfg["schedule"].split(":")[0] == "cosine":
        con.print(f"note: the {cfg['schedule'].split(':')[0]} schedule was laid out for {original} epochs when the "
                  "run started; the checkpoint's optimiser keeps it (a cosine rate stays at min_lr after that)")
    cb = LastEpoch() if quiet else EpochTable(con, ds.task, prep.X_val is not None)
    try:
        net, history = resume(ckpt, prep.X_train, prep.targets(prep.y_train), epochs=cfg["epochs"],
                              validation_data=prep.validation_data,
                              callbacks=[WriteConfig(run_dir, cfg), cb] if root else [], verbose=0,
                              backend=cfg["backend"], checkpoint=ckpt, comm=comm,
                              threads=threads_option(args))
    except KeyboardInterrupt:
        cb.stop()
        return _interrupted(run_dir, max(cb.last_epoch, done), cfg["epochs"])
    finally:
        cb.stop()
    if not root:
        return 0
    from .report import finish_run
    finish_run(run_dir, net, history, prep, cfg, con, plots=args.plots, quiet=quiet, lang=args.lang)
    return 0
