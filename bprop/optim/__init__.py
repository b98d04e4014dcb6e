"""Optimisers and learning-rate schedules.

Recipes (each one step equals the ``torch.optim`` class of the same name):
:class:`SGD`, :class:`RMSProp`, :class:`Adam`, :class:`AdamW`. Each is a
:class:`Optimizer`, a chain of the gradient transforms in
:mod:`bprop.optim.transforms`; :func:`chain` builds your own.

Schedules (:mod:`bprop.optim.schedules`), passed as ``lr``: :class:`Constant`,
:class:`StepDecay`, :class:`ExponentialDecay`, :class:`CosineDecay`,
:class:`LinearWarmup`, :class:`ReduceOnPlateau`, and scikit-learn's MLP rules
:class:`InvScaling` and :class:`Adaptive`.

The contract the fit loop relies on::

    opt.step(net.params, net.grads)   # in place; net.grads is not modified
    opt.lr                            # the rate the next step uses
    opt.observe(val_loss)             # once per epoch (ReduceOnPlateau)
    opt.state_dict() / opt.load_state_dict(d)

>>> import bprop.optim as optim
>>> optim.get("adam", lr=3e-4)
Adam(lr=0.0003, betas=[0.9, 0.999], eps=1e-08, weight_decay=0.0, fused=False, convention='torch')
"""

from . import schedules, transforms
from .optimizers import NAMES, SGD, Adam, AdamW, Optimizer, RMSProp, chain, from_config, from_state_dict, get
from .schedules import (
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InvScaling,
    LinearWarmup,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
)
from .transforms import clip_grad_norm_, clip_grad_value_, global_norm

__all__ = [
    "Optimizer",
    "chain",
    "SGD",
    "RMSProp",
    "Adam",
    "AdamW",
    "get",
    "from_config",
    "from_state_dict",
    "NAMES",
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "LinearWarmup",
    "ReduceOnPlateau",
    "InvScaling",
    "Adaptive",
    "clip_grad_norm_",
    "clip_grad_value_",
    "global_norm",
    "schedules",
    "transforms",
]
