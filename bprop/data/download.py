"""Find data files on disk, or download them once into the cache, SHA-256 checked.

Where a file is looked for, in order (first hit wins):

1. the ``data_dir`` argument (``--data-dir``),
2. the environment variable ``BPROP_DATA_DIR``,
3. the cache: ``$XDG_CACHE_HOME/bprop``, else ``~/.cache/bprop``,

each as ``<dir>/<name>/<file>`` and ``<dir>/<file>`` (``<name>`` is e.g.
``mnist``), for the ``.gz`` file and then its uncompressed form.

A file found on disk is trusted no more than a download: its SHA-256 must be
the one in :data:`REMOTE` (of the ``.gz`` file, or of its uncompressed form),
else :class:`DataFileError` names the file, says which data set's file it is
when it is another known one (e.g. MNIST's images where Fashion-MNIST's were
looked for), and what to do.

Files missing everywhere are downloaded from the data set's mirrors, in
order, into ``<cache>/<name>/``: each goes to a temporary file beside its
destination, its SHA-256 is checked against the hash in :data:`REMOTE`, and
only then is it renamed into place (so a half-written or wrong file never
takes the real name). A network error or a hash mismatch moves on to the
next mirror; when every mirror fails, :class:`DatasetUnavailableError` says in
one sentence which files to put in which folder.

Downloads go through :data:`urlopen` (``urllib.request.urlopen``); tests
replace it, or pass ``opener=``, to run without a network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..io import atomic_write
from ._errors import DataFileError, DatasetUnavailableError

ENV_DATA_DIR = "BPROP_DATA_DIR"
CHUNK = 1 << 16
TIMEOUT_S = 30.0

#: The opener used for downloads: ``urlopen(url, timeout=...)`` returns a
#: binary file-like object. Replace it (e.g. with ``monkeypatch``) to test offline.
urlopen: Callable = urllib.request.urlopen


@dataclass(frozen=True)
class RemoteDataset:
    """Files of a downloadable data set, their SHA-256 and the mirrors serving them.

    ``files`` maps each ``.gz`` file name to its SHA-256, ``uncompressed`` the
    same names to the SHA-256 of their decompressed content (for files kept on
    disk unzipped), and ``shapes`` the same names to the shape its IDX header
    must declare (``None`` entries: any size; no entry: not checked).
    """

    title: str
    files: dict[str, str]
    mirrors: tuple[str, ...]
    uncompressed: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, tuple] = field(default_factory=dict)


IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: The official sizes of MNIST and Fashion-MNIST: 60 000 + 10 000 images of 28 × 28.
IDX_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}

REMOTE: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        title="MNIST",
        files={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        uncompressed={
            "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        shapes=IDX_SHAPES,
    ),
    "fashion-mnist": RemoteDataset(
        title="Fashion-MNIST",
        files={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        uncompressed={
            "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        shapes=IDX_SHAPES,
    ),
}


def cache_dir() -> Path:
    """The download cache: ``$XDG_CACHE_HOME/bprop``, else ``~/.cache/bprop``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "bprop"


def _checked_dir(path, what: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} {os.fspath(path)!r} is not an existing folder; point it at the folder holding the data files")
    return folder


def search_dirs(data_dir=None) -> list[Path]:
    """The folders searched for data files, in order (see the module docstring).

    Raises
    ------
    FileNotFoundError
        ``data_dir`` or ``BPROP_DATA_DIR`` is given but is not a folder.
    """
    dirs = []
    if data_dir is not None:
        dirs.append(_checked_dir(data_dir, "data_dir (--data-dir)"))
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        dirs.append(_checked_dir(env, f"environment variable {ENV_DATA_DIR}"))
    dirs.append(cache_dir())
    return dirs


def find_file(name: str, filename: str, dirs: list[Path]) -> Path | None:
    """The first existing ``<dir>/<name>/<file>`` or ``<dir>/<file>`` (also without ``.gz``)."""
    candidates = [filename]
    if filename.endswith(".gz"):
        candidates.append(filename[: -len(".gz")])
    for folder in dirs:
        for sub in (folder / name, folder):
            for candidate in candidates:
                path = sub / candidate
                if path.is_file():
                    return path
    return None


def sha256_file(path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _known_as(sha256: str) -> str | None:
    """``"MNIST's train-images-idx3-ubyte.gz"`` for the SHA-256 of a known file, else None."""
    for remote in REMOTE.values():
        for filename in remote.files:
            if sha256 == remote.files[filename]:
                return f"{remote.title}'s {filename}"
            if sha256 == remote.uncompressed.get(filename):
                return f"{remote.title}'s {filename} (uncompressed)"
    return None


def verify_file(path: Path, filename: str, remote: RemoteDataset, *, cached: bool) -> Path:
    """``path`` if its SHA-256 is that of ``remote``'s ``filename`` (or of its uncompressed form).

    Raises
    ------
    DataFileError
        The hash differs (or no hash is known for an uncompressed file); the
        message names the file, what it is when it is another known file, and
        what to do: delete it (``cached``: it is then downloaded again) or fix
        the folder it was found in.
    """
    compressed = path.name == filename
    expected = remote.files[filename] if compressed else remote.uncompressed.get(filename)
    if expected is None:
        raise DataFileError(f"{path} is an uncompressed {filename} and bprop knows no SHA-256 for it; "
                            f"put the original {filename} there instead", path=path)
    got = sha256_file(path)
    if got == expected:
        return path
    other = _known_as(got)
    what = f"it is {other}" if other else f"its SHA-256 is {got[:16]}…, expected {expected[:16]}…"
    form = filename if compressed else f"{filename} (uncompressed)"
    if cached:
        fix = "delete it and it is downloaded again"
    else:
        fix = (f"delete it or fix the folder {path.parent} (it must hold {remote.title}'s files, or "
               f"point {ENV_DATA_DIR} / --data-dir at a folder with a sub-folder per data set)")
    raise DataFileError(f"{path} is not {remote.title}'s {form}: {what}; {fix}", path=path)


class _Progress:
    """A rich progress bar on stderr, or nothing (``enabled=False`` or no rich)."""

    def __init__(self, enabled: bool):
        self._bar = None
        if enabled:
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )
            except ImportError:
                return
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()

    def task(self, description: str, total: int | None):
        if self._bar is None:
            return lambda n: None
        task_id = self._bar.add_task(description, total=total)
        return lambda n: self._bar.advance(task_id, n)


