"""Backpropagation by hand: one training step of a small network, in numbers, and how to print it.

:mod:`bprop.explain.step` takes the steps with the library itself
(``net.trace``, ``net.backprop`` and the optimiser) and keeps every number:
the input, z, a, δ, ∂C/∂W, ∂C/∂b and the parameters before and after each
update. :mod:`bprop.explain.equations` turns a step into the equations
BP1–BP4 (each symbol in a Unicode and a LaTeX spelling), and
:mod:`bprop.explain.render` prints a walk-through as text, Markdown or
LaTeX, one small class per format. ``bprop explain`` is these three in a row.
"""

from .render import RENDERERS, LatexRenderer, MarkdownRenderer, Renderer, TextRenderer
from .step import LayerStep, Setup, Step, Walkthrough, take_step, walk

__all__ = [
           "RENDERERS",
           "LatexRenderer",
           "LayerStep",
           "MarkdownRenderer",
           "Renderer",
           "Setup",
           "Step",
           "TextRenderer",
           "Walkthrough",
           "take_step",
           "walk",
]
