"""Exceptions raised by bprop."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or parameter.

    Raised by :meth:`bprop.Sequential.fit` after putting back the parameters and
    optimiser state from before the failing step. The message names the epoch
    and step and suggests a smaller learning rate.
    """


class DistributedError(RuntimeError):
    """The ranks of a data-parallel run (``fit(..., comm=...)``) no longer agree.

    Raised on every rank when the per-epoch checksum of the parameters differs
    between ranks, or when the ranks were given different data or settings.
    """
