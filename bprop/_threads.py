r"""How many threads a training run uses: ``fit(..., threads=N)``, the estimators' ``threads``, ``--threads N``.

bprop's time goes into the matrix products of NumPy's BLAS (OpenBLAS, MKL,
Accelerate), which starts one thread per core by default, and, with
``backend="numba"``, into compiled loops that run on numba's thread pool.
:func:`limit_threads` caps both for the duration of a ``with`` block and puts
the previous limits back afterwards:

* the BLAS and OpenMP pools through ``threadpoolctl``
  (``pip install 'bprop[threads]'``), imported only when ``threads`` is given;
* numba's pool (``numba.set_num_threads``), when the run uses numba
  (``backend="numba"`` or a ``fused=True`` optimiser).

``threads=None`` (the default) changes nothing.

The oversubscription trap: OpenBLAS threads spin-wait for work instead of
sleeping. When another busy process (or a second training run, or a data
loader) shares the cores, the spinning threads steal its time and both slow
down, often by several times. Give each process ``threads`` no larger than
the cores it really has to itself (``threads=1`` for several runs side by
side), or set ``OPENBLAS_NUM_THREADS`` before Python starts.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

from ._validation import Interval, check

#: What ``threads`` accepts.
THREADS = [None, Interval(Integral, 1, None)]


def check_threads(threads) -> int | None:
    """``threads`` if it is None or an integer ≥ 1, else the usual TypeError/ValueError."""
    return check(threads, "threads", THREADS)


@contextlib.contextmanager
def limit_threads(threads: int | None, numba: bool = False):
    """Run the block with at most ``threads`` BLAS/OpenMP threads (None: unchanged).

    ``numba``: also cap numba's thread pool (imports numba).
    """
    threads = check_threads(threads)
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ModuleNotFoundError("threads= needs threadpoolctl, which is not installed: "
                                  "pip install 'bprop[threads]' (or leave threads=None)") from None
    with threadpool_limits(limits=threads), (_numba_threads(threads) if numba else contextlib.nullcontext()):
        yield


@contextlib.contextmanager
def _numba_threads(threads: int):
    import numba
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)
