"""The :class:`Dataset` container and the helpers every loader shares.

Splitting and sub-sampling are deterministic functions of ``seed``: each call
makes its own ``numpy.random.Generator`` and never touches the global RNG.
Classification splits are stratified, so every class keeps its share in both
parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._memmap import is_mapped

CLASSIFICATION = "classification"
REGRESSION = "regression"
#: several yes/no labels per sample (a CSV file's ``target="a,b"`` of 0/1 columns), trained with BCE
MULTILABEL = "multilabel"
TASKS = (CLASSIFICATION, REGRESSION, MULTILABEL)


@dataclass(eq=False)
class Dataset:
    """A data set split into a training part and a test part.

    Parameters
    ----------
    name : str
        The name ``load`` was given, e.g. ``"moons"`` or ``"csv:data.csv"``.
    X_train, X_test : ndarray of float64, shape (n, n_features)
        One sample per row.
    y_train, y_test : ndarray
        Classification: int64 labels ``0 .. k-1`` of shape ``(n,)``
        (``class_names[y]`` gives the original label). Regression: float64
        targets of shape ``(n,)`` or ``(n, k)``.
    task : {"classification", "regression", "multilabel"}
        ``"multilabel"``: ``y`` is ``(n, k)`` of 0/1, one column per label.
    class_names : list of str or None
        The original label of each class (classification), the name of each
        label column (multilabel), else ``None``.
    feature_names : list of str
        One name per column of ``X``.
    description : str
        One line saying where the data come from.

    Attributes
    ----------
    n_features : int
        Columns of ``X``.
    n_outputs : int
        Number of classes (classification) or of target columns (regression).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[str] | None = None
    feature_names: list[str] = field(default_factory=list)
    description: str = ""
    n_features: int = field(init=False)
    n_outputs: int = field(init=False)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"Dataset task must be one of {list(TASKS)}, got {self.task!r}")
        # a memory-mapped X (npy:/npz:) keeps its file and dtype; anything else becomes float64
        if not (is_mapped(self.X_train) and self.X_train.dtype in (np.float32, np.float64)):
            self.X_train = np.asarray(self.X_train, dtype=np.float64)
            self.X_test = np.asarray(self.X_test, dtype=np.float64)
        for part, X in (("X_train", self.X_train), ("X_test", self.X_test)):
            if X.ndim != 2:
                raise ValueError(f"Dataset {part} must be 2-D (n_samples, n_features), got shape {X.shape}")
        if self.X_test.shape[1] != self.X_train.shape[1]:
            raise ValueError(
                f"Dataset X_test has {self.X_test.shape[1]} features but X_train has {self.X_train.shape[1]}"
            )
        self.n_features = int(self.X_train.shape[1])
        if not self.feature_names:
            self.feature_names = [f"x{j}" for j in range(self.n_features)]
        self.feature_names = [str(f) for f in self.feature_names]
        if len(self.feature_names) != self.n_features:
            raise ValueError(
                f"Dataset feature_names has {len(self.feature_names)} names for {self.n_features} features"
            )
        if self.task == CLASSIFICATION:
            self.y_train = np.asarray(self.y_train, dtype=np.int64)
            self.y_test = np.asarray(self.y_test, dtype=np.int64)
            if self.class_names is None:
                k = int(max(self.y_train.max(initial=-1), self.y_test.max(initial=-1))) + 1
                self.class_names = [str(c) for c in range(k)]
            self.class_names = [str(c) for c in self.class_names]
            self.n_outputs = len(self.class_names)
        elif self.task == MULTILABEL:
            self.y_train = np.asarray(self.y_train, dtype=np.float64)
            self.y_test = np.asarray(self.y_test, dtype=np.float64)
            if self.y_train.ndim != 2 or not self.class_names or len(self.class_names) != self.y_train.shape[1]:
                raise ValueError("a multilabel Dataset needs y of shape (n, k) and one class name per column")
            self.class_names = [str(c) for c in self.class_names]
            self.n_outputs = len(self.class_names)
        else:
            self.y_train = np.asarray(self.y_train, dtype=np.float64)
            self.y_test = np.asarray(self.y_test, dtype=np.float64)
            self.class_names = None
            self.n_outputs = 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])
        for part, X, y in (("train", self.X_train, self.y_train), ("test", self.X_test, self.y_test)):
            if len(y) != len(X):
                raise ValueError(f"Dataset {part} part has {len(X)} rows in X but {len(y)} targets in y")

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self.X_train)

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return len(self.X_test)

    def decode_labels(self, y) -> np.ndarray:
        """Map class indices ``0 .. k-1`` back to the original labels.

        Parameters
        ----------
        y : array-like of int
            Class indices, e.g. ``net.predict(X).argmax(1)``.

        Returns
        -------
        ndarray of str
            ``class_names[y]``.
        """
        if self.class_names is None:
            raise ValueError(f"decode_labels needs a classification data set; {self.name!r} is a regression set")
        y = np.asarray(y)
        if y.size and (y.min() < 0 or y.max() >= self.n_outputs):
            raise ValueError(
                f"decode_labels expects class indices in 0..{self.n_outputs - 1}, got values from {y.min()} to {y.max()}"
            )
        return np.asarray(self.class_names, dtype=object)[y.astype(np.int64)].astype(str)

    def encode_labels(self, labels) -> np.ndarray:
        """Map original labels (as in ``class_names``) to class indices.

        Parameters
        ----------
        labels : array-like
            Labels as they appear in the source, e.g. ``["setosa", "virginica"]``;
            compared as strings.

        Returns
        -------
        ndarray of int64
        """
        if self.class_names is None:
            raise ValueError(f"encode_labels needs a classification data set; {self.name!r} is a regression set")
        index = {c: i for i, c in enumerate(self.class_names)}
        out = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            key = _label_to_str(label)
            if key not in index:
                raise ValueError(
                    f"label {label!r} is not one of the classes {self.class_names}; "
                    "the model was trained on those classes only"
                )
            out[i] = index[key]
        return out