def download_file(url: str, dest, sha256: str, *, opener: Callable | None = None, progress: bool = True,
                  timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` atomically, checking its SHA-256.

    The bytes go to a temporary file in ``dest``'s folder, which is renamed
    to ``dest`` only if its hash is ``sha256``; otherwise it is removed.

    Parameters
    ----------
    url : str
        Any URL the opener understands (``https://``, ``file://``).
    dest : str or os.PathLike
        Final path; its folder is created if needed.
    sha256 : str
        Expected hex digest.
    opener : callable, optional
        ``opener(url, timeout=...)`` returning a binary file-like object;
        default :data:`urlopen`.
    progress : bool
        Show a progress bar.
    timeout : float
        Seconds before a stalled connection fails.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ValueError
        The downloaded bytes do not have the expected hash.
    OSError, http.client.HTTPException
        Network or file errors.
    """
    dest = Path(dest)
    open_url = urlopen if opener is None else opener
    # The URL is opened before the atomic write starts, so that a connection error stays one
    # (atomic_write reports an OSError raised inside it as a failure to write dest).
    # The hash is checked inside the atomic write: a mismatch removes the .part file.
    with open_url(url, timeout=timeout) as response, atomic_write(dest, "wb", suffix=".part") as out, \
            _Progress(progress) as bar:
        digest = hashlib.sha256()
        headers = getattr(response, "headers", None)
        length = headers.get("Content-Length") if headers is not None else None
        advance = bar.task(dest.name, int(length) if length and str(length).isdigit() else None)
        for block in iter(lambda: response.read(CHUNK), b""):
            out.write(block)
            digest.update(block)
            advance(len(block))
        got = digest.hexdigest()
        if got != sha256:
            raise ValueError(f"SHA-256 mismatch for {url}: expected {sha256}, got {got}")
    return dest


def fetch(name: str, *, data_dir=None, progress: bool = True, opener: Callable | None = None,
          remote: RemoteDataset | None = None) -> dict[str, Path]:
    """Paths of all files of data set ``name``, downloading the missing ones.

    Parameters
    ----------
    name : str
        A key of :data:`REMOTE` (``"mnist"``, ``"fashion-mnist"``).
    data_dir : str or os.PathLike, optional
        Searched first.
    progress : bool
        Show download progress bars.
    opener : callable, optional
        Passed to :func:`download_file`.
    remote : RemoteDataset, optional
        Override the files, hashes and mirrors (tests).

    Returns
    -------
    dict
        File name -> path on disk.

    Raises
    ------
    DatasetUnavailableError
        Some file is on no disk searched and every mirror failed for it.
    """
    remote = REMOTE[name] if remote is None else remote
    dirs = search_dirs(data_dir)
    target = cache_dir() / name
    paths: dict[str, Path] = {}
    missing: list[str] = []
    errors: list[str] = []
    unreachable: set[str] = set()  # mirrors that failed to connect: not retried for the other files
    for filename, sha256 in remote.files.items():
        found = find_file(name, filename, dirs)
        if found is not None:
            paths[filename] = verify_file(found, filename, remote, cached=found.is_relative_to(cache_dir()))
            continue
        for mirror in remote.mirrors:
            if mirror in unreachable:
                continue
            url = mirror.rstrip("/") + "/" + filename
            try:
                paths[filename] = download_file(url, target / filename, sha256, opener=opener, progress=progress)
                break
            except (OSError, ValueError, http.client.HTTPException) as exc:
                errors.append(f"{url}: {exc}")
                if _is_connection_error(exc):
                    unreachable.add(mirror)
        else:
            missing.append(filename)
    if missing:
        raise DatasetUnavailableError(
            f"{remote.title} is not on this computer and could not be downloaded from any mirror: "
            f"put {_join(missing)} in {target}{os.sep} (or in a folder named by {ENV_DATA_DIR} or --data-dir).",
            name=name,
            missing=missing,
            folder=target,
            errors=errors,
        )
    return paths


def _is_connection_error(exc: BaseException) -> bool:
    """True for failures of the server as a whole (DNS, refused, timeout), not of one file."""
    if isinstance(exc, urllib.error.HTTPError):
        return False  # the server answered (e.g. 404 for this file)
    if isinstance(exc, urllib.error.URLError):
        return not isinstance(exc.reason, FileNotFoundError)  # file:// URLs report a missing file so
    return isinstance(exc, (ConnectionError, TimeoutError))


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
