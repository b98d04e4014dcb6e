"""Data that stays on disk: fit, predict and evaluate on memory-mapped arrays.

A memory map must give exactly the numbers of the same data in memory, and
bprop must never copy it: ``tracemalloc`` (which sees NumPy's allocations)
bounds the peak of a fit and a predict on a 200 MB file far below its size.
"""

import tracemalloc

import numpy as np
import pytest

import bprop as bp
from bprop._memmap import PageBudget, is_mapped


def _files(tmp_path, X, y):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def _net(n_in, n_out, dtype="float64", **kw):
    return bp.Sequential([bp.Dense(n_in, 12), bp.ReLU(), bp.BatchNorm(12), bp.Dense(12, n_out)], seed=5,
                         dtype=dtype, **kw)


@pytest.mark.parametrize("shuffle", [True, False])
def test_memory_map_trains_exactly_as_in_memory(tmp_path, rng, shuffle):
    X = rng.normal(size=(300, 7))
    y = (X[:, 0] > X[:, 1]).astype(np.int64) + (X[:, 2] > 0)
    Xm, ym = _files(tmp_path, X, y)
    assert is_mapped(Xm)
    kw = dict(loss="cross_entropy", epochs=3, batch_size=32, validation_split=0.2, shuffle=shuffle, verbose=0,
              class_weight="balanced")
    a, b = _net(7, 3), _net(7, 3)
    ha = a.fit(X, y, optimizer=bp.optim.Adam(1e-2), **kw)
    hb = b.fit(Xm, ym, optimizer=bp.optim.Adam(1e-2), **kw)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    assert ha.records[-1]["val_loss"] == hb.records[-1]["val_loss"]
    np.testing.assert_array_equal(a.predict(X), b.predict(Xm))


def test_predict_on_a_map_reads_it_in_chunks(tmp_path, rng, monkeypatch):
    import bprop._memmap as mm
    monkeypatch.setattr(mm, "CHUNK_BYTES", 7 * 8 * 50)      # 50 rows per chunk: 7 chunks
    X = rng.normal(size=(330, 7))
    Xm, _ = _files(tmp_path, X, np.zeros(330))
    net = _net(7, 2)
    np.testing.assert_allclose(net.predict(Xm), net.predict(X), rtol=1e-13, atol=1e-15)


def test_a_map_of_another_dtype_is_refused_not_copied(tmp_path, rng):
    Xm, ym = _files(tmp_path, rng.normal(size=(40, 7)), np.zeros(40))
    with pytest.raises(ValueError, match=r"X is a memory-mapped float64 array but the network computes in "
                                         r"float32.*Save X as float32 once"):
        _net(7, 1, dtype="float32").fit(Xm, ym, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1, verbose=0)


def test_nan_in_a_map_is_found_chunk_by_chunk(tmp_path, rng, monkeypatch):
    import bprop._memmap as mm
    monkeypatch.setattr(mm, "CHUNK_BYTES", 7 * 8 * 16)      # 16 rows per chunk
    X = rng.normal(size=(100, 7))
    X[70, 3] = np.nan
    Xm, ym = _files(tmp_path, X, np.zeros(100))
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\) \(rows 64\.\.79 of a "
                                         r"memory-mapped X\)"):
        _net(7, 1).predict(Xm)


def test_page_budget_releases_after_its_budget(tmp_path, rng):
    Xm, _ = _files(tmp_path, rng.normal(size=(64, 8)), np.zeros(64))
    pages = PageBudget(Xm, every=1000)
    pages.add(600)
    assert pages.read == 600
    pages.add(600)                 # past the budget: released, the count starts again
    assert pages.read == 0
    assert PageBudget(np.zeros(3)).map is None


def test_a_200_mb_file_is_never_copied(tmp_path):
    """One epoch and a predict on a 200 MiB memory-mapped X allocate under 20 MiB at peak (tracemalloc).

    What they do allocate (≈13 MiB): the one-hot targets and their training
    rows (2 MiB each), a 4 MiB chunk of validation rows, a 1 MiB batch buffer,
    the permutation, the outputs of predict.
    """
    n, d = 51_200, 1024                      # 51,200 × 1024 float32 = 200 MiB
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(0)
    for s in range(0, n, 4096):
        X[s:s + 4096] = rng.standard_normal((min(4096, n - s), d), dtype=np.float32)
    X.flush()
    del X
    y = (np.arange(n) % 10).astype(np.int64)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    net = bp.Sequential([bp.Dense(d, 8), bp.ReLU(), bp.Dense(8, 10)], seed=0)
    tracemalloc.start()
    try:
        net.fit(Xm, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-3), epochs=1, batch_size=256,
                validation_split=0.1, verbose=0)
        out = net.predict(Xm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (n, 10)
    assert peak < 20 << 20, f"peak {peak / 2**20:.1f} MiB allocated for a {Xm.nbytes / 2**20:.0f} MiB X"


def test_cli_npy_and_npz_train_the_same_model_from_the_maps(tmp_path, rng):
    """--data npy:X.npy,y.npy and --data npz:FILE map the same arrays and train the same network."""
    from bprop.cli import main
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    common = ["train", "--epochs", "2", "--dtype", "float64", "--no-plots", "--quiet"]
    assert main([*common, "--data", f"npy:{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--data", f"npz:{tmp_path / 'd.npz'}", "--out", str(tmp_path / "b")]) == 0
    a, b = bp.load(tmp_path / "a" / "model.npz"), bp.load(tmp_path / "b" / "model.npz")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    from bprop.data import load
    ds = load(f"npz:{tmp_path / 'd.npz'}", test_size=0.25)
    assert is_mapped(ds.X_train) and ds.X_train.dtype == np.float64
    np.testing.assert_array_equal(ds.X_test, X[300:])     # the last quarter of the rows, in place


def test_npz_that_cannot_be_mapped_is_refused_with_the_fix(tmp_path, rng):
    from bprop.data import DataFileError, load
    X = rng.normal(size=(20, 3))
    np.savez_compressed(tmp_path / "c.npz", X=X, y=np.zeros(20, np.int64))
    with pytest.raises(DataFileError, match=r"compressed \(np.savez_compressed\), so it cannot be memory-mapped; "
                                            r"write the file with np.savez"):
        load(f"npz:{tmp_path / 'c.npz'}")
    np.savez(tmp_path / "n.npz", features=X, y=np.zeros(20, np.int64))
    with pytest.raises(DataFileError, match=r"has no array named 'X' \(it has features, y\)"):
        load(f"npz:{tmp_path / 'n.npz'}")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.zeros(19, np.int64))
    with pytest.raises(DataFileError, match=r"y must have one row per row of X \(20\), got shape \(19,\)"):
        load(f"npy:{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}")


def test_row_reader_reads_the_rows_of_a_view_of_a_map(tmp_path, rng):
    """RowReader (os.preadv from the file) gives np.take's rows, for a map and for a slice of it."""
    from bprop._memmap import RowReader
    X = rng.normal(size=(97, 5))
    Xm, _ = _files(tmp_path, X, np.zeros(97))
    idx = rng.permutation(60)[:17]
    for view, ref in ((Xm, X), (Xm[30:90], X[30:90])):
        reader = RowReader.of(np.asarray(view))
        assert reader is not None
        np.testing.assert_array_equal(reader.take(idx, np.empty((len(idx), 5))), ref[idx])
    assert RowReader.of(X) is None and RowReader.of(Xm[:, :2]) is None      # in memory; not C-ordered rows
