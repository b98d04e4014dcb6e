"""bprop — fully-connected feedforward networks trained by backpropagation, with every quantity visible.

>>> import bprop as bp
>>> net = bp.Sequential([bp.Dense(4, 8), bp.ReLU(), bp.Dense(8, 3)], seed=0)

``import bprop`` needs NumPy only.
"""

from ._version import __version__
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .diagnostics import GradcheckResult, gradcheck
from .errors import DistributedError, DivergenceError
from .layers import BatchNorm, Dense, Dropout, Layer
from .interop.safetensors import load_state_dict_into
from .interop.torch import to_torch
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss, Poisson
from .network import Sequential, from_torch, load
from .resume import resume
from .training import Callback, EarlyStopping, History
from . import initializers, optim

__all__ = [
    "__version__", "Sequential", "Layer", "Dense", "BatchNorm", "Dropout",
    "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softmax",
    "MSE", "CrossEntropy", "BinaryCrossEntropy", "MAE", "Huber", "Poisson", "Loss",
    "gradcheck", "GradcheckResult", "DivergenceError", "DistributedError", "load", "initializers", "optim",
    "Callback", "EarlyStopping", "History", "resume",
    "from_torch", "to_torch", "load_state_dict_into",
]


def __getattr__(name):
    # bprop.data and bprop.sklearn are imported on first use.
    if name in ("data", "sklearn", "metrics"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'bprop' has no attribute {name!r}")
