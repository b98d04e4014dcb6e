"""Input checks shared by the public API: clear errors that name the argument.

Each check converts once and validates once; hot loops call the unchecked
internals afterwards.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

DTYPES = ("float32", "float64")


def check_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    return dt


def check_array(a, *, name: str, dtype, ndim: int | tuple[int, ...] = 2,
                allow_empty: bool = False) -> np.ndarray:
    """Convert ``a`` to a C-contiguous array of ``dtype`` and validate it.

    Raises
    ------
    TypeError
        If ``a`` holds values that are not numbers.
    ValueError
        If it has the wrong number of dimensions, no rows, or NaN/inf values.
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers; could not convert it: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        hint = " (reshape a single sample with x.reshape(1, -1), a single feature with x.reshape(-1, 1))" \
            if arr.ndim == 1 and 2 in ndims else ""
        raise ValueError(f"{name} must be {' or '.join(f'{d}-D' for d in ndims)}, "
                         f"got an array of shape {arr.shape}{hint}")
    if not allow_empty and arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: got 0 samples (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    # A float64 sum is finite exactly when every entry is (float32 sums cannot overflow in
    # float64), and it makes no X-sized temporary; only an overflowing sum needs the exact check.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(arr, dtype=np.float64)
    if not np.isfinite(total) and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); "
                         "remove or impute them before training")
    return arr


def check_X(X, n_features: int | None, dtype) -> np.ndarray:
    """Validate a 2-D input batch ``X (n, n_features)``."""
    X = check_array(X, name="X", dtype=dtype, ndim=2)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features per sample but the network expects "
                         f"{n_features}")
    return X


def check_same_length(X: np.ndarray, Y: np.ndarray) -> None:
    if len(X) != len(Y):
        raise ValueError(f"X and y have different numbers of samples: {len(X)} and {len(Y)}")


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Check ``low <(=) value <(=) high`` and return it as a float (see :func:`check_real`).

    Unlike :func:`check_real`, a value that is not a number is a ``ValueError`` too.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return check_real(value, name, name,
                      gt=low if low_open else None, ge=None if low_open else low,
                      lt=high if high_open else None, le=None if high_open else high)


def _expectation(name, gt, ge, lt, le):
    """``"lr > 0"``, ``"0 <= momentum < 1"``, ...: the condition a value failed."""
    hi = f" < {lt}" if lt is not None else f" <= {le}" if le is not None else ""
    if not hi:  # one-sided: the name first, as PyTorch's messages read
        return f"{name} > {gt}" if gt is not None else f"{name} >= {ge}" if ge is not None else f"finite {name}"
    lo = f"{gt} < " if gt is not None else f"{ge} <= " if ge is not None else ""
    return f"{lo}{name}{hi}"


def check_real(value, name, label, *, gt=None, ge=None, lt=None, le=None):
    """Return ``float(value)`` or raise a PyTorch-style error.

    ``check_real(-0.1, "lr", "learning rate", gt=0)`` raises
    ``ValueError: Invalid learning rate: -0.1 (expected lr > 0)``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    ok = (
        math.isfinite(v)
        and (gt is None or v > gt)
        and (ge is None or v >= ge)
        and (lt is None or v < lt)
        and (le is None or v <= le)
    )
    if not ok:
        raise ValueError(f"Invalid {label}: {value} (expected {_expectation(name, gt, ge, lt, le)})")
    return v


def check_int(value, name, *, ge=0):
    """Return ``int(value)`` for an integer ``>= ge`` or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < ge:
        raise ValueError(f"Invalid {name}: {value} (expected an integer {name} >= {ge})")
    return int(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        raise ValueError(f"Invalid {name}: {value!r} (expected one of {', '.join(map(repr, choices))})")
    return value


def unknown_name(kind: str, name, valid) -> ValueError:
    """``ValueError: Unknown <kind> 'name'. Valid <kind>s are: a, b, ...`` (in the order given)."""
    plural = f"{kind}es" if kind.endswith("s") else f"{kind}s"
    return ValueError(f"Unknown {kind} {name!r}. Valid {plural} are: {', '.join(valid)}")


def lookup(table: dict, key, what: str):
    """``table[key]``, or the :func:`unknown_name` error listing the table's keys."""
    if key not in table:
        raise unknown_name(what, key, table)
    return table[key]
