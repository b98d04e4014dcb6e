"""Hostile and careless data files: each one is built here, tiny on disk and absurd in its claims.

Every case asserts the exception type and message (or the CLI's one ``error:`` line and
exit status); the IDX bombs also assert the memory the reader took (tracemalloc sees
NumPy's allocations as well as Python's).
"""

from __future__ import annotations

import gzip
import os
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bprop._validation import check_X
from bprop.cli import main
from bprop.data import DataFileError, download, load
from bprop.data.idx import read_idx
from bprop.data.tabular import read_csv

MB = 1 << 20
SHARED = Path(os.environ.get("BPROP_DATA_DIR") or "/work/shared/datasets")


def _header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _peak(fn):
    """(exception raised by fn, peak bytes allocated while it ran)."""
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as info:
            fn()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _cli_error(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return code, err[0]


# --------------------------------------------------------------------------- IDX


def test_idx_header_claiming_a_billion_images_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_header(0x08, 10**9, 28, 28) + bytes(1000)))
    exc, peak = _peak(lambda: read_idx(path))
    assert type(exc) is DataFileError and exc.path == str(path)
    assert str(exc) == (
        f"IDX file {str(path)!r} is truncated or forged: its header declares shape (1000000000, 28, 28) "
        f"(784000000016 bytes), more than a gzip file of {path.stat().st_size} bytes can hold; "
        "delete it and download it again")
    assert peak < 1 * MB
    # with the data set's sizes given, the header alone refuses it
    exc, peak = _peak(lambda: read_idx(path, shape=(60000, 28, 28), dtype=np.uint8))
    assert type(exc) is DataFileError and str(exc) == (
        f"IDX file {str(path)!r} is not the expected file: its header declares uint8 data of shape "
        "(1000000000, 28, 28), expected uint8 of shape 60000 × 28 × 28; delete it and download it again")
    assert peak < 1 * MB


def test_idx_genuinely_compressible_stream_is_read_no_further_than_the_header_promises(tmp_path):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    # 64 MiB of zeros in about 64 KB: the header promises 100 images of 28 × 28 (78 400 bytes)
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = zeros.compress(_header(0x08, 100, 28, 28))
    block = bytes(MB)
    for _ in range(64):
        body += zeros.compress(block)
    path.write_bytes(body + zeros.flush())
    assert path.stat().st_size < 100_000
    exc, peak = _peak(lambda: read_idx(path))
    assert type(exc) is DataFileError and str(exc) == (
        f"IDX file {str(path)!r} is corrupt: shape (100, 28, 28) needs 78416 bytes, the file holds more; "
        "delete it and download it again")
    assert peak < 3 * MB


def test_idx_wrong_size_header_is_not_the_expected_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(_header(0x0C, 10) + bytes(40))  # int32 labels, 10 of them
    with pytest.raises(DataFileError) as info:
        read_idx(path, shape=(10000,), dtype=np.uint8)
    assert str(info.value) == (
        f"IDX file {str(path)!r} is not the expected file: its header declares int32 data of shape (10,), "
        "expected uint8 of shape 10000; delete it and download it again")


def test_idx_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_header(0x08, 5000) + bytes(range(250)) * 20)[:60])
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    assert str(info.value) == (
        f"IDX file {str(path)!r} is a corrupt or truncated gzip file (Compressed file ended before the "
        "end-of-stream marker was reached); delete it and download it again")


def _mixed_folder(tmp_path: Path, under: str, source: str) -> Path:
    """``tmp_path/<under>/`` holding data set ``source``'s real files (symlinked)."""
    folder = tmp_path / under
    folder.mkdir()
    for filename in download.IDX_FILES:
        (folder / filename).symlink_to(SHARED / source / filename)
    return folder


