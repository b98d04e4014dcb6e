r"""Compiled variants of a formula: a plain-Python loop that numba compiles on first use.

bprop writes every formula once, in NumPy, where it is read (a layer's
``backward``, a loss's ``value_and_grad``, an optimiser transform's
``update``). Where a one-pass loop is measurably faster than the NumPy
expression — an activation derivative, softmax-cross-entropy and its δ, a
whole Adam update — the loop is written *beside* the formula, as an ordinary
Python function decorated with :func:`compiled`, and an explicit argument
chooses it:

* ``Sequential(layers, backend="numba")`` for layers and losses
  (default ``"numpy"``);
* ``SGD/RMSProp/Adam/AdamW(..., fused=True)`` for the optimisers
  (default ``False``).

Nothing else switches between the two: no environment variable, no global
mode. Each variant is tested equal to its NumPy formula (float64 to 1e-12,
float32 to 1e-5) in ``tests/test_backends.py``.

numba is imported when a compiled variant is chosen (and set up there, once
per process: :func:`start_numba`) or on the first call of a compiled
function, never by ``import bprop``; the machine code is cached on disk
(``cache=True``), so only the first run on a machine pays for compilation. The loops work in the arrays'
own dtype: constants are cast with ``X.dtype.type(...)`` (numba, unlike NumPy,
would promote ``float32 * 1.0`` to float64), ``fastmath`` is off so results
follow IEEE arithmetic as NumPy's do, and ``error_model="numpy"`` makes ``x/0``
give inf or nan as in NumPy.
"""

from __future__ import annotations

import functools

#: The values of ``Sequential(..., backend=...)``.
BACKENDS = ("numpy", "numba")


def numba_available() -> bool:
    """Whether numba can be imported (imports it)."""
    try:
        import numba  # noqa: F401
    except Exception:  # ImportError, or a broken install
        return False
    return True


def require_numba(what: str) -> None:
    """Raise a clear error unless numba can be imported; ``what`` names the option that needs it.

    Choosing a compiled variant (``backend="numba"``, ``fused=True``) also
    starts numba in this process (:func:`start_numba`), so that its one-time
    set-up is paid where the option is chosen, not inside the first epoch.
    """
    if not numba_available():
        raise ModuleNotFoundError(f"{what} needs numba, which is not installed: "
                                  "pip install 'bprop[fast]' (or use the NumPy default)")
    start_numba()


_started = False


def start_numba() -> None:
    """Set up numba's CPU target once per process: about 0.3 s, whichever compiled loop comes first.

    The first call of any numba function in a process initialises numba's
    code generator and type registries (and numba imports SciPy's BLAS
    bindings, when SciPy is installed, to support ``np.dot``); each loop
    after that loads from the on-disk cache in a few milliseconds. Calling
    :func:`_touch` here moves that set-up out of training, so that the first
    epoch runs as fast as the later ones (``benchmarks/train_speed.py``, the
    MNIST table's "epoch 1 / median").
    """
    global _started
    if not _started:
        _touch(0)
        _started = True


def check_backend(backend) -> str:
    """Return ``backend`` if it is ``"numpy"`` or ``"numba"`` (and numba is importable), else raise."""
    from ._validation import check_choice
    check_choice(backend, "backend", BACKENDS)
    if backend == "numba":
        require_numba('backend="numba"')
    return backend


def compiled(fn):
    """Decorator: ``fn`` stays a plain Python function, compiled with numba on its first call.

    The undecorated loop is kept as ``.py_func`` (readable, and runnable
    without numba for debugging).
    """
    kernel = None

    @functools.wraps(fn)
    def call(*args):
        nonlocal kernel
        if kernel is None:
            from numba import njit
            kernel = njit(cache=True, fastmath=False, nogil=True, error_model="numpy")(fn)
        return kernel(*args)

    call.py_func = fn
    return call


@compiled
def _touch(x):
    """The identity: a compiled loop with nothing to compute, for :func:`start_numba`."""
    return x
