r"""Keeping geometrically decaying state out of the denormal range.

A quantity that is multiplied by a factor below 1 at every step while nothing
is added to it — Adam's first moment ``m`` of a weight whose gradient is
exactly 0 (a dead ReLU, an input pixel that is always 0), ``v``, a momentum
buffer, a BatchNorm running statistic of a constant feature — shrinks into the
*denormal* (subnormal) range below the dtype's smallest normal number
(``1.18e-38`` for float32, ``2.2e-308`` for float64) and then, with round-to-
nearest, often stays there: ``m + (0 − m)·0.1`` rounds back to ``m`` once
``0.1·m`` is below half the smallest denormal. On many CPUs an arithmetic
operation with a denormal operand or result is tens of times slower than a
normal one, so a training step slows down as training goes on.

bprop therefore sets every such state value below the smallest normal to
exactly 0 when it updates it (in the NumPy formulas and in the compiled
loops alike), :math:`x \leftarrow 0` if :math:`|x| < x_\text{min}`: a change
far below any tolerance (the state feeds a parameter update through
``m/(√v + ε)`` or a normalisation with ``+ ε``), and what a CPU in
flush-to-zero mode would do, without changing the floating-point mode of the
user's process.
"""

from __future__ import annotations

import numpy as np


def smallest_normal(dtype) -> float:
    """The smallest positive normal number of ``dtype`` (``np.finfo(dtype).smallest_normal``)."""
    return float(np.finfo(dtype).smallest_normal)


def flush_denormals_(a: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    r"""Set the entries of ``a`` with :math:`|a| <` the smallest normal to 0, in place; returns ``a``.

    Three passes, no allocation: ``scratch ← |a|``, ``scratch ← [scratch ≥ x_min]``
    (1 or 0), ``a ← a ⊙ scratch``. NaN and ±inf are kept (``NaN ≥ x_min`` is
    false, but ``NaN·0`` is NaN). ``scratch``: an array of ``a``'s shape and
    dtype whose contents are overwritten.
    """
    np.abs(a, out=scratch)
    np.greater_equal(scratch, a.dtype.type(smallest_normal(a.dtype)), out=scratch)
    a *= scratch
    return a
