"""The worked examples of ``bprop explain --example NAME``, with the numbers published for them.

Each :class:`Example` is a tiny network written as the command's own options
(``--layers``, ``--weights``, ``--biases``, ``--input``, ``--target``, ``--lr``,
``--optimizer``), so that ``--example 2-2-2 --lr 0.1`` is the example with one
option changed. :class:`Check` entries are numbers printed in the example's
source; ``explain`` shows them beside its own.

* ``tutorial-002``: the 1-1-1 sigmoid network of seed 002 (x = 0.5, w1 = 0.8,
  w2 = 0.6, target 0.9, η = 0.1, no biases).
* ``bias``: seed 000's subject, ∂C/∂b = δ and b ← b − α δ, on a 2-2-1 sigmoid
  network with a bias in every layer: each bias update is its neuron's weight
  updates without the input factor a⁽ˡ⁻¹⁾.
* ``2-2-2``: the 2-2-2 sigmoid network with biases of Matt Mazur's "A Step by
  Step Backpropagation Example" (2015): inputs 0.05, 0.10, targets 0.01, 0.99,
  w1…w8 = 0.15 … 0.55, b1 = 0.35, b2 = 0.60, η = 0.5, E = Σ ½(target − out)².
* ``adam``: one Adam step on the 1-1-1 network, with m, v, m̂, v̂ of every
  weight and seed 004's ε-under-the-root variant beside Kingma & Ba's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    """A number published for an example: ``quantity`` of layer ``l`` at ``index`` after step 1.

    ``quantity`` is ``"C"`` or a :class:`~bprop.explain.step.LayerStep` field
    (``z``, ``a_out``, ``delta``, ``dW``, ``db``, ``W_new``, ``b_new``).
    """

    label: str
    published: float
    quantity: str
    l: int = 0
    index: tuple = ()

    def value(self, step) -> float:
        """bprop's own value of this quantity in ``step``."""
        if self.quantity == "C":
            return float(step.C)
        return float(getattr(step.layers[self.l - 1], self.quantity)[self.index])


@dataclass(frozen=True)
class Example:
    """A named worked example: its options (as on the command line), what it shows, and published numbers."""

    name: str
    title: str
    note: str
    options: dict
    checks: tuple = field(default=())
    source: str = ""


MAZUR = "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/"

EXAMPLES = {e.name: e for e in (
    Example("tutorial-002", "the 1-1-1 sigmoid example of the tutorials",
            "Seed 002's network: x = 0.5, w1 = 0.8, w2 = 0.6, no biases, target 0.9, quadratic cost, η = 0.1.",
            {"layers": "1,1,1", "weights": "0.8;0.6", "biases": "none", "input": "0.5", "target": "0.9",
             "lr": "0.1", "optimizer": "sgd"}),
    Example("bias", "how a bias is updated (seed 000)",
            "Seed 000: ∂C/∂b = δ and b ← b − α δ, while ∂C/∂w_kj = δ_k a_j and w_kj ← w_kj − α δ_k a_j. "
            "A 2-2-1 sigmoid network with a bias in every layer.",
            {"layers": "2,2,1", "weights": "0.5,-0.3|0.2,0.4;0.7,-0.6", "biases": "0.1,-0.2;0.3",
             "input": "1.0,0.5", "target": "0.8", "lr": "0.5", "optimizer": "sgd"}),
    Example("2-2-2", "the 2-2-2 network with biases of Mazur's step-by-step example",
            "Matt Mazur, 'A Step by Step Backpropagation Example' (2015): inputs 0.05, 0.10, targets 0.01, 0.99, "
            "w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, b1 = 0.35, b2 = 0.60, η = 0.5. "
            "His w1..w4 are W(1) row by row and w5..w8 are W(2). He keeps the biases fixed; bprop updates them "
            "too, which changes nothing in step 1's weight updates.",
            {"layers": "2,2,2", "weights": "0.15,0.20|0.25,0.30;0.40,0.45|0.50,0.55", "biases": "0.35;0.60",
             "input": "0.05,0.10", "target": "0.01,0.99", "lr": "0.5", "optimizer": "sgd"},
            checks=(
                Check("out_h1", 0.593269992, "a_out", 1, (0, 0)),
                Check("out_h2", 0.596884378, "a_out", 1, (0, 1)),
                Check("out_o1", 0.75136507, "a_out", 2, (0, 0)),
                Check("out_o2", 0.772928465, "a_out", 2, (0, 1)),
                Check("E_total", 0.298371109, "C"),
                Check("∂E_total/∂w5", 0.082167041, "dW", 2, (0, 0)),
                Check("∂E_total/∂w1", 0.000438568, "dW", 1, (0, 0)),
                Check("w5⁺", 0.35891648, "W_new", 2, (0, 0)),
                Check("w6⁺", 0.408666186, "W_new", 2, (0, 1)),
                Check("w7⁺", 0.511301270, "W_new", 2, (1, 0)),
                Check("w8⁺", 0.561370121, "W_new", 2, (1, 1)),
                Check("w1⁺", 0.149780716, "W_new", 1, (0, 0)),
                Check("w2⁺", 0.19956143, "W_new", 1, (0, 1)),
                Check("w3⁺", 0.24975114, "W_new", 1, (1, 0)),
                Check("w4⁺", 0.29950229, "W_new", 1, (1, 1)),
            ), source=MAZUR),
    Example("adam", "one Adam step, moment by moment",
            "Seed 004's Adam on the 1-1-1 network: m and v (first and second moments), their bias corrections "
            "m̂ = m/(1 − β1ᵗ) and v̂ = v/(1 − β2ᵗ), and the step with ε added to √v̂ (Kingma & Ba, PyTorch, bprop) "
            "beside the seed's ε under the root.",
            {"layers": "1,1,1", "weights": "0.8;0.6", "biases": "none", "input": "0.5", "target": "0.9",
             "lr": "0.1", "optimizer": "adam"}),
)}
