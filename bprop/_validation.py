"""Input checks shared by the public API: clear errors that name the argument.

Arrays are checked by :func:`check_array` and :func:`check_X`; every other argument
by :func:`check` against a declared constraint (:class:`Interval`, :class:`Options`,
:class:`Items`, a type or ``None``). Each check converts once and validates once; hot
loops call the unchecked internals afterwards.
"""

from __future__ import annotations

import math
import sys
from numbers import Integral, Real

import numpy as np

from ._memmap import PageBudget, is_mapped, row_chunks

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


#: Arrays of up to this many entries, already C-ordered in the right dtype, are checked with one
#: ``isfinite`` and returned as they are (cheaper than :func:`all_finite`'s reduction at that size).
_SMALL = 16384


def check_array(a, *, name: str, dtype, ndim: int | tuple[int, ...] = 2,
                allow_empty: bool = False) -> np.ndarray:
    """Convert ``a`` to a C-contiguous array of ``dtype`` and validate it.

    Raises
    ------
    TypeError
        If ``a`` holds values that are not real numbers (complex ones included).
    ValueError
        If it has the wrong number of dimensions, no rows, NaN/inf values, or
        finite values beyond the range of ``dtype`` (naming one of them).
    """
    if (type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and 0 < a.size <= _SMALL
            and a.ndim in ((ndim,) if isinstance(ndim, int) else ndim) and np.isfinite(a).all()):
        return a      # a small valid array as it is (a prediction on a few rows): the checks below, in brief
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers; could not convert it: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}; "
                        f"pass {name}.real if the imaginary parts are meant to be dropped")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        hint = " (reshape a single sample with x.reshape(1, -1), a single feature with x.reshape(-1, 1))" \
            if arr.ndim == 1 and 2 in ndims else ""
        raise ValueError(f"{name} must be {' or '.join(f'{d}-D' for d in ndims)}, "
                         f"got an array of shape {arr.shape}{hint}")
    if not allow_empty and arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: got 0 samples (shape {arr.shape})")
    source = arr
    with np.errstate(over="ignore"):  # values beyond dtype's range are reported below, by position
        arr = np.ascontiguousarray(arr, dtype=dtype)
    # A memory-mapped array is checked a chunk of rows at a time, its pages released as it goes.
    pages, chunks = PageBudget(arr), row_chunks(arr)
    for s in chunks:
        chunk = arr[s:s + chunks.step]
        if not all_finite(chunk):
            pages.release()
            whole = len(chunk) == len(arr)
            _raise_not_finite(name, chunk, source[s:s + chunks.step] if source is not arr else chunk, dtype,
                              "" if whole else f" (rows {s}..{s + len(chunk) - 1} of a memory-mapped {name})", s)
        pages.add(chunk.nbytes)
    pages.release()
    return arr


