"""The tutorials' claims as measured experiments: initialisation, depth, BatchNorm, optimisers.

Each experiment trains real networks with bprop on real data (scikit-learn's
digits by default, standardised), writes a run folder — results.csv,
results.json, PNG plots and report.md — prints its table, and states its
finding in numbers:

  init        seed 003: which initialisers make a deep net's gradient vanish or explode.
              A 10 × 64 sigmoid net under uniform, normal, xavier_uniform, xavier_normal,
              he_normal, lecun_normal, orthogonal, and he_normal with bias 0.01:
              ‖∂C/∂W⁽ˡ⁾‖ of every layer at step 0 and after epoch 1, the ratio of the first
              layer's to the last's, Var a⁽ˡ⁾ per layer, and the test accuracy.
  depth       seed 003: σ' < 1 shrinks the gradient exponentially with depth. At depths 2, 4, 8, 16:
              ‖δ⁽¹⁾‖/‖δ⁽ᴸ⁾‖ measured beside the product of the σ' and weight factors of BP2.
  batchnorm   seed 003: BatchNorm lowers the dependence on initialisation and allows larger
              learning rates. A grid initialiser × learning rate, without and with BatchNorm:
              a heatmap of the final loss.
  optimizers  seeds 000/004: SGD, Momentum, Nesterov, RMSProp, Adam, AdamW on the same network,
              data and budget (loss curves), and their paths on Rosenbrock's function.

Each runs in well under a minute with its defaults; --full runs the larger
version (more epochs, data, depths or grid points). The plots' labels are in
English whatever --lang says (bprop ships no CJK font).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time

import numpy as np

from .options import UsageError, add_parser, check_name, parse_float, parse_int_list

NAMES = ("init", "depth", "batchnorm", "optimizers")
#: the initialisers of 'bprop experiment init' (bprop.experiments.INITS, spelled here so --help stays light)
INIT_NAMES = ("uniform", "normal", "xavier_uniform", "xavier_normal", "he_normal", "lecun_normal", "orthogonal",
              "he_normal+0.01")

EXAMPLES = """\
  bprop experiment init                              # 10 × 64 sigmoid net, 8 initialisers, ~10 s
  bprop experiment init --activation relu --depth 20 --out runs/init-relu
  bprop experiment depth --activation tanh --init xavier_normal
  bprop experiment batchnorm --lrs 0.1,1,3 --inits normal,he_normal
  bprop experiment optimizers --epochs 20 --lang zh  # report and tables in Chinese
  bprop experiment init --full                       # more epochs, the whole data set
