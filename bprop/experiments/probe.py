r"""What one batch says about a network's gradient flow, from :meth:`~bprop.Sequential.trace`.

For Dense layer :math:`l = 1..L` (first = closest to the input):

* ``grad_norm[l]`` :math:`= \lVert \partial C/\partial W^{(l)} \rVert_F = \lVert \delta^{(l)\top} a^{(l-1)} \rVert_F` (BP4);
* ``delta_norm[l]`` :math:`= \lVert \delta^{(l)} \rVert_F`;
* ``act_var[l]``: the variance of the layer's activation :math:`a^{(l)}` over the batch and its units
  (for the output layer, of its output);
* ``sigma_rms[l]`` :math:`= \sqrt{\operatorname{mean} \sigma'(z^{(l)})^2}`, from :math:`a^{(l)}` and
  :math:`z^{(l)}` (hidden layers);
* ``weight_gain[l]`` :math:`= \lVert W^{(l)} \rVert_F / \sqrt{n_\text{out}}`: by how much
  :math:`\delta W^{(l)}` scales the norm of a random δ (:math:`E\lVert \delta W\rVert^2 =
  \lVert\delta\rVert^2 \lVert W\rVert_F^2 / n_\text{out}` for δ with independent entries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Activation


@dataclass
class Probe:
    grad_norm: list[float]
    delta_norm: list[float]
    act_var: list[float]
    sigma_rms: list[float]
    weight_gain: list[float]


def probe(net, X, y, loss) -> Probe:
    """The gradient flow of ``net`` on the batch ``X, y`` (the network is left as it was)."""
    records = net.trace(X, y, loss)
    grad, dnorm, var, srms, gain = [], [], [], [], []
    for rec in records:
        i = rec["layer"]
        W = net.params[f"{i}.W"]
        grad.append(float(np.linalg.norm(rec["dW"])))
        dnorm.append(float(np.linalg.norm(rec["delta"])))
        var.append(float(np.var(rec["a_out"])))
        gain.append(float(np.linalg.norm(W) / np.sqrt(W.shape[0])))
        # σ' at the activation's input: z itself, or BatchNorm's output (the next layer's input is σ of it)
        nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
        sp = nxt.derivative(rec["z"]) if isinstance(nxt, Activation) else None
        srms.append(float(np.sqrt(np.mean(sp * sp))) if sp is not None else float("nan"))
    return Probe(grad, dnorm, var, srms, gain)
