"""Shared pieces of the ``bprop`` command: errors, parsers of option values, TOML config files.

Everything here imports the standard library and NumPy only, so that
``bprop --help`` stays fast; rich, matplotlib and scikit-learn are imported
by the sub-commands when they run.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import stat
import tomllib

import numpy as np

#: Exit status of a usage error (bad option, unknown name) and of a failure (bad file, bad data).
EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
#: the largest config file read (a real one is under 2 KiB)
MAX_CONFIG_BYTES = 1 << 20


class UsageError(Exception):
    """A mistake in the command line (exit status 2): bad option value, unknown name, ..."""

    exit_code = EXIT_USAGE


class CommandFailed(Exception):
    """A command that ran but could not do its job (exit status 1), with its message."""

    exit_code = EXIT_FAILURE


# --------------------------------------------------------------------------- argparse
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description and epilog as written (examples stay on their lines) and widens the option column."""

    def __init__(self, prog, indent_increment=2, max_help_position=30, width=None):
        if width is None:
            try:
                width = min(os.get_terminal_size().columns, 100)
            except OSError:
                width = 100
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors become :class:`UsageError` (one line, exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see: {self.prog} --help)")


def add_parser(subparsers, name: str, module_doc: str, examples: str, **kwargs) -> Parser:
    """A sub-command parser with the first line of ``module_doc`` as help and ``examples`` as epilog."""
    summary = module_doc.strip().splitlines()[0].rstrip(".")
    description = module_doc.strip()
    return subparsers.add_parser(name, help=summary, description=description,
                                 epilog="examples:\n" + examples.rstrip(), formatter_class=HelpFormatter,
                                 **kwargs)


# --------------------------------------------------------------------------- values
def did_you_mean(value: str, valid) -> str:
    close = difflib.get_close_matches(str(value).lower(), [str(v) for v in valid], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_name(kind: str, option: str, value: str, valid) -> str:
    """``value`` normalised (lower case, ``-`` → ``_``) if it is one of ``valid``, else a :class:`UsageError`."""
    key = str(value).strip().lower().replace("-", "_")
    valid = list(valid)
    if key not in valid:
        plural = kind + ("es" if kind.endswith("s") else "s")
        raise UsageError(f"{option}: unknown {kind} {value!r}; valid {plural}: {', '.join(valid)}"
                         f"{did_you_mean(key, valid)}")
    return key


def parse_int_list(text, option: str, *, minimum: int = 1, allow_empty: bool = False) -> list[int]:
    """``"128,64"`` → ``[128, 64]``; a list passes through (from a config file)."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    else:
        text = str(text).strip()
        if text.lower() in ("", "none"):
            items = []
        else:
            items = [t.strip() for t in text.split(",")]
    out = []
    for item in items:
        try:
            value = int(item)
            if isinstance(item, float) or str(item).strip() != str(value):
                raise ValueError
        except (TypeError, ValueError):
            raise UsageError(f"{option}: expected whole numbers separated by commas (e.g. 128,64), "
                             f"got {text!r}") from None
        if value < minimum:
            raise UsageError(f"{option}: every entry must be at least {minimum}, got {value}")
        out.append(value)
    if not out and not allow_empty:
        raise UsageError(f"{option}: expected at least one number (e.g. 128,64), got {text!r}")
    return out


def parse_float(text, option: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{option}: expected a finite number, got {text!r}")
    return value


def parse_rows(text, option: str) -> np.ndarray:
    """A matrix written with ``|`` between rows and ``,`` between entries: ``"0.1,0.2|0.3,0.4"``.

    A plain number or list of numbers is one row. Returns a 2-D float64 array.
    """
    if isinstance(text, (int, float)):
        text = str(text)
    if isinstance(text, (list, tuple)):
        rows = [r if isinstance(r, (list, tuple)) else [r] for r in text] if text and \
            isinstance(text[0], (list, tuple)) else [list(text)]
    else:
        rows = [[e for e in row.split(",")] for row in str(text).split("|")]
    try:
        values = [[float(e) for e in row] for row in rows]
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected numbers, ',' between entries and '|' between rows "
                         f"(e.g. 0.1,0.2|0.3,0.4), got {text!r}") from None
    widths = {len(r) for r in values}
    if len(widths) != 1 or 0 in widths:
        raise UsageError(f"{option}: every row needs the same number of entries, got {text!r}")
    arr = np.array(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise UsageError(f"{option}: values must be finite, got {text!r}")
    return arr


def parse_matrices(text, option: str) -> list[np.ndarray]:
    """One matrix per layer separated by ``;``, each as in :func:`parse_rows`."""
    if isinstance(text, (list, tuple)):
        return [parse_rows(part, option) for part in text]
    parts = [p.strip() for p in str(text).split(";")]
    if any(not p for p in parts):
        raise UsageError(f"{option}: empty matrix in {text!r}; write one matrix per layer separated by ';'")
    return [parse_rows(p, option) for p in parts]


# --------------------------------------------------------------------------- config files
def read_config(path, valid_keys, command: str) -> dict:
    """Read ``FILE.toml``: top-level keys (or a ``[train]`` table) named like the long options.

    ``batch-size`` and ``batch_size`` are the same key. Unknown keys, other
    tables, a file that is not UTF-8 or over :data:`MAX_CONFIG_BYTES` are a
    :class:`UsageError` (unknown keys listing the valid ones).
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"--config: no such file: {path}") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"--config: {path} is a folder, not a TOML file")
    if not stat.S_ISREG(mode):      # a FIFO or a device would block or never end
        raise UsageError(f"--config: {path} is not a regular file; give a TOML file")
    with open(path, "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"--config: {path} is over {MAX_CONFIG_BYTES // 1024} KiB; a config file holds a few "
                         "key = value lines")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"--config: {path} is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                         "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config: {path} is not valid TOML ({exc})") from None
    if isinstance(doc.get(command), dict):
        doc = {**{k: v for k, v in doc.items() if k != command}, **doc[command]}
    out = {}
    valid = sorted(valid_keys)
    for key, value in doc.items():
        k = key.replace("-", "_")
        if isinstance(value, dict):
            raise UsageError(f"--config: [{key}] in {path} is a table, and only a [{command}] table holds "
                             f"settings; write them as key = value lines at the top or under [{command}]")
        if k not in valid_keys:
            raise UsageError(f"--config: unknown key {key!r} in {path}; valid keys: {', '.join(valid)}"
                             f"{did_you_mean(k, valid)}")
        out[k] = value
    return out


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"cannot write {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(values: dict, comments: dict | None = None, header: str = "") -> str:
    """Flat TOML: ``key = value`` lines; ``None`` values are written as comments (unset)."""
    comments = comments or {}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()] if header else []
    if lines:
        lines.append("")
    for key, value in values.items():
        note = f"  # {comments[key]}" if key in comments else ""
        if value is None:
            lines.append(f"# {key} = (unset){note}")
        else:
            lines.append(f"{key} = {_toml_value(value)}{note}")
    return "\n".join(lines) + "\n"
