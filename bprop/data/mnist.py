"""MNIST and Fashion-MNIST from their canonical IDX files.

The four ``.gz`` files are found on disk or downloaded once (see
:mod:`bprop.data.download`), read with :func:`bprop.data.idx.read_idx`, and
returned with the official split: 60 000 training and 10 000 test images,
each flattened to 784 pixels scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np

from . import download
from ._dataset import CLASSIFICATION, Dataset, check_n_samples, check_seed, subsample
from ._errors import DataFileError
from .idx import read_idx

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

CATALOG = {
    "mnist": "MNIST handwritten digits, 28×28 pixels in [0, 1] (60 000 + 10 000 × 784, 10 classes; downloaded once)",
    "fashion-mnist": "Fashion-MNIST Zalando clothing images, 28×28 in [0, 1] (60 000 + 10 000 × 784, 10 classes; downloaded once)",
}


def _read_pair(paths: dict, images: str, labels: str, n_classes: int, shapes: dict):
    """Images and labels of one part; each IDX header checked against ``shapes`` before it is read."""
    images_path, labels_path = paths[images], paths[labels]
    pixels = read_idx(images_path, shape=shapes.get(images, (None, None, None)), dtype=np.uint8)
    y = read_idx(labels_path, shape=shapes.get(labels, (None,)), dtype=np.uint8)
    if len(y) != len(pixels):
        raise DataFileError(f"IDX file {str(labels_path)!r} holds {len(y)} labels but {str(images_path)!r} "
                            f"{len(pixels)} images; the two files must come from the same data set", path=labels_path)
    if y.size and y.max() >= n_classes:
        raise DataFileError(f"IDX file {str(labels_path)!r} has label {y.max()}, expected 0..{n_classes - 1}",
                            path=labels_path)
    X = pixels.reshape(len(pixels), -1).astype(np.float64)
    X /= 255.0
    return X, y.astype(np.int64)


def load(name: str, *, n_samples=None, seed=0, data_dir=None, progress: bool = True) -> Dataset:
    """Load MNIST or Fashion-MNIST with the official train/test split.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    n_samples : int, optional
        Keep a stratified random subset of this many training images (drawn
        with ``seed``) and a test subset of the same proportion (1/6 of it).
        All images by default.
    seed : int or None
        Seeds the subset (the split is the official one).
    data_dir : str or os.PathLike, optional
        Folder searched first for the IDX files.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    Dataset
        ``X`` float64 of shape (n, 784) in [0, 1], labels int64 0..9.

    Raises
    ------
    DatasetUnavailableError
        The files are not on disk and cannot be downloaded.
    DataFileError
        A file on disk is not the expected one (SHA-256), or its header
        declares another size than the data set's.
    """
    seed = check_seed(seed)
    n = check_n_samples(n_samples, minimum=20)
    paths = download.fetch(name, data_dir=data_dir, progress=progress)
    classes = CLASS_NAMES[name]
    shapes = download.REMOTE[name].shapes
    X_train, y_train = _read_pair(paths, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", len(classes), shapes)
    X_test, y_test = _read_pair(paths, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", len(classes), shapes)
    if n is not None:
        n_test = max(1, round(n * len(X_test) / len(X_train)))
        X_train, y_train = subsample(X_train, y_train, n, seed=seed, stratify=True, what=f"{name} (training part)")
        X_test, y_test = subsample(X_test, y_test, min(n_test, len(X_test)), seed=seed, stratify=True,
                                   what=f"{name} (test part)")
    side = int(round(np.sqrt(X_train.shape[1])))
    if side * side == X_train.shape[1]:
        feature_names = [f"pixel_{r}_{c}" for r in range(side) for c in range(side)]
    else:
        feature_names = [f"pixel_{j}" for j in range(X_train.shape[1])]
    folder = paths["train-images-idx3-ubyte.gz"].parent
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=CLASSIFICATION,
        class_names=list(classes),
        feature_names=feature_names,
        description=f"{CATALOG[name]}; files from {folder}",
    )
