"""Every data set ``--data`` accepts, as :class:`Dataset` objects.

>>> from bprop.data import load
>>> ds = load("moons", n_samples=200, noise=0.2, seed=0)
>>> ds.X_train.shape, ds.X_test.shape, ds.task, ds.n_outputs
((160, 2), (40, 2), 'classification', 2)

Names (``available()`` lists them with a description):

- synthetic 2-D classification ``xor, circles, moons, spiral, gaussian`` and
  regression ``sine, plane, ripple`` (:mod:`bprop.data.synthetic`);
- scikit-learn's ``digits, iris, wine, breast_cancer``
  (:mod:`bprop.data.sklearn_sets`);
- ``mnist`` and ``fashion-mnist`` from their IDX files, found on disk or
  downloaded once (:mod:`bprop.data.mnist`, :mod:`bprop.data.download`);
- ``csv:PATH`` (:mod:`bprop.data.tabular`);
- ``npy:X.npy,y.npy`` and ``npz:FILE``, memory-mapped (:mod:`bprop.data.arrays`).

Importing this package needs NumPy only; scikit-learn and the network
modules are imported when a data set needs them.
"""

from __future__ import annotations

import difflib
import importlib
import os

from ._dataset import CLASSIFICATION, REGRESSION, Dataset, check_test_size
from ._errors import DataFileError, DatasetUnavailableError
from .standardize import Standardizer

__all__ = ["CLASSIFICATION", "REGRESSION", "DataFileError", "Dataset", "DatasetUnavailableError", "Standardizer", "available", "load", "names"]

CSV_PREFIX = "csv:"

#: family module -> the options of :func:`load` its ``load`` function takes
_FAMILIES = {
    "synthetic": ("n_samples", "noise", "seed", "test_size"),
    "sklearn_sets": ("n_samples", "seed", "test_size"),
    "mnist": ("n_samples", "seed", "data_dir", "progress"),
}


def _family_modules() -> dict:
    return {family: importlib.import_module(f".{family}", __name__) for family in _FAMILIES}


def _catalog() -> dict[str, tuple[str, str]]:
    """name -> (family, description), in display order."""
    return {
        name: (family, description)
        for family, module in _family_modules().items()
        for name, description in module.CATALOG.items()
    }


def names() -> list[str]:
    """Names :func:`load` accepts (besides ``csv:PATH``)."""
    return list(_catalog())


def available() -> list[tuple[str, str]]:
    """``(name, one-line description)`` of every data set, for ``bprop datasets``."""
    rows = [(name, description) for name, (_, description) in _catalog().items()]
    rows.append(("csv:PATH", "your CSV file: numeric feature columns, target column by --target (default: the last)"))
    rows.append(("npy:X.npy,y.npy", "your arrays, memory-mapped (X float32/float64, never read whole); "
                                    "integer y: classes, float y: regression; the last --test-size rows are the test part"))
    rows.append(("npz:FILE", "the arrays X and y of an np.savez file, memory-mapped as npy:"))
    return rows


def _unknown(spec: str, valid: list[str]) -> ValueError:
    hint = ""
    close = difflib.get_close_matches(spec.lower(), valid, n=1)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif spec.lower().endswith((".csv", ".tsv", ".txt")):
        hint = f"; for a CSV file write csv:{spec}"
    return ValueError(f"unknown data set {spec!r}: expected one of {', '.join(valid)} or csv:PATH{hint}")


def load(spec: str, *, n_samples=None, noise=None, seed=0, data_dir=None, target=None,
         test_size: float = 0.2, progress: bool = True, task: str | None = None) -> Dataset:
    """Load a data set by name, or a CSV file as ``csv:PATH``.

    Parameters
    ----------
    spec : str
        A name from :func:`names` (case-insensitive; ``_`` and ``-`` alike),
        or ``"csv:PATH"``.
    n_samples : int, optional
        Synthetic sets: how many points to generate (default 500). Other
        sets: a stratified random subset of this many samples (for MNIST,
        of the training part, with a test part 1/6 of it).
    noise : float, optional
        Noise level of a synthetic set (default per set); an error for others.
    seed : int or None
        Seeds generation, sub-sampling and the train/test split.
    data_dir : str or os.PathLike, optional
        MNIST / Fashion-MNIST: folder searched first for the IDX files
        (then ``BPROP_DATA_DIR``, then the cache). Ignored by other sets.
    target : str, int or list, optional
        ``csv:`` only: the target column (name, index or negative index;
        default the last), or a list of columns: 0/1 columns make a
        multi-label task, other numbers a regression on several outputs.
    test_size : float
        Fraction in [0, 1) held out as the test part (stratified for
        classification). MNIST sets keep their official 60 000/10 000 split.
    progress : bool
        Show a progress bar while downloading.
    task : {"classification", "regression", "multilabel"}, optional
        ``csv:`` only: override the inferred task.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones), or an option that
        does not apply to the data set, or bad data in a CSV file.
    FileNotFoundError
        ``csv:PATH`` names no file, or ``data_dir`` is not a folder.
    DatasetUnavailableError
        MNIST files are neither on disk nor downloadable.
    DataFileError
        A ``ValueError``: an MNIST file on disk is not the expected one (its
        SHA-256 differs), or is truncated or corrupt.
    ImportError
        scikit-learn is missing for its data sets.
    """
    if not isinstance(spec, str):
        raise TypeError(f"data set spec must be a string (a name or csv:PATH), got {type(spec).__name__}")
    test_size = check_test_size(test_size)
    if spec.lower().startswith(("npy:", "npz:")):
        for option, value in (("n_samples", n_samples), ("noise", noise), ("target", target), ("task", task)):
            if value is not None:
                raise ValueError(f"{option} does not apply to {spec.split(':')[0]}: data (the files are used as "
                                 f"they are); leave it unset (got {value!r})")
        from .arrays import load as load_arrays
        return load_arrays(spec, test_size=test_size)
    if spec.lower().startswith(CSV_PREFIX):
        path = spec[len(CSV_PREFIX):]
        if not path:
            raise ValueError("csv: needs a path after the colon, e.g. --data csv:data/train.csv")
        if noise is not None:
            raise ValueError(f"noise applies only to synthetic data sets, not to {spec!r}; leave it unset")
        from .tabular import read_csv

        return read_csv(os.path.expanduser(path), target=target, task=task, test_size=test_size, seed=seed,
                        n_samples=n_samples)

    catalog = _catalog()
    key = spec.strip().lower().replace("_", "-")
    matches = [name for name in catalog if name.replace("_", "-") == key]
    if not matches:
        raise _unknown(spec, list(catalog))
    name = matches[0]
    family, _ = catalog[name]
    options = {"n_samples": n_samples, "noise": noise, "seed": seed, "data_dir": data_dir,
               "test_size": test_size, "progress": progress}
    accepted = _FAMILIES[family]
    for option, value in (("noise", noise), ("target", target), ("task", task)):
        if value is not None and option not in accepted:
            where = "synthetic data sets" if option == "noise" else "csv:PATH data"
            raise ValueError(f"{option} applies only to {where}, not to {name!r}; leave it unset (got {value!r})")
    module = importlib.import_module(f".{family}", __name__)
    return module.load(name, **{option: options[option] for option in accepted})
