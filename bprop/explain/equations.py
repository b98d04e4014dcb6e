r"""One step as equations: BP1–BP4 with the numbers substituted, in no particular format.

Each symbol has two spellings (:class:`Sym`: Unicode text and LaTeX); an
equation (:class:`Eq`) is ``lhs = rhs = substitution = result``, where the
substitution is a list of tokens — arrays, operators (``op("matmul")``) and
symbols — that a renderer spells in its own format.

The equations, for layer :math:`l` of :math:`L`:

* forward: :math:`z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}`, :math:`a^{(l)} = σ(z^{(l)})`;
* BP1: :math:`δ^{(L)} = ∇_a C ⊙ σ'(z^{(L)})`, or :math:`(\mathrm{softmax}(z^{(L)}) − y)/n`
  for a loss on logits (the loss's fused output error);
* BP2: :math:`δ^{(l)} = (δ^{(l+1)} W^{(l+1)}) ⊙ σ'(z^{(l)})`;
* BP3: :math:`∂C/∂b^{(l)} = \sum_\text{rows} δ^{(l)}`;
* BP4: :math:`∂C/∂W^{(l)} = δ^{(l)\top} a^{(l-1)}`;
* update: :math:`θ ← θ − η\,∂C/∂θ` for plain SGD, else the optimiser's step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber
from .step import Setup, Step

SUPERSCRIPT = str.maketrans("0123456789-L+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᴸ⁺")


@dataclass
class Sym:
    """A symbol or formula in two spellings: Unicode text and LaTeX."""

    text: str
    latex: str


@dataclass
class Eq:
    """``lhs = rhs = substitution = result`` (``←`` for an update) with an optional tag (BP1 … BP4, update)."""

    lhs: Sym
    rhs: Sym | None
    subst: list = field(default_factory=list)   # tokens: ndarray, ("op", name) or Sym
    result: np.ndarray | None = None
    tag: str = ""
    arrow: bool = False                          # an update θ ← …, also when tagged otherwise

    @property
    def is_update(self) -> bool:
        return self.arrow or self.tag == "update"


@dataclass
class Section:
    """Equations under a title; ``title`` is a message (translated by the renderer) formatted with ``args``."""

    title: str
    eqs: list
    args: dict = field(default_factory=dict)


def op(name: str) -> tuple[str, str]:
    """An operator token: matmul, odot, plus, minus, times, div, lpar, rpar."""
    return ("op", name)


def sup(l) -> str:
    """``⁽ˡ⁾``: a layer number as a Unicode superscript."""
    return f"⁽{str(l).translate(SUPERSCRIPT)}⁾"


def var(name: str, l) -> Sym:
    """``z⁽ˡ⁾`` / ``z^{(l)}``."""
    latex = {"δ": r"\delta"}.get(name, name)
    return Sym(f"{name}{sup(l)}", f"{latex}^{{({l})}}")


@dataclass
class LossFormula:
    """How a loss is written: C in terms of a⁽ᴸ⁾ (Unicode, LaTeX), and the link of a logit loss."""

    text: str                # with {a} for a⁽ᴸ⁾
    latex: str
    link: Sym | None = None  # p = link(z): softmax or σ
    #: ∇ₐC (a loss on activations) or δ⁽ᴸ⁾ (a logit loss), with {a}, where it is not the (a − y)/n or
    #: (link(z) − y)/n written out with its numbers; shown with its result only
    grad: Sym | None = None


#: The formula of each built-in loss, by class (a subclass is written as its base).
FORMULAS = {
    MSE: LossFormula("1/(2n) Σₓ ‖{a} − y‖²", r"\frac{{1}}{{2n}}\sum_x \lVert {a} - y\rVert^2"),
    CrossEntropy: LossFormula("−1/n Σₓ Σⱼ yⱼ ln softmax({a})ⱼ",
                              r"-\frac1n\sum_x\sum_j y_j \ln\mathrm{{softmax}}({a})_j", Sym("softmax", r"\mathrm{softmax}")),
    BinaryCrossEntropy: LossFormula(
        "−1/n Σₓ Σⱼ [yⱼ ln σ({a}ⱼ) + (1 − yⱼ) ln(1 − σ({a}ⱼ))]",
        r"-\frac1n\sum_x\sum_j \left[y_j\ln\sigma({a}_j) + (1-y_j)\ln(1-\sigma({a}_j))\right]", Sym("σ", r"\sigma")),
    MAE: LossFormula("1/n Σₓ Σⱼ |{a}ⱼ − yⱼ|", r"\frac1n\sum_x\sum_j \left|{a}_j - y_j\right|",
                     grad=Sym("sign({a} − y)/n", r"\mathrm{{sign}}({a} - y)/n")),
    Huber: LossFormula("1/n Σₓ Σⱼ h_δ({a}ⱼ − yⱼ),  h_δ(r) = ½r² if |r| ≤ δ else δ(|r| − ½δ)",
                       r"\frac1n\sum_x\sum_j h_\delta({a}_j - y_j),\ h_\delta(r) = \begin{{cases}}\tfrac12 r^2 & "
                       r"|r|\le\delta\\ \delta(|r| - \tfrac12\delta) & |r|>\delta\end{{cases}}",
                       grad=Sym("clip({a} − y, −δ, δ)/n", r"\mathrm{{clip}}({a} - y, -\delta, \delta)/n")),
}
#: CrossEntropy with label smoothing ε: the targets y' = (1 − ε) y + ε/k.
SMOOTHED_CROSS_ENTROPY = LossFormula(
    "−1/n Σₓ Σⱼ y'ⱼ ln softmax({a})ⱼ,  y' = (1 − ε) y + ε/k",
    r"-\frac1n\sum_x\sum_j y'_j \ln\mathrm{{softmax}}({a})_j,\ y' = (1-\varepsilon)\,y + \varepsilon/k",
    Sym("softmax", r"\mathrm{softmax}"), grad=Sym("(softmax({a}) − y')/n", r"(\mathrm{{softmax}}({a}) - y')/n"))


def formula(loss) -> LossFormula:
    """The :data:`FORMULAS` entry of ``loss``'s class or nearest base class; its name for any other loss."""
    if isinstance(loss, CrossEntropy) and loss.label_smoothing:
        return SMOOTHED_CROSS_ENTROPY
    for cls in type(loss).__mro__:
        if cls in FORMULAS:
            return FORMULAS[cls]
    name = loss.name.replace("_", r"\_")
    link = Sym("output_to_prediction", r"\mathrm{output\_to\_prediction}") if loss.takes_logits else None
    return LossFormula(loss.name, r"\mathrm{{" + name + "}}", link)