def test_fashion_files_under_mnist_names_are_refused(offline):
    folder = _mixed_folder(offline, "mnist", "fashion-mnist")
    with pytest.raises(DataFileError) as info:
        load("mnist", data_dir=offline, progress=False)
    assert str(info.value) == (
        f"{folder / 'train-images-idx3-ubyte.gz'} is not MNIST's train-images-idx3-ubyte.gz: it is "
        f"Fashion-MNIST's train-images-idx3-ubyte.gz; delete it or fix the folder {folder} (it must hold "
        "MNIST's files, or point BPROP_DATA_DIR / --data-dir at a folder with a sub-folder per data set)")


def test_cli_fashion_mnist_from_a_flat_mnist_folder_fails_with_exit_1(offline, capsys):
    folder = _mixed_folder(offline, "digits", "mnist")  # BPROP_DATA_DIR pointing at MNIST itself
    code, line = _cli_error(capsys, ["train", "--data", "fashion-mnist", "--data-dir", str(folder),
                                     "--out", str(offline / "run"), "--quiet"])
    assert code == 1
    assert line == (f"error: {folder / 'train-images-idx3-ubyte.gz'} is not Fashion-MNIST's train-images-idx3-ubyte.gz: "
                    f"it is MNIST's train-images-idx3-ubyte.gz; delete it or fix the folder {folder} (it must hold "
                    "Fashion-MNIST's files, or point BPROP_DATA_DIR / --data-dir at a folder with a sub-folder "
                    "per data set)")


def test_cli_truncated_and_bomb_files_in_data_dir_fail_with_exit_1(offline, capsys):
    folder = offline / "mnist"
    folder.mkdir()
    for filename in download.IDX_FILES:
        (folder / filename).symlink_to(SHARED / "mnist" / filename)
    truncated = folder / "t10k-labels-idx1-ubyte.gz"
    truncated.unlink()
    truncated.write_bytes((SHARED / "mnist" / truncated.name).read_bytes()[:2000])
    bomb = folder / "train-images-idx3-ubyte.gz"
    bomb.unlink()
    bomb.write_bytes(gzip.compress(_header(0x08, 10**9, 28, 28) + bytes(MB)))
    code, line = _cli_error(capsys, ["train", "--data", "mnist", "--data-dir", str(offline),
                                     "--out", str(offline / "run"), "--quiet"])
    assert code == 1
    assert line.startswith(f"error: {bomb} is not MNIST's train-images-idx3-ubyte.gz: its SHA-256 is ")
    assert line.endswith(f"; delete it or fix the folder {folder} (it must hold MNIST's files, or point "
                         "BPROP_DATA_DIR / --data-dir at a folder with a sub-folder per data set)")
    bomb.unlink()
    bomb.symlink_to(SHARED / "mnist" / bomb.name)
    code, line = _cli_error(capsys, ["train", "--data", "mnist", "--data-dir", str(offline),
                                     "--out", str(offline / "run"), "--quiet"])
    assert code == 1 and line.startswith(f"error: {truncated} is not MNIST's t10k-labels-idx1-ubyte.gz: ")


def test_a_bad_file_in_the_cache_says_it_is_downloaded_again(offline):
    cached = offline / "cache" / "bprop" / "mnist"
    cached.mkdir(parents=True)
    (cached / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.gz is not MNIST's .*; "
                                            "delete it and it is downloaded again$"):
        load("mnist", progress=False)


# --------------------------------------------------------------------------- CSV


def _csv(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def test_csv_field_over_the_csv_limit_names_the_row(tmp_path):
    path = _csv(tmp_path, "a,b,y\n1,2,0\n" + "9" * 200_000 + ",2,1\n")
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert type(info.value) is ValueError and str(info.value) == (
        f"CSV file {path!r}: the row starting at line 3 has a field over 131,072 characters (the csv module's "
        "limit), most likely a wrong delimiter or a file that is not a table; fix that line")


def test_csv_unterminated_quote_names_the_line_where_it_opened(tmp_path):
    path = _csv(tmp_path, 'a,b,y\n1,2,0\n3,"4,1\n5,6,0\n7,8,1\n')
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert str(info.value) == (f"CSV file {path!r}: the quote opened at line 3 is not closed before the end of the "
                               "file; close it (a table of numbers has no field over several lines)")
    path = _csv(tmp_path, 'a,b,y\n1,2,0\n3,"4' + "5" * 140_000 + ",1\n5,6,0\n", "long.csv")
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"CSV file {path!r}: the row starting at line 3 has a field over 131,072 characters (the csv module's "
        "limit), most likely a quote opened at line 3 and never closed; fix that line")


