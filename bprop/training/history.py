"""What happened in each epoch of a fit: :class:`History`, its columns, CSV and JSON files."""

from __future__ import annotations

import csv
import json

from ..io import atomic_write, write_text


class History:
    """What happened in each epoch of :func:`~bprop.training.fit`.

    Attributes
    ----------
    records : list of dict
        One per epoch: ``epoch`` (1-based), ``loss`` (mean training loss ``C``
        over the epoch's batches), ``val_loss``, metrics (``accuracy``; or
        ``mse, rmse, mae, r2``) on the training batches as they were seen and
        ``val_<metric>`` on the validation set, ``lr`` (rate of the epoch's
        last step), ``time`` (seconds) and ``grad_norm/<key>`` for every Dense
        weight: the root-mean-square over the epoch's steps of ``‖∂C/∂W‖₂`` —
        the data behind a vanishing/exploding-gradient plot.
    step_lr : list of float
        The learning rate of every optimiser step.
    stop_reason : str
        Why training ended ("completed", "early stopping ...", "stopped by callback").
    best_epoch : int or None
        The epoch early stopping judged best.
    """

    def __init__(self, records=None, step_lr=None, stop_reason="", best_epoch=None):
        self.records: list[dict] = list(records or [])
        self.step_lr: list[float] = list(step_lr or [])
        self.stop_reason = stop_reason
        self.best_epoch = best_epoch

    def __len__(self) -> int:
        return len(self.records)

    def _repr_html_(self) -> str:
        """The loss per epoch as a sparkline and the last epoch's numbers, for notebooks."""
        from .. import _html
        return _html.history(self)

    def __getitem__(self, key: str) -> list:
        """Per-epoch values of one column, e.g. ``history["val_loss"]``."""
        if not any(key in r for r in self.records):
            raise KeyError(f"no column {key!r} in this history; columns: {', '.join(self.columns)}")
        return [r.get(key) for r in self.records]

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.records:
            cols += [k for k in r if k not in cols]
        return cols

    def to_list(self) -> list[dict]:
        """A list of dicts, one per epoch (copies)."""
        return [dict(r) for r in self.records]

    def to_dict(self) -> dict:
        return {"records": self.to_list(), "step_lr": list(self.step_lr),
                "stop_reason": self.stop_reason, "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(d.get("records"), d.get("step_lr"), d.get("stop_reason", ""), d.get("best_epoch"))

    def to_csv(self, path) -> None:
        """Write one row per epoch (atomic)."""
        with atomic_write(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.columns)
            w.writeheader()
            w.writerows(self.records)

    def to_json(self, path) -> None:
        """Write :meth:`to_dict` as JSON (atomic)."""
        write_text(path, json.dumps(self.to_dict(), indent=2))

    def __repr__(self) -> str:
        last = self.records[-1] if self.records else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items()
                          if isinstance(v, float) and not k.startswith("grad_norm"))
        return f"History({len(self)} epochs; last: {shown})"
