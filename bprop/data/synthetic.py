"""Synthetic data sets: small 2-D classification problems and regression curves.

Every generator takes ``n_samples``, ``noise`` and ``seed`` and draws from its
own ``numpy.random.Generator`` made from ``seed`` (never the global RNG), so
the same arguments give the same arrays. ``noise=0`` gives the noiseless
shape (for ``spiral`` and ``gaussian`` ``noise`` is the spread itself).

Classification (two features ``x1, x2``):

- ``xor``      uniform points in [-1, 1]²; class 1 where ``x1·x2 < 0``; Gaussian jitter.
- ``circles``  two concentric circles of radius 1 (class 0) and 0.5 (class 1).
- ``moons``    two interleaving half circles (as ``sklearn.datasets.make_moons``).
- ``spiral``   three interleaved spiral arms (CS231n), angular noise.
- ``gaussian`` three isotropic Gaussian blobs, standard deviation ``noise``.

Regression:

- ``sine``   ``y = sin(x) + ε``, x uniform in [-π, π] (one feature).
- ``plane``  ``y = 2·x1 − 3·x2 + 1 + ε``, x uniform in [-1, 1]².
- ``ripple`` ``y = sin(2π r)·exp(−r) + ε`` with ``r = ‖x‖``, x uniform in [-1, 1]².

``ε ~ N(0, noise²)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._dataset import CLASSIFICATION, REGRESSION, Dataset, check_n_samples, check_seed, split

DEFAULT_N_SAMPLES = 500


def _check_noise(noise, default: float) -> float:
    if noise is None:
        return default
    try:
        value = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"noise must be a non-negative number, got {noise!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"noise must be a finite number >= 0 (0 gives noiseless data), got {noise!r}")
    return value


def _class_sizes(n: int, k: int) -> list[int]:
    """``n`` samples shared among ``k`` classes as evenly as possible."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _labels(sizes: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def make_xor(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.1, seed=0):
    """The XOR problem: class 1 where the two coordinates have opposite signs.

    Parameters
    ----------
    n_samples : int
        Number of points.
    noise : float
        Standard deviation of the Gaussian jitter added after labelling.
    seed : int or None
        Seed of the generator.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X += noise * rng.standard_normal(X.shape)
    return X, y


def make_circles(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.05, seed=0):
    """Two concentric circles: radius 1 (class 0) around radius 0.5 (class 1).

    Parameters and returns as :func:`make_xor`; ``noise`` is the standard
    deviation of the Gaussian jitter of each coordinate.
    """
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, 2)
    radius = np.repeat([1.0, 0.5], sizes)
    t = rng.uniform(0.0, 2.0 * np.pi, size=n_samples)
    X = np.column_stack([radius * np.cos(t), radius * np.sin(t)])
    X += noise * rng.standard_normal(X.shape)
    return X, _labels(sizes)


def make_moons(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.1, seed=0):
    """Two interleaving half circles (the shape of ``sklearn.datasets.make_moons``).

    Class 0 is ``(cos t, sin t)``, class 1 is ``(1 − cos t, 0.5 − sin t)``,
    ``t`` uniform in [0, π]; ``noise`` is the standard deviation of the
    Gaussian jitter. Parameters and returns as :func:`make_xor`.
    """
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, 2)
    t = rng.uniform(0.0, np.pi, size=n_samples)
    upper = np.column_stack([np.cos(t[: sizes[0]]), np.sin(t[: sizes[0]])])
    lower = np.column_stack([1.0 - np.cos(t[sizes[0]:]), 0.5 - np.sin(t[sizes[0]:])])
    X = np.vstack([upper, lower])
    X += noise * rng.standard_normal(X.shape)
    return X, _labels(sizes)


def make_spiral(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.2, seed=0, n_classes: int = 3):
    """Interleaved spiral arms, one per class (the CS231n example).

    Arm ``c`` has radius ``r`` evenly spaced in [0, 1] and angle
    ``4c + 4r + N(0, noise²)`` radians.

    Parameters
    ----------
    n_samples, seed : as :func:`make_xor`
    noise : float
        Standard deviation of the angle, in radians.
    n_classes : int
        Number of arms.
    """
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    parts = []
    for c, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        t = 4.0 * c + 4.0 * r + noise * rng.standard_normal(size)
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    return np.vstack(parts), _labels(sizes)


def make_gaussian(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.7, seed=0, n_classes: int = 3):
    """Isotropic Gaussian blobs centred on a circle of radius 2.

    Parameters
    ----------
    n_samples, seed : as :func:`make_xor`
    noise : float
        Standard deviation of each blob.
    n_classes : int
        Number of blobs.
    """
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    angles = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    X = np.repeat(centres, sizes, axis=0) + noise * rng.standard_normal((n_samples, 2))
    return X, _labels(sizes)


def make_sine(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.1, seed=0):
    """``y = sin(x) + ε`` with ``x`` uniform in [-π, π], ``ε ~ N(0, noise²)``.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 1)
    y : ndarray of float64, shape (n_samples,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, size=(n_samples, 1))
    y = np.sin(X[:, 0]) + noise * rng.standard_normal(n_samples)
    return X, y


