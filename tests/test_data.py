"""Tests of bprop.data: every --data set, the IDX reader, the downloader, CSV, Standardizer."""

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import data_dir

import bprop.data as data
from bprop.data import Dataset, DatasetUnavailableError, Standardizer, download, load
from bprop.data.idx import read_idx, write_idx
from bprop.data.synthetic import GENERATORS
from bprop.data.tabular import read_features

SYNTHETIC_CLASSIFICATION = ["xor", "circles", "moons", "spiral", "gaussian"]
SYNTHETIC_REGRESSION = ["sine", "plane", "ripple"]
SKLEARN = {"digits": (1797, 64, 10), "iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2)}


# --------------------------------------------------------------------------- registry


def test_available_lists_every_name_with_a_description():
    rows = data.available()
    listed = [name for name, _ in rows]
    for name in SYNTHETIC_CLASSIFICATION + SYNTHETIC_REGRESSION + list(SKLEARN) + ["mnist", "fashion-mnist", "csv:PATH"]:
        assert name in listed
    assert all(isinstance(d, str) and d and "\n" not in d for _, d in rows)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown data set 'moon'.*xor, circles.*fashion-mnist.*did you mean 'moons'"):
        load("moon")
    with pytest.raises(ValueError, match="csv:data.csv"):
        load("data.csv")


def test_names_are_case_and_dash_insensitive():
    assert load("Breast-Cancer").name == "breast_cancer"


@pytest.mark.parametrize("kwargs, match", [
    ({"noise": 0.1}, "noise applies only to synthetic"),
    ({"target": "x"}, "target applies only to csv"),
    ({"test_size": 1.0}, r"test_size must be a fraction in \[0, 1\)"),
])
def test_options_that_do_not_apply_are_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load("iris", **kwargs)


def test_import_is_numpy_only():
    code = "import sys, bprop.data; print(any(m.split('.')[0] in ('sklearn', 'rich', 'matplotlib') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("name", SYNTHETIC_CLASSIFICATION)
def test_synthetic_classification(name):
    ds = load(name, n_samples=300, seed=1)
    k = GENERATORS[name].n_classes
    assert isinstance(ds, Dataset) and ds.task == "classification"
    assert ds.X_train.shape == (240, 2) and ds.X_test.shape == (60, 2)
    assert ds.X_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.n_features == 2 and ds.n_outputs == k and ds.class_names == [str(c) for c in range(k)]
    assert set(np.unique(ds.y_train)) == set(range(k)) == set(np.unique(ds.y_test))
    # stratified: each class keeps its share (±1) in the test part
    total = np.bincount(ds.y_train, minlength=k) + np.bincount(ds.y_test, minlength=k)
    assert np.all(np.abs(np.bincount(ds.y_test, minlength=k) - 0.2 * total) <= 1)
    assert np.isfinite(ds.X_train).all()


@pytest.mark.parametrize("name", SYNTHETIC_CLASSIFICATION + SYNTHETIC_REGRESSION)
def test_synthetic_reproducible_by_seed(name):
    a, b, c = load(name, seed=7), load(name, seed=7), load(name, seed=8)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    # the generator does not touch the global RNG
    state = np.random.get_state()[1].copy()
    load(name, seed=3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("name", SYNTHETIC_CLASSIFICATION + SYNTHETIC_REGRESSION)
def test_synthetic_noise_honoured(name):
    make = GENERATORS[name].make
    X0, y0 = make(n_samples=200, noise=0.0, seed=0)
    X1, y1 = make(n_samples=200, noise=0.3, seed=0)
    assert len(X0) == 200
    moved = np.abs(X1 - X0).mean() + np.abs(np.asarray(y1, float) - np.asarray(y0, float)).mean()
    assert moved > 0.01
    assert load(name, noise=0.5).description.count("noise 0.5") == 1


def test_noiseless_shapes_are_exact():
    X, y = GENERATORS["circles"].make(n_samples=100, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r, np.where(y == 0, 1.0, 0.5))
    X, y = GENERATORS["xor"].make(n_samples=100, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    X, y = GENERATORS["sine"].make(n_samples=50, noise=0.0, seed=0)
    np.testing.assert_allclose(y, np.sin(X[:, 0]))
    X, y = GENERATORS["plane"].make(n_samples=50, noise=0.0, seed=0)
    np.testing.assert_allclose(y, 2 * X[:, 0] - 3 * X[:, 1] + 1)


@pytest.mark.parametrize("name", SYNTHETIC_REGRESSION)
def test_synthetic_regression(name):
    ds = load(name, n_samples=100, test_size=0.25)
    assert ds.task == "regression" and ds.class_names is None and ds.n_outputs == 1
    assert ds.y_train.shape == (75,) and ds.y_test.shape == (25,) and ds.y_train.dtype == np.float64
    assert ds.n_features == (1 if name == "sine" else 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_samples": 0}, ValueError, "n_samples must be at least"),
    ({"n_samples": 10.5}, TypeError, "n_samples must be a positive integer"),
    ({"noise": -1}, ValueError, "noise must be a finite number >= 0"),
    ({"seed": -3}, ValueError, "seed must be a non-negative integer"),
])
def test_synthetic_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load("moons", **kwargs)


def test_test_size_zero_keeps_everything_for_training():
    ds = load("xor", n_samples=50, test_size=0.0)
    assert ds.n_train == 50 and ds.n_test == 0 and ds.X_test.shape == (0, 2)


# --------------------------------------------------------------------------- scikit-learn


@pytest.mark.parametrize("name", list(SKLEARN))
def test_sklearn_sets(name):
    n, f, k = SKLEARN[name]
    ds = load(name, seed=0)
    assert ds.n_train + ds.n_test == n and ds.n_test == int(np.ceil(0.2 * n))
    assert ds.n_features == f == len(ds.feature_names) and ds.n_outputs == k == len(ds.class_names)
    assert ds.y_train.dtype == np.int64 and set(np.unique(ds.y_train)) == set(range(k))
    np.testing.assert_array_equal(load(name, seed=0).X_test, ds.X_test)
    if name == "digits":
        assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0


def test_sklearn_subset():
    ds = load("digits", n_samples=200, seed=3)
    assert ds.n_train + ds.n_test == 200 and ds.n_outputs == 10
    with pytest.raises(ValueError, match="n_samples=5000 is more than the 150 samples iris has"):
        load("iris", n_samples=5000)


def test_sklearn_missing_names_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install bprop\[cli\]"):
        load("iris")


# --------------------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, rng, suffix, dtype):
    array = (rng.uniform(-100, 100, size=(5, 3, 4)) if dtype.startswith("f") else rng.integers(0, 100, (5, 3, 4)))
    array = array.astype(dtype)
    path = tmp_path / f"a-idx3-ubyte{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_reads_bytes_written_by_hand(tmp_path):
    # images: magic 0x00000803 (uint8, 3 dims), dims 2×2×3, big-endian
    header = bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    (tmp_path / "img.gz").write_bytes(gzip.compress(header + bytes(range(12))))
    np.testing.assert_array_equal(read_idx(tmp_path / "img.gz"), np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    # labels: 0x00000801, int32 data is big-endian
    labels = bytes([0, 0, 0x0C, 1]) + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + (258).to_bytes(4, "big")
    (tmp_path / "lab").write_bytes(labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "lab"), [1, 258])


@pytest.mark.parametrize("content, match", [
    (b"\x00\x00", "truncated: 2 bytes, shorter than the 4-byte header"),
    (b"\x12\x34\x08\x01" + bytes(8), "magic number 0x12340801.*not an IDX file"),
    (b"\x00\x00\x07\x01" + bytes(8), "unknown type code 0x07"),
    (b"\x00\x00\x08\x03" + bytes(4), r"truncated: its header declares 3 dimensions \(16 bytes\)"),
    (b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(6), r"truncated: shape \(10,\) needs 18 bytes, the file has 14"),
    (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + bytes(5), "corrupt.*3 bytes more"),
])
def test_idx_bad_files_are_clear_errors(tmp_path, content, match):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_truncated_gzip(tmp_path, rng):
    path = tmp_path / "x.gz"
    write_idx(path, rng.integers(0, 255, (50, 28, 28)).astype(np.uint8))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.gz")


# --------------------------------------------------------------------------- MNIST from BPROP_DATA_DIR


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_mnist_from_data_dir(name):
    folder = data_dir()
    if folder is None:
        pytest.skip("BPROP_DATA_DIR is not set (CI sets it to the folder holding mnist/ and fashion-mnist/)")
    ds = load(name, progress=False)
    assert ds.X_train.shape == (60000, 784) and ds.X_test.shape == (10000, 784)
    assert ds.X_train.dtype == np.float64 and ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert ds.y_train.dtype == np.int64 and set(np.unique(ds.y_test)) == set(range(10))
    assert ds.n_outputs == 10 and len(ds.class_names) == 10 and ds.task == "classification"
    assert np.bincount(ds.y_test).tolist() == ([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
                                               if name == "mnist" else [1000] * 10)
    small = load(name, n_samples=600, seed=0, data_dir=folder)
    assert small.n_train == 600 and small.n_test == 100


# --------------------------------------------------------------------------- downloader


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _tiny_mnist(folder: Path, rng, n_train=30, n_test=12) -> dict[str, bytes]:
    """Write a fake 4-file MNIST (tiny images) to ``folder``; return name -> bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 4, 4)).astype(np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 4, 4)).astype(np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for filename, array in arrays.items():
        write_idx(folder / filename, array)
    return {filename: (folder / filename).read_bytes() for filename in arrays}


def test_download_mismatch_then_next_mirror(offline, rng, monkeypatch):
    good = _tiny_mnist(offline / "good", rng)
    bad = offline / "bad"
    bad.mkdir()
    for filename in good:
        (bad / filename).write_bytes(b"not the real file")
    remote = download.RemoteDataset(
        title="MNIST",
        files={filename: _sha(content) for filename, content in good.items()},
        mirrors=((offline / "missing").as_uri(), bad.as_uri(), (offline / "good").as_uri()),
    )
    monkeypatch.setitem(download.REMOTE, "mnist", remote)
    monkeypatch.setattr(download, "urlopen", download.urllib.request.urlopen)  # file:// URLs only
    ds = load("mnist", progress=False)
    cached = offline / "cache" / "bprop" / "mnist"
    assert sorted(os.listdir(cached)) == sorted(good)  # no temporary files left behind
    for filename, content in good.items():
        assert (cached / filename).read_bytes() == content
    assert ds.X_train.shape == (30, 16) and ds.X_test.shape == (12, 16)
    np.testing.assert_array_equal(ds.X_train * 255, read_idx(cached / "train-images-idx3-ubyte.gz").reshape(30, 16))
    # Second load: found in the cache, no opener called.
    monkeypatch.setattr(download, "urlopen", lambda *a, **k: pytest.fail("should not download again"))
    assert load("mnist", progress=False).n_train == 30


def test_download_file_with_a_fake_opener(tmp_path):
    content = b"0123456789" * 1000
    calls = []

    def opener(url, timeout=None):
        calls.append(url)
        return io.BytesIO(b"tampered" if "first" in url else content)

    dest = tmp_path / "f.gz"
    with pytest.raises(ValueError, match="SHA-256 mismatch for https://first/f.gz"):
        download.download_file("https://first/f.gz", dest, _sha(content), opener=opener, progress=False)
    assert not dest.exists() and os.listdir(tmp_path) == []
    download.download_file("https://second/f.gz", dest, _sha(content), opener=opener, progress=True)
    assert dest.read_bytes() == content and calls == ["https://first/f.gz", "https://second/f.gz"]


def test_all_mirrors_failing_is_one_clear_sentence(offline):
    with pytest.raises(DatasetUnavailableError) as info:
        load("fashion-mnist", progress=False)
    err = info.value
    message = str(err)
    folder = offline / "cache" / "bprop" / "fashion-mnist"
    assert isinstance(err, OSError)
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0
    for filename in download.IDX_FILES:
        assert filename in message
    assert str(folder) in message and "BPROP_DATA_DIR" in message
    assert err.missing == list(download.IDX_FILES) and err.folder == folder
    # an unreachable mirror is tried once, not once per file
    assert len(err.errors) == len(download.REMOTE["fashion-mnist"].mirrors)
    assert not folder.exists() or os.listdir(folder) == []


def test_files_found_in_data_dir_env_and_cache(offline, rng, monkeypatch):
    good = _tiny_mnist(offline / "flat", rng)  # <dir>/<file>
    # files on disk are SHA-256 checked too: declare the tiny files' hashes, compressed and not
    monkeypatch.setitem(download.REMOTE, "mnist", download.RemoteDataset(
        title="MNIST", files={f: _sha(c) for f, c in good.items()}, mirrors=(),
        uncompressed={f: _sha(gzip.decompress(c)) for f, c in good.items()}))
    assert load("mnist", data_dir=offline / "flat", progress=False).n_train == 30
    nested = offline / "root" / "mnist"       # <dir>/<name>/<file>, via the environment
    nested.mkdir(parents=True)
    for filename, content in good.items():
        (nested / filename[:-3]).write_bytes(gzip.decompress(content))  # uncompressed files work too
    monkeypatch.setenv("BPROP_DATA_DIR", str(offline / "root"))
    assert load("mnist", progress=False).n_test == 12
    with pytest.raises(FileNotFoundError, match="data_dir.*is not an existing folder"):
        load("mnist", data_dir=offline / "nowhere")


def test_embedded_hashes_match_shared_sums():
    folder = data_dir()
    if folder is None:
        pytest.skip("BPROP_DATA_DIR is not set")
    for name, remote in download.REMOTE.items():
        sums = Path(folder, name, "SHA256SUMS")
        if not sums.is_file():
            pytest.skip(f"{sums} not present")
        listed = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
        assert remote.files == listed


# --------------------------------------------------------------------------- CSV


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_csv_header_and_default_target(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5},{i % 3}" for i in range(30))
    ds = load("csv:" + _write(tmp_path / "a.csv", "a,b,label\n" + rows + "\n"), seed=0)
    assert ds.feature_names == ["a", "b"] and ds.task == "classification"
    assert ds.class_names == ["0", "1", "2"] and ds.n_train + ds.n_test == 30 and ds.n_test == 6
    assert ds.name.startswith("csv:")


def test_csv_without_header_and_target_by_index(tmp_path, rng):
    X = rng.normal(size=(40, 3))
    path = tmp_path / "b.csv"
    np.savetxt(path, X, delimiter=",")
    ds = load(f"csv:{path}", target=0, test_size=0.25)
    assert ds.task == "regression" and ds.feature_names == ["col1", "col2"] and ds.n_outputs == 1
    all_X = np.vstack([ds.X_train, ds.X_test])
    all_y = np.concatenate([ds.y_train, ds.y_test])
    order = np.argsort(all_y)
    np.testing.assert_allclose(all_y[order], np.sort(X[:, 0]))
    np.testing.assert_allclose(all_X[order], X[np.argsort(X[:, 0])][:, 1:])
    assert load(f"csv:{path}", target=-3).feature_names == ["col1", "col2"]
    assert load(f"csv:{path}", target="0").feature_names == ["col1", "col2"]  # CLI passes strings
    assert load(f"csv:{path}", target="col2").feature_names == ["col0", "col1"]


def test_csv_target_by_name_and_string_labels_round_trip(tmp_path):
    species = ["virginica", "setosa", "versicolor"]
    lines = ["sepal;species;petal"] + [f"{i * 0.1:.1f};{species[i % 3]};{i}" for i in range(30)]
    ds = load("csv:" + _write(tmp_path / "c.csv", "\n".join(lines)), target="species")
    assert ds.task == "classification" and ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.feature_names == ["sepal", "petal"]
    X = np.vstack([ds.X_train, ds.X_test])
    labels = ds.decode_labels(np.concatenate([ds.y_train, ds.y_test]))
    for (sepal, petal), label in zip(X, labels):
        assert label == species[int(petal) % 3] and np.isclose(sepal, petal * 0.1)
    np.testing.assert_array_equal(ds.encode_labels(labels), np.concatenate([ds.y_train, ds.y_test]))
    with pytest.raises(ValueError, match="label 'rose' is not one of the classes"):
        ds.encode_labels(["rose"])


def test_csv_string_labels_without_header(tmp_path):
    text = "\n".join(f"{i},{i + 1},{'yes' if i % 2 else 'no'}" for i in range(10))
    ds = load("csv:" + _write(tmp_path / "d.csv", text))
    assert ds.feature_names == ["col0", "col1"] and ds.class_names == ["no", "yes"]


def test_csv_integer_labels_keep_their_values(tmp_path):
    text = "x,y\n" + "\n".join(f"{i},{[3, 7, 10][i % 3]}" for i in range(30))
    ds = load("csv:" + _write(tmp_path / "e.csv", text))
    assert ds.class_names == ["3", "7", "10"]
    assert set(ds.decode_labels(ds.y_train)) == {"3", "7", "10"}
    reg = load("csv:" + _write(tmp_path / "e.csv", text), task="regression")
    assert reg.task == "regression" and set(reg.y_train) <= {3.0, 7.0, 10.0}


def test_csv_non_numeric_feature_names_column_value_and_row(tmp_path):
    text = "a,b,y\n1,2,0\n3,x7,1\n5,6,0\n"
    with pytest.raises(ValueError, match=r"feature column 'b' has a non-numeric value 'x7' at row 3"):
        load("csv:" + _write(tmp_path / "f.csv", text))
    with pytest.raises(ValueError, match=r"feature column 'a' is empty \(a missing value\) at row 4"):
        load("csv:" + _write(tmp_path / "g.csv", "a,b,y\n1,2,0\n3,4,1\n,6,0\n"))


def test_csv_missing_target_column_lists_columns(tmp_path):
    path = _write(tmp_path / "h.csv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match=r"target column 'label' is not in .*0: 'a', 1: 'b', 2: 'y'"):
        load("csv:" + path, target="label")
    with pytest.raises(ValueError, match=r"target index 5 is out of range .*3 columns"):
        load("csv:" + path, target=5)


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV file .*nope.csv' does not exist"):
        load(f"csv:{tmp_path / 'nope.csv'}")


def test_csv_ragged_and_empty(tmp_path):
    with pytest.raises(ValueError, match="row 3 has 2 columns, expected 3"):
        load("csv:" + _write(tmp_path / "r.csv", "a,b,y\n1,2,0\n3,4\n"))
    with pytest.raises(ValueError, match="is empty"):
        load("csv:" + _write(tmp_path / "empty.csv", "\n\n"))


def test_read_features_for_predict(tmp_path):
    path = _write(tmp_path / "p.csv", "b,y,a\n1,0,2\n3,1,4\n")
    X, names = read_features(path, feature_names=["a", "b"])
    np.testing.assert_array_equal(X, [[2, 1], [4, 3]]) and names == ["a", "b"]
    with pytest.raises(ValueError, match="model expects 2 feature columns"):
        read_features(_write(tmp_path / "q.csv", "1,2,3\n"), n_features=2)


# --------------------------------------------------------------------------- Dataset, Standardizer


def test_dataset_validates_shapes():
    with pytest.raises(ValueError, match="X_train must be 2-D"):
        Dataset("x", np.zeros(3), np.zeros(3), np.zeros((1, 1)), np.zeros(1), "regression")
    with pytest.raises(ValueError, match="task must be one of"):
        Dataset("x", np.zeros((3, 1)), np.zeros(3), np.zeros((1, 1)), np.zeros(1), "clustering")


def test_standardizer_round_trip_and_dict(rng):
    X = rng.normal(3.0, 5.0, size=(100, 4))
    X[:, 2] = 7.25  # zero variance: centred, not scaled
    s = Standardizer()
    Z = s.fit_transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(0), [1, 1, 0, 1], atol=1e-12)
    assert s.scale_[2] == 1.0
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-12)
    d = json.loads(json.dumps(s.to_dict()))
    t = Standardizer.from_dict(d)
    np.testing.assert_array_equal(t.transform(X), Z)
    assert t.n_features == 4


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(np.zeros((2, 2)))
    s = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="X has 3 features, the standardizer was fitted on 2"):
        s.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        s.transform(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="keys 'mean' and 'scale'"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="scale' finite and positive"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})
