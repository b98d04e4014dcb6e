"""Backpropagation by hand: every z, a, δ, ∂C/∂W, ∂C/∂b and update of a tiny network, in numbers.

For the network described by the options, each step prints the forward pass
(z and a of every layer), the loss C, δ of the output layer (BP1), δ of each
hidden layer (BP2), ∂C/∂b (BP3) and ∂C/∂W (BP4) with the equation each comes
from, and the weights and biases after the update. The numbers are those of
bprop's own ``net.trace`` and optimiser, in float64.

Notation: layer l = 1..L is a Dense layer followed by the activation σ;
a⁽⁰⁾ is the input. W⁽ˡ⁾ has shape (n_out, n_in), so W[k, j] connects neuron j
of layer l−1 to neuron k of layer l; z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ @ W⁽ˡ⁾ᵀ + b⁽ˡ⁾ (one
sample per row), a⁽ˡ⁾ = σ(z⁽ˡ⁾), δ⁽ˡ⁾ = ∂C/∂z⁽ˡ⁾.

With no options: the 1-1-1 sigmoid network of the tutorials (x = 0.5,
w1 = 0.8, w2 = 0.6, no biases, target 0.9, quadratic cost, η = 0.1), with a
note on a classic mistake in their sample code. Every walk-through ends its
step with "BP3 — the bias": ∂C/∂b = δ beside ∂C/∂W = δᵀ a and both updates
(for a network without biases, the same step with b = 0 added).

Worked examples (--example NAME; any other option changes one of its values):
  tutorial-002  the 1-1-1 example of the tutorials (the default)
  bias          seed 000: a 2-2-1 network with biases, each bias update beside its weights'
  2-2-2         Mazur's 2-2-2 network with biases, checked against his published numbers
  adam          one Adam step: m, v, m̂, v̂ of every weight, ε as Kingma & Ba and as seed 004

Weight format (--weights): one matrix per layer, separated by ';'; the rows of
a matrix separated by '|', the entries of a row by ','. Matrix l is W⁽ˡ⁾ with
shape (n_out, n_in): one row per neuron of layer l, one entry per neuron of
layer l−1. For --layers 2,2,1, "0.15,0.20|0.25,0.30;0.40,0.45" is
W⁽¹⁾ = [[0.15, 0.20], [0.25, 0.30]] and W⁽²⁾ = [[0.40, 0.45]].
Biases (--biases): one vector per layer separated by ';' (entries by ','),
a single number for every bias, or 'none' for a network without biases.
Inputs and targets: entries separated by ',', samples (rows) by '|'.
"""

from __future__ import annotations

import numpy as np

from .options import (UsageError, add_parser, check_name, did_you_mean, parse_float, parse_int_list, parse_matrices,
                      parse_rows)

EXAMPLES = """\
  bprop explain                                  # the 1-1-1 sigmoid example of the tutorials, one step
  bprop explain --steps 1000 --every 100         # train it: a summary line every 100 steps
  bprop explain --format latex > step.tex        # the same step as LaTeX (align* environments)
  bprop explain --layers 2,2,1 --weights "0.15,0.20|0.25,0.30;0.40,0.45" --biases "0.35,0.35;0.60" \\
                --input 0.05,0.10 --target 0.01 --lr 0.5
  bprop explain --example 2-2-2                  # Mazur's network, beside his published numbers
  bprop explain --example adam --lang zh         # one Adam step, in Chinese
  bprop explain --layers 2,3,2 --activation tanh --loss cross_entropy --input "1,2|0,-1" --target "0|1" --seed 3
"""



