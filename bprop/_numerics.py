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

bprop therefore sets such state values below the smallest normal to exactly
0, :math:`x \leftarrow 0` if :math:`|x| < x_\text{min}`: a change far below
any tolerance (the state feeds a parameter update through ``m/(√v + ε)`` or a
normalisation with ``+ ε``), and what a CPU in flush-to-zero mode would do,
without changing the floating-point mode of the user's process.

* The compiled loops (``fused=True``, ``backend="numba"``) flush at every
  update: a select per element, free.
* The NumPy formulas of the optimiser transforms flush at every
  :data:`FLUSH_EVERY`-th update (``(step + 1) % FLUSH_EVERY == 0``): the flush
  is two passes and a masked write over each state array, about a tenth of a
  NumPy training step if done at every update, and once in 16 updates it
  costs well under 1 %. A value is then denormal for at most 15 updates
  before it is set to 0 (where, with a zero gradient, it stays), so a step
  cannot become slower as training goes on. Between two flushes the chain and
  the fused loop may differ by denormals, far below every tolerance.
* BatchNorm's NumPy forward flushes its ``(d,)`` running statistics at every
  training step (negligible).
"""

from __future__ import annotations

import functools

import numpy as np

#: The NumPy optimiser transforms flush their state at every ``FLUSH_EVERY``-th update.
FLUSH_EVERY = 16


@functools.lru_cache(maxsize=None)
def smallest_normal(dtype) -> float:
    """The smallest positive normal number of ``dtype`` (``np.finfo(dtype).smallest_normal``)."""
    return float(np.finfo(dtype).smallest_normal)


def flush_denormals_(a: np.ndarray, scratch: np.ndarray, mask: np.ndarray) -> np.ndarray:
    r"""Set the entries of ``a`` with :math:`|a| <` the smallest normal to 0, in place; returns ``a``.

    No allocation: ``scratch ← |a|``, ``mask ← [scratch < x_min]``, then
    ``a[mask] ← 0`` (``np.copyto(..., where=)``, which writes only there).
    NaN and ±inf are kept. ``scratch``: an array of ``a``'s shape and dtype,
    ``mask``: a bool array of its shape; their contents are overwritten.
    """
    np.abs(a, out=scratch)
    np.less(scratch, a.dtype.type(smallest_normal(a.dtype)), out=mask)
    np.copyto(a, 0, where=mask)
    return a
