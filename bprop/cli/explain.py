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
note on a classic mistake in their sample code.

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

from dataclasses import dataclass, field

import numpy as np

from .options import (UsageError, add_parser, check_name, parse_float, parse_int_list, parse_matrices,
                      parse_rows)

EXAMPLES = """\
  bprop explain                                  # the 1-1-1 sigmoid example of the tutorials, one step
  bprop explain --steps 1000 --every 100         # train it: a summary line every 100 steps
  bprop explain --format latex > step.tex        # the same step as LaTeX (align* environments)
  bprop explain --layers 2,2,1 --weights "0.15,0.20|0.25,0.30;0.40,0.45" --biases "0.35,0.35;0.60" \\
                --input 0.05,0.10 --target 0.01 --lr 0.5
  bprop explain --layers 2,3,2 --activation tanh --loss cross_entropy --input "1,2|0,-1" --target "0|1" --seed 3
"""

DEFAULT_LAYERS = [1, 1, 1]
DEFAULT_WEIGHTS = "0.8;0.6"
DEFAULT_INPUT = "0.5"
DEFAULT_TARGET = "0.9"
SUPERSCRIPT = str.maketrans("0123456789-L+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᴸ⁺")


def register(subparsers) -> None:
    p = add_parser(subparsers, "explain", __doc__, EXAMPLES)
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
    net.add_argument("--activation", default="sigmoid", metavar="NAME",
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
                       help="mse (C = 1/(2n) Σ‖a − y‖², the default), cross_entropy or bce; e.g. --loss mse")
    train.add_argument("--lr", default="0.1", metavar="η", help="learning rate η, e.g. --lr 0.5 (default 0.1)")
    train.add_argument("--optimizer", default="sgd", metavar="NAME",
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
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- the model of a step
@dataclass
class Sym:
    """A symbol or formula in two spellings: Unicode text and LaTeX."""

    text: str
    latex: str


@dataclass
class Eq:
    """``lhs = rhs = substitution = result`` with an optional tag (BP1 … BP4, update)."""

    lhs: Sym
    rhs: Sym | None
    subst: list = field(default_factory=list)   # tokens: ndarray, ("op", name) or Sym
    result: np.ndarray | None = None
    tag: str = ""


@dataclass
class Section:
    title: str
    eqs: list


def _sup(l) -> str:
    return f"⁽{str(l).translate(SUPERSCRIPT)}⁾"


def _v(name: str, l) -> Sym:
    """``z⁽ˡ⁾`` / ``z^{(l)}``."""
    latex = {"δ": r"\delta"}.get(name, name)
    return Sym(f"{name}{_sup(l)}", f"{latex}^{{({l})}}")


def op(name: str):
    return ("op", name)


# --------------------------------------------------------------------------- number formatting
class Fmt:
    """Formats numbers and arrays for text, Markdown or LaTeX."""

    OPS_TEXT = {"matmul": "@", "odot": "⊙", "plus": "+", "minus": "−", "times": "×", "div": "/",
                "lpar": "(", "rpar": ")"}
    OPS_LATEX = {"matmul": r"\,", "odot": r"\odot", "plus": "+", "minus": "-", "times": r"\times", "div": "/",
                 "lpar": r"\left(", "rpar": r"\right)"}

    def __init__(self, fmt: str, precision: int):
        self.latex = fmt in ("markdown", "latex")
        self.p = precision

    def num(self, v: float) -> str:
        v = float(v)
        if v == 0:
            v = 0.0
        if v != 0 and (abs(v) < 10.0 ** -(self.p - 2) or abs(v) >= 1e7):
            s = f"{v:.{max(self.p - 2, 1)}e}"
            if self.latex:
                mant, exp = s.split("e")
                return f"{mant}\\times 10^{{{int(exp)}}}"
            return s
        s = f"{v:.{self.p}f}"
        return s.replace("-", "−") if not self.latex else s

    def arr(self, a) -> str:
        a = np.asarray(a, dtype=np.float64)
        if a.size == 1:
            return self.num(a.reshape(-1)[0])
        if a.ndim == 1 or a.shape[0] == 1:
            row = a.reshape(-1)
            if self.latex:
                return r"\begin{bmatrix}" + " & ".join(self.num(v) for v in row) + r"\end{bmatrix}"
            return "[" + ", ".join(self.num(v) for v in row) + "]"
        if self.latex:
            body = r" \\ ".join(" & ".join(self.num(v) for v in row) for row in a)
            return r"\begin{bmatrix}" + body + r"\end{bmatrix}"
        return "[" + ", ".join("[" + ", ".join(self.num(v) for v in row) + "]" for row in a) + "]"

    def sym(self, s: Sym) -> str:
        return s.latex if self.latex else s.text

    def tokens(self, tokens: list) -> str:
        scalar = all(np.asarray(t).size == 1 for t in tokens if isinstance(t, np.ndarray))
        table = self.OPS_LATEX if self.latex else self.OPS_TEXT
        parts = []
        for k, t in enumerate(tokens):
            if isinstance(t, tuple) and t[0] == "op":
                name = t[1]
                if scalar and name in ("matmul", "odot"):
                    name = "times"
                parts.append(table[name])
            elif isinstance(t, Sym):
                parts.append(self.sym(t))
            else:
                text = self.arr(t)
                if k > 0 and tokens[k - 1] != ("op", "lpar") and np.asarray(t).size == 1 and float(np.asarray(t).reshape(-1)[0]) < 0:
                    text = f"\\left({text}\\right)" if self.latex else f"({text})"
                parts.append(text)
        text = " ".join(parts)
        for a, b in (("( ", "("), (" )", ")"), (r"\left( ", r"\left("), (r" \right)", r"\right)")):
            text = text.replace(a, b)
        return text

    def eq(self, e: Eq) -> str:
        pieces = [self.sym(e.lhs)]
        if e.rhs is not None:
            pieces.append(self.sym(e.rhs))
        if e.subst:
            pieces.append(self.tokens(e.subst))
        if e.result is not None:
            pieces.append(self.arr(e.result))
        sep = r" \leftarrow " if e.tag == "update" and self.latex else (" ← " if e.tag == "update" else " = ")
        return pieces[0] + sep + " = ".join(pieces[1:])


# --------------------------------------------------------------------------- building the network
@dataclass
class Problem:
    net: object
    loss: object
    optimizer: object
    X: np.ndarray
    Y: np.ndarray
    y_raw: np.ndarray
    widths: list
    activation: str
    output_activation: str
    loss_name: str
    optimizer_name: str
    lr: float
    has_bias: bool
    seed_example: bool


def build_problem(args) -> Problem:
    """Turn the options into a float64 network, data and optimiser (usage errors for bad values)."""
    import bprop as bp
    from .. import activations, losses, optim

    widths = parse_int_list(args.layers, "--layers") if args.layers is not None else list(DEFAULT_LAYERS)
    if len(widths) < 2:
        raise UsageError(f"--layers: give at least the input and output widths (e.g. 1,1,1), got {args.layers!r}")
    default_net = widths == DEFAULT_LAYERS
    L = len(widths) - 1
    act = check_name("activation", "--activation", args.activation, activations.ACTIVATIONS)
    loss_name = check_name("loss", "--loss", args.loss, losses.LOSSES)
    loss = losses.get(loss_name)
    logit_loss = loss_name != "mse" and loss_name != "quadratic"
    if args.output_activation is None:
        out_act = "identity" if logit_loss else act
    else:
        out_act = check_name("activation", "--output-activation", args.output_activation, activations.ACTIVATIONS)
    if logit_loss and out_act not in ("identity", "linear"):
        raise UsageError(f"--loss {loss_name} takes logits: the output layer must have no activation "
                         f"(--output-activation identity), got {out_act!r}")
    opt_name = check_name("optimizer", "--optimizer", args.optimizer, optim.NAMES)
    lr = parse_float(args.lr, "--lr")
    if lr <= 0:
        raise UsageError(f"--lr: the learning rate must be positive, got {args.lr}")
    if args.steps < 1:
        raise UsageError(f"--steps: expected at least 1, got {args.steps}")
    if args.every is not None and args.every < 1:
        raise UsageError(f"--every: expected at least 1, got {args.every}")
    if not 1 <= args.precision <= 15:
        raise UsageError(f"--precision: expected 1 to 15 decimals, got {args.precision}")
    from ..initializers import REGISTRY
    init = check_name("initializer", "--init", args.init, REGISTRY)

    # weights
    weights_text = args.weights if args.weights is not None else (DEFAULT_WEIGHTS if default_net else None)
    weights = parse_matrices(weights_text, "--weights") if weights_text is not None else None
    if weights is not None:
        if len(weights) != L:
            raise UsageError(f"--weights: --layers {','.join(map(str, widths))} has {L} weight matrices, "
                             f"got {len(weights)} (separate matrices by ';')")
        for l, (W, n_in, n_out) in enumerate(zip(weights, widths[:-1], widths[1:]), start=1):
            if W.shape != (n_out, n_in):
                raise UsageError(f"--weights: W{l} connects {n_in} → {n_out} neurons and must have shape "
                                 f"(n_out, n_in) = ({n_out}, {n_in}): {n_out} row(s) separated by '|' with "
                                 f"{n_in} entr{'y' if n_in == 1 else 'ies'} each; got shape {W.shape}")
    # biases
    btext = args.biases
    biases = None
    if btext is not None and str(btext).strip().lower() not in ("none", ""):
        parts = [p.strip() for p in str(btext).split(";")]
        if len(parts) == 1 and "," not in parts[0] and L > 1:
            value = parse_float(parts[0], "--biases")
            biases = [np.full(n, value) for n in widths[1:]]
        else:
            if len(parts) != L:
                raise UsageError(f"--biases: --layers {','.join(map(str, widths))} has {L} bias vectors, "
                                 f"got {len(parts)} (separate them by ';')")
            biases = []
            for l, (part, n_out) in enumerate(zip(parts, widths[1:]), start=1):
                b = parse_rows(part, "--biases").reshape(-1)
                if b.size == 1 and n_out > 1:
                    b = np.full(n_out, b[0])
                if b.size != n_out:
                    raise UsageError(f"--biases: b{l} needs {n_out} entries (one per neuron of layer {l}), "
                                     f"got {b.size}")
                biases.append(b)
    has_bias = biases is not None

    layers = []
    for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        layers.append(bp.Dense(n_in, n_out, bias=has_bias, init=init))
        name = act if l < L else out_act
        if name not in ("identity", "linear"):
            layers.append(activations.get(name))
    net = bp.Sequential(layers, seed=args.seed, dtype="float64")
    dense = [layer for layer in net.layers if isinstance(layer, bp.Dense)]
    for l, layer in enumerate(dense):
        if weights is not None:
            layer.params["W"][...] = weights[l]
        if has_bias:
            layer.params["b"][...] = biases[l]

    # data
    x_text = args.input if args.input is not None else (DEFAULT_INPUT if default_net else None)
    y_text = args.target if args.target is not None else (DEFAULT_TARGET if default_net else None)
    if x_text is None or y_text is None:
        missing = " and ".join(o for o, t in (("--input", x_text), ("--target", y_text)) if t is None)
        raise UsageError(f"{missing}: needed for --layers {','.join(map(str, widths))} "
                         f"(e.g. --input {','.join(['0.5'] * widths[0])} --target "
                         f"{','.join(['0.5'] * widths[-1]) if not logit_loss else '0'})")
    X = parse_rows(x_text, "--input")
    if X.shape[1] != widths[0]:
        raise UsageError(f"--input: the network takes {widths[0]} input(s) per sample, got {X.shape[1]} "
                         f"(entries by ',', samples by '|')")
    Yraw = parse_rows(y_text, "--target")
    if loss_name in ("cross_entropy", "crossentropy", "ce") and Yraw.shape[1] == 1 and widths[-1] > 1:
        y = Yraw.reshape(-1)
    else:
        y = Yraw
        if Yraw.shape[1] != widths[-1]:
            raise UsageError(f"--target: the network has {widths[-1]} output(s), got {Yraw.shape[1]} target "
                             f"value(s) per sample")
    if len(y) != len(X):
        raise UsageError(f"--input has {len(X)} sample(s) but --target has {len(y)}; separate samples by '|'")
    try:
        X, Y, loss = net.prepare(X, y, loss)
    except ValueError as exc:
        raise UsageError(f"--target: {exc}") from None
    optimizer = optim.get(opt_name, lr=lr)
    seed_example = (widths == DEFAULT_LAYERS and not has_bias and act == "sigmoid" and out_act == "sigmoid"
                    and loss_name in ("mse", "quadratic") and opt_name == "sgd" and len(X) == 1)
    return Problem(net, loss, optimizer, X, Y, y, widths, act, out_act, loss_name, opt_name, lr, has_bias,
                   seed_example)


# --------------------------------------------------------------------------- one step as equations
def _sigma_prime(net, layer_index: int, z: np.ndarray) -> np.ndarray | None:
    """σ'(z) from the activation layer after Dense layer ``layer_index`` (its own backward), or None."""
    from ..activations import Activation, Identity
    nxt = layer_index + 1
    if nxt >= len(net.layers) or not isinstance(net.layers[nxt], Activation) or \
            isinstance(net.layers[nxt], Identity):
        return None
    import copy
    act = copy.deepcopy(net.layers[nxt])
    act.forward(z.copy(), True)
    return act.backward(np.ones_like(z))


def _act_name(net, layer_index: int) -> str:
    from ..activations import Activation
    nxt = layer_index + 1
    if nxt < len(net.layers) and isinstance(net.layers[nxt], Activation):
        return type(net.layers[nxt]).__name__.lower()
    return "identity"


def step_sections(pb: Problem, records: list, new_params: dict, old_params: dict) -> list[Section]:
    """The equations of one step, numbers from ``net.trace`` (``records``) and the optimiser."""
    net, L, n = pb.net, len(records), len(pb.X)
    sections = []
    # forward pass
    eqs = [Eq(_v("a", 0), Sym("x", "x"), [], pb.X)]
    for l, rec in enumerate(records, start=1):
        i = rec["layer"]
        W = old_params[f"{i}.W"]
        tokens = [rec["a_in"], op("matmul"), W.T]
        rhs_t, rhs_l = f"a{_sup(l - 1)} @ W{_sup(l)}ᵀ", rf"a^{{({l - 1})}} W^{{({l})\top}}"
        if pb.has_bias:
            tokens += [op("plus"), old_params[f"{i}.b"]]
            rhs_t += f" + b{_sup(l)}"
            rhs_l += f" + b^{{({l})}}"
        eqs.append(Eq(_v("z", l), Sym(rhs_t, rhs_l), tokens, rec["z"]))
        name = _act_name(net, i)
        if name == "identity":
            eqs.append(Eq(_v("a", l), Sym(f"z{_sup(l)}", f"z^{{({l})}}"), [], None))
        else:
            eqs.append(Eq(_v("a", l), Sym(f"{name}(z{_sup(l)})", rf"\mathrm{{{name}}}(z^{{({l})}})"), [],
                          rec["a_out"]))
    out = records[-1]["a_out"]
    sections.append(Section("forward pass", eqs))

    # loss
    aL_t, aL_l = f"a{_sup(L)}", f"a^{{({L})}}"
    if pb.loss_name in ("mse", "quadratic"):
        rhs = Sym(f"1/(2n) Σₓ ‖{aL_t} − y‖²", rf"\frac{{1}}{{2n}}\sum_x \lVert {aL_l} - y\rVert^2")
        lead = Sym(f"1/(2·{n}) · ‖", rf"\frac{{1}}{{2\cdot {n}}}\left\lVert") if n > 1 or out.shape[1] > 1 \
            else Sym("½ · (", r"\tfrac12\left(")
        tail = Sym("‖²", r"\right\rVert^2") if n > 1 or out.shape[1] > 1 else Sym(")²", r"\right)^2")
        tokens = [lead, out, op("minus"), pb.Y, tail]
    elif pb.loss_name in ("cross_entropy", "crossentropy", "ce"):
        rhs = Sym(f"−1/n Σₓ Σⱼ yⱼ ln softmax({aL_t})ⱼ", rf"-\frac1n\sum_x\sum_j y_j \ln\mathrm{{softmax}}({aL_l})_j")
        tokens = []
    else:
        rhs = Sym(f"−1/n Σₓ Σⱼ [yⱼ ln σ({aL_t}ⱼ) + (1 − yⱼ) ln(1 − σ({aL_t}ⱼ))]",
                  rf"-\frac1n\sum_x\sum_j \left[y_j\ln\sigma({aL_l}_j) + (1-y_j)\ln(1-\sigma({aL_l}_j))\right]")
        tokens = []
    loss_eqs = [Eq(Sym("C", "C"), rhs, tokens, np.array(records[0]["loss"]))]
    if pb.loss_name not in ("mse", "quadratic"):
        p = pb.loss.output_to_prediction(out)
        name = "softmax" if pb.loss_name in ("cross_entropy", "crossentropy", "ce") else "σ"
        latex = r"\mathrm{softmax}" if name == "softmax" else r"\sigma"
        loss_eqs.insert(0, Eq(Sym("p", "p"), Sym(f"{name}({aL_t})", f"{latex}({aL_l})"), [], p))
    sections.append(Section("loss", loss_eqs))

    # backward pass, from the output layer down
    eqs = []
    for l in range(L, 0, -1):
        rec = records[l - 1]
        i = rec["layer"]
        sp = _sigma_prime(net, i, rec["z"])
        d_t, d_l = f"δ{_sup(l)}", rf"\delta^{{({l})}}"
        if l == L:
            if pb.loss_name in ("mse", "quadratic"):
                _, grad = pb.loss.value_and_grad(out.copy(), pb.Y)
                eqs.append(Eq(Sym("∇ₐC", r"\nabla_a C"), Sym(f"({aL_t} − y)/n", rf"({aL_l} - y)/n"),
                              [op("lpar"), out, op("minus"), pb.Y, op("rpar"), op("div"), Sym(str(n), str(n))],
                              grad))
                if sp is None:
                    eqs.append(Eq(_v("δ", l), Sym("∇ₐC", r"\nabla_a C"), [], rec["delta"], tag="BP1"))
                else:
                    eqs.append(Eq(Sym(f"σ'(z{_sup(l)})", rf"\sigma'(z^{{({l})}})"), None, [], sp))
                    eqs.append(Eq(_v("δ", l), Sym(f"∇ₐC ⊙ σ'(z{_sup(l)})", rf"\nabla_a C \odot \sigma'(z^{{({l})}})"),
                                  [grad, op("odot"), sp], rec["delta"], tag="BP1"))
            else:
                p = pb.loss.output_to_prediction(out)
                name = "softmax" if pb.loss_name in ("cross_entropy", "crossentropy", "ce") else "σ"
                latex = r"\mathrm{softmax}" if name == "softmax" else r"\sigma"
                eqs.append(Eq(_v("δ", l), Sym(f"({name}(z{_sup(l)}) − y)/n", rf"({latex}(z^{{({l})}}) - y)/n"),
                              [op("lpar"), p, op("minus"), pb.Y, op("rpar"), op("div"), Sym(str(n), str(n))],
                              rec["delta"], tag="BP1"))
        else:
            nxt = records[l]
            Wn = old_params[f"{nxt['layer']}.W"]
            back = nxt["delta"] @ Wn
            if sp is None:
                eqs.append(Eq(_v("δ", l), Sym(f"δ{_sup(l + 1)} @ W{_sup(l + 1)}", rf"\delta^{{({l + 1})}} W^{{({l + 1})}}"),
                              [nxt["delta"], op("matmul"), Wn], rec["delta"], tag="BP2"))
            else:
                eqs.append(Eq(Sym(f"σ'(z{_sup(l)})", rf"\sigma'(z^{{({l})}})"), None, [], sp))
                eqs.append(Eq(_v("δ", l),
                              Sym(f"(δ{_sup(l + 1)} @ W{_sup(l + 1)}) ⊙ σ'(z{_sup(l)})",
                                  rf"\left(\delta^{{({l + 1})}} W^{{({l + 1})}}\right) \odot \sigma'(z^{{({l})}})"),
                              [op("lpar"), nxt["delta"], op("matmul"), Wn, op("rpar"), op("odot"), sp],
                              rec["delta"], tag="BP2"))
                del back
        if pb.has_bias:
            eqs.append(Eq(Sym(f"∂C/∂b{_sup(l)}", rf"\partial C/\partial b^{{({l})}}"),
                          Sym(f"Σ_rows δ{_sup(l)}", rf"\textstyle\sum_{{\text{{rows}}}} \delta^{{({l})}}"),
                          [rec["delta"]] if n > 1 else [], rec["db"], tag="BP3"))
        eqs.append(Eq(Sym(f"∂C/∂W{_sup(l)}", rf"\partial C/\partial W^{{({l})}}"),
                      Sym(f"δ{_sup(l)}ᵀ @ a{_sup(l - 1)}", rf"\delta^{{({l})\top}} a^{{({l - 1})}}"),
                      [rec["delta"].T, op("matmul"), rec["a_in"]], rec["dW"], tag="BP4"))
    sections.append(Section("backward pass", eqs))

    # update
    eqs = []
    sgd = pb.optimizer_name == "sgd"
    for l, rec in enumerate(records, start=1):
        i = rec["layer"]
        for name, grad in (("W", rec["dW"]), ("b", rec["db"])):
            key = f"{i}.{name}"
            if key not in new_params:
                continue
            lhs = _v(name, l)
            if sgd:
                rhs = Sym(f"{name}{_sup(l)} − η ∂C/∂{name}{_sup(l)}",
                          rf"{name}^{{({l})}} - \eta\,\partial C/\partial {name}^{{({l})}}")
                tokens = [old_params[key], op("minus"), Sym(Fmt("text", 6).num(pb.lr).rstrip("0").rstrip("."),
                                                                 str(pb.lr)), op("times"), grad]
            else:
                label = type(pb.optimizer).__name__
                rhs = Sym(f"{label} step from ∂C/∂{name}{_sup(l)}",
                          rf"\text{{{label} step from }}\partial C/\partial {name}^{{({l})}}")
                tokens = []
            eqs.append(Eq(lhs, rhs, tokens, new_params[key], tag="update"))
    sections.append(Section("update", eqs))
    return sections


def seed_mistake(pb: Problem, records: list, old_params: dict) -> dict:
    """What the tutorial's sample code computes for w1 (δ of the output times a1 instead of δ)."""
    a1 = float(records[0]["a_out"].reshape(-1)[0])
    dW1 = float(records[0]["dW"].reshape(-1)[0])
    w1 = float(old_params[f"{records[0]['layer']}.W"].reshape(-1)[0])
    return {"a1": a1, "dW1": dW1, "w1": w1, "w1_correct": w1 - pb.lr * dW1, "w1_seed": w1 - pb.lr * a1 * dW1}


# --------------------------------------------------------------------------- rendering
TAG_WIDTH = 8


class Renderer:
    def __init__(self, fmt: str, precision: int):
        self.format = fmt
        self.f = Fmt(fmt, precision)
        self.lines: list[str] = []

    def emit(self, text: str = "") -> None:
        self.lines.append(text)

    def heading(self, text: str, level: int = 2) -> None:
        if self.format == "text":
            self.emit(text)
            self.emit("=" * len(text) if level == 1 else "-" * len(text))
        elif self.format == "markdown":
            self.emit("#" * level + " " + text)
            self.emit()
        else:
            self.emit((r"\section*{" if level == 1 else r"\subsection*{") + _latex_text(text) + "}")

    def paragraph(self, text: str, latex: str | None = None) -> None:
        if self.format == "latex":
            self.emit(latex if latex is not None else _latex_text(text))
        elif self.format == "text":
            import textwrap
            self.emit(textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False))
        else:
            self.emit(text)
        self.emit()

    def sections(self, sections: list[Section]) -> None:
        for sec in sections:
            if self.format == "text":
                self.emit(f"  {sec.title}")
                for e in sec.eqs:
                    tag = f"[{e.tag}]" if e.tag and e.tag != "update" else ""
                    self.emit(f"    {tag:<{TAG_WIDTH}}{self.f.eq(e)}")
                self.emit()
            elif self.format == "markdown":
                self.emit(f"**{sec.title.capitalize()}**")
                self.emit()
                for e in sec.eqs:
                    tag = f"**{e.tag}** " if e.tag and e.tag != "update" else ""
                    self.emit(f"- {tag}${self.f.eq(e)}$")
                self.emit()
            else:
                self.emit(r"\paragraph{" + sec.title.capitalize() + "}")
                self.emit(r"\begin{align*}")
                rows = []
                for e in sec.eqs:
                    text = self.f.eq(e)
                    sep = r" \leftarrow " if e.tag == "update" else " = "
                    lhs, _, rest = text.partition(sep)
                    tag = rf" \tag*{{{e.tag}}}" if e.tag and e.tag != "update" else ""
                    rows.append(f"  {lhs} &{sep.strip()} {rest}{tag}")
                self.emit(" \\\\\n".join(rows))
                self.emit(r"\end{align*}")
                self.emit()


