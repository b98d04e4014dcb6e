"""Saving and loading models: exact round trips, safe files, atomic writes."""

import json
import os
import zipfile

import numpy as np
import pytest

import bprop as bp


def make_net(dtype, seed=0):
    return bp.Sequential([bp.Dense(5, 8), bp.ReLU(), bp.BatchNorm(8, momentum=0.3, eps=1e-3),
                          bp.Dropout(0.25), bp.Dense(8, 6, bias=False, init="he_normal"),
                          bp.LeakyReLU(slope=0.2), bp.Dense(6, 3), bp.Softmax()],
                         seed=seed, dtype=dtype)


def trained_net(dtype, rng):
    """A net whose parameters and BatchNorm buffers have moved away from their init."""
    net = make_net(dtype)
    X = rng.normal(loc=1.0, scale=2.0, size=(16, 5))
    for _ in range(3):
        net.backprop(X, rng.uniform(size=(16, 3)), bp.MSE())
        for key in net.params:
            net.params[key] -= 0.1 * net.grads[key]
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_identical(tmp_path, rng, dtype):
    net = trained_net(dtype, rng)
    assert not np.allclose(net.buffers["2.running_mean"], 0)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = bp.load(path)

    assert isinstance(loaded, bp.Sequential)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
    assert set(loaded.params) == set(net.params)
    assert set(loaded.buffers) == set(net.buffers)
    assert "4.b" not in loaded.params  # Dense without bias stays without bias
    for key in net.params:
        assert loaded.params[key].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(loaded.params[key], net.params[key])
    for key in net.buffers:
        np.testing.assert_array_equal(loaded.buffers[key], net.buffers[key])
    X = rng.normal(size=(7, 5))
    out = loaded.predict(X)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, net.predict(X))
    # Hyper-parameters survive too: same training-mode loss and gradients.
    y = rng.uniform(size=(7, 3))
    net.rng.bit_generator.state = loaded.rng.bit_generator.state
    assert loaded.backprop(X, y, bp.MSE()) == net.backprop(X, y, bp.MSE())
    for key in net.grads:
        np.testing.assert_array_equal(loaded.grads[key], net.grads[key])
    layer_cfg = {i: layer.get_config() for i, layer in enumerate(net.layers)}
    assert {i: layer.get_config() for i, layer in enumerate(loaded.layers)} == layer_cfg


def test_round_trip_str_path_and_load_state(tmp_path, rng):
    net = make_net("float64")
    path = os.path.join(str(tmp_path), "m.npz")
    net.save(path)
    loaded = bp.load(path)
    X = rng.normal(size=(3, 5))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    # The loaded arrays are its own: changing them does not change the original.
    loaded.params["0.W"][...] = 0
    assert net.params["0.W"].any()


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    path = tmp_path / "model.npz"
    make_net("float32").save(path)
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}  # every entry loads without pickle
    assert all(arr.dtype != object for arr in arrays.values())
    assert any("0.W" in key for key in arrays)
    assert any("2.running_var" in key for key in arrays)
    # The JSON entry holds the architecture, dtype and bprop version (ARCHITECTURE: __meta__).
    meta = json.loads(arrays["__meta__"].tobytes().decode("utf-8"))
    assert meta["dtype"] == "float32"
    assert meta["bprop_version"] == bp.__version__
    assert [layer["type"] for layer in meta["layers"]][:3] == ["Dense", "ReLU", "BatchNorm"]