def all_finite(a: np.ndarray) -> bool:
    """Whether every entry of ``a`` is finite.

    One reduction that makes no ``a``-sized temporary and is finite exactly when
    every entry is, unless it overflows: then the exact ``isfinite`` check decides.

    * a contiguous float32/float64 array: the sum of squares Σ aᵢ²
      (BLAS's dot product, ~2× faster than a float64 sum of float32 data; the
      squares are ≥ 0, so no finite terms can cancel to NaN, and only values
      beyond ≈1.8e19 in float32 can overflow it);
    * anything else: the float64 sum (float32 sums cannot overflow in float64).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if a.dtype in _DOT_DTYPES and a.size and (a.flags.c_contiguous or a.flags.f_contiguous):
            r = a.ravel(order="K")                   # a view: the array's own memory order
            total = np.dot(r, r)
        else:
            total = np.sum(a, dtype=np.float64)
    return bool(np.isfinite(total) or np.isfinite(a).all())


_DOT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _raise_not_finite(name: str, arr: np.ndarray, source: np.ndarray, dtype, where_rows: str = "",
                      row0: int = 0) -> None:
    """The error for an ``arr`` (converted from ``source``) that holds NaN, ±inf or out-of-range values.

    ``arr`` may be a chunk of rows starting at row ``row0``, named by ``where_rows``.
    """
    finite = np.isfinite(arr)
    overflowed = ~finite & np.isfinite(source) if source is not arr else None
    if overflowed is not None and overflowed.any():
        at = tuple(int(i) for i in np.argwhere(overflowed)[0])
        at = (at[0] + row0,) + at[1:]
        where = f"row {at[0]}, column {at[1]}" if len(at) == 2 else f"index {at}"
        raise ValueError(f"{name} has {int(overflowed.sum())} value(s) beyond the {np.dtype(dtype).name} range "
                         f"(±{np.finfo(dtype).max:.3g}), e.g. {source[(at[0] - row0,) + at[1:]]:g} at {where} "
                         f"(0-based){where_rows}; "
                         "use dtype float64 (--dtype float64) or rescale the features")
    bad = int(np.size(arr) - np.count_nonzero(finite))
    raise ValueError(f"{name} contains {bad} NaN or infinite value(s){where_rows}; "
                     "remove or impute them before training")


def is_sparse(X) -> bool:
    """Whether ``X`` is a ``scipy.sparse`` matrix or array.

    scipy is never imported here: a sparse matrix can only exist once a caller
    has imported ``scipy.sparse``, so until then the answer is ``False``.
    """
    if type(X) is np.ndarray:        # the common case, answered without a lookup
        return False
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def n_rows(X) -> int:
    """The number of samples of a dense array or a sparse matrix (``len`` fails on the latter)."""
    return X.shape[0]


def check_sparse_X(X, dtype):
    """A sparse ``X`` as CSR of ``dtype`` (no copy when it already is one), its stored values checked.

    Any scipy.sparse format is accepted (CSC, COO, ... are converted to CSR,
    a copy the size of the non-zeros); the matrix is never densified.
    """
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got a sparse array of shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X is empty: got 0 samples (shape {X.shape})")
    if X.dtype.kind == "c" or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"X must hold real numbers, got a sparse matrix of dtype {X.dtype}")
    X = X.tocsr()
    if X.dtype != np.dtype(dtype):
        with np.errstate(over="ignore"):
            X = X.astype(dtype)
    if not all_finite(X.data):
        bad = int(X.data.size - np.count_nonzero(np.isfinite(X.data)))
        raise ValueError(f"X contains {bad} NaN or infinite value(s) (or values beyond the "
                         f"{np.dtype(dtype).name} range); remove or impute them before training")
    return X


def check_X(X, n_features: int | None, dtype) -> np.ndarray:
    """Validate a 2-D input batch ``X (n, n_features)``: a dense array, a memory map or a
    scipy.sparse matrix (returned as CSR, see :func:`check_sparse_X`).

    A memory-mapped ``X`` (``np.load(..., mmap_mode="r")``) is used where it
    lies, never copied: it must already have the network's dtype.
    """
    if is_sparse(X):
        X = check_sparse_X(X, dtype)
    else:
        if is_mapped(X) and getattr(X, "dtype", None) != np.dtype(dtype):
            raise ValueError(f"X is a memory-mapped {X.dtype} array but the network computes in "
                             f"{np.dtype(dtype).name}: converting it would read all of X "
                             f"({X.nbytes / 2**20:,.1f} MiB) into memory. Save X as {np.dtype(dtype).name} once "
                             f"(np.save(path, X.astype(np.{np.dtype(dtype).name}))) or build the network with "
                             f"dtype={X.dtype.name!r} (--dtype {X.dtype.name})")
        X = check_array(X, name="X", dtype=dtype, ndim=2)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features per sample but the network expects "
                         f"{n_features}")
    return X


def check_same_length(X: np.ndarray, Y: np.ndarray) -> None:
    if n_rows(X) != n_rows(Y):
        raise ValueError(f"X and y have different numbers of samples: {n_rows(X)} and {n_rows(Y)}")


# -- the vocabulary of argument checks ---------------------------------------------------
#
# A constraint says which values an argument accepts; ``check(value, name, constraint)``
# applies it. One rule for every check in bprop:
#
# * a value of the wrong type (a string for a rate, 2.5 for a count) is a ``TypeError``:
#   ``lr must be a real number, got str 'fast'``;
# * a value of the right type that is out of range or not an option is a ``ValueError``:
#   ``Invalid learning rate: -0.1 (expected lr > 0)``, ``Invalid mode: 'maximum' (expected
#   one of 'min', 'max')``, ``Unknown schedule 'linear'. Valid schedules are: constant, ...``.
#
# A table of them, ``{"lr": Interval(Real, 0, None, closed="neither"), ...}``, declares a
# function's or an estimator's arguments (scikit-learn's ``_parameter_constraints``) and
# :func:`check_params` checks them all.

#: How PyTorch-style messages spell an argument out (``Invalid learning rate: ...``);
#: other arguments are called by their names.
LABELS = {"lr": "learning rate", "learning_rate": "learning rate", "momentum": "momentum value",
          "weight_decay": "weight_decay value", "eps": "epsilon value", "alpha": "alpha value"}


class Constraint:
    """One kind of accepted value. Subclasses say which type it takes, which values of
    that type, and how to describe both in an error."""

    def accepts_type(self, value) -> bool:
        raise NotImplementedError

    def contains(self, value) -> bool:
        """Whether ``value`` (of an accepted type) is allowed."""
        return True

    def describe(self) -> str:
        """The accepted type, for a ``TypeError``: ``"a real number"``."""
        raise NotImplementedError

    def invalid(self, value, name: str, label: str) -> ValueError:
        """The ``ValueError`` for a ``value`` of the right type that :meth:`contains` refuses."""
        raise NotImplementedError

    def convert(self, value):
        """The value :func:`check` returns (``float``/``int`` for an :class:`Interval`)."""
        return value


class Interval(Constraint):
    r"""Finite numbers of ``type`` between ``left`` and ``right``.

    ``Interval(Real, 0, None, closed="neither")`` is :math:`(0, \infty)`,
    ``Interval(Integral, 1, None, closed="left")`` the integers ``>= 1``,
    ``Interval(Real, 0, 1, closed="left")`` is :math:`[0, 1)`. A bound of ``None``
    is open (unbounded); ``closed`` says which given bounds belong to the interval:
    ``"both"`` (default), ``"left"``, ``"right"`` or ``"neither"``. ``bool`` is never a
    number here, and NaN and ±inf are out of every interval.
    """

    def __init__(self, type, left, right, *, closed="both"):
        if type not in (Real, Integral):
            raise TypeError(f"Interval type must be numbers.Real or numbers.Integral, got {type!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Invalid closed: {closed!r} (expected one of 'both', 'left', 'right', 'neither')")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def accepts_type(self, value):
        return not isinstance(value, bool) and isinstance(value, self.type)

    def contains(self, value):
        v = float(value)
        left_closed = self.closed in ("both", "left")
        right_closed = self.closed in ("both", "right")
        return (math.isfinite(v)
                and (self.left is None or v > self.left or (left_closed and v == self.left))
                and (self.right is None or v < self.right or (right_closed and v == self.right)))

    def describe(self):
        return "an integer" if self.type is Integral else "a real number"

    def expectation(self, name: str) -> str:
        """``"lr > 0"``, ``"0 <= momentum < 1"``, ``"an integer step_size >= 1"``: the condition."""
        lo_op = "<=" if self.closed in ("both", "left") else "<"
        hi_op = "<=" if self.closed in ("both", "right") else "<"
        if self.left is None and self.right is None:
            text = f"finite {name}"
        elif self.right is None:  # one-sided: the name first, as PyTorch's messages read
            text = f"{name} {'>=' if lo_op == '<=' else '>'} {self.left}"
        elif self.left is None:
            text = f"{name} {hi_op} {self.right}"
        else:
            text = f"{self.left} {lo_op} {name} {hi_op} {self.right}"
        return f"an integer {text}" if self.type is Integral else text

    def invalid(self, value, name, label):
        return ValueError(f"Invalid {label}: {value} (expected {self.expectation(name)})")

    def convert(self, value):
        return int(value) if self.type is Integral else float(value)


class Options(Constraint):
    """One of the values ``options`` (in the order given), optionally only of ``type``.

    ``Options(("min", "max"), type=str)``: ``Invalid mode: 'maximum' (expected one of
    'min', 'max')``. With ``kind`` the options are a registry of names and the error reads
    ``Unknown schedule 'linear'. Valid schedules are: constant, step, ...`` (see
    :func:`unknown_name`). A value of another ``type`` is a ``TypeError``; without
    ``type`` every value is compared with the options.
    """

    def __init__(self, options, *, type=None, kind=None):
        self.options = tuple(options)
        self.type, self.kind = type, kind

    def accepts_type(self, value):
        return self.type is None or isinstance(value, self.type)

    def contains(self, value):
        try:
            return value in self.options
        except TypeError:  # an unhashable value compared with dict keys
            return False

    def describe(self):
        return f"a {self.type.__name__}" if self.type is not None else f"one of {self._listed()}"

    def _listed(self):
        return ", ".join(map(repr, self.options))

    def invalid(self, value, name, label):
        if self.kind is not None:
            return unknown_name(self.kind, value, self.options)
        return ValueError(f"Invalid {label}: {value!r} (expected one of {self._listed()})")


class InstanceOf(Constraint):
    """Any instance of ``type`` (``bool``, ``str``, ``dict``, a class such as ``Schedule``).

    A plain type written in a constraint list means this: ``[None, str, dict]``.
    """

    def __init__(self, type):
        self.type = type

    def accepts_type(self, value):
        return isinstance(value, self.type)

    def describe(self):
        name = self.type.__name__
        return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


class _IsNone(Constraint):
    """The value ``None`` (written ``None`` in a constraint list)."""

    def accepts_type(self, value):
        return value is None

    def describe(self):
        return "None"


class Items(Constraint):
    """A list or tuple (or 1-D array) whose every item meets ``item``.

    ``Items(Interval(Integral, 1, None))``: ``(128, 64)``. An item's error names it by
    position: ``Invalid hidden_layer_sizes[1]: 0 (expected an integer
    hidden_layer_sizes[1] >= 1)``.
    """

    def __init__(self, item):
        self.item = as_constraint(item)

    def accepts_type(self, value):
        return (isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1)) \
            and all(self.item.accepts_type(v) for v in value)

    def contains(self, value):
        return all(self.item.contains(v) for v in value)

    def describe(self):
        return f"a list or tuple of which each item is {self.item.describe()}"

    def invalid(self, value, name, label):
        i = next(i for i, v in enumerate(value) if not self.item.contains(v))
        return self.item.invalid(value[i], f"{name}[{i}]", f"{label}[{i}]")

    def convert(self, value):
        return [self.item.convert(v) for v in value]


def as_constraint(c) -> Constraint:
    """A :class:`Constraint` as is; ``None`` → the value None; a type → :class:`InstanceOf`."""
    if isinstance(c, Constraint):
        return c
    if c is None:
        return _IsNone()
    if isinstance(c, type):
        return InstanceOf(c)
    raise TypeError(f"a constraint must be a Constraint, a type or None, got {c!r}")


def check(value, name: str, constraints, *, label: str | None = None):
    """Check ``value`` of argument ``name`` against one constraint or a list of them (any
    may match) and return it (a float or int for an :class:`Interval`).

    Raises ``TypeError`` when no constraint takes the value's type, else ``ValueError``
    from the first constraint that takes its type. ``label`` spells the argument out in a
    range error (default ``LABELS.get(name, name)``).

    >>> check(3e-4, "lr", Interval(Real, 0, None, closed="neither"))
    0.0003
    >>> check(-0.1, "lr", Interval(Real, 0, None, closed="neither"))
    Traceback (most recent call last):
    ValueError: Invalid learning rate: -0.1 (expected lr > 0)
    """
    cs = [as_constraint(c) for c in (constraints if isinstance(constraints, list) else [constraints])]
    typed = [c for c in cs if c.accepts_type(value)]
    if not typed:
        raise TypeError(f"{name} must be {' or '.join(c.describe() for c in cs)}, "
                        f"got {type(value).__name__} {value!r}")
    for c in typed:
        if c.contains(value):
            return c.convert(value)
    raise typed[0].invalid(value, name, LABELS.get(name, name) if label is None else label)


def check_params(params: dict, constraints: dict) -> dict:
    """:func:`check` every entry of ``params`` against its entry in the table ``constraints``
    (``{name: constraint or [constraints]}``, which must declare each of them) and return
    the checked values in the order of ``params``."""
    return {name: check(value, name, constraints[name]) for name, value in params.items()}


# -- the older helpers, each one constraint of the vocabulary --------------------------------


def _closed(left_closed: bool, right_closed: bool) -> str:
    return {(True, True): "both", (True, False): "left", (False, True): "right"}.get(
        (left_closed, right_closed), "neither")


def check_real(value, name, label, *, gt=None, ge=None, lt=None, le=None) -> float:
    """``check(value, name, Interval(Real, ...), label=label)`` with the bounds as keywords.

    ``check_real(-0.1, "lr", "learning rate", gt=0)`` raises
    ``ValueError: Invalid learning rate: -0.1 (expected lr > 0)``.
    """
    interval = Interval(Real, gt if gt is not None else ge, lt if lt is not None else le,
                        closed=_closed(gt is None, lt is None))
    return check(value, name, interval, label=label)


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """``low <(=) value <(=) high`` as a float: :func:`check_real` with ``name`` as the label."""
    return check(value, name, Interval(Real, low, high, closed=_closed(not low_open, not high_open)))


def check_int(value, name, *, ge=0) -> int:
    """An integer ``>= ge``: ``check(value, name, Interval(Integral, ge, None, closed="left"))``."""
    return check(value, name, Interval(Integral, ge, None, closed="left"))


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (:func:`check_int` with another default)."""
    return check_int(value, name, ge=minimum)


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices``: ``check(value, name, Options(choices))``."""
    return check(value, name, Options(choices))


def unknown_name(kind: str, name, valid) -> ValueError:
    """``ValueError: Unknown <kind> 'name'. Valid <kind>s are: a, b, ...`` (in the order given)."""
    plural = f"{kind}es" if kind.endswith("s") else f"{kind}s"
    return ValueError(f"Unknown {kind} {name!r}. Valid {plural} are: {', '.join(valid)}")


def lookup(table: dict, key, what: str):
    """``table[key]``, or the :func:`unknown_name` error listing the table's keys."""
    return table[check(key, what, Options(table, kind=what))]