def register(subparsers) -> None:
    from ..explain.examples import EXAMPLES as WORKED
    from ..i18n import LANGUAGES
    p = add_parser(subparsers, "explain", __doc__, EXAMPLES)
    p.add_argument("--example", default=None, metavar="NAME",
                   help=f"a worked example: {', '.join(WORKED)} (default tutorial-002 when no --layers); "
                        "e.g. --example bias")
    net = p.add_argument_group("network")
    net.add_argument("--layers", default=None, metavar="N0,N1,...",
                     help="widths of all layers, input first and output last (default 1,1,1); "
                          "e.g. --layers 2,2,1")
    net.add_argument("--weights", default=None, metavar="W1;W2;...",
                     help="W of each layer, (n_out, n_in) orientation: matrices separated by ';', rows by '|', "
                          "entries by ','; e.g. --weights \"0.15,0.20|0.25,0.30;0.40,0.45\" "
                          "(default: 0.8;0.6 for 1,1,1, else drawn with --init and --seed)")
    net.add_argument("--biases", default=None, metavar="B1;B2;...",
                     help="b of each layer: vectors separated by ';', entries by ','; one number for all; "
                          "or 'none' (the default: no biases); e.g. --biases \"0.35,0.35;0.60\"")
    net.add_argument("--activation", default=None, metavar="NAME",
                     help="σ after every hidden layer, e.g. --activation tanh (default sigmoid)")
    net.add_argument("--output-activation", default=None, metavar="NAME",
                     help="σ of the output layer (default: --activation for mse, identity for the logit losses "
                          "cross_entropy and bce); e.g. --output-activation identity")
    net.add_argument("--init", default="xavier_uniform", metavar="NAME",
                     help="initialiser for weights not given by --weights, e.g. --init he_normal")
    net.add_argument("--seed", type=int, default=0, metavar="INT",
                     help="seed for drawn weights, e.g. --seed 3 (default 0)")
    train = p.add_argument_group("data and training")
    train.add_argument("--input", default=None, metavar="X",
                       help="the input a⁽⁰⁾: entries by ',', samples by '|'; e.g. --input 0.05,0.10 (default 0.5)")
    train.add_argument("--target", default=None, metavar="Y",
                       help="the target y, same format (class labels for cross_entropy); e.g. --target 0.9")
    train.add_argument("--loss", default="mse", metavar="NAME",
                       help="mse (C = 1/(2n) Σ‖a − y‖², the default), mae, huber (huber:delta=0.5), "
                            "cross_entropy (cross_entropy:label_smoothing=0.1) or bce; e.g. --loss mse")
    train.add_argument("--lr", default=None, metavar="η", help="learning rate η, e.g. --lr 0.5 (default 0.1)")
    train.add_argument("--optimizer", default=None, metavar="NAME",
                       help="sgd (θ ← θ − η ∂C/∂θ, the default), momentum, nesterov, rmsprop, adam or adamw; "
                            "e.g. --optimizer momentum")
    train.add_argument("--steps", type=int, default=1, metavar="N",
                       help="gradient steps on the same input, e.g. --steps 1000 (default 1)")
    train.add_argument("--every", type=int, default=None, metavar="K",
                       help="show step 1 in full, then one summary line every K steps; e.g. --every 100 "
                            "(default: every step in full up to 10 steps, else a line every N/10)")
    out = p.add_argument_group("output")
    out.add_argument("--format", default="text", choices=("text", "markdown", "latex"),
                     help="text (the default), markdown (with $…$ math) or latex (align* blocks); "
                          "e.g. --format markdown")
    out.add_argument("--precision", type=int, default=6, metavar="D",
                     help="decimals shown, e.g. --precision 4 (default 6)")
    out.add_argument("--lang", default=None, metavar="CODE",
                     help=f"language of the prose: {', '.join(LANGUAGES)} (default $BPROP_LANG, else en); "
                          "e.g. --lang zh")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- options → network, data, optimiser
