"""Metrics shown to users, with their usual definitions (not the loss).

The loss ``C`` carries conventions of its own (the ½ of the quadratic cost);
these are the textbook quantities: accuracy, MSE = mean of squared residuals
(no ½), RMSE, MAE, R² = 1 − SS_res/SS_tot (averaged over outputs), log-loss.
"""

from __future__ import annotations

import numpy as np


def accuracy(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Fraction of equal labels (element-wise for multi-label arrays)."""
    return float(np.mean(np.asarray(labels_true) == np.asarray(labels_pred)))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``mse``, ``rmse``, ``mae`` and ``r2`` (uniform average over output columns)."""
    y_true = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    r = y_pred - y_true
    mse = float(np.mean(r * r))
    ss_res = np.sum(r * r, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(r))),
            "r2": r2_from_sums(ss_res, ss_tot)}


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """R² = 1 − SS_res/SS_tot per output, averaged; an output with SS_tot = 0 scores 1 if fitted exactly, else 0."""
    ss_res, ss_tot = np.atleast_1d(ss_res), np.atleast_1d(ss_tot)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                      np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def confusion_matrix(labels_true, labels_pred, n_classes: int) -> np.ndarray:
    """``M[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels_true, np.int64), np.asarray(labels_pred, np.int64)), 1)
    return m


def log_loss(labels_true, proba) -> float:
    """Mean negative log-probability of the true class (probabilities clipped to [1e-15, 1])."""
    p = np.clip(np.asarray(proba, np.float64)[np.arange(len(proba)), np.asarray(labels_true, np.int64)],
                1e-15, 1.0)
    return float(-np.mean(np.log(p)))
