"""What an epoch measures: :class:`EpochMeter` on the training batches, :func:`evaluate` on a data set."""

from __future__ import annotations

import math

import numpy as np

from .. import metrics as _metrics
from .._jit import compiled
from .._memmap import chunk_rows
from ..losses import Loss
from .data import Rows, labels_of

EVAL_CHUNK = 8192  # rows per eval-mode forward pass (bounds memory on large sets)


def _predicted_labels(out: np.ndarray, task: str) -> np.ndarray:
    return np.argmax(out, axis=1) if task == "classification" else out > 0


def argmax_hits(out: np.ndarray, labels: np.ndarray) -> int:
    r"""The number of rows whose predicted class is their label: :math:`\sum_i [\arg\max_k z_{ik} = y_i]`."""
    return int(np.count_nonzero(np.argmax(out, axis=1) == labels))


@compiled
def argmax_hits_loop(out, labels):
    """:func:`argmax_hits` in one pass over ``out`` (no index array): each row's first maximum,
    or its first NaN, as ``np.argmax`` chooses."""
    hits = 0
    for i in range(out.shape[0]):
        best = out[i, 0]
        k_best = 0
        if best == best:                          # a leading NaN is the argmax
            for k in range(1, out.shape[1]):
                z = out[i, k]
                if z > best:
                    best = z
                    k_best = k
                elif z != z:
                    k_best = k
                    break
        if k_best == labels[i]:
            hits += 1
    return hits


def evaluate(net, X: np.ndarray, Y: np.ndarray, loss: Loss, *, prefix: str = "", parallel=None,
             rows=None) -> dict:
    """Loss and metrics of ``net`` in eval mode on prepared ``X``, ``Y`` (chunked forward passes).

    ``rows``: the samples are rows ``rows`` of ``X`` (a validation split of an ``X`` left whole).
    ``X`` is read in chunks of rows through :class:`~.data.Rows` (dense, memory-mapped — its
    pages released as it goes — or sparse CSR).

    With ``parallel`` (a :class:`~.distributed.DataParallel`) each rank runs the
    forward pass of a contiguous ``1/N`` of the rows and the outputs are
    gathered, so every rank computes the same metrics as one process would.
    """
    task = loss.task
    src = Rows(X, rows)
    lo, hi = (0, src.n) if parallel is None else parallel.part(0, src.n)
    step = chunk_rows(X, EVAL_CHUNK)
    outs = [net._forward(src.take(s, min(s + step, hi)), False) for s in range(lo, hi, step)]
    out = outs[0] if len(outs) == 1 else np.concatenate(outs) if outs else \
        np.empty((0, Y.shape[1]), net.dtype)
    if parallel is not None:
        out = parallel.gather_rows(out)
    res = {f"{prefix}loss": loss.value(out, Y)}
    if task == "regression":    # metrics of the prediction (e^z for Poisson), the loss of the raw output
        pred = loss.output_to_prediction(out)
        res.update({f"{prefix}{k}": v for k, v in _metrics.regression_metrics(Y, pred).items()})
    else:
        res[f"{prefix}accuracy"] = _metrics.accuracy(labels_of(Y, task), _predicted_labels(out, task))
    return res


class EpochMeter:
    """Accumulates the training loss, metrics and gradient norms of one epoch.

    The metrics are those of the training batches as they were seen (training
    mode, parameters changing between batches); ``grad_norm/<key>`` is the
    root-mean-square over the epoch's steps of ``‖∂C/∂W‖₂``. ``backend="numba"`` counts a
    classification batch's hits with :func:`argmax_hits_loop` (the same count as :func:`argmax_hits`).
    """

    def __init__(self, task: str, grad_keys: list[str], Y_train: np.ndarray, to_prediction=None,
                 backend: str = "numpy"):
        self.task, self.grad_keys = task, grad_keys
        self.to_prediction = to_prediction    # regression: the loss's output → prediction map (e^z for Poisson)
        self.n = 0
        self.loss_sum = 0.0
        self.correct = 0.0
        self.sq = self.abs = 0.0
        self.ss_res = 0.0
        self.grad_sq = dict.fromkeys(grad_keys, 0.0)
        self.steps = 0
        self._hits = argmax_hits_loop if backend == "numba" else argmax_hits
        if task == "regression":
            Yd = Y_train.astype(np.float64)
            self.ss_tot = np.sum((Yd - Yd.mean(axis=0)) ** 2, axis=0)
            self.n_out = Y_train.shape[1]

    @classmethod
    def of(cls, run, grad_keys: list[str]) -> "EpochMeter":
        """The meter of one epoch of ``run`` (a :class:`~.run.Run`), for its loss, data and backend."""
        loss = run.loss
        return cls(loss.task, grad_keys, run.data.Y, loss.output_to_prediction if loss.takes_logits else None,
                   run.net.backend)

    def add_batch(self, c: float, out: np.ndarray, Yb: np.ndarray, labels_b) -> None:
        nb = len(out)
        self.n += nb
        self.loss_sum += c * nb
        if self.task == "regression":
            pred = out if self.to_prediction is None else self.to_prediction(out)
            r = (pred - Yb).astype(np.float64)
            ss = np.sum(r * r, axis=0)                     # Σ r² per output: R²'s SS_res, and the MSE's sum
            self.sq += float(ss.sum())
            self.abs += float(np.abs(r).sum())
            self.ss_res = self.ss_res + ss
        elif self.task == "classification":
            self.correct += self._hits(out, labels_b)
        else:
            self.correct += float(np.mean((out > 0) == labels_b)) * nb

    def add_grads(self, sq: dict) -> None:
        """``sq``: the squared norm ``‖∂C/∂θ‖²`` of every gradient of one step."""
        self.steps += 1
        for k in self.grad_keys:
            self.grad_sq[k] += sq[k]

    def reduce(self, parallel) -> None:
        """Sum the counts and sums of every rank's part of the batches (data-parallel runs).

        The loss passed to :meth:`add_batch` is already the global batch's, so
        summing ``C · m_r`` over ranks gives the single-process ``Σ C · m``;
        the gradient norms are of the all-reduced gradients and stay as they are.
        """
        ss = np.atleast_1d(np.asarray(self.ss_res, dtype=np.float64))
        total = parallel.sum([self.n, self.loss_sum, self.correct, self.sq, self.abs, *ss])
        self.n, self.loss_sum, self.correct, self.sq, self.abs = (float(v) for v in total[:5])
        if self.task == "regression":
            self.ss_res = total[5:]

    def record(self) -> dict:
        rec = {"loss": self.loss_sum / self.n}
        if self.task == "regression":
            mse = self.sq / (self.n * self.n_out)
            rec.update(mse=mse, rmse=math.sqrt(mse), mae=self.abs / (self.n * self.n_out),
                       r2=_metrics.r2_from_sums(self.ss_res, self.ss_tot))
        else:
            rec["accuracy"] = self.correct / self.n
        for k in self.grad_keys:
            rec[f"grad_norm/{k}"] = math.sqrt(self.grad_sq[k] / max(self.steps, 1))
        return rec
