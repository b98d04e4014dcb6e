"""rich consoles and tables for the ``bprop`` command (rich is imported here, on first use)."""

from __future__ import annotations

import sys


def _rich():
    try:
        import rich  # noqa: F401
    except ImportError:
        raise ImportError("the bprop command needs rich for its tables and progress bars; "
                          "install it with: pip install 'bprop[cli]'") from None
    import rich.console
    import rich.table
    return rich


def console(stderr: bool = False, quiet: bool = False):
    """A :class:`rich.console.Console` writing to the current ``sys.stdout`` (or stderr)."""
    rich = _rich()
    return rich.console.Console(file=sys.stderr if stderr else sys.stdout, quiet=quiet,
                                highlight=False, emoji=False, soft_wrap=True)


def plain(text) -> str:
    """``text`` (a path, a data set or class name: anything a user gave) escaped for rich markup, so that
    ``[/bold]`` in it prints as it is instead of raising :class:`rich.errors.MarkupError`."""
    _rich()
    from rich.markup import escape
    return escape(str(text))


def table(title: str | None, columns: list, **kwargs):
    """A :class:`rich.table.Table`; a column is a name or ``(name, justify)``. The title and the column
    names are shown as they are (:func:`plain`); cells given to ``add_row`` are rich markup."""
    rich = _rich()
    t = rich.table.Table(title=None if title is None else plain(title), **kwargs)
    for col in columns:
        name, justify = (col, "left") if isinstance(col, str) else col
        t.add_column(plain(name), justify=justify)
    return t


def fmt(value, digits: int = 4) -> str:
    """A metric for a table: ``0.9731``, ``1.2e-05``; ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    v = float(value)
    if v != v:
        return "nan"
    if v != 0 and (abs(v) < 10 ** -(digits - 1) or abs(v) >= 10 ** 6):
        return f"{v:.{max(digits - 2, 1)}e}"
    return f"{v:.{digits}f}"
