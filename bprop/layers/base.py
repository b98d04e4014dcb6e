"""The layer contract shared by every building block of a :class:`~bprop.Sequential`."""

from __future__ import annotations

import math
import os

import numpy as np


def physical_memory() -> int | None:
    """Bytes of RAM on this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_allocation(label: str, what: str, shape: tuple, dtype, copies: int) -> None:
    """Refuse, before allocating, ``copies`` arrays of ``shape`` that cannot fit in this machine's memory.

    ``Dense(99999999999, 10)`` is a clear ``ValueError`` naming the layer, not a
    ``MemoryError`` traceback (or the OOM killer) after minutes of swapping.
    """
    need = copies * math.prod(shape) * np.dtype(dtype).itemsize
    ram = physical_memory()
    if ram is not None and need > ram:
        raise ValueError(f"{label}: {what} {shape} needs {need / 2**30:,.1f} GiB ({copies} arrays of "
                         f"{np.dtype(dtype).name}) but this machine has {ram / 2**30:,.1f} GiB; use fewer units")


class Layer:
    """A differentiable map ``A_out = f(A_in; θ)`` with its local chain rule.

    ``forward(A, training)`` computes the output and caches exactly what
    ``backward`` needs; ``backward(dOut)`` receives ``∂C/∂A_out`` and returns
    ``∂C/∂A_in``, writing ``∂C/∂θ`` into :attr:`grads` (overwriting, never
    accumulating). Parameters, their gradients and buffers are dicts of
    preallocated arrays so an optimiser can update them in place.

    Attributes
    ----------
    params : dict[str, ndarray]
        Trainable parameters, e.g. ``{"W": ..., "b": ...}``.
    grads : dict[str, ndarray]
        ``∂C/∂θ`` under the same keys, filled by :meth:`backward`.
    buffers : dict[str, ndarray]
        Non-trainable state (BatchNorm's running statistics).
    index : int
        Position in the network, used in error messages.
    backend : {"numpy", "numba"}
        Which variant of a formula runs where a layer has a compiled one
        (:mod:`bprop._jit`); set by :class:`~bprop.Sequential`. Default ``"numpy"``.

    Buffers
    -------
    In training mode a layer writes its output, and in ``backward`` its input
    gradient, into arrays it keeps from step to step (:meth:`_buffer`: one per
    name and batch shape), so a training step allocates nothing. In eval mode
    (``training=False``) results are fresh arrays. An output of a training
    forward pass is therefore valid until the next training step.
    """

    backend = "numpy"

    n_in: int | None = None
    n_out: int | None = None

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.index: int = 0
        self.rng: np.random.Generator | None = None
        self.dtype = np.dtype(np.float64)

    @property
    def label(self) -> str:
        return f"{type(self).__name__} layer {self.index}"

    def build(self, rng: np.random.Generator, dtype) -> None:
        """Allocate parameters (drawing from ``rng``), gradients and buffers."""
        self.rng = rng
        self.dtype = np.dtype(dtype)

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An array of ``shape`` reused across training steps (contents undefined).

        At most two shapes are kept per name: a fit's full batches and its last,
        partial batch.
        """
        key = (name, shape, dtype)
        try:
            return self._work[key]
        except (AttributeError, KeyError):   # the first step, or a new batch shape
            work = self.__dict__.setdefault("_work", {})
            same_name = [k for k in work if k[0] == name]
            if len(same_name) >= 2:
                del work[same_name[0]]
            a = work[key] = np.empty(shape, dtype)
            return a

    def _output(self, name: str, shape: tuple, dtype, training: bool) -> np.ndarray:
        """Where a forward pass writes: a reused buffer in training mode, a fresh array in eval mode."""
        return self._buffer(name, shape, dtype) if training else np.empty(shape, dtype)

    def __getstate__(self):
        # Work arrays are scratch space: never pickled or deep-copied.
        state = self.__dict__.copy()
        state.pop("_work", None)
        return state

    def forward(self, A: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dOut: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def get_config(self) -> dict:
        """JSON-able constructor arguments, with the class name under ``"type"``."""
        return {"type": type(self).__name__}

    def array_shapes(self) -> dict[str, dict[str, tuple]]:
        """``{"param": {name: shape}, "buffer": {name: shape}}``: what :meth:`build` allocates.

        The one statement of a layer's arrays: ``build`` allocates these shapes,
        and :mod:`bprop.model_file` checks an untrusted file's arrays against
        them before building anything. Parameter-free layers have none.
        """
        return {"param": {}, "buffer": {}}

    def describe(self) -> str:
        """The layer in a few characters, for one-line architectures: ``Tanh``, ``Dense(4→8)``."""
        return type(self).__name__

    def output_features(self, n_in: int) -> int:
        """Feature count of the output for ``n_in`` input features."""
        return n_in if self.n_out is None else self.n_out

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{type(self).__name__}({args})"
