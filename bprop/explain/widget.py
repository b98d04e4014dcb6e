"""A step-through widget for notebooks: a slider over training steps, each showing that step's trace.

``step_through(net, X, y, loss, optimizer, steps)`` takes the steps with
:func:`bprop.explain.step.take_step` (bprop's own ``trace``, ``backprop`` and
optimiser) and keeps them; the slider picks one, and the view shows its
loss C and, for every Dense layer, a⁽ˡ⁻¹⁾, z, a⁽ˡ⁾, δ, ∂C/∂W and ∂C/∂b as
coloured tables (:func:`bprop._html.trace_record`) with the parameters after
its update. Needs ``ipywidgets`` (``pip install 'bprop[jupyter]'``).
"""

from __future__ import annotations

import html

from .. import _html
from .step import take_step


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("the step-through widget needs ipywidgets; install it with: "
                          "pip install 'bprop[jupyter]'") from None
    return ipywidgets


def step_view(step) -> str:
    """One step as HTML: C, then each layer's trace and its parameters after the update."""
    parts = [f"<b>{html.escape(f'step {step.number}: C = {step.C:.6g}')}</b>"]
    for ls in step.layers:
        rec = {"layer": ls.index, "loss": step.C, "a_in": ls.a_in, "z": ls.z, "a_out": ls.a_out,
               "delta": ls.delta, "dW": ls.dW, "db": ls.db}
        parts.append(_html.trace_record(rec))
        after = _html.array(ls.W_new, f"W⁽{ls.l}⁾ after the update")
        if ls.b_new is not None:
            after += _html.array(ls.b_new, f"b⁽{ls.l}⁾ after the update")
        parts.append(f"<div>{after}</div>")
    return "".join(parts)


def step_through(net, X, y, loss, optimizer, steps: int = 10):
    """Train ``steps`` steps on the batch ``X, y`` and return a ``VBox(slider, view)`` over them.

    The network and optimiser are left after the last step, as :func:`~bprop.explain.step.walk` leaves them.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    widgets = _ipywidgets()
    taken = [take_step(net, X, y, loss, optimizer, number) for number in range(1, steps + 1)]
    slider = widgets.IntSlider(value=1, min=1, max=steps, step=1, description="step")
    view = widgets.HTML()

    def show(change=None):
        view.value = step_view(taken[slider.value - 1])

    slider.observe(show, names="value")
    show()
    return widgets.VBox([slider, view])