def forward_section(step: Step) -> Section:
    eqs = [Eq(var("a", 0), Sym("x", "x"), [], step.X)]
    for ls in step.layers:
        l = ls.l
        tokens = [ls.a_in, op("matmul"), ls.W.T]
        rhs_t, rhs_l = f"a{sup(l - 1)} @ W{sup(l)}ᵀ", rf"a^{{({l - 1})}} W^{{({l})\top}}"
        if ls.b is not None:
            tokens += [op("plus"), ls.b]
            rhs_t += f" + b{sup(l)}"
            rhs_l += f" + b^{{({l})}}"
        eqs.append(Eq(var("z", l), Sym(rhs_t, rhs_l), tokens, ls.z))
        if ls.activation == "identity":
            eqs.append(Eq(var("a", l), Sym(f"z{sup(l)}", f"z^{{({l})}}"), [], None))
        else:
            eqs.append(Eq(var("a", l), Sym(f"{ls.activation}(z{sup(l)})", rf"\mathrm{{{ls.activation}}}(z^{{({l})}})"),
                          [], ls.a_out))
    return Section("forward pass", eqs)


def loss_section(step: Step) -> Section:
    L, n, out = len(step.layers), len(step.X), step.output
    aL_t, aL_l = f"a{sup(L)}", f"a^{{({L})}}"
    f = formula(step.loss)
    rhs = Sym(f.text.format(a=aL_t), f.latex.format(a=aL_l))
    tokens = []
    if isinstance(step.loss, MSE):   # the quadratic cost, written out with its numbers
        several = n > 1 or out.shape[1] > 1
        lead = Sym(f"1/(2·{n}) · ‖", rf"\frac{{1}}{{2\cdot {n}}}\left\lVert") if several else \
            Sym("½ · (", r"\tfrac12\left(")
        tail = Sym("‖²", r"\right\rVert^2") if several else Sym(")²", r"\right)^2")
        tokens = [lead, out, op("minus"), step.Y, tail]
    eqs = [Eq(Sym("C", "C"), rhs, tokens, np.array(step.C))]
    if step.prediction is not None:
        eqs.insert(0, Eq(Sym("p", "p"), Sym(f"{f.link.text}({aL_t})", f"{f.link.latex}({aL_l})"), [],
                         step.prediction))
    return Section("loss", eqs)


