"""The data of a fit: validation split, sample and class weights, the validation set, mini-batches.

:func:`prepare_data` turns what the user passed into :class:`TrainingData`,
once per :func:`~bprop.training.fit` (and once per resume), and
:class:`Batches` cuts the training arrays into the mini-batches of an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._memmap import PageBudget, RowReader, is_mapped
from .._validation import check_array, check_number, check_same_length, is_sparse, n_rows


@dataclass(frozen=True)
class TrainingData:
    """The prepared arrays of a run.

    ``X (n, n_in)``, ``Y`` (targets in the loss's form) and ``weights (n,)``
    (``None``: unweighted) are the training part; ``X_val``, ``Y_val`` the
    validation set (``None``: none); ``split`` the ``(train, val)`` row
    indices of a ``validation_split`` (``None`` when there was none or when
    ``validation_data`` was given), kept so a checkpoint holds them.

    ``X`` is never copied: after a ``validation_split`` both ``X`` and
    ``X_val`` are the caller's whole array and ``rows``/``val_rows`` the
    indices of their samples (``None``: every row), so a memory-mapped ``X``
    stays on disk. ``Y`` and ``weights`` (small) hold the training rows only.
    """

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    X_val: np.ndarray | None
    Y_val: np.ndarray | None
    split: tuple[np.ndarray, np.ndarray] | None
    rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        return n_rows(self.X) if self.rows is None else len(self.rows)

    @property
    def n_val(self) -> int:
        if self.X_val is None:
            return 0
        return n_rows(self.X_val) if self.val_rows is None else len(self.val_rows)


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
    return TrainingData(X, Y[train], None if weights is None else weights[train], X, Y[val], split,
                        rows=train, val_rows=val), loss


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
    that follow, no X-sized copy). ``None`` arrays give ``None``. ``rows``
    (one entry per array, ``None``: the array itself) maps sample ``i`` to row
    ``rows[i]`` of its array — the training rows of an ``X`` left whole. How
    rows are read depends on the array (:class:`Rows`): a memory map's
    scattered rows come from its file, a sparse (CSR) array gives a CSR batch.
    """

    def __init__(self, arrays, width: int, rows=None):
        self.arrays = tuple(arrays)
        self.rows = tuple(rows) if rows is not None else (None,) * len(self.arrays)
        self.sources = tuple(None if a is None else Rows(a, r) for a, r in zip(self.arrays, self.rows))
        self.buffers = tuple(None if a is None or is_sparse(a) else np.empty((width,) + a.shape[1:], a.dtype)
                             for a in self.arrays)

    def take(self, start: int, end: int, perm: np.ndarray | None) -> tuple:
        """The batch of every array: samples ``start:end``, or samples ``perm[start:end]`` when shuffled."""
        idx = None if perm is None else perm[start:end]
        return tuple(None if src is None else src.take(start, end, idx, None if buf is None else buf[:end - start])
                     for src, buf in zip(self.sources, self.buffers))


class Rows:
    """Samples of one array (a dense array, a memory map or a CSR matrix), read the way its kind needs.

    Sample ``i`` is row ``rows[i]`` of ``a`` (``rows=None``: row ``i``).
    Consecutive rows are a slice (a view; a CSR slice copies only their
    non-zeros); scattered ones are gathered: from a C-ordered memory map's
    file with ``os.preadv`` (:class:`bprop._memmap.RowReader`: touching the
    map would pull whole page-cache folios into the resident set), from CSR
    as a CSR matrix of those rows (``a[idx]``), else with ``np.take``. A
    memory map's pages are released as its rows are read
    (:class:`bprop._memmap.PageBudget`).
    """

    def __init__(self, a, rows=None):
        self.a, self.rows = a, rows
        self.n = n_rows(a) if rows is None else len(rows)
        self.sparse = is_sparse(a)
        self.pages = PageBudget(a) if is_mapped(a) else None
        self.reader = RowReader.of(a)

    def take(self, start: int, end: int, idx: np.ndarray | None = None, out: np.ndarray | None = None):
        """Samples ``start:end``, or samples ``idx`` when given; gathered dense rows go into ``out`` if given."""
        if self.rows is None and idx is None:
            batch = self.a[start:end]
        else:
            at = idx if self.rows is None else self.rows[start:end] if idx is None else self.rows[idx]
            if self.sparse:
                return self.a[at]
            if out is None:
                out = np.empty((len(at),) + self.a.shape[1:], self.a.dtype)
            if self.reader is not None:     # a memory map: read the rows from the file, map nothing
                return self.reader.take(at, out)
            # mode="clip": the indices are in range; "raise" would copy through a temporary.
            batch = np.take(self.a, at, axis=0, out=out, mode="clip")
        if self.pages is not None:
            self.pages.add(batch.nbytes)
        return batch


def batch_total(weights: np.ndarray | None, start: int, end: int, perm: np.ndarray | None) -> float:
    """The size of the batch of samples ``start:end`` (``perm[start:end]`` when shuffled): its row
    count, or the sum of its sample weights when weighted."""
    if weights is None:
        return float(end - start)
    return float(np.sum(weights[start:end] if perm is None else weights[perm[start:end]], dtype=np.float64))
