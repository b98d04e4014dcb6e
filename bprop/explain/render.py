r"""Printing a :class:`~bprop.explain.step.Walkthrough`: one walk, one small class per format.

:class:`Renderer` walks the model — title, description, the start, each full
step's equations, the summary table, the end, and the note on the tutorial's
sample code — and calls hooks for every block (``heading``, ``paragraph``,
``sentence``, ``section``, ``summary_table``, ``mistake_steps``) and for every
number, array and symbol (``num``, ``row``, ``matrix``, ``sym``, ``paren``).
:class:`TextRenderer`, :class:`MarkdownRenderer` and :class:`LatexRenderer`
implement the hooks; none of them looks at the format of another.
"""

from __future__ import annotations

import textwrap
import unicodedata
from typing import ClassVar

import numpy as np

from ..i18n import translator
from .equations import Eq, Section, Sym, adam_section, bias_section, step_sections, var
from .step import Walkthrough, tutorial_mistake

NOTATION = Sym("notation: W⁽ˡ⁾ has shape (n_out, n_in); z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ @ W⁽ˡ⁾ᵀ + b⁽ˡ⁾ "
               "(one sample per row); a⁽ˡ⁾ = σ(z⁽ˡ⁾); δ⁽ˡ⁾ = ∂C/∂z⁽ˡ⁾ (C is a batch mean, so δ carries 1/n)",
               r"Notation: $W^{(l)}$ has shape $(n_\text{out}, n_\text{in})$; "
               r"$z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}$ (one sample per row); "
               r"$a^{(l)} = \sigma(z^{(l)})$; $\delta^{(l)} = \partial C/\partial z^{(l)}$ "
               r"($C$ is a batch mean, so $\delta$ carries $1/n$).")
MISTAKE = Sym(
    "The sample code computes gradient_output = a1·(y − a2)·a2(1 − a2), which is −∂C/∂w2 (it already "
    "contains the hidden activation a1), and sends that back to the hidden layer: "
    "error_at_hidden = gradient_output·w2. BP2 sends δ of the output layer instead: "
    "δ⁽¹⁾ = (δ⁽²⁾ @ W⁽²⁾) ⊙ σ'(z⁽¹⁾). So the code's w1 update carries an extra factor "
    "a1 = σ(w1·x) = {a1}:",
    r"The sample code computes \texttt{{gradient\_output}} $= a_1 (y - a_2)\, a_2(1 - a_2)$, which is "
    r"$-\partial C/\partial w_2$ (it already contains the hidden activation $a_1$), and sends that back to "
    r"the hidden layer: \texttt{{error\_at\_hidden}} $=$ \texttt{{gradient\_output}}$\cdot w_2$. BP2 sends $\delta$ "
    r"of the output layer instead: $\delta^{{(1)}} = (\delta^{{(2)}} W^{{(2)}}) \odot \sigma'(z^{{(1)}})$. So the "
    r"code's $w_1$ update carries an extra factor $a_1 = \sigma(w_1 x) = {a1}$:")
#: The two w1 updates: (label, tag, the rule, the rule's factors).
MISTAKE_RULES = (("correct (BP2):", "BP2", Sym("w1 − η ∂C/∂w1", r"w_1 - \eta\,\partial C/\partial w_1")),
                 ("sample code:", "sample code",
                  Sym("w1 − η a1 ∂C/∂w1", r"w_1 - \eta\, a_1\,\partial C/\partial w_1")))
BIAS_ADDED = Sym(
    "This network has no biases. Add a bias b⁽ˡ⁾ = 0 to every layer: z⁽ˡ⁾ = a⁽ˡ⁻¹⁾ @ W⁽ˡ⁾ᵀ + b⁽ˡ⁾ is unchanged, so "
    "the forward pass, C and every δ are those above, and the same step gives:",
    r"This network has no biases. Add a bias $b^{(l)} = 0$ to every layer: "
    r"$z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}$ is unchanged, so the forward pass, $C$ and every $\delta$ "
    r"are those above, and the same step gives:")
