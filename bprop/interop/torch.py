r"""PyTorch both ways: ``net.to_torch()`` and ``bp.from_torch(module)``.

The layers correspond one to one, in the same positions, so that torch's
``state_dict`` names (``"0.weight"``, ``"2.running_mean"``) are bprop's
(``"0.W"``, ``"2.running_mean"``) with the layer index unchanged:

======================  ====================================  ==========================================
bprop                   torch                                 parameters and buffers
======================  ====================================  ==========================================
``Dense(n_in, n_out)``  ``nn.Linear(n_in, n_out)``            ``W`` ↔ ``weight (n_out, n_in)``, ``b`` ↔ ``bias``
``BatchNorm(n)``        ``nn.BatchNorm1d(n)``                 ``gamma`` ↔ ``weight``, ``beta`` ↔ ``bias``,
                                                              ``running_mean``, ``running_var``; torch's
                                                              ``num_batches_tracked`` (bprop keeps no count: 0)
``Dropout(p)``          ``nn.Dropout(p)``
activations             ``nn.Identity``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(negative_slope)``,
                        ``ELU(alpha)``, ``GELU(approximate)``, ``Softmax(dim=1)``
======================  ==========================================================================================

torch is imported only when these functions run: it is never a dependency of bprop.
"""

from __future__ import annotations

import numpy as np

from .. import activations, layers as _layers

#: torch's state_dict name of each bprop parameter or buffer, per layer type.
TORCH_NAMES = {
    "Dense": {"W": "weight", "b": "bias"},
    "BatchNorm": {"gamma": "weight", "beta": "bias", "running_mean": "running_mean", "running_var": "running_var"},
}


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("this conversion needs PyTorch (pip install torch); bprop itself does not") from None
    return torch


