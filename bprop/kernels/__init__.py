r"""Fused kernels for the training hot path, with a switch back to the readable code.

bprop has two ways of computing one training step, which give the same numbers:

* the **reference path** — the plain NumPy code written next to each formula in
  :mod:`bprop.activations`, :mod:`bprop.losses`, :mod:`bprop.layers` and
  :mod:`bprop.optim`, allocating its results. This is the code to read.
* the **fast path** (the default) — the same arithmetic, but every layer writes
  into preallocated buffers reused from step to step (keyed by batch size),
  matrix products go straight to BLAS with ``out=`` and transposed views, and
  the element-wise work is fused into single passes: activation derivatives
  (``δ = ∂C/∂A ⊙ σ'(Z)``), softmax-cross-entropy (loss and
  ``δ_L = (softmax(Z) − Y)/n`` in one sweep) and the optimiser updates (Adam's
  ``m``, ``v`` and ``θ`` in one sweep per parameter).

The fused kernels are compiled with `numba <https://numba.pydata.org>`_ when it
is installed (``pip install bprop[fast]``); otherwise a pure-NumPy version of
each (:mod:`bprop.kernels._numpy`, in-place, same operation order) is used.
numba is imported on the first training step, never by ``import bprop``, and
the compiled code is cached on disk (``cache=True``), so only the very first
run on a machine pays for compilation.

The switch
----------
``BPROP_KERNELS`` (environment, read at import) or :func:`set_mode`:

``"auto"`` (default)
    fast path, numba if importable, else NumPy.
``"numba"``, ``"numpy"``
    fast path with that backend (``"numba"`` falls back to NumPy, with a
    warning, if numba cannot be imported).
``"off"``
    the reference path everywhere.

>>> from bprop import kernels
>>> with kernels.mode("off"):          # compute one step the readable way
...     kernels.enabled()
False

Only the unchecked training internals (``net._backprop`` and
``optimizer.step``, hence ``net.fit``) take the fast path; ``net.forward``,
``net.predict``, ``net.trace`` and ``gradcheck`` always run the reference code
and return fresh arrays.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

MODES = ("auto", "numba", "numpy", "off")

_mode = "auto"
_impl = None          # the backend module, resolved on first use


def _check_mode(mode) -> str:
    m = str(mode).lower()
    if m not in MODES:
        raise ValueError(f"kernel mode must be one of {list(MODES)}, got {mode!r}")
    return m


def set_mode(mode: str) -> None:
    """Choose the path: ``"auto"``, ``"numba"``, ``"numpy"`` or ``"off"`` (see the module docs)."""
    global _mode, _impl
    _mode = _check_mode(mode)
    _impl = None


def get_mode() -> str:
    """The current mode (``"auto"``, ``"numba"``, ``"numpy"`` or ``"off"``)."""
    return _mode


@contextlib.contextmanager
def mode(m: str):
    """Context manager: run a block with kernel mode ``m``, then restore the previous one."""
    old = _mode
    set_mode(m)
    try:
        yield
    finally:
        set_mode(old)


def enabled() -> bool:
    """Whether the fast path is on (any mode but ``"off"``)."""
    return _mode != "off"


def numba_available() -> bool:
    """Whether numba can be imported (imports it)."""
    try:
        import numba  # noqa: F401
    except Exception:   # ImportError, or a broken install
        return False
    return True


def _resolve():
    global _impl
    if _mode in ("auto", "numba"):
        try:
            from . import _numba as impl
        except Exception as exc:
            if _mode == "numba":
                warnings.warn(f"numba is not usable ({exc}); using the NumPy kernels", UserWarning,
                              stacklevel=3)
            from . import _numpy as impl
    else:
        from . import _numpy as impl
    _impl = impl
    return impl


def backend():
    """The kernel module in use (:mod:`~bprop.kernels._numba` or :mod:`~bprop.kernels._numpy`).

    Its functions are listed in :mod:`bprop.kernels._numpy`; all write into
    the ``out``/``G`` array they are given.
    """
    return _impl if _impl is not None else _resolve()


def backend_name() -> str:
    """``"numba"``, ``"numpy"`` or ``"off"``."""
    return backend().NAME if enabled() else "off"


class Workspace:
    """Arrays reused across training steps, one per (name, shape, dtype).

    A layer asks for ``ws.get("Z", (n, k), dtype)`` on every step; the first
    call allocates, later calls with the same batch size return the same
    array. A new batch size (the last, partial batch of an epoch) gets its
    own array, so at most two shapes per name live at once in a fit.
    """

    __slots__ = ("_arrays",)

    def __init__(self):
        self._arrays: dict = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        key = (name, shape, dtype)
        a = self._arrays.get(key)
        if a is None:
            a = self._arrays[key] = np.empty(shape, dtype)
        return a

    def clear(self) -> None:
        self._arrays.clear()

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def __getstate__(self):           # never pickled or deep-copied with contents
        return {}

    def __setstate__(self, state):
        self._arrays = {}

    def __deepcopy__(self, memo):
        return Workspace()


def _initial_mode() -> str:
    env = os.environ.get("BPROP_KERNELS", "auto")
    try:
        return _check_mode(env)
    except ValueError:
        warnings.warn(f"BPROP_KERNELS={env!r} is not one of {list(MODES)}; using 'auto'",
                      UserWarning, stacklevel=2)
        return "auto"


_mode = _initial_mode()

__all__ = ["MODES", "set_mode", "get_mode", "mode", "enabled", "numba_available", "backend",
           "backend_name", "Workspace"]
