"""Exceptions raised by bprop."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or parameter.

    Raised by :meth:`bprop.Sequential.fit` after putting back the parameters and
    optimiser state from before the failing step. The message names the epoch
    and step and suggests a smaller learning rate.
    """