def make_plane(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.1, seed=0):
    """``y = 2·x1 − 3·x2 + 1 + ε`` with ``x`` uniform in [-1, 1]², ``ε ~ N(0, noise²)``.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
    y : ndarray of float64, shape (n_samples,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = 2.0 * X[:, 0] - 3.0 * X[:, 1] + 1.0 + noise * rng.standard_normal(n_samples)
    return X, y


def make_ripple(n_samples: int = DEFAULT_N_SAMPLES, noise: float = 0.05, seed=0):
    """``y = sin(2π r)·exp(−r) + ε`` with ``r = ‖x‖``, ``x`` uniform in [-1, 1]².

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
    y : ndarray of float64, shape (n_samples,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    r = np.hypot(X[:, 0], X[:, 1])
    y = np.sin(2.0 * np.pi * r) * np.exp(-r) + noise * rng.standard_normal(n_samples)
    return X, y


@dataclass(frozen=True)
class _Generator:
    make: Callable
    task: str
    default_noise: float
    n_classes: int
    n_features: int
    description: str


GENERATORS: dict[str, _Generator] = {
    "xor": _Generator(make_xor, CLASSIFICATION, 0.1, 2, 2, "2-D XOR: class 1 where x1·x2 < 0 (2 classes)"),
    "circles": _Generator(make_circles, CLASSIFICATION, 0.05, 2, 2, "2-D concentric circles (2 classes)"),
    "moons": _Generator(make_moons, CLASSIFICATION, 0.1, 2, 2, "2-D interleaving half moons (2 classes)"),
    "spiral": _Generator(make_spiral, CLASSIFICATION, 0.2, 3, 2, "2-D three-arm spiral (3 classes)"),
    "gaussian": _Generator(make_gaussian, CLASSIFICATION, 0.7, 3, 2, "2-D Gaussian blobs (3 classes)"),
    "sine": _Generator(make_sine, REGRESSION, 0.1, 0, 1, "1-D regression: y = sin(x) + noise"),
    "plane": _Generator(make_plane, REGRESSION, 0.1, 0, 2, "2-D linear regression: y = 2·x1 − 3·x2 + 1 + noise"),
    "ripple": _Generator(make_ripple, REGRESSION, 0.05, 0, 2, "2-D regression: y = sin(2π‖x‖)·exp(−‖x‖) + noise"),
}

CATALOG = {name: gen.description for name, gen in GENERATORS.items()}


def load(name: str, *, n_samples=None, noise=None, seed=0, test_size: float = 0.2) -> Dataset:
    """Generate the synthetic set ``name`` and split it (stratified for classification).

    Parameters
    ----------
    name : str
        One of :data:`GENERATORS`.
    n_samples : int, optional
        Total number of points, train and test together (default 500).
    noise : float, optional
        Noise level (default per set, see the module docstring).
    seed : int or None
        Seeds both the generator and the split.
    test_size : float
        Fraction of the points kept for the test part.

    Returns
    -------
    Dataset
    """
    gen = GENERATORS[name]
    n = check_n_samples(n_samples, minimum=max(2, 2 * gen.n_classes))
    n = DEFAULT_N_SAMPLES if n is None else n
    level = _check_noise(noise, gen.default_noise)
    seed = check_seed(seed)
    X, y = gen.make(n_samples=n, noise=level, seed=seed)
    classification = gen.task == CLASSIFICATION
    # A second stream for the split, so the points do not depend on test_size.
    split_seed = None if seed is None else [seed, 1]
    X_train, y_train, X_test, y_test = split(X, y, test_size=test_size, seed=split_seed, stratify=classification)
    names = ["x"] if gen.n_features == 1 else [f"x{j + 1}" for j in range(gen.n_features)]
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=gen.task,
        class_names=[str(c) for c in range(gen.n_classes)] if classification else None,
        feature_names=names,
        description=f"{gen.description}; {n} samples, noise {level:g}, seed {seed}",
    )
