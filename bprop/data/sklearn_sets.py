"""The small data sets bundled with scikit-learn (no download needed).

scikit-learn is imported only when one of them is loaded, so ``import bprop``
and ``import bprop.data`` stay NumPy-only.
"""

from __future__ import annotations

import numpy as np

from ._dataset import CLASSIFICATION, Dataset, check_n_samples, check_seed, split, subsample

#: name -> (sklearn.datasets function, divisor applied to X, description)
SETS = {
    "digits": ("load_digits", 16.0, "scikit-learn digits: 8×8 handwritten digits, pixels scaled to [0, 1] (1797 × 64, 10 classes)"),
    "iris": ("load_iris", 1.0, "scikit-learn iris: flower measurements in cm (150 × 4, 3 classes)"),
    "wine": ("load_wine", 1.0, "scikit-learn wine: chemical analysis of wines (178 × 13, 3 classes)"),
    "breast_cancer": ("load_breast_cancer", 1.0, "scikit-learn breast cancer Wisconsin (569 × 30, 2 classes)"),
}

CATALOG = {name: description for name, (_, _, description) in SETS.items()}


def _sklearn_datasets():
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError(
            "the data sets digits, iris, wine and breast_cancer come with scikit-learn, which is not installed; "
            "install it with: pip install bprop[cli]"
        ) from None
    return sklearn.datasets


def load(name: str, *, n_samples=None, seed=0, test_size: float = 0.2) -> Dataset:
    """Load a scikit-learn toy set and split it, stratified, from ``seed``.

    Parameters
    ----------
    name : {"digits", "iris", "wine", "breast_cancer"}
    n_samples : int, optional
        Draw a stratified random subset of this many samples before splitting.
    seed : int or None
        Seeds the subset and the split.
    test_size : float
        Fraction kept for the test part.

    Returns
    -------
    Dataset
        Classification; ``digits`` pixels are divided by 16 to lie in [0, 1].
    """
    function, divisor, description = SETS[name]
    bunch = getattr(_sklearn_datasets(), function)()
    X = np.asarray(bunch.data, dtype=np.float64) / divisor
    y = np.asarray(bunch.target, dtype=np.int64)
    seed = check_seed(seed)
    n = check_n_samples(n_samples, minimum=2 * len(bunch.target_names))
    X, y = subsample(X, y, n, seed=seed, stratify=True, what=name)
    X_train, y_train, X_test, y_test = split(X, y, test_size=test_size, seed=seed, stratify=True)
    feature_names = getattr(bunch, "feature_names", None)
    if feature_names is None or len(feature_names) != X.shape[1]:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=CLASSIFICATION,
        class_names=[str(c) for c in bunch.target_names],
        feature_names=[str(f) for f in feature_names],
        description=description,
    )