"""

#: the settings of each experiment, default and --full; an option given on the command line wins
DEFAULTS = {
    "init": {"activation": "sigmoid", "depth": 10, "width": 64, "epochs": 3, "lr": 0.1, "n_samples": None,
             "inits": ",".join(INIT_NAMES)},
    "depth": {"activation": "sigmoid", "depths": "2,4,8,16", "width": 64, "init": "xavier_uniform",
              "repeats": 3, "n_samples": None},
    "batchnorm": {"activation": "sigmoid", "depth": 4, "width": 64, "epochs": 3, "inits": "normal,uniform,"
                  "xavier_uniform,he_normal", "lrs": "0.01,0.1,1,3", "n_samples": None},
    "optimizers": {"activation": "relu", "width": 64, "epochs": 10, "steps": 2000, "n_samples": None},
}
FULL = {
    "init": {"epochs": 20},
    "depth": {"depths": "2,4,6,8,12,16,24,32", "repeats": 10},
    "batchnorm": {"epochs": 10, "lrs": "0.003,0.01,0.03,0.1,0.3,1,3,10",
                  "inits": "normal,uniform,xavier_uniform,xavier_normal,he_normal,lecun_normal,orthogonal"},
    "optimizers": {"epochs": 40, "steps": 10000},
}


def register(subparsers) -> None:
    from ..i18n import LANGUAGES
    p = add_parser(subparsers, "experiment", __doc__, EXAMPLES)
    p.add_argument("name", choices=NAMES, help="which experiment: init, depth, batchnorm or optimizers")
    g = p.add_argument_group("network and training (each experiment uses the options that apply to it)")
    g.add_argument("--activation", default=None, metavar="NAME",
                   help="σ of the hidden layers (default sigmoid; relu for optimizers); e.g. --activation tanh")
    g.add_argument("--depth", type=int, default=None, metavar="N",
                   help="hidden layers (init: 10, batchnorm: 4); e.g. --depth 20")
    g.add_argument("--depths", default=None, metavar="D1,D2,...",
                   help="depth: the hidden-layer counts compared (default 2,4,8,16); e.g. --depths 2,8,32")
    g.add_argument("--width", type=int, default=None, metavar="N", help="units per hidden layer (default 64); "
                   "e.g. --width 128")
    g.add_argument("--init", default=None, metavar="NAME",
                   help="depth: the initialiser (default xavier_uniform); e.g. --init he_normal")
    g.add_argument("--inits", default=None, metavar="A,B,...",
                   help="init, batchnorm: the initialisers compared (a name+0.01 sets bias 0.01); "
                        "e.g. --inits xavier_uniform,he_normal+0.01")
    g.add_argument("--lrs", default=None, metavar="η1,η2,...",
                   help="batchnorm: the learning rates of the grid (default 0.01,0.1,1,3); e.g. --lrs 0.1,1")
    g.add_argument("--lr", default=None, metavar="η", help="init: SGD's learning rate (default 0.1); e.g. --lr 0.5")
    g.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="epochs of training (init 3, batchnorm 3, optimizers 10); e.g. --epochs 20")
    g.add_argument("--steps", type=int, default=None, metavar="N",
                   help="optimizers: steps on Rosenbrock's function (default 2000); e.g. --steps 5000")
    g.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="depth: networks per depth, averaged (default 3); e.g. --repeats 10")
    g.add_argument("--batch-size", type=int, default=32, metavar="N", help="mini-batch size, e.g. --batch-size 64")
    g.add_argument("--full", action="store_true",
                   help="the larger experiment: more epochs, depths, grid points or steps (a few minutes)")
    d = p.add_argument_group("data and output")
    d.add_argument("--data", default="digits", metavar="NAME",
                   help="a classification data set of 'bprop datasets' (default digits); e.g. --data iris")
    d.add_argument("--n-samples", type=int, default=None, metavar="N",
                   help="a stratified subset of N samples (default: all), e.g. --n-samples 600")
    d.add_argument("--seed", type=int, default=0, metavar="INT", help="seeds the data split and the networks, "
                   "e.g. --seed 1")
    d.add_argument("--out", default=None, metavar="DIR",
                   help="the run folder (default runs/experiment-<name>-<timestamp>); e.g. --out runs/init")
    d.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    d.add_argument("--quiet", action="store_true", help="no progress bar or table; print the finding only")
    d.add_argument("--lang", default=None, metavar="CODE",
                   help=f"language of the table and report: {', '.join(LANGUAGES)} (default $BPROP_LANG, else en); "
                        "e.g. --lang zh")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- settings
def settings(args) -> dict:
    """The experiment's settings: its defaults, --full's, then the options given; checked (usage errors)."""
    from .. import activations
    from ..initializers import REGISTRY
    cfg = dict(DEFAULTS[args.name])
    if args.full:
        cfg.update(FULL[args.name])
    for key in ("activation", "depth", "depths", "width", "init", "inits", "lrs", "lr", "epochs", "steps",
                "repeats", "n_samples"):
        value = getattr(args, key)
        if value is not None:
            if key not in cfg:
                raise UsageError(f"--{key.replace('_', '-')} does not apply to 'bprop experiment {args.name}'")
            cfg[key] = value
    cfg["activation"] = check_name("activation", "--activation", cfg["activation"], activations.ACTIVATIONS)
    for key in ("depth", "width", "epochs", "steps", "repeats"):
        if key in cfg and cfg[key] < 1:
            raise UsageError(f"--{key}: expected at least 1, got {cfg[key]}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size: expected at least 1, got {args.batch_size}")
    if cfg.get("n_samples") is not None and cfg["n_samples"] < 20:
        raise UsageError(f"--n-samples: expected at least 20, got {cfg['n_samples']}")
    if "depths" in cfg:
        cfg["depths"] = parse_int_list(cfg["depths"], "--depths")
    if "init" in cfg:
        cfg["init"] = check_name("initializer", "--init", cfg["init"], REGISTRY)
    if "inits" in cfg:
        names = [n.strip() for n in str(cfg["inits"]).split(",") if n.strip()]
        for n in names:
            base, _, bias = n.partition("+")
            check_name("initializer", "--inits", base, REGISTRY)
            if bias:
                parse_float(bias, "--inits")
        if not names:
            raise UsageError("--inits: expected initialiser names separated by ',' (e.g. xavier_uniform,he_normal)")
        cfg["inits"] = names
    if "lrs" in cfg:
        cfg["lrs"] = [parse_float(v, "--lrs") for v in str(cfg["lrs"]).split(",")]
        if any(v <= 0 for v in cfg["lrs"]):
            raise UsageError(f"--lrs: every learning rate must be positive, got {args.lrs}")
    if "lr" in cfg:
        cfg["lr"] = parse_float(cfg["lr"], "--lr")
        if cfg["lr"] <= 0:
            raise UsageError(f"--lr: the learning rate must be positive, got {args.lr}")
    cfg.update(batch_size=args.batch_size, seed=args.seed, data=args.data)
    return cfg


def load(cfg: dict, quiet: bool):
    """The data set, standardised on its training part: ``(X, y, X_test, y_test, dataset)``."""
    from ..data import Standardizer
    from .common import load_dataset
    ds = load_dataset(cfg["data"], n_samples=cfg.get("n_samples"), seed=cfg["seed"], progress=not quiet)
    if ds.task != "classification":
        raise UsageError(f"--data {cfg['data']}: the experiments classify; give a classification data set "
                         "(digits, iris, wine, breast_cancer, moons, ...)")
    st = Standardizer().fit(ds.X_train)
    return st.transform(ds.X_train), ds.y_train, st.transform(ds.X_test), ds.y_test, ds


# --------------------------------------------------------------------------- the experiments
def _run_init(cfg, data, tick):
    from ..experiments import init_experiment
    X, y, Xt, yt, _ = data
    return init_experiment(X, y, Xt, yt, inits=cfg["inits"], depth=cfg["depth"],
                           width=cfg["width"], activation=cfg["activation"], epochs=cfg["epochs"], lr=cfg["lr"],
                           batch_size=cfg["batch_size"], seed=cfg["seed"], tick=tick)


def _run_depth(cfg, data, tick):
    from ..experiments import depth_experiment
    X, y, *_ = data
    return depth_experiment(X, y, depths=cfg["depths"], width=cfg["width"], activation=cfg["activation"],
                            init=cfg["init"], repeats=cfg["repeats"], seed=cfg["seed"], tick=tick)


def _run_batchnorm(cfg, data, tick):
    from ..experiments import batchnorm_experiment
    X, y, Xt, yt, _ = data
    return batchnorm_experiment(X, y, Xt, yt, inits=cfg["inits"], lrs=cfg["lrs"], depth=cfg["depth"],
                                width=cfg["width"], activation=cfg["activation"], epochs=cfg["epochs"],
                                batch_size=cfg["batch_size"], seed=cfg["seed"], tick=tick)


def _run_optimizers(cfg, data, tick):
    from ..experiments import optimizer_experiment
    X, y, Xt, yt, _ = data
    return optimizer_experiment(X, y, Xt, yt, hidden=(cfg["width"],), activation=cfg["activation"],
                                epochs=cfg["epochs"], batch_size=cfg["batch_size"], steps=cfg["steps"],
                                seed=cfg["seed"], tick=tick)


RUNNERS = {"init": _run_init, "depth": _run_depth, "batchnorm": _run_batchnorm, "optimizers": _run_optimizers}


def units(cfg: dict, name: str) -> int:
    """How many ticks the experiment's progress bar counts."""
    if name == "init":
        return len(cfg["inits"])
    if name == "depth":
        return len(cfg["depths"])
    if name == "batchnorm":
        return 2 * len(cfg["inits"]) * len(cfg["lrs"])
    from ..experiments import OPTIMIZERS
    return len(OPTIMIZERS)