def to_torch(net):
    """An equal ``torch.nn.Sequential``, in eval mode, in the network's dtype (parameters copied).

    In eval mode its output equals ``net.predict`` (tested to 1e-12 in float64);
    ``.train()`` gives torch's training behaviour, the same as bprop's except for the
    dropout masks (each library draws its own).
    """
    torch = _torch()
    nn = torch.nn
    dtype = torch.float64 if np.dtype(net.dtype) == np.float64 else torch.float32
    modules = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, _layers.Dense):
            m = nn.Linear(layer.n_in, layer.n_out, bias=layer.bias, dtype=dtype)
        elif isinstance(layer, _layers.BatchNorm):
            m = nn.BatchNorm1d(layer.n_out, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
        elif isinstance(layer, _layers.Dropout):
            m = nn.Dropout(layer.p)
        elif isinstance(layer, activations.LeakyReLU):
            m = nn.LeakyReLU(layer.slope)
        elif isinstance(layer, activations.ELU):
            m = nn.ELU(layer.alpha)
        elif isinstance(layer, activations.GELU):
            m = nn.GELU(approximate=layer.approximate)
        elif isinstance(layer, activations.Softmax):
            m = nn.Softmax(dim=1)
        elif type(layer) in _SIMPLE_TO_TORCH:
            m = getattr(nn, _SIMPLE_TO_TORCH[type(layer)])()
        else:
            raise ValueError(f"layer {i} ({type(layer).__name__}) has no PyTorch counterpart in bprop.interop.torch")
        modules.append(m)
    model = nn.Sequential(*modules)
    state = {name: torch.from_numpy(np.array(value)) for name, value in torch_state(net).items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


_SIMPLE_TO_TORCH = {activations.Identity: "Identity", activations.Sigmoid: "Sigmoid", activations.Tanh: "Tanh",
                    activations.ReLU: "ReLU"}


def torch_state(net) -> dict[str, np.ndarray]:
    """``{"0.weight": W, "0.bias": b, "2.running_mean": ..., "2.num_batches_tracked": 0}``: the network's
    parameters and buffers under torch's ``state_dict`` names (live arrays, and an int64 0 per BatchNorm)."""
    out = {}
    for i, layer in enumerate(net.layers):
        names = TORCH_NAMES.get(type(layer).__name__, {})
        arrays = {**layer.params, **layer.buffers}
        for ours, theirs in names.items():
            if ours in arrays:
                out[f"{i}.{theirs}"] = arrays[ours]
        if isinstance(layer, _layers.BatchNorm):
            out[f"{i}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
    return out


def from_torch_names(state: dict, layer_types: list[str]) -> dict:
    """torch's ``state_dict`` names → bprop's (``"0.weight"`` → ``"0.W"``); ``num_batches_tracked`` is dropped."""
    out = {}
    for name, value in state.items():
        index, _, theirs = name.partition(".")
        if theirs == "num_batches_tracked":
            continue
        back = {t: o for o, t in TORCH_NAMES.get(layer_types[int(index)], {}).items()}
        out[f"{index}.{back[theirs]}"] = value
    return out


def read_module(module) -> tuple[list, dict, str]:
    """``(layers, state, dtype)`` of a ``torch.nn.Sequential`` of the layers bprop has.

    ``layers`` are unbuilt bprop layers, ``state`` the parameters and buffers
    under bprop's names (float64 or float32 NumPy copies), ``dtype`` the
    modules' common floating dtype. :func:`bprop.from_torch` builds the network.

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.Sequential`` or holds a module bprop has no
        layer for (named, with its position), or a BatchNorm1d without affine
        parameters or running statistics.
    ValueError
        If the parameters are not all float32 or all float64.
    """
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch takes a torch.nn.Sequential, got {type(module).__name__}; wrap the layers "
                        "in nn.Sequential(...)")
    layers = []
    for i, m in enumerate(module):
        kind = type(m)
        if kind is nn.Linear:
            layers.append(_layers.Dense(m.in_features, m.out_features, bias=m.bias is not None))
        elif kind is nn.BatchNorm1d:
            if not m.affine or not m.track_running_stats or m.momentum is None:
                raise TypeError(f"module {i} is a BatchNorm1d with affine={m.affine}, track_running_stats="
                                f"{m.track_running_stats}, momentum={m.momentum}; bprop's BatchNorm has γ, β, "
                                "running statistics and a momentum (the defaults of nn.BatchNorm1d)")
            layers.append(_layers.BatchNorm(m.num_features, momentum=m.momentum, eps=m.eps))
        elif kind is nn.Dropout:
            layers.append(_layers.Dropout(m.p))
        elif kind is nn.LeakyReLU:
            layers.append(activations.LeakyReLU(m.negative_slope))
        elif kind is nn.ELU:
            layers.append(activations.ELU(m.alpha))
        elif kind is nn.GELU:
            layers.append(activations.GELU(m.approximate))
        elif kind is nn.Softmax and m.dim in (1, -1):
            layers.append(activations.Softmax())
        elif kind.__name__ in _SIMPLE_FROM_TORCH and kind is getattr(nn, kind.__name__):
            layers.append(_SIMPLE_FROM_TORCH[kind.__name__]())
        else:
            detail = f" with dim={m.dim}" if kind is nn.Softmax else ""
            raise TypeError(f"module {i} ({kind.__name__}{detail}) has no bprop layer; from_torch takes Linear, "
                            "BatchNorm1d, Dropout, Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU and "
                            "Softmax(dim=1)")
    dtypes = {p.dtype for p in module.parameters()} | {b.dtype for n, b in module.named_buffers()
                                                       if not n.endswith("num_batches_tracked")}
    if not dtypes <= {torch.float32} and not dtypes <= {torch.float64}:
        raise ValueError(f"the module's parameters have dtypes {sorted(map(str, dtypes))}; bprop needs all float32 "
                         "or all float64 (module.double() or module.float())")
    dtype = "float64" if dtypes == {torch.float64} else "float32"
    state = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
    return layers, from_torch_names(state, [type(l).__name__ for l in layers]), dtype


_SIMPLE_FROM_TORCH = {"Identity": activations.Identity, "Sigmoid": activations.Sigmoid, "Tanh": activations.Tanh,
                      "ReLU": activations.ReLU}
