"""Exceptions of :mod:`bprop.data` (kept apart so that importing them is free)."""

from __future__ import annotations

from pathlib import Path


class DatasetUnavailableError(OSError):
    """A data set's files are neither on disk nor downloadable (e.g. offline).

    The message is one sentence naming the missing files and the folder to
    put them in (or ``BPROP_DATA_DIR`` / ``--data-dir`` to set).

    Attributes
    ----------
    name : str
        The data set, e.g. ``"mnist"``.
    missing : list of str
        File names that could not be found or fetched.
    folder : pathlib.Path
        Where the files are expected (the download cache).
    errors : list of str
        One line per failed download attempt (URL and reason).
    """

    def __init__(self, message: str, *, name: str, missing: list[str], folder, errors: list[str]):
        super().__init__(message)
        self.name = name
        self.missing = list(missing)
        self.folder = Path(folder)
        self.errors = list(errors)

    def __str__(self) -> str:
        return self.args[0]


class DataFileError(ValueError):
    """A data file on disk is corrupt, truncated, forged or not the file expected.

    The message names the file, what is wrong with it and what to do (delete
    it, or fix the folder it was found in). The command line reports it as a
    failure (exit status 1), not as a usage error.

    Attributes
    ----------
    path : str
        The file.
    """

    def __init__(self, message: str, *, path):
        super().__init__(message)
        self.path = str(path)