# --------------------------------------------------------------------------- numbers → table, findings
def g(v, digits: int = 3) -> str:
    """A number for a table: 3 significant digits, 'inf'/'nan' spelled out."""
    v = float(v)
    if not np.isfinite(v):
        return "inf" if v == float("inf") else ("−inf" if v == -float("inf") else "nan")
    return f"{v:.{digits}g}"


def table_rows(name: str, results, tr) -> tuple[list[str], list[list[str]]]:
    """The result table: column names and rows of text."""
    if name == "init":
        head = [tr("initialiser"), "‖∂C/∂W⁽¹⁾‖", "‖∂C/∂W⁽ᴸ⁾‖", tr("ratio at step 0"), tr("ratio after epoch 1"),
                "Var a⁽¹⁾", "Var a⁽ᴸ⁻¹⁾", tr("verdict"), tr("test accuracy")]
        rows = [[r.name, g(r.grad_start[0]), g(r.grad_start[-1]), g(r.ratio_start), g(r.ratio_epoch1),
                 g(r.act_var[0]), g(r.act_var[-1]), tr(r.verdict), g(r.accuracy)] for r in results]
    elif name == "depth":
        head = [tr("hidden layers"), "‖∂C/∂W⁽¹⁾‖", tr("measured ‖δ⁽¹⁾‖/‖δ⁽ᴸ⁾‖"), "∏ σ'", "∏ ‖W‖/√n",
                tr("predicted")]
        rows = [[str(r.depth), g(r.grad_first), g(r.measured), g(r.sigma_factor), g(r.weight_factor),
                 g(r.predicted)] for r in results]
    elif name == "batchnorm":
        head = ["BatchNorm", tr("initialiser"), "η", tr("final loss"), tr("test accuracy")]
        rows = [[tr("yes") if c.batchnorm else tr("no"), c.init, g(c.lr), tr("diverged") if c.diverged
                 else g(c.final_loss), g(c.accuracy)] for c in results]
    else:
        head = [tr("optimizer"), "η", tr("final loss"), tr("test accuracy"), tr("η on Rosenbrock"),
                tr("f at the end"), tr("distance to (1, 1)")]
        rows = [[r.name, g(r.lr), g(r.losses[-1]) if r.losses else tr("diverged"), g(r.accuracy), g(r.rosen_lr),
                 g(r.rosen_final), g(r.rosen_distance)] for r in results]
    return head, rows


