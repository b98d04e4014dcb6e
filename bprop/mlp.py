"""The multi-layer perceptron: one builder for the CLI, the scikit-learn estimators and ``explain``.

:func:`build_mlp` lays out, for each hidden width ``h``,

    Dense(n → h) → [BatchNorm(h)] → σ → [Dropout(p)]

and then the output layer ``Dense(n → n_out) → [output σ]``. Every choice it
makes is stated in its docstring, so that the CLI, ``BPClassifier`` /
``BPRegressor`` and ``bprop explain`` build the same network from the same
settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import activations
from .layers import BatchNorm, Dense, Dropout
from .network import Sequential

#: Activations after which ``init="auto"`` picks He (Kaiming) initialisation.
RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")
#: Output activations that mean "no activation layer": the network returns z of the output layer.
NO_ACTIVATION = (None, "identity", "linear")


def default_init(activation: str | None) -> str:
    r"""The weight initialiser that suits the activation that follows a Dense layer.

    ``he_normal`` (:math:`\mathrm{Var}\,W = 2/n_\text{in}`) for the ReLU
    family, which zeroes about half of its inputs and so halves the variance
    that Xavier would keep; ``xavier_uniform``
    (:math:`\mathrm{Var}\,W = 2/(n_\text{in} + n_\text{out})`) for sigmoid,
    tanh, softmax and no activation (``None``, ``"identity"``), which are
    close to linear around 0.
    """
    return "he_normal" if activation in RELU_FAMILY else "xavier_uniform"


def _per_hidden_layer(name: str, value, n_hidden: int) -> list:
    """``value`` for every hidden layer: one value repeated, or a list/tuple with one per layer."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n_hidden:
            raise ValueError(f"{name} has {len(value)} entries but there are {n_hidden} hidden layer(s); "
                             f"give one {name} or one per hidden layer")
        return list(value)
    return [value] * n_hidden


def build_mlp(n_in: int, hidden: Sequence[int], n_out: int, *, activation="relu", output_activation=None,
              init=None, output_init=None, bias: bool = True, bias_init=0.0, batchnorm: bool = False,
              dropout=0.0, seed=None, dtype="float32", backend="numpy", sync_batchnorm: bool = False) -> Sequential:
    r"""A fully-connected network ``n_in → hidden[0] → … → hidden[-1] → n_out``.

    Layout: for each hidden width ``h``, ``Dense → [BatchNorm] → σ → [Dropout]``;
    then ``Dense → [output σ]``.

    Parameters
    ----------
    n_in, n_out : int
        Input features and outputs.
    hidden : sequence of int
        Widths of the hidden layers (empty: a single Dense layer).
    activation : str or sequence of str, default "relu"
        σ after every hidden layer, or one name per hidden layer (names of
        :mod:`bprop.activations`). A hidden ``"identity"`` stays in the
        network as an ``Identity`` layer.
    output_activation : str or None, default None
        σ of the output layer. ``None``, ``"identity"`` and ``"linear"`` add no
        layer, so the network returns the logits ``z`` that the logit losses
        (``CrossEntropy``, ``BinaryCrossEntropy``) expect.
    init : str or None, default None
        Weight initialiser (a name of :mod:`bprop.initializers`). A name is
        used for every Dense layer, the output layer included, unless
        ``output_init`` is given. ``None`` or ``"auto"``: each Dense layer gets
        :func:`default_init` of the activation that follows it — He for the
        ReLU family, Xavier otherwise — so the output layer, followed by
        ``output_activation`` (usually none), gets ``xavier_uniform``.
    output_init : str or None, default None
        Initialiser of the output layer only; ``None`` follows the rule for ``init``.
    bias : bool, default True
        ``False``: no Dense layer has a bias (e.g. the worked examples of the tutorials).
    bias_init : float or str, default 0.0
        Initial bias of every Dense layer that has one (e.g. 0.01 for ReLU layers).
    batchnorm : bool or sequence of bool, default False
        A ``BatchNorm`` after every hidden Dense layer, or one flag per hidden
        layer. Such a Dense layer has
        **no bias**: BatchNorm subtracts the batch mean,
        :math:`\hat z = (z - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`, so a bias
        :math:`b` cancels in :math:`z - \mu_B` and gets the gradient
        :math:`\sum_\text{rows}\delta = 0`; BatchNorm's :math:`\beta` is the
        shift that remains. The output layer keeps its bias.
    sync_batchnorm : bool, default False
        Those BatchNorm layers are ``BatchNorm(h, sync=True)``: in a
        data-parallel run their statistics are the global batch's.
    dropout : float or sequence of float, default 0.0
        Drop probability after every hidden activation, or one per hidden
        layer; 0 adds no ``Dropout`` layer.
    seed : int, Generator or None
        Seeds the network's generator (initialisation and dropout).
    dtype : "float32" or "float64", default "float32"
    backend : "numpy" or "numba", default "numpy"
        :class:`~bprop.Sequential`'s choice of formula variants (same numbers).

    Returns
    -------
    Sequential

    Examples
    --------
    >>> net = build_mlp(4, [8], 3, activation="tanh", seed=0)
    >>> [type(layer).__name__ for layer in net.layers]
    ['Dense', 'Tanh', 'Dense']
    """
    hidden = [int(h) for h in hidden]
    acts = _per_hidden_layer("activation", activation, len(hidden))
    drops = _per_hidden_layer("dropout", dropout, len(hidden))
    norms = _per_hidden_layer("batchnorm", batchnorm, len(hidden))
    auto = init is None or init == "auto"

    def init_before(act):
        return default_init(act) if auto else init

    layers, n = [], n_in
    for h, act, p, norm in zip(hidden, acts, drops, norms):
        layers.append(Dense(n, h, init=init_before(act), bias=bias and not norm, bias_init=bias_init))
        if norm:
            layers.append(BatchNorm(h, sync=sync_batchnorm))
        layers.append(activations.get(act))
        if p > 0:
            layers.append(Dropout(p))
        n = h
    out_init = output_init if output_init is not None else init_before(output_activation)
    layers.append(Dense(n, n_out, init=out_init, bias=bias, bias_init=bias_init))
    if output_activation not in NO_ACTIVATION:
        layers.append(activations.get(output_activation))
    return Sequential(layers, seed=seed, dtype=dtype, backend=backend)