def test_no_temporary_files_left_behind(tmp_path):
    net = make_net("float64")
    net.save(tmp_path / "a.npz")
    net.save(tmp_path / "a.npz")  # overwriting an existing model
    net.save(tmp_path / "b.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]


def test_truncated_file_gives_a_clear_error(tmp_path):
    good = tmp_path / "model.npz"
    make_net("float64").save(good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises((ValueError, OSError)) as exc:
        bp.load(bad)
    assert "truncated.npz" in str(exc.value)
    assert not isinstance(exc.value, (zipfile.BadZipFile, EOFError))


@pytest.mark.parametrize("content", [b"this is not a model\n", b"", b"PK\x03\x04garbage" * 10],
                         ids=["text", "empty", "fake-zip"])
def test_garbage_file_gives_a_clear_error(tmp_path, content):
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(content)
    with pytest.raises((ValueError, OSError)) as exc:
        bp.load(bad)
    assert "garbage.npz" in str(exc.value)
    assert not isinstance(exc.value, zipfile.BadZipFile)


def test_npz_that_is_not_a_bprop_model(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ValueError) as exc:
        bp.load(other)
    assert "other.npz" in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(OSError) as exc:
        bp.load(tmp_path / "nope.npz")
    assert "nope.npz" in str(exc.value)


def test_failing_save_keeps_the_existing_file(tmp_path, rng, monkeypatch):
    path = tmp_path / "model.npz"
    old = make_net("float64", seed=1)
    old.save(path)
    before = path.read_bytes()

    original = np.lib.format.write_array
    calls = []

    def failing_write_array(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a few arrays in: the disk is full
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    new = make_net("float64", seed=2)
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()

    assert len(calls) >= 3, "the save did not go through numpy's array writer"
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    X = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(bp.load(path).predict(X), old.predict(X))


def test_failing_rename_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    make_net("float64", seed=1).save(path)
    before = path.read_bytes()

    def no_replace(*args, **kwargs):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_replace)
    monkeypatch.setattr(os, "rename", no_replace)
    with pytest.raises(OSError):
        make_net("float64", seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


# --------------------------------------------------------------------------- the one atomic writer
def test_atomic_write_gives_the_usual_mode_and_leaves_no_temporary(tmp_path):
    from bprop.io import atomic_write, write_bytes, write_text
    old = os.umask(0o027)
    try:
        write_bytes(tmp_path / "a.bin", b"\x00\x01")
        write_text(tmp_path / "sub" / "b.txt", "δ = ∂C/∂z\r\n")   # folder made, newlines kept
        with atomic_write(tmp_path / "c.csv", "w", newline="") as f:
            f.write("x,y\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_bytes() == "δ = ∂C/∂z\r\n".encode("utf-8")
    assert (tmp_path / "c.csv").read_text() == "x,y\n"
    for name in ("a.bin", "sub/b.txt", "c.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640   # 0o666 less the umask, not mkstemp's 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "c.csv", "sub"]


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_atomic_write_interrupted_keeps_the_old_file(tmp_path, error):
    from bprop.io import atomic_write
    path = tmp_path / "report.md"
    path.write_text("old")
    with pytest.raises(error):
        with atomic_write(path, "w") as f:
            f.write("half of the new")
            raise error()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_atomic_write_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    from bprop import io as bio
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    make_net("float32").save(tmp_path / "m.npz")
    bp.History([{"epoch": 1, "loss": 0.5}]).to_csv(tmp_path / "h.csv")
    bio.write_text(tmp_path / "t.txt", "x")
    assert events == ["fsync", "replace"] * 3


def test_history_files_are_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    path.write_text("old")

    def no_replace(*args, **kwargs):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError):
        bp.History([{"epoch": 1, "loss": 0.5}]).to_json(path)
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_payload_round_trip_without_a_file(rng):
    net = trained_net("float64", rng)
    net.metadata = {"note": "kept"}
    arrays, meta = net.to_payload()
    assert meta["format"] == "bprop-model" and set(arrays) == (
        {f"param/{k}" for k in net.params} | {f"buffer/{k}" for k in net.buffers})
    back = bp.Sequential.from_payload(arrays, meta)
    X = rng.normal(size=(3, 5))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.metadata == {"note": "kept"}
    with pytest.raises(ValueError, match="not a bprop model file"):
        bp.Sequential.from_payload(arrays, {**meta, "format": "other"}, "x.npz")
