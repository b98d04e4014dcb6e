"""Hooks into the fit loop: :class:`Callback`, plain functions as callbacks, :class:`EarlyStopping`."""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_number, check_positive_int
from .history import History


class Callback:
    """Base class of fit callbacks; override the hooks you need.

    A hook that returns ``True`` stops training (after the current batch for
    :meth:`on_batch_end`, after the current epoch for :meth:`on_epoch_end`).
    Plain functions are accepted too and are called as ``on_epoch_end``.
    """

    def on_train_begin(self, net, info: dict) -> None:
        """``info``: ``epochs``, ``initial_epoch``, ``steps_per_epoch``, ``n_train``, ``n_val``."""

    def on_epoch_begin(self, net, epoch: int) -> None:
        """``epoch`` is 1-based."""

    def on_batch_end(self, net, step: int, batch_loss: float) -> bool | None:
        """``step`` counts batches within the epoch, from 1."""

    def on_epoch_end(self, net, record: dict) -> bool | None:
        """``record`` is the epoch's :class:`History` record."""

    def on_train_end(self, net, history: History) -> None:
        pass


class FunctionCallback(Callback):
    """A function ``fn(net, record)`` called at the end of every epoch (``True`` stops)."""

    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, net, record):
        return self.fn(net, record)


def as_callbacks(callbacks) -> list[Callback]:
    """``callbacks`` as :class:`Callback` objects, functions wrapped in :class:`FunctionCallback`."""
    out = []
    for cb in callbacks or ():
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(FunctionCallback(cb))
        else:
            raise TypeError(f"callbacks must be Callback objects or functions, got {type(cb).__name__}")
    return out


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Smallest change that counts as an improvement.
    monitor : str
        A History column; ``"val_loss"`` by default (``"loss"`` is used when
        there is no validation data). Columns named like accuracy or r2 are
        maximised, the others minimised.
    restore_best : bool
        At the end of training, put back the parameters and buffers of the best epoch.
    """

    patience: int = 10
    min_delta: float = 0.0
    monitor: str = "val_loss"
    restore_best: bool = True

    def __post_init__(self):
        check_positive_int(self.patience, "patience", minimum=0)
        check_number(self.min_delta, "min_delta", low=0.0)

    @property
    def maximize(self) -> bool:
        return self.monitor.removeprefix("val_") in ("accuracy", "r2")

    def improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value > best + self.min_delta if self.maximize else value < best - self.min_delta

    def column(self, has_validation: bool) -> str:
        """The History column watched: :attr:`monitor`, without ``val_`` when there is no validation set."""
        return self.monitor if has_validation or not self.monitor.startswith("val_") \
            else self.monitor.removeprefix("val_")