BIAS_NOTE = Sym(
    "∂z/∂b = 1, so ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾ (BP3) and b ← b − η δ; the weight gradient ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾ᵀ @ a⁽ˡ⁻¹⁾ (BP4) "
    "carries the input a⁽ˡ⁻¹⁾ of the layer, and the bias update has no such input factor (seed 000, "
    "equations 14–15).",
    r"$\partial z/\partial b = 1$, so $\partial C/\partial b^{(l)} = \delta^{(l)}$ (BP3) and "
    r"$b \leftarrow b - \eta\,\delta$; the weight gradient $\partial C/\partial W^{(l)} = "
    r"\delta^{(l)\top} a^{(l-1)}$ (BP4) carries the input $a^{(l-1)}$ of the layer, and the bias update has no "
    r"such input factor (seed 000, equations 14--15).")
ADAM_NOTE = ("bprop (like Kingma & Ba and PyTorch) adds ε to √v̂; seed 004 writes θ − η m̂/√(v̂ + ε), with ε under "
             "the root. The two differ only where v̂ is of the order of ε.")
W2_IS_RIGHT = r"Its $w_2$ update is right: $w_2 \leftarrow w_2 - \eta\,\partial C/\partial w_2$."


class Math(str):
    """A piece of a :meth:`Renderer.sentence` that is mathematics (already spelled by the renderer)."""