def findings(name: str, results, cfg: dict, tr) -> list[str]:
    """The experiment's finding, from its numbers, one sentence per line."""
    out = []
    if name == "init":
        L = len(results[0].grad_start)
        out.append(tr("{depth} hidden layers of {width}, {activation}; ratio = ‖∂C/∂W⁽¹⁾‖ / ‖∂C/∂W⁽ᴸ⁾‖ "
                      "(L = {L}) and growth = Var a⁽ᴸ⁻¹⁾ / Var a⁽¹⁾ at step 0: below 0.01 the signal vanishes, "
                      "above 100 (or a diverged run) it explodes.").format(depth=cfg["depth"], width=cfg["width"],
                                                 activation=cfg["activation"], L=L))
        for kind in ("vanishing", "exploding", "stable"):
            names = [f"{r.name} ({g(r.ratio_start)}, {g(r.growth)})" for r in results if r.verdict == kind]
            if names:
                out.append(tr("{kind} (ratio, growth): {names}.").format(kind=tr(kind).capitalize(),
                                                                          names=", ".join(names)))
        best = max(results, key=lambda r: -1 if not np.isfinite(r.accuracy) else r.accuracy)
        worst = min(results, key=lambda r: 2 if not np.isfinite(r.accuracy) else r.accuracy)
        out.append(tr("Test accuracy after {epochs} epoch(s): best {best} ({acc}), worst {worst} ({acc2}).")
                   .format(epochs=cfg["epochs"], best=best.name, acc=g(best.accuracy), worst=worst.name,
                           acc2=g(worst.accuracy)))
        out.append(tr("Activation variance, last hidden layer over first: {pairs}.").format(
            pairs=", ".join(f"{r.name} {g(r.growth)}" for r in results)))
    elif name == "depth":
        a, b = results[0], results[-1]
        out.append(tr("{activation}, {init}, width {width}: from {d0} to {d1} hidden layers ‖∂C/∂W⁽¹⁾‖ goes from "
                      "{g0} to {g1} (× {factor}).").format(activation=cfg["activation"], init=cfg["init"],
                                                             width=cfg["width"], d0=a.depth, d1=b.depth,
                                                             g0=g(a.grad_first), g1=g(b.grad_first),
                                                             factor=g(b.grad_first / a.grad_first)
                                                             if a.grad_first > 0 else "nan"))
        out.append(tr("At {d1} hidden layers the measured ‖δ⁽¹⁾‖/‖δ⁽ᴸ⁾‖ is {m}; the seed's argument predicts "
                      "∏σ' × ∏‖W‖/√n = {s} × {w} = {p}.").format(d1=b.depth, m=g(b.measured), s=g(b.sigma_factor),
                                                                 w=g(b.weight_factor), p=g(b.predicted)))
    elif name == "batchnorm":
        from ..experiments.batchnorm import init_spread, trained_fraction
        a, n = trained_fraction(results, False)
        b, _ = trained_fraction(results, True)
        out.append(tr("Final loss below 0.5 after {epochs} epoch(s): {a} of {n} settings without BatchNorm, "
                      "{b} of {n} with it.").format(epochs=cfg["epochs"], a=a, b=b, n=n))
        div0 = sum(c.diverged for c in results if not c.batchnorm)
        div1 = sum(c.diverged for c in results if c.batchnorm)
        out.append(tr("Diverged: {a} without BatchNorm, {b} with it.").format(a=div0, b=div1))
        for lr in cfg["lrs"]:
            out.append(tr("η = {lr}: the final loss varies over the initialisers by × {s0} without BatchNorm "
                          "and × {s1} with it.").format(lr=g(lr), s0=g(init_spread(results, False, lr)),
                                                         s1=g(init_spread(results, True, lr))))
    else:
        ranked = sorted((r for r in results if r.losses), key=lambda r: r.losses[-1])
        if ranked:
            out.append(tr("Lowest final loss after {epochs} epoch(s): {order}.").format(
                epochs=cfg["epochs"], order=" < ".join(f"{r.name} {g(r.losses[-1])}" for r in ranked)))
        close = sorted(results, key=lambda r: r.rosen_distance)
        out.append(tr("Rosenbrock after {steps} steps from (−1.5, 2), distance to the minimum (1, 1): {order}.")
                   .format(steps=cfg["steps"], order=", ".join(f"{r.name} {g(r.rosen_distance)}" for r in close)))
    return out