def _biases(text, widths: list[int]) -> list[np.ndarray] | None:
    """The bias vectors of ``--biases`` (None for 'none' or no option)."""
    L = len(widths) - 1
    if text is None or str(text).strip().lower() in ("none", ""):
        return None
    parts = [p.strip() for p in str(text).split(";")]
    if len(parts) == 1 and "," not in parts[0] and L > 1:
        value = parse_float(parts[0], "--biases")
        return [np.full(n, value) for n in widths[1:]]
    if len(parts) != L:
        raise UsageError(f"--biases: --layers {','.join(map(str, widths))} has {L} bias vectors, "
                         f"got {len(parts)} (separate them by ';')")
    biases = []
    for l, (part, n_out) in enumerate(zip(parts, widths[1:]), start=1):
        b = parse_rows(part, "--biases").reshape(-1)
        if b.size == 1 and n_out > 1:
            b = np.full(n_out, b[0])
        if b.size != n_out:
            raise UsageError(f"--biases: b{l} needs {n_out} entries (one per neuron of layer {l}), got {b.size}")
        biases.append(b)
    return biases


def _weights(text, widths: list[int]) -> list[np.ndarray] | None:
    """The weight matrices of ``--weights``, each checked to be ``(n_out, n_in)``."""
    if text is None:
        return None
    weights = parse_matrices(text, "--weights")
    L = len(widths) - 1
    if len(weights) != L:
        raise UsageError(f"--weights: --layers {','.join(map(str, widths))} has {L} weight matrices, "
                         f"got {len(weights)} (separate matrices by ';')")
    for l, (W, n_in, n_out) in enumerate(zip(weights, widths[:-1], widths[1:]), start=1):
        if W.shape != (n_out, n_in):
            raise UsageError(f"--weights: W{l} connects {n_in} → {n_out} neurons and must have shape "
                             f"(n_out, n_in) = ({n_out}, {n_in}): {n_out} row(s) separated by '|' with "
                             f"{n_in} entr{'y' if n_in == 1 else 'ies'} each; got shape {W.shape}")
    return weights