def _sigma_prime_eq(l: int, sp: np.ndarray) -> Eq:
    return Eq(Sym(f"σ'(z{sup(l)})", rf"\sigma'(z^{{({l})}})"), None, [], sp)


def output_delta(step: Step) -> list[Eq]:
    """BP1, with ∇ₐC for a loss on activations, or the fused (link(z) − y)/n of a logit loss."""
    L, n, out = len(step.layers), len(step.X), step.output
    ls = step.layers[-1]
    aL_t, aL_l = f"a{sup(L)}", f"a^{{({L})}}"
    count = Sym(str(n), str(n))
    f = formula(step.loss)
    if f.grad is not None:                 # written as a formula, with the result
        a_t, a_l = (f"z{sup(L)}", f"z^{{({L})}}") if step.grad_a is None else (aL_t, aL_l)
        rhs = Sym(f.grad.text.format(a=a_t), f.grad.latex.format(a=a_l))
        if step.grad_a is None:
            return [Eq(var("δ", L), rhs, [], ls.delta, tag="BP1")]
        eqs = [Eq(Sym("∇ₐC", r"\nabla_a C"), rhs, [], step.grad_a)]
    elif step.grad_a is None:
        link = f.link
        return [Eq(var("δ", L), Sym(f"({link.text}(z{sup(L)}) − y)/n", rf"({link.latex}(z^{{({L})}}) - y)/n"),
                   [op("lpar"), step.prediction, op("minus"), step.Y, op("rpar"), op("div"), count],
                   ls.delta, tag="BP1")]
    else:
        eqs = [Eq(Sym("∇ₐC", r"\nabla_a C"), Sym(f"({aL_t} − y)/n", rf"({aL_l} - y)/n"),
                  [op("lpar"), out, op("minus"), step.Y, op("rpar"), op("div"), count], step.grad_a)]
    if ls.sigma_prime is None:
        eqs.append(Eq(var("δ", L), Sym("∇ₐC", r"\nabla_a C"), [], ls.delta, tag="BP1"))
    else:
        eqs.append(_sigma_prime_eq(L, ls.sigma_prime))
        eqs.append(Eq(var("δ", L), Sym(f"∇ₐC ⊙ σ'(z{sup(L)})", rf"\nabla_a C \odot \sigma'(z^{{({L})}})"),
                      [step.grad_a, op("odot"), ls.sigma_prime], ls.delta, tag="BP1"))
    return eqs


def hidden_delta(step: Step, l: int) -> list[Eq]:
    """BP2: δ⁽ˡ⁾ from δ⁽ˡ⁺¹⁾ and W⁽ˡ⁺¹⁾ (the weights before the update)."""
    ls, nxt = step.layers[l - 1], step.layers[l]
    back_t, back_l = f"δ{sup(l + 1)} @ W{sup(l + 1)}", rf"\delta^{{({l + 1})}} W^{{({l + 1})}}"
    if ls.sigma_prime is None:
        return [Eq(var("δ", l), Sym(back_t, back_l), [nxt.delta, op("matmul"), nxt.W], ls.delta, tag="BP2")]
    return [_sigma_prime_eq(l, ls.sigma_prime),
            Eq(var("δ", l), Sym(f"({back_t}) ⊙ σ'(z{sup(l)})",
                                rf"\left({back_l}\right) \odot \sigma'(z^{{({l})}})"),
               [op("lpar"), nxt.delta, op("matmul"), nxt.W, op("rpar"), op("odot"), ls.sigma_prime],
               ls.delta, tag="BP2")]


