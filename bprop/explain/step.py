r"""The numbers of training steps on one batch, taken with bprop's own code.

Notation (that of ``net.trace``): layer :math:`l = 1..L` is a Dense layer and
the activation σ after it; :math:`a^{(0)} = x`;
:math:`z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}` (one sample per row),
:math:`a^{(l)} = σ(z^{(l)})` and :math:`δ^{(l)} = ∂C/∂z^{(l)}`. Nothing here
re-implements a formula: z, a, δ, ∂C/∂W and ∂C/∂b come from
:meth:`~bprop.Sequential.trace`, σ'(z) from the activation layer's own
``backward``, ∇ₐC from the loss's ``value_and_grad``, and the new parameters
from the optimiser's ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import optim
from ..activations import Activation, Identity
from ..layers import Dense


@dataclass
class LayerStep:
    """Layer ``l`` (a Dense layer and the activation after it) in one step; ``b`` fields are None without bias."""

    l: int                          # 1..L
    index: int                      # the Dense layer's position in net.layers (its parameters are "{index}.W")
    activation: str                 # name of σ after it, "identity" for none
    a_in: np.ndarray                # a⁽ˡ⁻¹⁾
    z: np.ndarray                   # z⁽ˡ⁾
    a_out: np.ndarray               # a⁽ˡ⁾
    sigma_prime: np.ndarray | None  # σ'(z⁽ˡ⁾), None for no activation
    delta: np.ndarray               # δ⁽ˡ⁾ = ∂C/∂z⁽ˡ⁾
    dW: np.ndarray                  # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾ᵀ a⁽ˡ⁻¹⁾ (BP4)
    db: np.ndarray | None           # ∂C/∂b⁽ˡ⁾ = Σ_rows δ⁽ˡ⁾ (BP3)
    W: np.ndarray                   # before the update
    W_new: np.ndarray               # after it
    b: np.ndarray | None = None
    b_new: np.ndarray | None = None


@dataclass
class Step:
    """One gradient step on the batch ``X`` with targets ``Y`` (rows as the loss takes them)."""

    number: int
    X: np.ndarray
    Y: np.ndarray
    loss: object                    # the bprop.losses.Loss
    C: float
    output: np.ndarray              # a⁽ᴸ⁾, the network output before the update
    grad_a: np.ndarray | None       # ∇ₐC, for a loss on activations (None for a logit loss)
    prediction: np.ndarray | None   # softmax(z) or σ(z), for a logit loss (None otherwise)
    layers: list[LayerStep]
    opt_before: dict = field(default_factory=dict)   # the optimiser's state arrays before the step ("adam.m/0.W")
    opt_after: dict = field(default_factory=dict)    # and after it
    t: int = 1                      # the optimiser's step count after this step (Adam's t)


@dataclass
class Setup:
    """What the walk-through says about the network: its description, and whether it is the tutorial's example."""

    title: str
    widths: list[int]
    activation: str
    output_activation: str
    loss_label: str                 # the loss as the user named it
    optimizer_label: str            # the optimiser as the user named it
    optimizer_class: str            # its class, e.g. "Adam"
    lr: float
    has_bias: bool
    plain_sgd: bool                 # θ ← θ − η ∂C/∂θ, so the update can be written out
    tutorial: bool = False          # the 1-1-1 example of the tutorials: add the note on its sample code
    example: str | None = None      # the name of the worked example (bprop.explain.examples), if one
    note: str = ""                  # what the example is for, where its numbers come from
    checks: tuple = ()              # published numbers to compare with: Check entries of the example
    adam: tuple | None = None       # (β1, β2, ε) of a plain Adam step, to show its moments


@dataclass
class Summary:
    """The forward pass of one step (before its update) and the parameters after it."""

    number: int
    C: float
    output: np.ndarray
    params: dict


@dataclass
class Walkthrough:
    """``steps`` of training on one batch: the first in full (or every one), summaries, the end."""

    setup: Setup
    X: np.ndarray
    Y: np.ndarray
    start: dict                     # parameters before the first step
    steps: list[Step]
    summaries: list[Summary] = field(default_factory=list)
    final_output: np.ndarray | None = None
    final_C: float = 0.0
    final: dict = field(default_factory=dict)
    n_steps: int = 0
    n_params: int = 0
    dense: list[int] = field(default_factory=list)   # net.layers index of each Dense layer, l = 1..L
    bias_step: Step | None = None   # step 1 with a bias in every layer (the step itself, or with b = 0 added)
    bias_added: bool = False        # bias_step is a copy of the network with b = 0 added (it had no biases)

    def params(self, params: dict) -> list[tuple[str, int, np.ndarray]]:
        """``(name, l, value)`` of every W and b in ``params``, layer by layer."""
        return [(name, l, params[f"{i}.{name}"]) for l, i in enumerate(self.dense, start=1)
                for name in ("W", "b") if f"{i}.{name}" in params]


def _after(net, index: int) -> Activation | None:
    """The activation layer right after layer ``index``, or None (none, or Identity)."""
    nxt = index + 1
    layer = net.layers[nxt] if nxt < len(net.layers) else None
    return layer if isinstance(layer, Activation) and not isinstance(layer, Identity) else None