# --------------------------------------------------------------------------- files
def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def write_results(folder: str, name: str, cfg: dict, results, head, rows, lines) -> None:
    from ..io import write_text
    doc = {"experiment": name, "settings": _jsonable(cfg), "finding": lines,
           "results": [_jsonable(dataclasses.asdict(r)) for r in results]}
    write_text(os.path.join(folder, "results.json"), json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    w.writerows(rows)
    write_text(os.path.join(folder, "results.csv"), buf.getvalue())


def write_plots(folder: str, name: str, results, cfg: dict) -> list[str]:
    from . import plots
    p = lambda f: os.path.join(folder, f)  # noqa: E731
    if name == "init":
        names = [r.name for r in results]
        return [plots.init_gradients(names, [r.grad_start for r in results], [r.grad_epoch1 for r in results],
                                     p("gradient_norms.png"),
                                     title=f"{cfg['depth']} × {cfg['width']} {cfg['activation']}: ‖∂C/∂W⁽ˡ⁾‖ "
                                           "per layer, one line per initialiser"),
                plots.init_variance(names, [r.act_var for r in results], p("activation_variance.png"))]
    if name == "depth":
        return [plots.depth_factors([r.depth for r in results], [r.measured for r in results],
                                    [r.predicted for r in results], [r.sigma_factor for r in results],
                                    [r.weight_factor for r in results], [r.grad_first for r in results],
                                    p("depth.png"), title=f"{cfg['activation']}, {cfg['init']}, width {cfg['width']}")]
    if name == "batchnorm":
        inits, lrs = cfg["inits"], cfg["lrs"]
        grid = {bn: np.array([[next(c.final_loss for c in results if c.batchnorm == bn and c.init == i
                                    and c.lr == lr) for lr in lrs] for i in inits]) for bn in (False, True)}
        return [plots.batchnorm_heatmaps(inits, lrs, grid[False], grid[True], p("batchnorm_heatmap.png"))]
    from ..experiments import rosenbrock
    return [plots.optimizer_paths([r.name for r in results], [r.losses for r in results],
                                  [r.path for r in results], rosenbrock, p("optimizers.png"))]


def report(name: str, cfg: dict, head, rows, lines, pictures, tr, seconds: float, lang: str) -> str:
    """report.md: what ran, the finding, the table, the plots."""
    md = [f"# bprop experiment {name}", "", tr(TITLES[name]), ""]
    md += [tr("Settings: {settings}.").format(settings=", ".join(f"{k} = {v}" for k, v in cfg.items())), ""]
    md += ["## " + tr("Finding"), ""] + [f"- {line}" for line in lines] + [""]
    md += ["## " + tr("Results"), "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    if pictures:
        md += ["## " + tr("Plots"), ""]
        if lang != "en":
            md += [tr("(The plots are labelled in English: bprop ships no CJK font.)"), ""]
        md += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in pictures] + [""]
    md += [tr("Time: {seconds} s.").format(seconds=f"{seconds:.1f}"), ""]
    return "\n".join(md)


TITLES = {
    "init": "Seed 003: initialisation and vanishing or exploding gradients, measured on a deep network.",
    "depth": "Seed 003: σ' < 1 makes the gradient shrink exponentially with depth; large weights make it grow.",
    "batchnorm": "Seed 003: BatchNorm reduces the dependence on initialisation and allows larger learning rates.",
    "optimizers": "Seeds 000 and 004: SGD, Momentum, Nesterov, RMSProp, Adam and AdamW on one budget.",
}


# --------------------------------------------------------------------------- run
def run(args) -> int:
    from ..i18n import resolve, translator
    from .console import console, plain, table
    try:
        lang = resolve(args.lang)
    except ValueError as exc:
        raise UsageError(f"--lang: {exc}") from None
    tr = translator(lang)
    cfg = settings(args)
    name = args.name
    folder = args.out or os.path.join("runs", f"experiment-{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--out: {folder} is a file, not a folder")
    out = console(quiet=False)
    data = load(cfg, args.quiet)
    os.makedirs(folder, exist_ok=True)
    t0 = time.perf_counter()
    if args.quiet:
        results = RUNNERS[name](cfg, data, None)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        with Progress(TextColumn(f"experiment {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console(stderr=True), transient=True) as progress:
            task = progress.add_task(name, total=units(cfg, name))
            results = RUNNERS[name](cfg, data, lambda: progress.advance(task))
    seconds = time.perf_counter() - t0
    head, rows = table_rows(name, results, tr)
    lines = findings(name, results, cfg, tr)
    write_results(folder, name, cfg, results, head, rows, lines)
    pictures = [] if args.no_plots else write_plots(folder, name, results, cfg)
    from ..io import write_text
    write_text(os.path.join(folder, "report.md"), report(name, cfg, head, rows, lines, pictures, tr, seconds, lang))
    if not args.quiet:
        t = table(f"bprop experiment {name} ({data[4].name})", [(h, "left" if k == 0 else "right")
                                                                for k, h in enumerate(head)])
        for r in rows:
            t.add_row(*(plain(c) for c in r))
        out.print(t)
    for line in lines:
        out.print(plain(line))
    out.print(plain(tr("Run folder: {folder}").format(folder=folder)))
    return 0