def backward_section(step: Step) -> Section:
    L, n = len(step.layers), len(step.X)
    eqs = []
    for l in range(L, 0, -1):
        ls = step.layers[l - 1]
        eqs += output_delta(step) if l == L else hidden_delta(step, l)
        if ls.db is not None:
            eqs.append(Eq(Sym(f"∂C/∂b{sup(l)}", rf"\partial C/\partial b^{{({l})}}"),
                          Sym(f"Σ_rows δ{sup(l)}", rf"\textstyle\sum_{{\text{{rows}}}} \delta^{{({l})}}"),
                          [ls.delta] if n > 1 else [], ls.db, tag="BP3"))
        eqs.append(Eq(Sym(f"∂C/∂W{sup(l)}", rf"\partial C/\partial W^{{({l})}}"),
                      Sym(f"δ{sup(l)}ᵀ @ a{sup(l - 1)}", rf"\delta^{{({l})\top}} a^{{({l - 1})}}"),
                      [ls.delta.T, op("matmul"), ls.a_in], ls.dW, tag="BP4"))
    return Section("backward pass", eqs)


def update_section(step: Step, setup: Setup) -> Section:
    """θ ← θ − η ∂C/∂θ with the numbers for plain SGD; the optimiser's result for the others."""
    eqs = []
    lr = Sym(f"{setup.lr:g}", str(setup.lr))
    for ls in step.layers:
        l = ls.l
        for name, old, grad, new in (("W", ls.W, ls.dW, ls.W_new), ("b", ls.b, ls.db, ls.b_new)):
            if new is None:
                continue
            if setup.plain_sgd:
                rhs = Sym(f"{name}{sup(l)} − η ∂C/∂{name}{sup(l)}",
                          rf"{name}^{{({l})}} - \eta\,\partial C/\partial {name}^{{({l})}}")
                tokens = [old, op("minus"), lr, op("times"), grad]
            else:
                label = setup.optimizer_class
                rhs = Sym(f"{label} step from ∂C/∂{name}{sup(l)}",
                          rf"\text{{{label} step from }}\partial C/\partial {name}^{{({l})}}")
                tokens = []
            eqs.append(Eq(var(name, l), rhs, tokens, new, tag="update"))
    return Section("update", eqs)


def step_sections(step: Step, setup: Setup) -> list[Section]:
    """The forward pass, the loss, the backward pass (BP1–BP4, output layer first) and the update."""
    return [forward_section(step), loss_section(step), backward_section(step), update_section(step, setup)]


def bias_section(step: Step, setup: Setup) -> Section:
    r"""BP3 beside BP4 for every layer, output layer first, and both updates.

    .. math::

        \frac{\partial C}{\partial b^{(l)}} = \sum_\text{rows} \delta^{(l)}, \qquad
        \frac{\partial C}{\partial W^{(l)}} = \delta^{(l)\top} a^{(l-1)}, \qquad
        b^{(l)} \leftarrow b^{(l)} - \eta\, \frac{\partial C}{\partial b^{(l)}}

    The bias gradient is δ itself because :math:`\partial z/\partial b = 1`;
    the weight gradient carries the input factor :math:`a^{(l-1)}`.
    """
    n = len(step.X)
    lr = Sym(f"{setup.lr:g}", str(setup.lr))
    eqs = []
    for ls in reversed(step.layers):
        l = ls.l
        eqs.append(Eq(Sym(f"∂C/∂b{sup(l)}", rf"\partial C/\partial b^{{({l})}}"),
                      Sym(f"Σ_rows δ{sup(l)}" if n > 1 else f"δ{sup(l)}",
                          rf"\textstyle\sum_{{\text{{rows}}}} \delta^{{({l})}}" if n > 1 else rf"\delta^{{({l})}}"),
                      [ls.delta] if n > 1 else [], ls.db, tag="BP3"))
        eqs.append(Eq(Sym(f"∂C/∂W{sup(l)}", rf"\partial C/\partial W^{{({l})}}"),
                      Sym(f"δ{sup(l)}ᵀ @ a{sup(l - 1)}", rf"\delta^{{({l})\top}} a^{{({l - 1})}}"),
                      [ls.delta.T, op("matmul"), ls.a_in], ls.dW, tag="BP4"))
        if setup.plain_sgd:
            eqs.append(Eq(var("b", l), Sym(f"b{sup(l)} − η ∂C/∂b{sup(l)}",
                                           rf"b^{{({l})}} - \eta\,\partial C/\partial b^{{({l})}}"),
                          [ls.b, op("minus"), lr, op("times"), ls.db], ls.b_new, tag="update"))
        else:
            eqs.append(Eq(var("b", l), Sym(f"{setup.optimizer_class} step from ∂C/∂b{sup(l)}",
                                           rf"\text{{{setup.optimizer_class} step from }}\partial C/\partial b^{{({l})}}"),
                          [], ls.b_new, tag="update"))
    return Section("bias and weight gradients of step 1", eqs)