def test_csv_latin1_names_the_byte_line_and_fix(tmp_path):
    path = _csv(tmp_path, "a,b,label\n1,2,cat\n3,4,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert type(info.value) is ValueError and str(info.value) == (
        f"CSV file {path!r} is not UTF-8 text: byte 0xe9 at line 3 (byte 25) is not UTF-8; "
        "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")


def test_csv_too_few_rows_for_a_split_says_how_many_and_which_split(tmp_path, capsys):
    two = _csv(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError) as info:
        read_csv(two)
    assert str(info.value) == (
        f"test_size=0.2 leaves no rows for the test part: CSV file {two!r} has 2 rows, and a split by class keeps "
        "one row of each class for the training part while no class has more than 1; give more rows, or "
        "test_size=0 for no test part")
    rows = "".join(f"{i},{i % 7},{i % 2}\n" for i in range(50))
    fifty = _csv(tmp_path, "a,b,y\n" + rows, "fifty.csv")
    code, line = _cli_error(capsys, ["train", "--data", f"csv:{fifty}", "--test-size", "0.999",
                                     "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1 and line == (
        f"error: --val-split=0.1 leaves no rows for the validation part: the training part of csv:{fifty} "
        "(after --test-size held out 48 of 50 rows) has 2 rows, and a split by class keeps one row of each class "
        "for the training part while no class has more than 1; give more rows, or --val-split=0 for no "
        "validation part")


def test_csv_folder_and_fifo_are_not_reported_missing(tmp_path, capsys):
    with pytest.raises(IsADirectoryError) as info:
        read_csv(tmp_path)
    assert str(info.value) == (f"CSV file {str(tmp_path)!r} is a folder, not a file (from --data csv:PATH); "
                               "give the path of the .csv file inside it")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        read_csv(fifo)  # must not block: nothing is opened
    assert str(info.value) == (f"CSV file {str(fifo)!r} is not a regular file but a named pipe (FIFO) (from --data "
                               "csv:PATH); save the data to a file and give its path")
    code, line = _cli_error(capsys, ["train", "--data", f"csv:{tmp_path}", "--out", str(tmp_path / "run"),
                                     "--quiet"])
    assert code == 1 and line == f"error: CSV file {str(tmp_path)!r} is a folder, not a file (from --data " \
                                 "csv:PATH); give the path of the .csv file inside it"


def test_csv_duplicate_target_name_is_a_usage_error_naming_the_columns(tmp_path, capsys):
    path = _csv(tmp_path, "y,a,y\n" + "".join(f"{i % 2},{i},{i % 3}\n" for i in range(30)))
    with pytest.raises(ValueError) as info:
        read_csv(path, target="y")
    message = (f"target column 'y' is ambiguous: CSV file {path!r} has 2 columns of that name, at indices 0, 2; "
               "give the index of the one you mean instead (0: 'y', 1: 'a', 2: 'y')")
    assert str(info.value) == message
    code, line = _cli_error(capsys, ["train", "--data", f"csv:{path}", "--target", "y",
                                     "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 2 and line == f"error: --target: {message}"


# --------------------------------------------------------------------------- library input


def test_values_beyond_float32_name_the_row_and_column_without_warnings():
    X = np.zeros((4, 3))
    X[2, 1] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            check_X(X, 3, np.float32)
        assert check_X(X, 3, np.float64)[2, 1] == 1e39
    assert str(info.value) == ("X has 1 value(s) beyond the float32 range (±3.4e+38), e.g. 1e+39 at row 2, "
                               "column 1 (0-based); use dtype float64 (--dtype float64) or rescale the features")


def test_complex_X_is_refused():
    with pytest.raises(TypeError) as info:
        check_X(np.ones((2, 2)) + 1j, 2, np.float64)
    assert str(info.value) == ("X must hold real numbers, got an array of dtype complex128; "
                               "pass X.real if the imaginary parts are meant to be dropped")


# --------------------------------------------------------------------------- fuzz

_CELLS = st.sampled_from(["1", "-2.5", "1e39", "nan", "", "x", '"', '"3"', "é", ";", "\t", ",", "\n", "\r\n", "0",
                          "1,2", '"a\nb"', "\ufeff", " "])


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.lists(_CELLS, max_size=60).map(lambda cs: "".join(cs).encode()),
                 st.text(max_size=200).map(str.encode)))
def test_fuzz_csv_reader_gives_a_dataset_or_one_clear_value_error(tmp_path, content):
    """Contract: any bytes give a Dataset, or a plain ValueError (never csv.Error, UnicodeDecodeError,
    IndexError, ...) whose message names the file, on one line."""
    path = _csv(tmp_path, content, "fuzz.csv")
    try:
        ds = read_csv(path)
    except ValueError as exc:
        assert type(exc) is ValueError
        assert repr(path) in str(exc) and "\n" not in str(exc), str(exc)
    else:
        assert ds.n_train >= 1 and np.isfinite(ds.X_train).all()


def test_standardizer_on_values_near_the_float64_limit_neither_overflows_nor_warns():
    import warnings
    from bprop.data import Standardizer
    X = np.array([[1e200, 1.0], [3e200, 2.0], [-2e200, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no RuntimeWarning from x² overflowing
        st = Standardizer().fit(X)
        Z = st.transform(X)
    np.testing.assert_allclose(st.mean_, [2e200 / 3, 2.0], rtol=1e-12)
    np.testing.assert_allclose(st.scale_, [np.std([1.0, 3.0, -2.0]) * 1e200, np.std([1.0, 2.0, 3.0])], rtol=1e-12)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)


def test_csv_value_beyond_float32_names_the_column_and_line_through_the_cli(tmp_path, capsys):
    from bprop.cli import main
    path = tmp_path / "big.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)) + "1,3e39,0\n")
    code = main(["train", "--data", f"csv:{path}", "--no-standardize", "--epochs", "1", "--out",
                 str(tmp_path / "run"), "--quiet", "--no-plots"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert (f"feature column 'b' holds 1 value(s) beyond the float32 range (±3.4e+38), e.g. 3e39 at row 22; "
            "use --dtype float64") in err
    code = main(["train", "--data", f"csv:{path}", "--no-standardize", "--dtype", "float64", "--epochs", "1",
                 "--out", str(tmp_path / "run64"), "--quiet", "--no-plots"])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_all_finite_finds_every_non_finite_entry_and_passes_huge_finite_ones(dtype, order):
    """The fast check (a sum of squares) must say False for any NaN or ±inf wherever it sits, and
    True for finite values whose squares overflow (the exact check decides then)."""
    from bprop._validation import all_finite
    rng = np.random.default_rng(0)
    base = rng.standard_normal((37, 23)).astype(dtype)
    layout = {"C": lambda m: m, "F": np.asfortranarray, "strided": lambda m: m[:, ::2]}[order]
    a = layout(base)
    assert all_finite(a) and all_finite(a[:0])
    for bad in (np.nan, np.inf, -np.inf):
        for at in ((0, 0), (36, a.shape[1] - 1), (17, 5)):
            b = layout(base.copy())
            b[at] = bad
            assert not all_finite(b), (bad, at)
    huge = layout(np.full_like(base, np.finfo(dtype).max / 2))
    huge[3, 4] = -np.finfo(dtype).max
    assert all_finite(huge)                        # Σ a² overflows to inf, yet every entry is finite
    huge[5, 1] = np.nan
    assert not all_finite(huge)