def _label_to_str(label) -> str:
    """The string form a label takes in ``class_names`` (integers without ``.0``)."""
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    if isinstance(label, (bytes, np.bytes_)):
        return label.decode()
    return str(label)


def check_test_size(test_size) -> float:
    """Validate ``test_size``: a fraction in [0, 1)."""
    try:
        value = float(test_size)
    except (TypeError, ValueError):
        raise TypeError(f"test_size must be a number in [0, 1), got {test_size!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"test_size must be a fraction in [0, 1) (e.g. 0.2), got {test_size!r}")
    return value


def check_n_samples(n_samples, minimum: int = 1) -> int | None:
    """Validate ``n_samples``: None or an integer >= ``minimum``."""
    if n_samples is None:
        return None
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be a positive integer or None, got {n_samples!r}")
    if n_samples < minimum:
        raise ValueError(f"n_samples must be at least {minimum}, got {n_samples}")
    return int(n_samples)


def check_seed(seed) -> int | None:
    """Validate ``seed``: None or a non-negative integer."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` among groups in proportion to ``counts`` (largest remainder).

    Each group with at least two members gets at least one and keeps at least
    one out, as long as ``total`` allows it.
    """
    n = counts.sum()
    exact = counts * (total / n) if n else counts.astype(float)
    take = np.floor(exact).astype(np.int64)
    upper = np.maximum(counts - 1, 0)
    lower = np.where(counts >= 2, 1, 0)
    if lower.sum() <= total:
        take = np.maximum(take, lower)
    take = np.minimum(take, upper)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    while take.sum() < total:
        grown = False
        for g in order:
            if take.sum() >= total:
                break
            if take[g] < upper[g]:
                take[g] += 1
                grown = True
        if not grown:
            break
    while take.sum() > total:
        shrunk = False
        for g in order[::-1]:
            if take.sum() <= total:
                break
            if take[g] > 0:
                take[g] -= 1
                shrunk = True
        if not shrunk:
            break
    return take


def choose(y: np.ndarray | None, n: int, size: int, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """Indices of a random subset of ``size`` rows out of ``n``, stratified by ``y``."""
    if not stratify or y is None:
        return np.sort(rng.permutation(n)[:size])
    classes, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    take = _allocate(counts, size)
    picked = [rng.permutation(np.flatnonzero(inverse == c))[: take[c]] for c in range(len(classes))]
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def split(X, y, *, test_size: float, seed, stratify: bool, what: str = "the data",
          parts: tuple[str, str] = ("training", "test"), option: str = "test_size"):
    """Split ``X, y`` into shuffled train and test parts, deterministic from ``seed``.

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
    y : ndarray, shape (n,) or (n, k)
    test_size : float
        Fraction of the rows that go to the test part, ``ceil(test_size * n)``.
    seed : int or None
    stratify : bool
        Keep each class's share in both parts (classification).
    what, parts, option : str
        For the error message: the data (``"CSV file 'a.csv'"``), the names of
        the two parts and the option that set ``test_size``.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray

    Raises
    ------
    ValueError
        ``test_size > 0`` leaves no row for the second part (too few rows, or
        with ``stratify`` no class with two rows to share); the message says
        how many rows there are and which option to change.
    """
    rng = np.random.default_rng(seed)
    n = len(X)
    n_test = int(np.ceil(test_size * n)) if test_size > 0 else 0
    n_test = min(n_test, n - 1) if n > 1 else 0
    test = choose(y if stratify else None, n, n_test, rng, stratify)
    if test_size > 0 and len(test) == 0:
        why = ""
        if stratify and n > 1:
            why = (f", and a split by class keeps one row of each class for the {parts[0]} part "
                   f"while no class has more than {np.unique(y, return_counts=True)[1].max()}")
        raise ValueError(f"{option}={test_size:g} leaves no rows for the {parts[1]} part: {what} has {n} "
                         f"row{'s' if n != 1 else ''}{why}; give more rows, or {option}=0 for no {parts[1]} part")
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    train = rng.permutation(np.flatnonzero(~mask))
    test = rng.permutation(test)
    return X[train], y[train], X[test], y[test]


def subsample(X, y, n_samples: int | None, *, seed, stratify: bool, what: str):
    """A seeded random subset of ``n_samples`` rows (all rows when ``None``)."""
    if n_samples is None or n_samples == len(X):
        return X, y
    if n_samples > len(X):
        raise ValueError(
            f"n_samples={n_samples} is more than the {len(X)} samples {what} has; "
            f"pass n_samples <= {len(X)} or leave it unset"
        )
    idx = choose(y, len(X), n_samples, np.random.default_rng(seed), stratify)
    return X[idx], y[idx]
