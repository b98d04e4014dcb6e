"""The data of a fit: validation split, sample and class weights, the validation set, mini-batches.

:func:`prepare_data` turns what the user passed into :class:`TrainingData`,
once per :func:`~bprop.training.fit` (and once per resume), and
:class:`Batches` cuts the training arrays into the mini-batches of an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_number, check_same_length, is_sparse, n_rows


@dataclass(frozen=True)
class TrainingData:
    """The prepared arrays of a run.

    ``X (n, n_in)``, ``Y`` (targets in the loss's form) and ``weights (n,)``
    (``None``: unweighted) are the training part; ``X_val``, ``Y_val`` the
    validation set (``None``: none); ``split`` the ``(train, val)`` row
    indices of a ``validation_split`` (``None`` when there was none or when
    ``validation_data`` was given), kept so a checkpoint holds them.
    """

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    X_val: np.ndarray | None
    Y_val: np.ndarray | None
    split: tuple[np.ndarray, np.ndarray] | None


def labels_of(Y: np.ndarray, task: str) -> np.ndarray | None:
    """Class indices (classification), a boolean matrix (multi-label) or ``None`` (regression)."""
    if task == "classification":
        return np.argmax(Y, axis=1)
    if task == "multilabel":
        return Y > 0.5
    return None


def stratified_split(n: int, fraction: float, labels, rng) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``: a random ``fraction`` held out, per class when labels are given."""
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    val = []
    for idx in groups:
        idx = idx[rng.permutation(len(idx))]
        val.append(idx[: int(round(fraction * len(idx)))])
    val = np.sort(np.concatenate(val)) if val else np.array([], np.int64)
    if len(val) == 0:
        val = np.sort(rng.permutation(n)[:1])
    if len(val) >= n:
        raise ValueError(f"validation_split={fraction} leaves no training samples out of {n}")
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return train.astype(np.int64), val.astype(np.int64)


def class_sample_weights(class_weight, labels: np.ndarray, n_classes: int) -> np.ndarray:
    r"""Each sample's class weight: ``class_weight[c]``, or for ``"balanced"`` :math:`n / (k\,n_c)`."""
    if class_weight == "balanced":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        per_class = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        per_class = np.ones(n_classes)
        for c, w in class_weight.items():
            c = int(c)
            if not 0 <= c < n_classes:
                raise ValueError(f"class_weight names class {c}, but the classes are 0..{n_classes - 1}")
            per_class[c] = check_number(w, f"class_weight[{c}]", low=0.0)
    else:
        raise ValueError(f"class_weight must be a dict {{class: weight}} or 'balanced', got {class_weight!r}")
    return per_class[labels]


def sample_weights(X, Y, loss, sample_weight, class_weight) -> np.ndarray | None:
    """Per-sample weights from ``sample_weight`` times the classes' ``class_weight`` (None: unweighted)."""
    weights = None
    if sample_weight is not None:
        weights = check_array(sample_weight, name="sample_weight", dtype=np.float64, ndim=1)
        check_same_length(X, weights)
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("sample_weight must be non-negative with a positive sum")
    if class_weight is not None:
        if loss.task != "classification":
            raise ValueError(f"class_weight needs a classification loss (CrossEntropy), got {type(loss).__name__}")
        cw = class_sample_weights(class_weight, np.argmax(Y, axis=1), Y.shape[1])
        weights = cw if weights is None else weights * cw
    return weights


def prepare_data(net, X, y, loss, *, sample_weight=None, class_weight=None, validation_data=None,
                 validation_split: float = 0.0, split=None):
    """``(TrainingData, loss)`` from the arguments of fit, checked and converted once.

    The validation set is ``validation_data`` when given; else the rows of
    ``split = (train, val)`` (a checkpoint's); else, for ``validation_split > 0``,
    a new :func:`stratified_split` drawn with ``net.rng`` (by class for
    classification); else there is none.
    """
    X, Y, loss = net.prepare(X, y, loss)
    weights = sample_weights(X, Y, loss, sample_weight, class_weight)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val, Y_val, _ = net.prepare(validation_data[0], validation_data[1], loss)
        return TrainingData(X, Y, weights, X_val, Y_val, None), loss
    n = n_rows(X)
    if split is not None:
        if split[0].max(initial=-1) >= n or split[1].max(initial=-1) >= n:
            raise ValueError(f"the checkpoint's validation split does not fit X with {n} rows: "
                             "pass the same data as the original fit")
    elif validation_split > 0:
        labels = np.argmax(Y, axis=1) if loss.task == "classification" else None
        split = stratified_split(n, validation_split, labels, net.rng)
    if split is None:
        return TrainingData(X, Y, weights, None, None, None), loss
    train, val = split
    return TrainingData(X[train], Y[train], None if weights is None else weights[train], X[val], Y[val],
                        split), loss


def batch_bounds(n: int, batch_size: int, merge_singleton: bool) -> list[tuple[int, int]]:
    """``(start, end)`` of each batch of ``n`` rows, the last partial one included.

    With ``merge_singleton`` (a network with BatchNorm, which cannot train on
    one sample) a last batch of one row is merged into the one before.
    """
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if merge_singleton and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class Batches:
    """Rows ``start:end`` of several arrays at once, in order or along an epoch's permutation.

    A shuffled batch is gathered row by row into a small buffer per array,
    reused from batch to batch (contiguous, still in cache for the matmuls
    that follow, no X-sized copy). ``None`` arrays give ``None``. A sparse
    (CSR) array gives a CSR batch of its rows (``X[idx]``: a copy of those
    rows' non-zeros only), never a dense one.
    """

    def __init__(self, arrays, width: int):
        self.arrays = tuple(arrays)
        self.buffers = tuple(None if a is None or is_sparse(a) else np.empty((width,) + a.shape[1:], a.dtype)
                             for a in self.arrays)

    def take(self, start: int, end: int, perm: np.ndarray | None) -> tuple:
        """The batch of every array: rows ``start:end``, or rows ``perm[start:end]`` when shuffled."""
        if perm is None:
            return tuple(None if a is None else a[start:end] for a in self.arrays)
        idx = perm[start:end]
        # mode="clip": the indices are in range; "raise" would copy through a temporary.
        return tuple(None if a is None else a[idx] if buf is None
                     else np.take(a, idx, axis=0, out=buf[:end - start], mode="clip")
                     for a, buf in zip(self.arrays, self.buffers))