def _sigma_prime(net, index: int, z: np.ndarray) -> np.ndarray | None:
    """σ'(z) of the activation after Dense layer ``index`` (:meth:`~bprop.activations.Activation.derivative`)."""
    act = _after(net, index)
    return None if act is None else act.derivative(z)


def take_step(net, X, y, loss, optimizer, number: int = 1) -> Step:
    """One step: ``net.trace`` for every number of BP1–BP4, then ``net.backprop`` and ``optimizer.step``."""
    X, Y, loss = net.prepare(X, y, loss)
    old = {k: v.copy() for k, v in net.params.items()}
    records = net.trace(X, y, loss)
    net.backprop(X, y, loss)
    before = optimizer.state_dict()["arrays"]
    optimizer.step(net.params, net.grads)
    after = optimizer.state_dict()["arrays"]
    out = records[-1]["a_out"]
    layers = []
    for l, rec in enumerate(records, start=1):
        i = rec["layer"]
        act = net.layers[i + 1] if i + 1 < len(net.layers) else None
        name = type(act).__name__.lower() if isinstance(act, Activation) else "identity"
        has_b = f"{i}.b" in old
        layers.append(LayerStep(
            l=l, index=i, activation=name, a_in=rec["a_in"], z=rec["z"], a_out=rec["a_out"],
            sigma_prime=_sigma_prime(net, i, rec["z"]), delta=rec["delta"], dW=rec["dW"], db=rec["db"],
            W=old[f"{i}.W"], W_new=net.params[f"{i}.W"].copy(),
            b=old[f"{i}.b"] if has_b else None, b_new=net.params[f"{i}.b"].copy() if has_b else None))
    grad_a = None if loss.takes_logits else loss.value_and_grad(out.copy(), Y)[1]
    prediction = loss.output_to_prediction(out) if loss.takes_logits else None
    return Step(number, X, Y, loss, records[0]["loss"], out, grad_a, prediction, layers,
                opt_before=before, opt_after=after, t=optimizer.step_count)


def with_zero_bias(net):
    r"""A copy of ``net`` with a bias :math:`b = 0` in every Dense layer, the same weights otherwise.

    With :math:`b = 0`, :math:`z = a W^\top + b` is unchanged, so the forward
    pass, C and every δ are those of ``net``; only ∂C/∂b (BP3) and the bias
    update are new.
    """
    from ..network import Sequential
    cfg = net.get_config()
    for spec in cfg["layers"]:
        if spec["type"] == "Dense":
            spec["bias"] = True
    twin = Sequential.from_config(cfg, seed=0)
    for key, value in twin.params.items():
        if key in net.params:
            value[...] = net.params[key]
        elif key.endswith(".b"):
            value[...] = 0.0
    for key, value in twin.buffers.items():
        value[...] = net.buffers[key]
    return twin


def walk(net, X, y, loss, optimizer, setup: Setup, steps: int = 1, every: int | None = None) -> Walkthrough:
    """Train ``steps`` steps on the batch; keep step 1 in full (every step if ``every`` is None).

    With ``every = K``, a :class:`Summary` of every K-th step and of the last one.
    """
    X, Y, loss = net.prepare(X, y, loss)
    start_net = net.copy()
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, Dense)]
    w = Walkthrough(setup, X, Y, {k: v.copy() for k, v in net.params.items()}, [], n_steps=steps,
                    n_params=net.n_params, dense=dense)
    for number in range(1, steps + 1):
        step = take_step(net, X, y, loss, optimizer, number)
        if number == 1 or every is None:
            w.steps.append(step)
        if every is not None and (number % every == 0 or number == steps):
            w.summaries.append(Summary(number, step.C, step.output.copy(),
                                       {k: v.copy() for k, v in net.params.items()}))
    final = net.trace(X, y, loss)
    if w.steps and all(ls.b is not None for ls in w.steps[0].layers):
        w.bias_step = w.steps[0]
    else:   # the same first step with b = 0 added to every layer, on a twin of the start
        twin = with_zero_bias(start_net)
        w.bias_step, w.bias_added = take_step(twin, X, y, loss, optim.from_config(optimizer.get_config())), True
    w.final_output, w.final_C = final[-1]["a_out"], final[0]["loss"]
    w.final = {k: v.copy() for k, v in net.params.items()}
    return w


def tutorial_mistake(step: Step, lr: float) -> dict:
    """What the tutorial's sample code computes for w1: its step carries an extra factor a1.

    Its ``gradient_output = a1 (y − a2) a2 (1 − a2)`` is −∂C/∂w2, which already
    contains a1; sent back to the hidden layer instead of δ⁽²⁾, it makes the w1
    step ``η a1 ∂C/∂w1`` instead of ``η ∂C/∂w1`` (the one the optimiser took).
    """
    first = step.layers[0]
    a1, dW1, w1 = (float(v.reshape(-1)[0]) for v in (first.a_out, first.dW, first.W))
    return {"a1": a1, "dW1": dW1, "w1": w1, "w1_correct": float(first.W_new.reshape(-1)[0]),
            "w1_seed": w1 - lr * a1 * dW1}
