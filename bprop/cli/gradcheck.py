"""Check backpropagation against finite differences for a network you describe.

Builds the network of the options in float64, takes a small batch of random
data (or the first --n-samples rows of a named data set), and compares every
∂C/∂θ that backpropagation gives with the central difference
(C(θ + h) − C(θ − h)) / 2h. Prints the relative error
‖g − ĝ‖₂ / max(‖g‖₂, ‖ĝ‖₂) of each parameter array with pass/fail; the exit
status is 1 if any error exceeds --tolerance.

Layers: without --data, --layers gives every width, input first and output
last (e.g. 4,8,3); with --data, it gives the hidden widths only (as in train),
the input and output widths coming from the data.
"""

from __future__ import annotations

import numpy as np

from ..mlp import build_mlp
from .common import check_data_name, describe_layers
from .options import UsageError, add_parser, check_name, parse_int_list

EXAMPLES = """\
  bprop gradcheck                                          # 4-8-3 tanh network, cross-entropy
  bprop gradcheck --layers 5,16,16,2 --activation relu --batchnorm --dropout 0.3
  bprop gradcheck --layers 3,4,2 --activation sigmoid --output-activation sigmoid --loss mse
  bprop gradcheck --data iris --layers 8 --n-samples 16
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "gradcheck", __doc__, EXAMPLES)
    p.add_argument("--layers", default=None, metavar="N0,N1,...",
                   help="all widths, input first (default 4,8,3); with --data the hidden widths; "
                        "e.g. --layers 5,16,2")
    p.add_argument("--activation", default="tanh", metavar="NAME",
                   help="hidden activation, e.g. --activation relu (default tanh)")
    p.add_argument("--output-activation", default=None, metavar="NAME",
                   help="activation after the last layer (default none: logits for cross_entropy/bce); "
                        "e.g. --output-activation sigmoid with --loss mse")
    p.add_argument("--loss", default="cross_entropy", metavar="NAME",
                   help="cross_entropy (default; cross_entropy:label_smoothing=0.1), bce, mse, mae or huber "
                        "(huber:delta=0.5); e.g. --loss mse")
    p.add_argument("--init", default="xavier_uniform", metavar="NAME",
                   help="weight initialiser, e.g. --init he_normal (default xavier_uniform)")
    p.add_argument("--batchnorm", action="store_true",
                   help="insert BatchNorm after every hidden Dense layer (batch statistics, training mode)")
    p.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="dropout probability after every hidden activation, e.g. --dropout 0.2 (the same mask "
                        "is used for every evaluation)")
    p.add_argument("--data", default=None, metavar="NAME",
                   help="take X, y from a data set instead of random numbers, e.g. --data iris")
    p.add_argument("--n-samples", type=int, default=8, metavar="N",
                   help="batch size of the check, e.g. --n-samples 16 (default 8)")
    p.add_argument("--seed", type=int, default=0, metavar="INT",
                   help="seed of the weights, data and dropout masks, e.g. --seed 1 (default 0)")
    p.add_argument("--eps", type=float, default=1e-6, metavar="H",
                   help="finite-difference step h, e.g. --eps 1e-5 (default 1e-6)")
    p.add_argument("--tolerance", type=float, default=1e-6, metavar="TOL",
                   help="largest relative error that passes, e.g. --tolerance 1e-7 (default 1e-6)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with MNIST IDX files, e.g. --data-dir ~/data/mnist")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import activations, data as bdata
    from ..initializers import REGISTRY
    from .console import console, plain, table

    act = check_name("activation", "--activation", args.activation, activations.ACTIVATIONS)
    out_act = None if args.output_activation is None else check_name(
        "activation", "--output-activation", args.output_activation, activations.ACTIVATIONS)
    from .common import parse_loss
    loss = parse_loss(args.loss)
    loss_name = loss.spec
    init = check_name("initializer", "--init", args.init, REGISTRY)
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout: expected a probability in [0, 1), got {args.dropout}")
    if args.n_samples < 1 or (args.batchnorm and args.n_samples < 2):
        raise UsageError(f"--n-samples: expected at least {2 if args.batchnorm else 1}"
                         f"{' (BatchNorm needs a batch)' if args.batchnorm else ''}, got {args.n_samples}")
    if not args.eps > 0 or not args.tolerance >= 0:
        raise UsageError(f"--eps must be positive and --tolerance non-negative, got {args.eps}, {args.tolerance}")
    rng = np.random.default_rng(args.seed)
    n = args.n_samples
    if args.data is None:
        widths = parse_int_list(args.layers or "4,8,3", "--layers")
        if len(widths) < 2:
            raise UsageError(f"--layers: give the input and output widths too (e.g. 4,8,3), got {args.layers!r}")
        n_in, hidden, n_out = widths[0], widths[1:-1], widths[-1]
        X = rng.standard_normal((n, n_in))
        if loss.task == "classification":
            y = rng.integers(0, n_out, size=n)
        elif loss.task == "multilabel":
            y = rng.integers(0, 2, size=(n, n_out)).astype(np.float64)
        else:
            y = rng.standard_normal((n, n_out))
            if out_act in ("sigmoid",):
                y = rng.uniform(0.05, 0.95, size=(n, n_out))
        source = f"random X ~ N(0, 1) of shape ({n}, {n_in})"
    else:
        hidden = parse_int_list(args.layers if args.layers is not None else "8", "--layers", allow_empty=True)
        from .common import load_dataset
        spec = check_data_name(args.data)
        ds = load_dataset(spec, seed=args.seed, data_dir=args.data_dir, progress=False)
        X = bdata.Standardizer().fit_transform(ds.X_train)[:n]
        n_in, n = X.shape[1], len(X[:n])
        if ds.task == "classification":
            n_out = ds.n_outputs
            y = ds.y_train[:n]
            if loss.task != "classification":
                y = np.eye(n_out)[y]
        else:
            n_out = ds.n_outputs
            y = ds.y_train[:n]
            if loss.task != "regression":
                raise UsageError(f"--loss {loss_name} needs class labels; {spec} is a regression set (use mse)")
        source = f"the first {n} training rows of {spec} (standardised)"
    net = build_mlp(n_in, hidden, n_out, activation=act, output_activation=out_act, init=init,
                    batchnorm=args.batchnorm, dropout=args.dropout, seed=args.seed, dtype="float64")
    import bprop as bp
    try:
        net.prepare(X, y, loss)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = bp.gradcheck(net, X, y, loss, eps=args.eps, tolerance=args.tolerance)

    con = console()
    con.print(f"gradcheck of {describe_layers(net)}")
    con.print(f"data: {plain(source)}; loss {type(loss).__name__}; float64; central differences with h = {args.eps:g}")
    t = table(None, ["parameter", ("shape", "right"), ("relative error", "right"), ("max |g − ĝ|", "right"),
                     "result"])
    for key, err in result.errors.items():
        ok = err <= args.tolerance
        t.add_row(key, str(tuple(net.params[key].shape)), f"{err:.3e}", f"{result.max_abs_diff[key]:.3e}",
                  "[green]pass[/green]" if ok else "[bold red]FAIL[/bold red]")
    con.print(t)
    verdict = "[green]PASSED[/green]" if result.passed else "[bold red]FAILED[/bold red]"
    con.print(f"{verdict}: max relative error {result.max_error:.3e} (tolerance {args.tolerance:g})")
    return 0 if result.passed else 1