def _latex_text(text: str) -> str:
    repl = {"δ": r"$\delta$", "η": r"$\eta$", "σ": r"$\sigma$", "∂": r"$\partial$", "⊙": r"$\odot$",
            "→": r"$\to$", "≈": r"$\approx$", "−": "-", "×": r"$\times$", "_": r"\_", "%": r"\%", "&": r"\&",
            "#": r"\#", "@": r"@", "ᵀ": r"$^\top$"}
    out = "".join(repl.get(ch, ch) for ch in text)
    for sup, digit in zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"):
        out = out.replace(f"⁽{sup}⁾", f"$^{{({digit})}}$")
    return out


def _describe(pb: Problem) -> tuple[str, str]:
    widths = "-".join(map(str, pb.widths))
    bias = "with biases" if pb.has_bias else "no biases"
    act = pb.activation if pb.output_activation == pb.activation else \
        f"{pb.activation} (output: {pb.output_activation})"
    text = (f"network {widths}, {act}, {bias}; loss {pb.loss_name}; optimizer {pb.optimizer_name}, "
            f"η = {pb.lr:g}; {len(pb.X)} sample(s)")
    note = ("notation: W⁽ˡ⁾ has shape (n_out, n_in); z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ @ W⁽ˡ⁾ᵀ + b⁽ˡ⁾ (one sample per row); "
            "a⁽ˡ⁾ = σ(z⁽ˡ⁾); δ⁽ˡ⁾ = ∂C/∂z⁽ˡ⁾ (C is a batch mean, so δ carries 1/n)")
    return text, note


