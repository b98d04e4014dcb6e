"""What several sub-commands share: describing a network, loading data, opening a run or model file, the loss.

The network itself is built by :func:`bprop.mlp.build_mlp`.
"""

from __future__ import annotations

import os

import numpy as np

from .options import UsageError, check_name


def mpi_world():
    """``MPI.COMM_WORLD`` when ``mpiexec`` started this process as one of several, else None.

    MPICH's launcher sets ``PMI_SIZE``, Open MPI's ``OMPI_COMM_WORLD_SIZE``; with
    neither (or one process) mpi4py is not imported at all.
    """
    size = os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE")
    if size is None or not size.isdigit() or int(size) <= 1:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise UsageError(f"started by mpiexec as one of {size} processes, but mpi4py is not installed: "
                         "pip install 'bprop[mpi]' (or run without mpiexec)") from None
    return MPI.COMM_WORLD


def describe_layers(net) -> str:
    """``Dense(4→8) → Tanh → Dense(8→3)``: the architecture on one line."""
    return " → ".join(layer.describe() for layer in net.layers)


def check_data_name(spec: str, option: str = "--data") -> str:
    """A usage error listing the valid names unless ``spec`` is a known data set or ``csv:PATH``."""
    from .. import data as bdata
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"{option}: expected a data set name or csv:PATH, got {spec!r} (see: bprop datasets)")
    if spec.lower().startswith(("csv:", "npy:", "npz:")):
        return spec
    key = spec.strip().lower().replace("_", "-")
    names = bdata.names()
    if not any(name.replace("_", "-") == key for name in names):
        check_name("data set", option, key, names + ["csv:PATH"])
    return spec


def load_dataset(spec: str, *, n_samples=None, noise=None, target=None, data_dir=None, test_size=0.2, seed=0,
                 progress=True, dtype=None, task=None):
    """:func:`bprop.data.load` with the CLI's errors: option mistakes are usage errors (exit 2).

    Problems with a file (missing, unreadable, bad values) stay failures (exit 1).
    ``task`` overrides the task a CSV target's values suggest (:func:`csv_task`);
    it is ignored for the other data sets.
    """
    from .. import data as bdata

    check_data_name(spec)
    is_csv = spec.lower().startswith("csv:")
    if isinstance(target, str) and "," in target:          # --target a,b: several target columns
        target = [t.strip() for t in target.split(",")]
    if target is not None and not is_csv:
        raise UsageError(f"--target applies only to --data csv:PATH, not to {spec!r}")
    if is_csv and not os.path.exists(os.path.expanduser(spec[4:])):
        raise FileNotFoundError(f"--data {spec}: no such file: {spec[4:]}")
    try:
        return bdata.load(spec, n_samples=n_samples, noise=noise, seed=seed, data_dir=data_dir, target=target,
                          test_size=test_size, progress=progress, dtype=dtype, task=task if is_csv else None)
    except (bdata.DatasetUnavailableError, bdata.DataFileError):
        raise  # a file on disk is missing or wrong: a failure (exit 1), not a usage error
    except (ValueError, TypeError) as exc:
        text = str(exc)
        if is_csv and text.startswith(("target column", "target index")):
            raise UsageError(f"--target: {text}") from None
        if is_csv:
            raise
        raise UsageError(f"--data {spec}: {text}") from None


def csv_task(loss_spec: str | None) -> str | None:
    """The task a CSV target is read as for ``--loss loss_spec``: ``"regression"`` for the
    Poisson loss, whose targets are counts (a column of a few small integers would
    otherwise be read as class labels), else None (the values decide)."""
    from .. import losses
    if not loss_spec or str(loss_spec).lower() == "auto":
        return None
    try:
        loss = losses.get(loss_spec)
    except (TypeError, ValueError):
        return None          # choose_loss reports a bad --loss with the usual message
    return "regression" if isinstance(loss, losses.Poisson) else None


def model_file(path: str) -> tuple[str, str | None]:
    """``(model.npz path, run folder or None)`` for a run folder or a model file (``RUN/model.npz`` of a
    folder holding a run's config.toml counts as that run's)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.npz")
        if not os.path.exists(candidate):
            raise FileNotFoundError(f"{path} is a folder without model.npz: give a run folder made by "
                                    "'bprop train' or a model .npz file")
        return candidate, path
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file or run folder: {path}")
    folder = os.path.dirname(path) or "."
    if os.path.basename(path) == "model.npz" and os.path.isfile(os.path.join(folder, "config.toml")):
        return path, folder
    return path, None


def transform_features(net, X: np.ndarray, what: str) -> np.ndarray:
    """Check the feature count against ``net`` and apply the Standardizer saved in its metadata."""
    from ..data import Standardizer
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{what}: expected a table of samples (n, n_features), got shape {X.shape}")
    if net.n_in is not None and X.shape[1] != net.n_in:
        names = net.metadata.get("feature_names")
        hint = f" ({', '.join(names[:8])}{', …' if len(names) > 8 else ''})" if names else ""
        raise ValueError(f"the model expects {net.n_in} input features{hint}, but {what} has {X.shape[1]}")
    st = net.metadata.get("standardizer")
    if st:
        X = Standardizer.from_dict(st).transform(X)
    return X


def class_indices_for_model(net, ds) -> np.ndarray:
    """Map the test labels of data set ``ds`` onto the model's classes (by class name)."""
    names = net.metadata.get("class_names")
    if not names:
        return ds.y_test
    index = {c: i for i, c in enumerate(names)}
    unknown = [c for c in ds.class_names if c not in index]
    if unknown:
        raise ValueError(f"{ds.name} has classes {unknown} the model was not trained on (its classes: "
                         f"{', '.join(names)})")
    mapping = np.array([index[c] for c in ds.class_names], dtype=np.int64)
    return mapping


def parse_loss(value, option: str = "--loss"):
    """The loss of ``--loss NAME[:key=value,...]`` (``mae``, ``huber:delta=0.5``,
    ``cross_entropy:label_smoothing=0.1``); a usage error naming the option otherwise."""
    from .. import losses
    name, colon, rest = str(value).partition(":")
    key = check_name("loss", option, name, losses.LOSSES)
    try:
        return losses.get(key + colon + rest)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{option} {value}: {exc}") from None


def default_loss(task: str):
    """The loss a model of ``task`` trains on unless told otherwise: CrossEntropy for classes,
    BinaryCrossEntropy for multi-label targets (``--target a,b`` of 0/1 columns), else MSE."""
    from .. import losses
    return {"classification": losses.CrossEntropy, "multilabel": losses.BinaryCrossEntropy}.get(task, losses.MSE)()


def model_loss(metadata: dict, task: str):
    """The loss a saved model was trained on (its metadata's ``loss``), or :func:`default_loss` of its task."""
    from .. import losses
    name = (metadata or {}).get("loss")
    return losses.get(name) if name else default_loss(task)


def targets_for(loss, task: str, y: np.ndarray, n_out: int) -> np.ndarray:
    """What ``loss`` takes for labels ``y`` of ``task``.

    Class labels as they are for a classification loss (CrossEntropy takes
    labels); one-hot rows for a loss of another task (MSE, BCE) on classes;
    ``y`` as is for regression.
    """
    if task == "classification" and loss.task != "classification":
        return np.eye(n_out)[np.asarray(y, dtype=np.int64)]
    return y
