"""Tabular data from CSV files (``--data csv:PATH``), with the stdlib :mod:`csv` reader.

Rules, in the order they apply:

- **Delimiter**: ``,``; a file whose first line has no comma but has ``;``
  or a tab uses that instead.
- **Header**: the first row is a header when one of its cells is not a
  number while the rest of that column is, or when none of its cells is a
  number. Without a header the columns are called ``col0, col1, …``.
- **Target**: ``target`` is a column name, a 0-based index or a negative
  index (``-1`` is the last column, the default). A string that is not a
  column name but reads as an integer is taken as an index.
  A list of columns (``["a", "b"]``; the CLI's ``--target a,b``) gives
  several targets: all 0/1 → a multi-label task (one label per column,
  trained with binary cross-entropy), else a regression on several outputs.
- **Features**: every other column; each cell must be a finite number.
- **Task**: a target with a non-numeric value is a classification target;
  a numeric one is classification when it holds only integers and few
  distinct values (at most 20, and at most half the rows), else regression.
  Classes are the sorted distinct labels (numerically for numbers);
  ``class_names`` keeps them as strings, and ``Dataset.decode_labels`` maps
  class indices back.

Row numbers in error messages are line numbers of the file (1-based).
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat

import numpy as np

from ._dataset import (
    CLASSIFICATION,
    MULTILABEL,
    REGRESSION,
    TASKS,
    Dataset,
    _label_to_str,
    check_n_samples,
    check_seed,
    split,
    subsample,
)

MAX_CLASSES = 20


class _Table:
    """Cells of a CSV file as strings, with the file line of each row."""

    def __init__(self, path: str, header: list[str] | None, rows: list[list[str]], lines: list[int]):
        self.path = path
        self.header = header
        self.rows = rows
        self.lines = lines

    @property
    def names(self) -> list[str]:
        if self.header is not None:
            return self.header
        return [f"col{j}" for j in range(len(self.rows[0]) if self.rows else 0)]

    def column(self, j: int) -> list[str]:
        return [row[j] for row in self.rows]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sniff_delimiter(first_line: str) -> str:
    if "," in first_line:
        return ","
    counts = {d: first_line.count(d) for d in (";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    numeric = [_is_number(cell) for cell in first]
    if not any(numeric):
        return True
    for j, is_num in enumerate(numeric):
        if not is_num and rest and all(_is_number(row[j]) for row in rest):
            return True
    return False


def _open_text(name: str) -> str:
    """The file's text (UTF-8, a BOM allowed), or an error that says what the path is instead."""
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"CSV file {name!r} does not exist (from --data csv:PATH); check the path, "
            f"relative paths start from {os.getcwd()}"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"CSV file {name!r} is a folder, not a file (from --data csv:PATH); "
                                "give the path of the .csv file inside it")
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"CSV file {name!r} is not a regular file but {_KINDS.get(stat.S_IFMT(info.st_mode), 'special')}"
                      " (from --data csv:PATH); save the data to a file and give its path")
    with open(name, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(
            f"CSV file {name!r} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} "
            f"(byte {exc.start}) is not UTF-8; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


#: what a path is when it is not a regular file (the rest are "special")
_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def read_table(path, *, header: bool | None = None) -> _Table:
    """Read a CSV file into strings, detecting the delimiter and the header.

    Parameters
    ----------
    path : str or os.PathLike
    header : bool, optional
        Force the first row to be (``True``) or not be (``False``) a header;
        detected by default (see the module docstring).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    IsADirectoryError, OSError
        The path is a folder, or not a regular file (a FIFO, a device).
    ValueError
        The file is not UTF-8, is empty, has a field over the csv module's
        131,072 characters or a quote left open, or rows with different
        numbers of columns; the message names the file and the line.
    """
    name = os.fspath(path)
    text = _open_text(name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text.partition("\n")[0]))
    rows, lines = [], []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValueError(_csv_error(name, text, start, reader.line_num, exc)) from None
        if reader.line_num > start and any("\n" in cell or "\r" in cell for cell in row):
            end = "the end of the file" if reader.line_num >= _count_lines(text) else f"line {reader.line_num}"
            raise ValueError(f"CSV file {name!r}: the quote opened at line {start} is not closed before {end}; "
                             f"close it (a table of numbers has no field over several lines)")
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue  # blank line
        if rows and len(cells) != len(rows[0]):
            raise ValueError(
                f"CSV file {name!r}: row {reader.line_num} has {len(cells)} columns, "
                f"expected {len(rows[0])} like row {lines[0]}; every row needs the same columns"
            )
        rows.append(cells)
        lines.append(reader.line_num)
    if not rows:
        raise ValueError(f"CSV file {name!r} is empty; it needs rows of comma-separated numbers")
    if header is None:
        header = _looks_like_header(rows[0], rows[1:])
    names = None
    if header:
        names = [cell or f"col{j}" for j, cell in enumerate(rows[0])]
        rows, lines = rows[1:], lines[1:]
    return _Table(name, names, rows, lines)


def _count_lines(text: str) -> int:
    return text.count("\n") + (not text.endswith("\n"))


def _csv_error(name: str, text: str, start: int, line: int, exc: csv.Error) -> str:
    """The message for the csv module's error ``exc`` in the row that began at line ``start``."""
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(exc):
        quoted = '"' in text.split("\n")[start - 1]
        cause = (f"a quote opened at line {start} and never closed" if quoted else
                 "a wrong delimiter or a file that is not a table")
        return (f"CSV file {name!r}: the row starting at line {start} has a field over {limit:,} characters "
                f"(the csv module's limit), most likely {cause}; fix that line")
    return f"CSV file {name!r}: line {line} cannot be read as CSV ({exc}); fix that line"


def _numeric(table: _Table, j: int, role: str) -> np.ndarray:
    """Column ``j`` as float64, or a ValueError naming the column, value and row."""
    values = table.column(j)
    try:
        out = np.asarray(values, dtype=np.float64)
    except ValueError:
        out = None
    if out is not None and np.isfinite(out).all():
        return out
    column = table.names[j]
    numbers = []
    for value, line in zip(values, table.lines):
        try:
            number = float(value)
        except ValueError:
            what = "is empty (a missing value)" if value == "" else f"has a non-numeric value {value!r}"
            raise ValueError(
                f"CSV file {table.path!r}: {role} column {column!r} {what} at row {line}; "
                f"{role}s must be numbers: encode categories as numbers, fill in or drop missing values, "
                "or choose another column with --target"
            ) from None
        if not math.isfinite(number):
            raise ValueError(
                f"CSV file {table.path!r}: {role} column {column!r} has a non-finite value {value!r} at row {line}; "
                "fill in or drop missing and infinite values"
            )
        numbers.append(number)
    return np.array(numbers, dtype=np.float64)


def _resolve_target(target, table: _Table) -> int:
    names = table.names
    listing = ", ".join(f"{j}: {n!r}" for j, n in enumerate(names))
    if target is None:
        return len(names) - 1
    if isinstance(target, bool) or not isinstance(target, (str, int, np.integer)):
        raise TypeError(f"target must be a column name or an integer index, got {target!r}")
    if isinstance(target, str):
        matches = [j for j, n in enumerate(names) if n == target]
        if len(matches) > 1:
            raise ValueError(f"target column {target!r} is ambiguous: CSV file {table.path!r} has {len(matches)} "
                             f"columns of that name, at indices {', '.join(map(str, matches))}; give the index of "
                             f"the one you mean instead ({listing})")
        if matches:
            return matches[0]
        try:
            target = int(target)
        except ValueError:
            raise ValueError(
                f"target column {target!r} is not in CSV file {table.path!r}; its columns are {listing} "
                "(give a name or a 0-based index; negative counts from the end)"
            ) from None
    j = int(target)
    if not -len(names) <= j < len(names):
        raise ValueError(
            f"target index {j} is out of range for CSV file {table.path!r} with {len(names)} columns: {listing} "
            "(give a name or a 0-based index; negative counts from the end)"
        )
    return j % len(names)


def _encode_target(values: list[str], table: _Table, j: int, task: str | None):
    """Target values -> (y, task, class_names)."""
    column = table.names[j]
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))
        except ValueError:
            numbers = None
            break
    if numbers is None:
        if task == REGRESSION:
            _numeric(table, j, "target")  # raises, naming the value and row
        labels = sorted(set(values))
        if "" in labels:
            line = table.lines[values.index("")]
            raise ValueError(f"CSV file {table.path!r}: target column {column!r} is empty at row {line}; fill in or drop that row")
        index = {label: i for i, label in enumerate(labels)}
        return np.array([index[v] for v in values], dtype=np.int64), CLASSIFICATION, labels
    y = _numeric(table, j, "target")
    distinct = np.unique(y)
    if task is None:
        few = len(distinct) <= max(2, min(MAX_CLASSES, len(y) // 2))
        task = CLASSIFICATION if few and np.all(distinct == np.round(distinct)) else REGRESSION
    if task == REGRESSION:
        return y, REGRESSION, None
    return np.searchsorted(distinct, y).astype(np.int64), CLASSIFICATION, [_label_to_str(v) for v in distinct]


def _encode_targets(table: _Table, columns: list[int], task: str | None):
    """Several numeric target columns -> (y (n, k), task, class_names): multilabel when all are 0/1."""
    y = np.column_stack([_numeric(table, j, "target") for j in columns])
    binary = bool(np.all((y == 0) | (y == 1)))
    if task is None:
        task = MULTILABEL if binary else REGRESSION
    if task == MULTILABEL and not binary:
        raise ValueError(f"CSV file {table.path!r}: multi-label target columns must hold 0 or 1 only; "
                         "other numbers make a regression target (leave task to be inferred)")
    if task == CLASSIFICATION:
        raise ValueError("several target columns make a multi-label or regression task, not classification")
    return y, task, [table.names[j] for j in columns] if task == MULTILABEL else None


def read_csv(path, *, target=None, task: str | None = None, test_size: float = 0.2, seed=0,
             n_samples=None, header: bool | None = None) -> Dataset:
    """Load a CSV file as a :class:`Dataset` (the rules are in the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
    target : str or int, optional
        The target column: a name, a 0-based index or a negative index.
        Default: the last column.
    task : {"classification", "regression"}, optional
        Override the inferred task.
    test_size : float
        Fraction of rows kept for the test part.
    seed : int or None
        Seeds the split (stratified for classification) and any subset.
    n_samples : int, optional
        Use a random subset of this many rows.
    header : bool, optional
        Force header detection on or off.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Ragged rows, a non-numeric or missing feature value (naming the
        column, the value and the row), a target column that does not exist
        (listing the columns), or fewer than two rows.

    Examples
    --------
    >>> ds = read_csv("iris.csv", target="species")   # doctest: +SKIP
    >>> ds.class_names                                  # doctest: +SKIP
    ['setosa', 'versicolor', 'virginica']
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)} or None (inferred), got {task!r}")
    table = read_table(path, header=header)
    names = table.names
    if len(names) < 2:
        raise ValueError(
            f"CSV file {table.path!r} has {len(names)} column; it needs at least one feature column and a target column"
        )
    if len(table.rows) < 2:
        raise ValueError(f"CSV file {table.path!r} has {len(table.rows)} data row; it needs at least 2")
    if task == MULTILABEL and not isinstance(target, (list, tuple)):
        target = [target]
    if isinstance(target, (list, tuple)):
        if not target:
            raise ValueError("target is an empty list; give one or more column names or indices")
        j_targets = [_resolve_target(t, table) for t in target]
        if len(set(j_targets)) != len(j_targets):
            raise ValueError(f"target columns {list(target)!r} name a column twice; give each column once")
        if len(j_targets) == len(names):
            raise ValueError(f"target columns {list(target)!r} leave CSV file {table.path!r} no feature column")
        y, task, class_names = _encode_targets(table, j_targets, task)
    else:
        j_targets = [_resolve_target(target, table)]
        y, task, class_names = _encode_target(table.column(j_targets[0]), table, j_targets[0], task)
    features = [j for j in range(len(names)) if j not in j_targets]
    X = np.column_stack([_numeric(table, j, "feature") for j in features])
    seed = check_seed(seed)
    stratify = task == CLASSIFICATION
    X, y = subsample(X, y, check_n_samples(n_samples, minimum=2), seed=seed, stratify=stratify, what=table.path)
    X_train, y_train, X_test, y_test = split(X, y, test_size=test_size, seed=seed, stratify=stratify,
                                             what=f"CSV file {table.path!r}")
    detail = {CLASSIFICATION: f"{len(class_names or ())} classes", MULTILABEL: f"{len(j_targets)} 0/1 labels",
              REGRESSION: "regression"}[task]
    return Dataset(
        name=f"csv:{table.path}",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=task,
        class_names=class_names,
        feature_names=[names[j] for j in features],
        description=f"CSV file {table.path}: {len(X)} rows × {len(features)} features, "
                    f"target column{'s' if len(j_targets) > 1 else ''} "
                    f"{', '.join(repr(names[j]) for j in j_targets)} ({detail})",
    )


def read_features(path, *, feature_names=None, n_features: int | None = None,
                  header: bool | None = None) -> tuple[np.ndarray, list[str]]:
    """Read the feature matrix of a CSV file, e.g. for ``bprop predict``.

    With a header and ``feature_names``, the columns of those names are
    taken, in that order (other columns, such as a target, are ignored); if
    some name is missing but the file has exactly ``n_features`` columns, the
    columns are taken by position. Otherwise every column is a feature.

    Parameters
    ----------
    path : str or os.PathLike
    feature_names : list of str, optional
        The features the model was trained on.
    n_features : int, optional
        The number of features the model expects.
    header : bool, optional
        Force header detection on or off.

    Returns
    -------
    X : ndarray of float64, shape (n, n_features)
    names : list of str
        The columns used.
    """
    table = read_table(path, header=header)
    names = table.names
    if table.header is not None and feature_names is not None and all(f in names for f in feature_names):
        columns = [names.index(f) for f in feature_names]
    else:
        columns = list(range(len(names)))
        expected = len(feature_names) if feature_names is not None else n_features
        if expected is not None and expected != len(columns):
            want = f" named {list(feature_names)}" if feature_names is not None else ""
            raise ValueError(
                f"CSV file {table.path!r} has {len(columns)} columns ({names}), but the model expects "
                f"{expected} feature columns{want}; give a header with those names or exactly {expected} columns"
            )
    if not table.rows:
        return np.empty((0, len(columns))), [names[j] for j in columns]
    X = np.column_stack([_numeric(table, j, "feature") for j in columns])
    return X, [names[j] for j in columns]