def _params_line(f: Fmt, pb: Problem, params: dict) -> str:
    parts = []
    l = 0
    for layer in pb.net.layers:
        if type(layer).__name__ != "Dense":
            continue
        l += 1
        for name in ("W", "b"):
            key = f"{layer.index}.{name}"
            if key in params:
                sym = _v(name, l)
                parts.append(f"{f.sym(sym)} = {f.arr(params[key])}")
    return ", ".join(parts)


def run(args) -> int:
    pb = build_problem(args)
    net = pb.net
    from .. import optim  # noqa: F401  (validated in build_problem)

    steps = args.steps
    every = args.every
    if every is None:
        every = None if steps <= 10 else max(steps // 10, 1)
    r = Renderer(args.format, args.precision)
    f = r.f
    title = ("Backpropagation, step by step: the 1-1-1 sigmoid example of the tutorials" if pb.seed_example
             else "Backpropagation, step by step")
    r.heading(title, level=1)
    r.emit()
    desc, note = _describe(pb)
    r.paragraph(desc)
    r.paragraph(note, latex=r"Notation: $W^{(l)}$ has shape $(n_\text{out}, n_\text{in})$; "
                            r"$z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}$ (one sample per row); "
                            r"$a^{(l)} = \sigma(z^{(l)})$; $\delta^{(l)} = \partial C/\partial z^{(l)}$ "
                            r"($C$ is a batch mean, so $\delta$ carries $1/n$).")
    start = _params_line(f, pb, net.params)
    target = f.arr(pb.Y)
    if args.format == "text":
        r.paragraph(f"start: {start}; input x = {f.arr(pb.X)}, target y = {target}")
    else:
        r.paragraph("", latex=None) if False else None
        r.paragraph(f"Start: ${start}$; input $x = {f.arr(pb.X)}$, target $y = {target}$.")

    summaries = []
    mistake = None
    for step in range(1, steps + 1):
        old = {k: v.copy() for k, v in net.params.items()}
        records = net.trace(pb.X, pb.y_raw, pb.loss)
        net.backprop(pb.X, pb.y_raw, pb.loss)
        pb.optimizer.step(net.params, net.grads)
        full = step == 1 or every is None
        if full:
            r.heading(f"Step {step}", level=2)
            if args.format == "text":
                r.emit()
            r.sections(step_sections(pb, records, net.params, old))
            if step == 1 and pb.seed_example:
                mistake = seed_mistake(pb, records, old)
        if every is not None and (step % every == 0 or step == steps):
            summaries.append((step, records[0]["loss"], records[-1]["a_out"].copy(),
                              {k: v.copy() for k, v in net.params.items()}))
    if summaries:
        _render_summaries(r, pb, summaries)
    final = net.trace(pb.X, pb.y_raw, pb.loss)
    out = final[-1]["a_out"]
    r.heading(f"After {steps} step{'s' if steps != 1 else ''}", level=2)
    r.emit() if args.format == "text" else None
    if args.format == "text":
        r.paragraph(f"output a⁽ᴸ⁾ = {f.arr(out)} (target {target}), C = {f.num(final[0]['loss'])}; "
                    f"{_params_line(f, pb, net.params)}")
    else:
        r.paragraph(f"Output $a^{{(L)}} = {f.arr(out)}$ (target ${target}$), $C = {f.num(final[0]['loss'])}$; "
                    f"${_params_line(f, pb, net.params)}$.")
    if mistake is not None:
        _render_mistake(r, pb, mistake)
    print("\n".join(r.lines).rstrip() + "\n", end="")
    return 0


def _render_summaries(r: Renderer, pb: Problem, rows: list) -> None:
    f = r.f
    small = pb.net.n_params <= 8
    r.heading("Training", level=2)
    if r.format == "text":
        r.emit()
        for step, c, out, params in rows:
            line = f"  step {step:>{len(str(rows[-1][0]))}}  C = {f.num(c)}  a⁽ᴸ⁾ = {f.arr(out)}"
            if small:
                line += f"  after the update: {_params_line(f, pb, params)}"
            r.emit(line)
        r.emit()
        r.emit("  (C and a⁽ᴸ⁾ are those of the forward pass of that step, before its update)")
        r.emit()
    elif r.format == "markdown":
        head = "| step | C | output |" + (" parameters after the update |" if small else "")
        r.emit(head)
        r.emit("|---:|---:|---|" + ("---|" if small else ""))
        for step, c, out, params in rows:
            line = f"| {step} | ${f.num(c)}$ | ${f.arr(out)}$ |"
            if small:
                line += f" ${_params_line(f, pb, params)}$ |"
            r.emit(line)
        r.emit()
        r.emit("C and the output are those of the forward pass of that step, before its update.")
        r.emit()
    else:
        cols = "rrl" + ("l" if small else "")
        r.emit(r"\begin{tabular}{" + cols + "}")
        r.emit(r"step & $C$ & output" + (r" & parameters after the update" if small else "") + r" \\ \hline")
        for step, c, out, params in rows:
            line = f"{step} & ${f.num(c)}$ & ${f.arr(out)}$"
            if small:
                line += f" & ${_params_line(f, pb, params)}$"
            r.emit(line + r" \\")
        r.emit(r"\end{tabular}")
        r.emit()


def _render_mistake(r: Renderer, pb: Problem, m: dict) -> None:
    f = r.f
    r.heading("A classic mistake (the tutorial's sample code)", level=2)
    if r.format == "text":
        r.emit()
    text = (
        "The sample code computes gradient_output = a1·(y − a2)·a2(1 − a2), which is −∂C/∂w2 (it already "
        "contains the hidden activation a1), and sends that back to the hidden layer: "
        "error_at_hidden = gradient_output·w2. BP2 sends δ of the output layer instead: "
        "δ⁽¹⁾ = (δ⁽²⁾ @ W⁽²⁾) ⊙ σ'(z⁽¹⁾). So the code's w1 update carries an extra factor "
        f"a1 = σ(w1·x) = {f.num(m['a1'])}:"
    )
    latex = (
        r"The sample code computes \texttt{gradient\_output} $= a_1 (y - a_2)\, a_2(1 - a_2)$, which is "
        r"$-\partial C/\partial w_2$ (it already contains the hidden activation $a_1$), and sends that back to "
        r"the hidden layer: \texttt{error\_at\_hidden} $=$ \texttt{gradient\_output}$\cdot w_2$. BP2 sends $\delta$ "
        r"of the output layer instead: $\delta^{(1)} = (\delta^{(2)} W^{(2)}) \odot \sigma'(z^{(1)})$. So the "
        rf"code's $w_1$ update carries an extra factor $a_1 = \sigma(w_1 x) = {f.num(m['a1'])}$:"
    )
    r.paragraph(text, latex=latex)
    if r.format == "text":
        r.emit(f"    correct (BP2):  w1 ← w1 − η ∂C/∂w1      = {f.num(m['w1'])} − {pb.lr:g} × "
               f"{f.num(m['dW1'])} = {f.num(m['w1_correct'])}")
        r.emit(f"    sample code:    w1 ← w1 − η a1 ∂C/∂w1   = {f.num(m['w1'])} − {pb.lr:g} × "
               f"{f.num(m['a1'])} × {f.num(m['dW1'])} = {f.num(m['w1_seed'])}")
        r.emit()
        r.emit("  Its w2 update is right: w2 ← w2 − η ∂C/∂w2 (gradient_output = −∂C/∂w2).")
    else:
        eqs = [
            (r"w_1 - \eta\,\partial C/\partial w_1",
             rf"{f.num(m['w1'])} - {pb.lr:g} \times {f.num(m['dW1'])}", m["w1_correct"], "BP2"),
            (r"w_1 - \eta\, a_1\,\partial C/\partial w_1",
             rf"{f.num(m['w1'])} - {pb.lr:g} \times {f.num(m['a1'])} \times {f.num(m['dW1'])}", m["w1_seed"],
             "sample code"),
        ]
        if r.format == "markdown":
            for rhs, sub, val, label in eqs:
                r.emit(f"- {label}: $w_1 \\leftarrow {rhs} = {sub} = {f.num(val)}$")
            r.emit()
            r.emit("Its $w_2$ update is right: $w_2 \\leftarrow w_2 - \\eta\\,\\partial C/\\partial w_2$.")
        else:
            r.emit(r"\begin{align*}")
            r.emit(" \\\\\n".join(f"  w_1 &\\leftarrow {rhs} = {sub} = {f.num(val)} \\tag*{{{label}}}"
                                 for rhs, sub, val, label in eqs))
            r.emit(r"\end{align*}")
            r.emit(r"Its $w_2$ update is right: $w_2 \leftarrow w_2 - \eta\,\partial C/\partial w_2$.")
    r.emit()