class Renderer:
    """The walk over a :class:`Walkthrough`; subclasses spell it in one format.

    Parameters
    ----------
    precision : int, default 6
        Decimals of every number (scientific notation below 10^-(precision-2) and from 10^7).
    lang : str, optional
        ``"en"`` or ``"zh"`` (default ``$BPROP_LANG``, else English): the prose and headings;
        the equations are the same in every language.
    """

    #: operator token → spelling
    OPS: ClassVar[dict[str, str]] = {}
    #: between the sides of an update θ ← …
    UPDATE = " ← "

    def __init__(self, precision: int = 6, lang: str | None = None):
        self.p = precision
        self.lines: list[str] = []
        self.tr = translator(lang)

    # ------------------------------------------------------------------ numbers and symbols
    def emit(self, text: str = "") -> None:
        self.lines.append(text)

    def num(self, v: float) -> str:
        v = float(v)
        if v == 0:
            v = 0.0   # no "−0.000000"
        if v != 0 and (abs(v) < 10.0 ** -(self.p - 2) or abs(v) >= 1e7):
            mant, _, exp = f"{v:.{max(self.p - 2, 1)}e}".partition("e")
            return self.scientific(mant, exp)
        return self.decimal(f"{v:.{self.p}f}")

    def scientific(self, mant: str, exp: str) -> str:
        return f"{mant}e{exp}"

    def decimal(self, text: str) -> str:
        return text

    def arr(self, a) -> str:
        a = np.asarray(a, dtype=np.float64)
        if a.size == 1:
            return self.num(a.reshape(-1)[0])
        if a.ndim == 1 or a.shape[0] == 1:
            return self.row([self.num(v) for v in a.reshape(-1)])
        return self.matrix([[self.num(v) for v in row] for row in a])

    def row(self, entries: list[str]) -> str:
        raise NotImplementedError

    def matrix(self, rows: list[list[str]]) -> str:
        raise NotImplementedError

    def sym(self, s: Sym) -> str:
        raise NotImplementedError

    def paren(self, text: str) -> str:
        raise NotImplementedError

    def tokens(self, tokens: list) -> str:
        """A substitution: arrays, operators and symbols; ``@`` and ``⊙`` of scalars are ``×``."""
        scalar = all(np.asarray(t).size == 1 for t in tokens if isinstance(t, np.ndarray))
        parts = []
        for k, t in enumerate(tokens):
            if isinstance(t, tuple) and t[0] == "op":
                name = "times" if scalar and t[1] in ("matmul", "odot") else t[1]
                parts.append(self.OPS[name])
            elif isinstance(t, Sym):
                parts.append(self.sym(t))
            else:
                text = self.arr(t)
                negative = np.asarray(t).size == 1 and float(np.asarray(t).reshape(-1)[0]) < 0
                parts.append(self.paren(text) if k > 0 and tokens[k - 1] != ("op", "lpar") and negative else text)
        text = " ".join(parts)
        for a, b in ((self.OPS["lpar"] + " ", self.OPS["lpar"]), (" " + self.OPS["rpar"], self.OPS["rpar"])):
            text = text.replace(a, b)
        return text

    def eq(self, e: Eq) -> str:
        """``lhs = rhs = substitution = result`` (``lhs ← …`` for an update)."""
        pieces = [self.sym(e.lhs)]
        if e.rhs is not None:
            pieces.append(self.sym(e.rhs))
        if e.subst:
            pieces.append(self.tokens(e.subst))
        if e.result is not None:
            pieces.append(self.arr(e.result))
        return pieces[0] + (self.UPDATE if e.is_update else " = ") + " = ".join(pieces[1:])

    def params_line(self, w: Walkthrough, params: dict) -> str:
        return ", ".join(f"{self.sym(var(name, l))} = {self.arr(v)}" for name, l, v in w.params(params))

    # ------------------------------------------------------------------ blocks (hooks)
    def heading(self, text: str, level: int = 2) -> None:
        raise NotImplementedError

    def paragraph(self, text: str | Sym) -> None:
        """A paragraph of prose; a :class:`Sym` gives a LaTeX spelling too."""
        raise NotImplementedError

    def sentence(self, parts: list[str]) -> None:
        """A sentence of prose and :class:`Math` pieces."""
        raise NotImplementedError

    def section(self, sec: Section) -> None:
        raise NotImplementedError

    def summary_table(self, rows: list[tuple], with_params: bool) -> None:
        """``(step, C, a⁽ᴸ⁾, parameters or None)`` per summarised step, already spelled."""
        raise NotImplementedError

    def mistake_steps(self, rows: list[tuple]) -> None:
        """``(label, tag, rule, substitution, result)`` for the right and the tutorial's w1 update."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the walk
    def title(self, sec: Section) -> str:
        """A section's title in the renderer's language."""
        return self.tr(sec.title).format(**sec.args)

    def render(self, w: Walkthrough) -> str:
        """The whole walk-through as one string."""
        s, tr = w.setup, self.tr
        self.lines = []
        self.heading(tr("Backpropagation, step by step") + (": " + tr(s.title) if s.title else ""), level=1)
        self.emit()
        self.paragraph(self.description(w))
        if s.note:
            self.paragraph(tr(s.note))
        self.paragraph(Sym(tr(NOTATION.text), tr(NOTATION.latex)))
        self.sentence([tr("Start: "), Math(self.params_line(w, w.start)), tr("; input "),
                       Math(f"x = {self.arr(w.X)}"), tr(", target "), Math(f"y = {self.arr(w.Y)}")])
        for step in w.steps:
            self.heading(tr("Step {n}").format(n=step.number), level=2)
            for sec in step_sections(step, s):
                self.section(sec)
            if s.adam is not None:
                for name, l, _ in w.params(w.start):
                    self.section(adam_section(step, s, name, l, f"{w.dense[l - 1]}.{name}"))
                self.paragraph(tr(ADAM_NOTE))
        if w.bias_step is not None:
            self.bias(w)
        if s.checks:
            self.heading(tr("Checked against the published numbers"), level=2)
            nine = lambda v: self.decimal(f"{v:.9f}")  # noqa: E731 - the sources print 9 decimals
            rows = [(c.label, nine(c.published), nine(c.value(w.steps[0])),
                     self.num(abs(c.value(w.steps[0]) - c.published))) for c in s.checks]
            self.check_table(rows)
        if w.summaries:
            self.heading(tr("Training"), level=2)
            small = w.n_params <= 8
            self.summary_table([(r.number, self.num(r.C), self.arr(r.output),
                                 self.params_line(w, r.params) if small else None) for r in w.summaries], small)
        self.heading(tr("After {n} step(s)").format(n=w.n_steps), level=2)
        self.sentence([tr("Output "), Math(f"{self.sym(Sym('a⁽ᴸ⁾', 'a^{(L)}'))} = {self.arr(w.final_output)}"),
                       tr(" (target "), Math(self.arr(w.Y)), "), ", Math(f"C = {self.num(w.final_C)}"), "; ",
                       Math(self.params_line(w, w.final))])
        if s.tutorial:
            self.mistake(tutorial_mistake(w.steps[0], s.lr), s.lr)
        return "\n".join(self.lines).rstrip() + "\n"

    def bias(self, w: Walkthrough) -> None:
        """BP3 — the bias: ∂C/∂b = δ beside ∂C/∂W = δᵀ a, and both updates, for step 1."""
        tr = self.tr
        self.heading(tr("BP3 — the bias"), level=2)
        if w.bias_added:
            self.paragraph(Sym(tr(BIAS_ADDED.text), tr(BIAS_ADDED.latex)))
        self.section(bias_section(w.bias_step, w.setup))
        self.paragraph(Sym(tr(BIAS_NOTE.text), tr(BIAS_NOTE.latex)))

    def check_table(self, rows: list[tuple]) -> None:
        """``(label, published, bprop, |difference|)`` per published number, already spelled."""
        raise NotImplementedError

    def description(self, w: Walkthrough) -> str:
        s, tr = w.setup, self.tr
        act = s.activation if s.output_activation == s.activation else \
            tr("{hidden} (output: {output})").format(hidden=s.activation, output=s.output_activation)
        return tr("network {widths}, {activation}, {biases}; loss {loss}; optimizer {optimizer}, η = {lr}; "
                  "{n} sample(s)").format(widths="-".join(map(str, s.widths)), activation=act,
                                          biases=tr("with biases") if s.has_bias else tr("no biases"),
                                          loss=s.loss_label, optimizer=s.optimizer_label, lr=f"{s.lr:g}",
                                          n=len(w.X))

    def mistake(self, m: dict, lr: float) -> None:
        """The tutorial's w1 update beside BP2's (numbers of :func:`~bprop.explain.step.tutorial_mistake`)."""
        self.heading(self.tr("A classic mistake (the tutorial's sample code)"), level=2)
        a1 = self.num(m["a1"])
        self.paragraph(Sym(self.tr(MISTAKE.text).format(a1=a1), self.tr(MISTAKE.latex).format(a1=a1)))
        minus, times = self.OPS["minus"], self.OPS["times"]
        factors = ([m["dW1"]], [m["a1"], m["dW1"]])
        rows = []
        for (label, tag, rule), fs, result in zip(MISTAKE_RULES, factors, (m["w1_correct"], m["w1_seed"])):
            sub = f"{self.num(m['w1'])} {minus} {lr:g} {times} " + f" {times} ".join(self.num(f) for f in fs)
            rows.append((label, tag, rule, sub, self.num(result)))
        self.mistake_steps(rows)


class TextRenderer(Renderer):
    """Plain Unicode text for a terminal: ``@`` for matrix products, ``⊙``, superscript layer numbers."""

    OPS: ClassVar[dict[str, str]] = {"matmul": "@", "odot": "⊙", "plus": "+", "minus": "−", "times": "×",
                                     "div": "/", "lpar": "(", "rpar": ")"}
    TAG_WIDTH = 8

    def decimal(self, text):
        return text.replace("-", "−")

    def row(self, entries):
        return "[" + ", ".join(entries) + "]"

    def matrix(self, rows):
        return "[" + ", ".join(self.row(r) for r in rows) + "]"

    def sym(self, s):
        return s.text

    def paren(self, text):
        return f"({text})"

    def heading(self, text, level=2):
        self.emit(text)
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)   # 汉字 take two columns
        self.emit("=" * width if level == 1 else "-" * width)
        if level > 1:
            self.emit()

    def paragraph(self, text):
        text = text.text if isinstance(text, Sym) else text
        self.emit(textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False))
        self.emit()

    def sentence(self, parts):
        """Terse, as a terminal line: no capital, no full stop."""
        text = "".join(parts)
        self.paragraph(text[:1].lower() + text[1:])

    def section(self, sec):
        self.emit(f"  {self.title(sec)}")
        width = max([self.TAG_WIDTH] + [len(e.tag) + 3 for e in sec.eqs if e.tag and e.tag != "update"])
        for e in sec.eqs:
            tag = f"[{e.tag}]" if e.tag and e.tag != "update" else ""
            self.emit(f"    {tag:<{width}}{self.eq(e)}")
        self.emit()

    def summary_table(self, rows, with_params):
        width = len(str(rows[-1][0]))
        for step, c, out, params in rows:
            line = f"  step {step:>{width}}  C = {c}  a⁽ᴸ⁾ = {out}"
            self.emit(line + (f"  {self.tr('after the update:')} {params}" if with_params else ""))
        self.emit()
        self.emit("  " + self.tr("(C and a⁽ᴸ⁾ are those of the forward pass of that step, before its update)"))
        self.emit()

    def check_table(self, rows):
        tr = self.tr
        head = (tr("quantity"), tr("published"), "bprop", tr("absolute difference"))
        widths = [max(len(str(r[k])) for r in rows + [head]) for k in range(4)]
        for r in [head] + rows:
            self.emit("  " + "  ".join(str(v).ljust(wd) if k == 0 else str(v).rjust(wd)
                                       for k, (v, wd) in enumerate(zip(r, widths))))
        self.emit()

    def mistake_steps(self, rows):
        for label, _, rule, sub, result in rows:
            self.emit(f"    {self.tr(label):<16}w1 ← {rule.text:<19}= {sub} = {result}")
        self.emit()
        self.emit("  " + self.tr("Its w2 update is right: w2 ← w2 − η ∂C/∂w2 (gradient_output = −∂C/∂w2)."))
        self.emit()


class _LatexMath(Renderer):
    """Numbers, arrays and symbols in LaTeX math (``bmatrix``, ``\\times 10^{k}``), for Markdown and LaTeX."""

    OPS: ClassVar[dict[str, str]] = {"matmul": r"\,", "odot": r"\odot", "plus": "+", "minus": "-",
                                     "times": r"\times", "div": "/", "lpar": r"\left(", "rpar": r"\right)"}
    UPDATE = r" \leftarrow "

    def scientific(self, mant, exp):
        return f"{mant}\\times 10^{{{int(exp)}}}"

    def row(self, entries):
        return r"\begin{bmatrix}" + " & ".join(entries) + r"\end{bmatrix}"

    def matrix(self, rows):
        return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{bmatrix}"

    def sym(self, s):
        return s.latex

    def paren(self, text):
        return rf"\left({text}\right)"


class MarkdownRenderer(_LatexMath):
    """Markdown with ``$…$`` math (GitHub, Jupyter, pandoc)."""

    def heading(self, text, level=2):
        self.emit("#" * level + " " + text)
        self.emit()

    def paragraph(self, text):
        self.emit(text.text if isinstance(text, Sym) else text)
        self.emit()

    def sentence(self, parts):
        self.paragraph("".join(f"${p}$" if isinstance(p, Math) else p for p in parts) + ".")

    def section(self, sec):
        title = self.title(sec)
        self.emit(f"**{title[:1].upper() + title[1:]}**")
        self.emit()
        for e in sec.eqs:
            tag = f"**{e.tag}** " if e.tag and e.tag != "update" else ""
            self.emit(f"- {tag}${self.eq(e)}$")
        self.emit()

    def summary_table(self, rows, with_params):
        self.emit("| step | C | output |" + (" parameters after the update |" if with_params else ""))
        self.emit("|---:|---:|---|" + ("---|" if with_params else ""))
        for step, c, out, params in rows:
            self.emit(f"| {step} | ${c}$ | ${out}$ |" + (f" ${params}$ |" if with_params else ""))
        self.emit()
        self.emit(self.tr("C and the output are those of the forward pass of that step, before its update."))
        self.emit()

    def check_table(self, rows):
        tr = self.tr
        self.emit(f"| {tr('quantity')} | {tr('published')} | bprop | {tr('absolute difference')} |")
        self.emit("|---|---:|---:|---:|")
        for label, pub, ours, diff in rows:
            self.emit(f"| {label} | ${pub}$ | ${ours}$ | ${diff}$ |")
        self.emit()

    def mistake_steps(self, rows):
        for _, tag, rule, sub, result in rows:
            self.emit(f"- {tag}: $w_1 \\leftarrow {rule.latex} = {sub} = {result}$")
        self.emit()
        self.emit(self.tr(W2_IS_RIGHT))
        self.emit()


def latex_text(text: str) -> str:
    """Unicode prose as LaTeX: Greek letters and operators as math, special characters escaped."""
    repl = {"δ": r"$\delta$", "η": r"$\eta$", "σ": r"$\sigma$", "∂": r"$\partial$", "⊙": r"$\odot$",
            "→": r"$\to$", "≈": r"$\approx$", "−": "-", "×": r"$\times$", "_": r"\_", "%": r"\%", "&": r"\&",
            "#": r"\#", "ᵀ": r"$^\top$",
            "√": r"$\surd$", "ε": r"$\varepsilon$", "θ": r"$\theta$", "β": r"$\beta$", "⁺": r"$^+$",
            "|": r"$|$"}
    out = "".join(repl.get(ch, ch) for ch in text)
    for text_, tex in (("m\u0302", r"$\hat m$"), ("v\u0302", r"$\hat v$"), ("ᵗ", r"$^t$")):
        out = out.replace(text_, tex)
    for sup, digit in zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"):
        out = out.replace(f"⁽{sup}⁾", f"$^{{({digit})}}$")
    return out


class LatexRenderer(_LatexMath):
    """LaTeX: ``\\section*`` headings, ``align*`` blocks with ``\\tag*{BP1}``, a ``tabular`` of summaries."""

    def heading(self, text, level=2):
        self.emit((r"\section*{" if level == 1 else r"\subsection*{") + latex_text(text) + "}")

    def paragraph(self, text):
        self.emit(text.latex if isinstance(text, Sym) else latex_text(text))
        self.emit()

    def sentence(self, parts):
        self.emit("".join(f"${p}$" if isinstance(p, Math) else latex_text(p) for p in parts) + ".")
        self.emit()

    def section(self, sec):
        title = self.title(sec)
        self.emit(r"\paragraph{" + latex_text(title[:1].upper() + title[1:]) + "}")
        self.emit(r"\begin{align*}")
        rows = []
        for e in sec.eqs:
            sep = self.UPDATE if e.is_update else " = "
            lhs, _, rest = self.eq(e).partition(sep)
            tag = rf" \tag*{{{latex_text(e.tag)}}}" if e.tag and e.tag != "update" else ""
            rows.append(f"  {lhs} &{sep.strip()} {rest}{tag}")
        self.emit(" \\\\\n".join(rows))
        self.emit(r"\end{align*}")
        self.emit()

    def summary_table(self, rows, with_params):
        self.emit(r"\begin{tabular}{" + "rrl" + ("l" if with_params else "") + "}")
        self.emit(r"step & $C$ & output" + (r" & parameters after the update" if with_params else "") + r" \\ \hline")
        for step, c, out, params in rows:
            self.emit(f"{step} & ${c}$ & ${out}$" + (f" & ${params}$" if with_params else "") + r" \\")
        self.emit(r"\end{tabular}")
        self.emit()

    def check_table(self, rows):
        tr = self.tr
        self.emit(r"\begin{tabular}{lrrr}")
        self.emit(" & ".join(latex_text(h) for h in (tr("quantity"), tr("published"), "bprop",
                                                      tr("absolute difference"))) + r" \\ \hline")
        for label, pub, ours, diff in rows:
            self.emit(f"{latex_text(label)} & ${pub}$ & ${ours}$ & ${diff}$ " + r"\\")
        self.emit(r"\end{tabular}")
        self.emit()

    def mistake_steps(self, rows):
        self.emit(r"\begin{align*}")
        self.emit(" \\\\\n".join(f"  w_1 &\\leftarrow {rule.latex} = {sub} = {result} \\tag*{{{tag}}}"
                                 for _, tag, rule, sub, result in rows))
        self.emit(r"\end{align*}")
        self.emit(self.tr(W2_IS_RIGHT))
        self.emit()


#: --format name → renderer class
RENDERERS = {"text": TextRenderer, "markdown": MarkdownRenderer, "latex": LatexRenderer}
