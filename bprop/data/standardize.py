"""Feature standardisation, saved with a model so ``predict`` applies the same transform.

.. math::

    x' = (x - \\mu) / s, \\qquad s_j = \\operatorname{std}(x_j) \\text{ (population, ddof=0)},

with ``s_j = 1`` for a column of zero variance (it is centred but not
scaled), the convention of ``sklearn.preprocessing.StandardScaler``.
"""

from __future__ import annotations

import numpy as np


class Standardizer:
    """Centre each feature on its mean and divide by its standard deviation.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (n_features,)
    scale_ : ndarray of float64, shape (n_features,)
        Standard deviations, 1 where a column is constant.

    Examples
    --------
    >>> import numpy as np
    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.mean_, s.scale_
    (array([1., 5.]), array([1., 1.]))
    >>> s.transform(np.array([[2.0, 6.0]]))
    array([[1., 1.]])
    >>> Standardizer.from_dict(s.to_dict()).inverse_transform([[1.0, 1.0]])
    array([[2., 6.]])
    """

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    @property
    def n_features(self) -> int | None:
        """Number of features seen by :meth:`fit` (None before)."""
        return None if self.mean_ is None else len(self.mean_)

    @staticmethod
    def _as_2d(X, method: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"Standardizer.{method} expects X of shape (n_samples, n_features), got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"Standardizer.{method}: X contains NaN or infinite values; remove or impute them first")
        return X

    def fit(self, X) -> "Standardizer":
        """Compute the mean and standard deviation of each column of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        Standardizer
            ``self``.
        """
        X = self._as_2d(X, "fit")
        if len(X) == 0:
            raise ValueError("Standardizer.fit needs at least one sample, got X with 0 rows")
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = X.mean(axis=0), X.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            # Values near the float64 limit (~1e154 and beyond) overflow x²: compute on x / max|x|
            # per column, then scale back (the same mean and std, no overflow, no warning).
            big = np.max(np.abs(X), axis=0)
            big[big == 0] = 1.0
            Xs = X / big
            mean, std = Xs.mean(axis=0) * big, Xs.std(axis=0) * big
        # A (near-)constant column is only centred: dividing by ~0 would blow it up.
        tiny = std <= 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
        self.mean_ = mean
        self.scale_ = np.where(tiny, 1.0, std)
        return self

    def _check_fitted(self, X, method: str) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError(f"Standardizer.{method} called before fit; call fit(X_train) or from_dict(...) first")
        X = self._as_2d(X, method)
        if X.shape[1] != len(self.mean_):
            raise ValueError(
                f"Standardizer.{method}: X has {X.shape[1]} features, the standardizer was fitted on {len(self.mean_)}"
            )
        return X

    def transform(self, X) -> np.ndarray:
        """Return ``(X - mean_) / scale_`` (a new float64 array)."""
        X = self._check_fitted(X, "transform")
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X) -> np.ndarray:
        """Return ``X * scale_ + mean_``, undoing :meth:`transform`."""
        X = self._check_fitted(X, "inverse_transform")
        return X * self.scale_ + self.mean_

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def to_dict(self) -> dict:
        """JSON-able state: ``{"type": "Standardizer", "mean": [...], "scale": [...]}``.

        Python floats round-trip exactly through JSON, so :meth:`from_dict`
        restores the very same arrays.
        """
        if self.mean_ is None:
            raise RuntimeError("Standardizer.to_dict called before fit; there is nothing to save yet")
        return {"type": "Standardizer", "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        """Rebuild a fitted standardizer from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            ``d`` lacks ``mean``/``scale``, they differ in length, or a scale is not positive.
        """
        if not isinstance(d, dict) or "mean" not in d or "scale" not in d:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"Standardizer.from_dict expects a dict with keys 'mean' and 'scale', got {got}")
        if d.get("type", "Standardizer") != "Standardizer":
            raise ValueError(f"Standardizer.from_dict got a dict of type {d['type']!r}, expected 'Standardizer'")
        mean = np.asarray(d["mean"], dtype=np.float64)
        scale = np.asarray(d["scale"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise ValueError(
                f"Standardizer.from_dict: 'mean' and 'scale' must be lists of equal length, "
                f"got shapes {mean.shape} and {scale.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("Standardizer.from_dict: 'mean' must be finite and 'scale' finite and positive")
        out = cls()
        out.mean_, out.scale_ = mean, scale
        return out

    def __repr__(self) -> str:
        state = "unfitted" if self.mean_ is None else f"n_features={len(self.mean_)}"
        return f"Standardizer({state})"