def build(args):
    """The options as ``(net, X, y, loss, optimizer, setup)``: a float64 network, one batch and its optimiser.

    Every bad value is a usage error (exit 2).
    """
    from .. import activations, losses, optim
    from ..explain import Setup
    from ..initializers import REGISTRY
    from ..layers import Dense
    from ..mlp import build_mlp

    from ..explain.examples import EXAMPLES as WORKED

    example = None
    if args.example is not None:
        if args.layers is not None:
            raise UsageError(f"--layers: --example {args.example} fixes the network; drop --layers or --example")
        key = str(args.example).strip().lower().replace("_", "-")
        if key not in WORKED:
            raise UsageError(f"--example: unknown example {args.example!r}; valid examples: {', '.join(WORKED)}"
                             f"{did_you_mean(key, WORKED)}")
        example = WORKED[key]
    elif args.layers is None:
        example = WORKED["tutorial-002"]
    given = dict(example.options) if example is not None else {}
    for key in ("weights", "biases", "input", "target", "lr", "optimizer", "activation"):
        if getattr(args, key) is not None:
            given[key] = getattr(args, key)
    layers = args.layers if args.layers is not None else given["layers"]
    widths = parse_int_list(layers, "--layers")
    if len(widths) < 2:
        raise UsageError(f"--layers: give at least the input and output widths (e.g. 1,1,1), got {args.layers!r}")
    act = check_name("activation", "--activation", given.get("activation", "sigmoid"), activations.ACTIVATIONS)
    from .common import parse_loss
    loss = parse_loss(args.loss)
    loss_name = loss.spec
    if args.output_activation is None:
        out_act = "identity" if loss.takes_logits else act
    else:
        out_act = check_name("activation", "--output-activation", args.output_activation, activations.ACTIVATIONS)
    if loss.takes_logits and out_act not in ("identity", "linear"):
        raise UsageError(f"--loss {loss_name} takes logits: the output layer must have no activation "
                         f"(--output-activation identity), got {out_act!r}")
    opt_name = check_name("optimizer", "--optimizer", given.get("optimizer", "sgd"), optim.NAMES)
    lr = parse_float(given.get("lr", "0.1"), "--lr")
    if lr <= 0:
        raise UsageError(f"--lr: the learning rate must be positive, got {given.get('lr')}")
    if args.steps < 1:
        raise UsageError(f"--steps: expected at least 1, got {args.steps}")
    if args.every is not None and args.every < 1:
        raise UsageError(f"--every: expected at least 1, got {args.every}")
    if not 1 <= args.precision <= 15:
        raise UsageError(f"--precision: expected 1 to 15 decimals, got {args.precision}")
    init = check_name("initializer", "--init", args.init, REGISTRY)
    weights = _weights(given.get("weights"), widths)
    biases = _biases(given.get("biases"), widths)

    net = build_mlp(widths[0], widths[1:-1], widths[-1], activation=act, output_activation=out_act, init=init,
                    bias=biases is not None, seed=args.seed, dtype="float64")
    for l, i in enumerate(i for i, layer in enumerate(net.layers) if isinstance(layer, Dense)):
        if weights is not None:
            net.params[f"{i}.W"][...] = weights[l]
        if biases is not None:
            net.params[f"{i}.b"][...] = biases[l]

    x_text, y_text = given.get("input"), given.get("target")
    if x_text is None or y_text is None:
        missing = " and ".join(o for o, t in (("--input", x_text), ("--target", y_text)) if t is None)
        raise UsageError(f"{missing}: needed for --layers {','.join(map(str, widths))} "
                         f"(e.g. --input {','.join(['0.5'] * widths[0])} --target "
                         f"{','.join(['0.5'] * widths[-1]) if not loss.takes_logits else '0'})")
    X = parse_rows(x_text, "--input")
    if X.shape[1] != widths[0]:
        raise UsageError(f"--input: the network takes {widths[0]} input(s) per sample, got {X.shape[1]} "
                         f"(entries by ',', samples by '|')")
    y = parse_rows(y_text, "--target")
    if loss.task == "classification" and y.shape[1] == 1 and widths[-1] > 1:
        y = y.reshape(-1)   # one class label per sample
    elif y.shape[1] != widths[-1]:
        raise UsageError(f"--target: the network has {widths[-1]} output(s), got {y.shape[1]} target "
                         f"value(s) per sample")
    if len(y) != len(X):
        raise UsageError(f"--input has {len(X)} sample(s) but --target has {len(y)}; separate samples by '|'")
    try:
        net.prepare(X, y, loss)
    except ValueError as exc:
        raise UsageError(f"--target: {exc}") from None
    optimizer = optim.get(opt_name, lr=lr)
    plain_sgd = isinstance(optimizer, optim.SGD) and optimizer.momentum == 0
    tutorial = (widths == [1, 1, 1] and weights is not None and biases is None and act == "sigmoid" and out_act == "sigmoid"
                and isinstance(loss, losses.MSE) and plain_sgd and len(X) == 1)
    is_adam = type(optimizer) is optim.Adam and not optimizer.weight_decay
    setup = Setup(example.title if example is not None else "", widths, act, out_act, loss_name, opt_name,
                  type(optimizer).__name__, lr, has_bias=biases is not None, plain_sgd=plain_sgd,
                  tutorial=tutorial, example=example.name if example is not None else None,
                  note=example.note if example is not None else "",
                  checks=example.checks if example is not None else (),
                  adam=(*optimizer.betas, optimizer.eps) if is_adam else None)
    return net, X, y, loss, optimizer, setup


def run(args) -> int:
    from ..explain import RENDERERS, walk
    from ..i18n import resolve
    try:
        lang = resolve(args.lang)
    except ValueError as exc:
        raise UsageError(f"--lang: {exc}") from None
    net, X, y, loss, optimizer, setup = build(args)
    every = args.every
    if every is None and args.steps > 10:
        every = max(args.steps // 10, 1)
    w = walk(net, X, y, loss, optimizer, setup, steps=args.steps, every=every)
    print(RENDERERS[args.format](args.precision, lang).render(w), end="")
    return 0
