"""One training run as three parts: its data, its settings and its mutable state.

A :class:`Run` is built in one place, :func:`start_run`, by
:func:`~bprop.training.fit` and by :func:`bprop.resume` (from a checkpoint);
the fit loop reads it and a checkpoint stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..losses import Loss
from .callbacks import EarlyStopping
from .data import TrainingData, prepare_data
from .history import History


@dataclass(frozen=True)
class Settings:
    """The choices of a run that do not change while it trains (see :func:`~bprop.training.fit`).

    ``order``: where a shuffled epoch's permutation comes from, an object with a
    ``permutation(n)`` method (``None``: the network's generator ``net.rng``); it is
    not part of a checkpoint, so ``fit`` refuses a checkpoint with one.
    """

    epochs: int
    batch_size: int
    shuffle: bool = True
    validation_split: float = 0.0
    clip_norm: float | None = None
    clip_value: float | None = None
    early_stopping: EarlyStopping | None = None
    alpha: float = 0.0
    order: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The checkpoint's ``settings`` entry (``epochs`` and ``early_stopping`` are stored apart)."""
        return {"batch_size": self.batch_size, "shuffle": self.shuffle,
                "validation_split": self.validation_split, "clip_norm": self.clip_norm,
                "clip_value": self.clip_value, "alpha": self.alpha}


@dataclass
class RunState:
    """What changes as a run trains, besides the network and the optimiser.

    ``es_state`` holds early stopping's ``best``, ``best_epoch`` and ``wait``;
    ``best_state`` the network's :meth:`~bprop.Sequential.state_dict` at the best epoch;
    ``ranks`` the number of processes that trained it (a checkpoint records it).
    """

    history: History = field(default_factory=History)
    es_state: dict = field(default_factory=dict)
    best_state: dict | None = None
    ranks: int = 1     # processes of the data-parallel run that trained it (1: one process)


@dataclass
class Run:
    """Everything the fit loop needs, and a checkpoint stores, to continue training."""

    net: object
    loss: Loss
    optimizer: object
    settings: Settings
    data: TrainingData
    state: RunState


def start_run(net, X, y, *, loss, optimizer, settings: Settings, state: RunState, validation_data=None,
              validation_split: float = 0.0, split=None, sample_weight=None, class_weight=None) -> Run:
    """A :class:`Run` of ``net`` on ``X``, ``y``; the data are prepared by :func:`~.data.prepare_data`.

    :func:`~bprop.training.fit` passes ``validation_split`` (a split drawn
    anew); a resumed run passes its checkpoint's ``split`` indices instead.
    """
    data, loss = prepare_data(net, X, y, loss, sample_weight=sample_weight, class_weight=class_weight,
                              validation_data=validation_data, validation_split=validation_split, split=split)
    return Run(net=net, loss=loss, optimizer=optimizer, settings=settings, data=data, state=state)
