"""The run folder of 'bprop train': the files a run owns, its lock, and readying it for a run.

A run holds an exclusive :func:`fcntl.flock` on the folder's ``.bprop.lock``
for as long as it writes there, so that a second run into the same folder
refuses instead of mixing its files with the first one's. While it holds the
lock it removes the temporary files that an earlier run killed mid-write left
behind (only names :func:`bprop.io.atomic_write` makes). The lock file itself
stays: deleting a lock file that another process may have just opened would
let two runs lock two different files. It names the run holding it (its
pid), written in place rather than atomically, since replacing the file
would also replace the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from ..io import is_temporary
from .options import CommandFailed, UsageError

LOCK_NAME = ".bprop.lock"
#: every file a run writes into its folder (the plots a data set does not get included)
RUN_FILES = ("model.npz", "checkpoint.npz", "history.csv", "history.json", "config.toml", "report.md",
             "loss.png", "metric.png", "gradient_norms.png", "confusion_matrix.png", "residuals.png",
             "decision_boundary.png", "surface.png", "fit.png")


def owned_by_run(path) -> bool:
    """Whether ``path`` is a file that the run folder holding it owns (``RUN/model.npz``, its lock, ...)."""
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    if name not in RUN_FILES and name != LOCK_NAME:
        return False
    return any(os.path.exists(os.path.join(folder, marker)) for marker in ("config.toml", "checkpoint.npz",
                                                                          LOCK_NAME))


def _holder(fd: int) -> str:
    text = os.pread(fd, 300, 0).decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text or "another process"


def _in_use(folder: str, option: str, fd: int) -> CommandFailed:
    return CommandFailed(f"{option} {folder} is in use by another bprop run ({_holder(fd)}); wait for it to finish "
                         "or give another folder")


def check_not_in_use(folder: str, option: str) -> None:
    """A failure (exit 1) if another run holds ``folder``'s lock; takes nothing (a check before loading data)."""
    try:
        fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(folder, option, fd) from None
    finally:
        os.close(fd)


def check_empty(folder: str, overwrite: bool) -> list[str]:
    """The run files in ``--out`` folder (to remove with ``--overwrite``); a usage error if the folder holds
    files that are not a run's, or holds a run and ``overwrite`` is false."""
    if os.path.isfile(folder):
        raise UsageError(f"--out: {folder} is a file; give a folder for the run")
    if not os.path.isdir(folder):
        return []
    names = sorted(n for n in os.listdir(folder) if n != LOCK_NAME and not is_temporary(n))
    foreign = [n for n in names if n not in RUN_FILES]
    if foreign:
        listing = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise UsageError(f"--out {folder} holds files that 'bprop train' did not write ({listing}); give an empty "
                         "or new folder")
    if names and not overwrite:
        raise UsageError(f"--out {folder} already holds a run; give --overwrite to replace it, --resume {folder} "
                         "to continue it, or another --out")
    return names


def clear_for_run(folder: str, overwrite: bool) -> None:
    """Under the lock: :func:`check_empty`, then remove the old run's files (``--overwrite``), so that
    no stale plot such as an old decision_boundary.png stays beside the new run's files."""
    for name in check_empty(folder, overwrite):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, name))


def remove_temporaries(folder: str) -> None:
    """Remove the temporary files of :func:`bprop.io.atomic_write` left in ``folder`` by a killed run."""
    for name in os.listdir(folder):
        if is_temporary(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))


@contextlib.contextmanager
def locked(folder: str, option: str):
    """Hold ``folder``'s lock (making the folder if needed) and clear its stale temporaries; a failure
    (exit 1) naming the other run if one holds it."""
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _in_use(folder, option, fd) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        remove_temporaries(folder)
        yield
    finally:
        os.close(fd)


def check_output(output: str, inputs: list[str], force: bool, example: str = "predictions.csv") -> None:
    """A usage error unless ``-o OUT`` (predict's CSV, export's file) may be written: never a file a run
    folder owns, nor one of ``inputs``, nor a folder; an existing file only with ``force``."""
    if os.path.isdir(output):
        raise UsageError(f"-o {output} is a folder; give a file name such as {os.path.join(output, example)}")
    if owned_by_run(output):
        raise UsageError(f"-o {output} is a file of the run folder {os.path.dirname(output) or '.'}; "
                         f"write elsewhere, e.g. -o {example}")
    if os.path.exists(output) and any(os.path.exists(p) and os.path.samefile(output, p) for p in inputs):
        raise UsageError(f"-o {output} is an input of this command; write elsewhere, e.g. -o {example}")
    if os.path.lexists(output) and not force:
        raise UsageError(f"-o {output} exists; give --force to replace it, or another file name")