def adam_section(step: Step, setup: Setup, name: str, l: int, key: str) -> Section:
    r"""One Adam step of parameter ``key`` (``name`` of layer ``l``), each moment with its numbers.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}

    then Kingma & Ba's :math:`\theta_t = \theta_{t-1} - \eta\,\hat m_t/(\sqrt{\hat v_t} + \varepsilon)`
    (the optimiser's own result) beside seed 004's
    :math:`\theta_{t-1} - \eta\,\hat m_t/\sqrt{\hat v_t + \varepsilon}`.
    m and v are the optimiser's state; m̂, v̂ and the seed's variant are
    computed here from them, elementwise.
    """
    b1, b2, eps = setup.adam
    t = step.t
    ls = step.layers[l - 1]
    theta, g, new = (ls.W, ls.dW, ls.W_new) if name == "W" else (ls.b, ls.db, ls.b_new)
    m, v = step.opt_after[f"adam.m/{key}"], step.opt_after[f"adam.v/{key}"]
    m0 = step.opt_before.get(f"adam.m/{key}", np.zeros_like(m))
    v0 = step.opt_before.get(f"adam.v/{key}", np.zeros_like(v))
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    seed = theta - setup.lr * m_hat / np.sqrt(v_hat + eps)
    s = f"{sup(l)}"
    P = f"{name}{s}"
    Pl = f"{name}^{{({l})}}"
    num = lambda x: Sym(f"{x:g}", f"{x:g}")  # noqa: E731
    lr = num(setup.lr)
    eqs = [
        Eq(Sym(f"g = ∂C/∂{P}", rf"g = \partial C/\partial {Pl}"), None, [], g),
        Eq(Sym("m", "m"), Sym("β1 m₀ + (1 − β1) g", r"\beta_1 m_0 + (1 - \beta_1)\, g"),
           [num(b1), op("times"), m0, op("plus"), num(1 - b1), op("times"), g], m),
        Eq(Sym("v", "v"), Sym("β2 v₀ + (1 − β2) g ⊙ g", r"\beta_2 v_0 + (1 - \beta_2)\, g \odot g"),
           [num(b2), op("times"), v0, op("plus"), num(round(1 - b2, 12)), op("times"), g, op("odot"), g], v),
        Eq(Sym("m̂", r"\hat m"), Sym(f"m / (1 − β1^{t})", rf"m / (1 - \beta_1^{{{t}}})"),
           [m, op("div"), num(1 - b1**t)], m_hat),
        Eq(Sym("v̂", r"\hat v"), Sym(f"v / (1 − β2^{t})", rf"v / (1 - \beta_2^{{{t}}})"),
           [v, op("div"), num(round(1 - b2**t, 12))], v_hat),
        Eq(Sym("√v̂", r"\sqrt{\hat v}"), None, [], np.sqrt(v_hat)),
        Eq(Sym("√(v̂ + ε)", r"\sqrt{\hat v + \varepsilon}"), None, [], np.sqrt(v_hat + eps)),
        Eq(var(name, l), Sym(f"{P} − η m̂ / (√v̂ + ε)", rf"{Pl} - \eta\, \hat m / (\sqrt{{\hat v}} + \varepsilon)"),
           [theta, op("minus"), lr, op("times"), m_hat, op("div"), op("lpar"), np.sqrt(v_hat), op("plus"),
            num(eps), op("rpar")], new, tag="Kingma & Ba", arrow=True),
        Eq(var(name, l), Sym(f"{P} − η m̂ / √(v̂ + ε)", rf"{Pl} - \eta\, \hat m / \sqrt{{\hat v + \varepsilon}}"),
           [theta, op("minus"), lr, op("times"), m_hat, op("div"), np.sqrt(v_hat + eps)], seed,
           tag="seed 004", arrow=True),
    ]
    return Section("Adam step of {param} (t = {t}, β1 = {b1}, β2 = {b2}, ε = {eps})", eqs,
                   {"param": P, "t": t, "b1": f"{b1:g}", "b2": f"{b2:g}", "eps": f"{eps:g}"})
