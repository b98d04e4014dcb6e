"""Untrusted model and checkpoint files (issue 10: A1, A2, malformed descriptions, B1-B3, B6).

Each crafted file is built here: tiny on disk, absurd in its claims. Every one
must give a ``ValueError`` naming the file and the field, cost at most a few MB
(``tracemalloc``; one subprocess under ``RLIMIT_AS``), never unpickle, and reach
the CLI as one ``error:`` line with exit status 1.
"""

import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

os.environ.setdefault("MPLBACKEND", "Agg")

import bprop as bp  # noqa: E402
from bprop import io as bio  # noqa: E402
from bprop.cli import main  # noqa: E402


# --------------------------------------------------------------------------- crafting files
def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def npy_header(shape, descr="<f4") -> bytes:
    """Only the ``.npy`` header of an array of ``shape``: a claim without the data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def write_zip(path, members: dict, compress=zipfile.ZIP_STORED):
    """A zip of ``members`` (``{"name": bytes, ...}``, ``.npy`` added to each name)."""
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)
    return path


def meta_bytes(meta: dict) -> bytes:
    return npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


def model_meta(layers, **extra):
    return {"format": "bprop-model", "bprop_version": bp.__version__, "dtype": "float32", "layers": layers,
            "metadata": {}, **extra}


def dense(n_in, n_out, **kw):
    return {"type": "Dense", "n_in": n_in, "n_out": n_out, "bias": True, **kw}


def small_model(path, meta=None, arrays=None, extra=None):
    """A 2→3 Dense model file, with ``meta``/``arrays`` replaced or ``extra`` members added."""
    meta = model_meta([dense(2, 3)]) if meta is None else meta
    if arrays is None:
        arrays = {"param/0.W": np.ones((3, 2), np.float32), "param/0.b": np.zeros(3, np.float32)}
    members = {"__meta__": meta_bytes(meta), **{k: npy(v) for k, v in arrays.items()}, **(extra or {})}
    return write_zip(path, members)


def set_declared_size(path, member: str, size: int):
    """Patch the central directory so that ``member`` claims ``size`` bytes (a zip-bomb claim)."""
    data = bytearray(path.read_bytes())
    name = (member + ".npy").encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + n] == name:
            struct.pack_into("<II", data, at + 20, size, size)    # compressed and uncompressed sizes
            path.write_bytes(bytes(data))
            return path
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no member {member}")


@pytest.fixture
def trained(tmp_path):
    """A real small model file and checkpoint (validation split, early stopping, BatchNorm)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    net = bp.Sequential([bp.Dense(3, 4), bp.BatchNorm(4), bp.ReLU(), bp.Dense(4, 2)], seed=0)
    ck = tmp_path / "ck.npz"
    net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2), epochs=2, batch_size=16,
            validation_split=0.25, early_stopping=5, checkpoint=ck, verbose=0)
    net.metadata = {"class_names": ["no", "yes"], "task": "classification"}
    model = tmp_path / "model.npz"
    net.save(model)
    return model, ck, X, y


def checkpoint_with(ck, path, **changes):
    """A copy of checkpoint ``ck`` whose JSON entries ``changes`` are replaced."""
    with zipfile.ZipFile(ck) as zf:
        members = {i.filename[:-4]: zf.read(i) for i in zf.infolist()}
    meta = json.loads(np.load(io.BytesIO(members["__meta__"])).tobytes())
    meta.update(changes)
    members["__meta__"] = meta_bytes(meta)
    return write_zip(path, members)


def load_error(loader, path) -> str:
    """The message of the ValueError that ``loader(path)`` raises, and its peak memory at most 2 MB."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as exc:
            loader(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, f"{path.name}: {peak / 2**20:.1f} MB"
    message = str(exc.value)
    assert str(path) in message
    assert "allow_pickle" not in message
    return message


# --------------------------------------------------------------------------- A1: absurd descriptions
@pytest.mark.parametrize("n_in, n_out", [(20000, 20000), (1, 300_000_000), (10**9, 10**9)])
def test_huge_dense_description_without_arrays(tmp_path, n_in, n_out):
    path = write_zip(tmp_path / "huge.npz", {"__meta__": meta_bytes(model_meta([dense(n_in, n_out)]))})
    assert path.stat().st_size < 1000
    assert load_error(bp.load, path) == (
        f"{path} has no array 'param/0.W' ({n_out}, {n_in}) for layers[0] Dense({n_in}→{n_out}) of its "
        "description: the file is truncated, or its description does not match its arrays")


def test_huge_header_without_data(tmp_path):
    path = write_zip(tmp_path / "claim.npz", {"__meta__": meta_bytes(model_meta([dense(20000, 20000)])),
                                              "param/0.W": npy_header((20000, 20000)),
                                              "param/0.b": npy_header((20000,))})
    assert load_error(bp.load, path) == (
        f"{path} is not a bprop model file: its array 'param/0.W' claims shape (20000, 20000) of float32 "
        "(1,600,000,000 bytes) but holds 0 bytes; the file is corrupt")


def test_header_claiming_1e12_items(tmp_path):
    path = small_model(tmp_path / "tera.npz", arrays={}, extra={"param/0.W": npy_header((10**6, 10**6))})
    assert "claims shape (1000000, 1000000) of float32 (4,000,000,000,000 bytes) but holds 0 bytes" in \
        load_error(bp.load, path)


def test_arrays_that_do_not_fit_the_description(tmp_path):
    wrong = small_model(tmp_path / "shape.npz", arrays={"param/0.W": np.ones((2, 3), np.float32),
                                                        "param/0.b": np.zeros(3, np.float32)})
    assert load_error(bp.load, wrong) == (
        f"{wrong}: array 'param/0.W' has shape (2, 3) and dtype float32, but layers[0] Dense(2→3) of its "
        "description needs (3, 2) float32")
    extra = small_model(tmp_path / "extra.npz", arrays={"param/0.W": np.ones((3, 2), np.float32),
                                                        "param/0.b": np.zeros(3, np.float32),
                                                        "param/7.W": np.ones(2, np.float32)})
    assert load_error(bp.load, extra) == f"{extra} holds arrays that its description has no layer for: param/7.W"


# --------------------------------------------------------------------------- A2: the zip itself
def test_zip_bomb_member_refused_before_decompression(tmp_path):
    path = write_zip(tmp_path / "bomb.npz", {"__meta__": meta_bytes(model_meta([dense(2, 3)])),
                                             "param/0.W": npy(np.zeros((3, 2), np.float32)),
                                             "param/0.b": npy(np.zeros(3, np.float32)),
                                             "buffer/0.junk": npy(np.zeros(2**24, np.float32))},  # 64 MiB of zeros
                     compress=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 200_000
    assert load_error(bp.load, path) == (
        f"{path} is not a bprop model file: its array '__meta__' is compressed; bprop stores arrays "
        "uncompressed (np.savez), so their size is the file's")


def test_member_claiming_gibibytes(tmp_path):
    path = set_declared_size(small_model(tmp_path / "claim.npz"), "param/0.W", 2**31)
    assert load_error(bp.load, path) == (
        f"{path} is not a bprop model file: its array 'param/0.W' claims 2,147,483,648 bytes in a file of "
        f"{path.stat().st_size:,}; the file is corrupt")


def test_json_claiming_300_mb(tmp_path):
    path = set_declared_size(small_model(tmp_path / "json.npz"), "__meta__", 300_000_000)
    assert "its array '__meta__' claims 300,000,000 bytes" in load_error(bp.load, path)


def test_json_larger_than_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(bio, "MAX_META_BYTES", 1000)
    path = small_model(tmp_path / "json.npz", meta=model_meta([dense(2, 3)], metadata={"note": "x" * 20_000}))
    assert re.fullmatch(rf"{re.escape(str(path))} is not a bprop model file: its JSON entry claims [\d,]+ bytes "
                        r"\(at most 1,000 are read\)", load_error(bp.load, path))


@pytest.mark.parametrize("name, message", [
    ("evil", "it holds an array 'evil', which bprop does not write (expected __meta__, param/<key>, "
             "buffer/<key>, optim/<key>, split/train, split/val, best/<key>)"),
    ("param/", "it holds an array 'param/', which bprop does not write"),
])
def test_junk_member(tmp_path, name, message):
    path = small_model(tmp_path / "junk.npz", extra={name: npy(np.zeros(2, np.float32))})
    assert message in load_error(bp.load, path)


def test_member_that_is_not_an_array(tmp_path):
    path = small_model(tmp_path / "readme.npz")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("README.txt", "hello")
    assert load_error(bp.load, path) == f"{path} is not a bprop model file: it holds 'README.txt', not an array"


def test_pickled_object_array_is_never_unpickled(tmp_path):
    evil = np.array([{"os.system": "echo pwned"}, None], dtype=object)
    path = small_model(tmp_path / "pickle.npz", arrays={"param/0.W": np.ones((3, 2), np.float32),
                                                         "param/0.b": evil})
    assert load_error(bp.load, path) == (
        f"{path} is not a bprop model file: its array 'param/0.b' holds Python objects (dtype object), which "
        "bprop never writes and never unpickles; bprop files hold only numbers")


def test_not_a_zip_and_no_meta(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("not a model")
    assert load_error(bp.load, text).startswith(f"cannot read {text}: the file is truncated, corrupt or not a "
                                                "bprop model file (BadZipFile")
    other = tmp_path / "other.npz"
    np.savez(other, param=np.zeros(2))
    assert "it holds an array 'param', which bprop does not write" in load_error(bp.load, other)


# --------------------------------------------------------------------------- malformed descriptions
@pytest.mark.parametrize("change, message", [
    ({"layers": "Dense"}, "layers must be a non-empty list of layer descriptions, got str 'Dense'"),
    ({"layers": []}, "layers must be a non-empty list of layer descriptions, got list []"),
    ({"layers": [5]}, "layers[0] must be a JSON object, got int 5"),
    ({"layers": [dense("2", 3)]}, "layers[0] (Dense) is not a valid layer: n_in must be an integer, got str '2'"),
    ({"layers": [dense(0, 3)]}, "layers[0] (Dense) is not a valid layer: Invalid n_in: 0"),
    ({"layers": [dense(2, 3, bias="no")]}, "layers[0].bias must be true or false, got str 'no'"),
    ({"layers": [dense(2, 3, init={"name": ["x"]})]}, "layers[0] (Dense) is not a valid layer"),
    ({"layers": [dense(2, 3, units=4)]}, "layers[0] (Dense) is not a valid layer: "),
    ({"layers": [{"type": {"a": 1}}]}, "layers[0].type {'a': 1} is not a layer type of bprop"),
    ({"dtype": 5}, "dtype must be one of float32, float64, got int 5"),
    ({"dtype": "float16"}, "dtype must be one of float32, float64, got str 'float16'"),
    ({"metadata": []}, "metadata must be a JSON object, got list []"),
    ({"metadata": {"class_names": ["a", "b"]}}, "metadata.class_names has 2 names but the network has 3 outputs"),
    ({"metadata": {"class_names": "abc"}}, "metadata.class_names must be a list of strings, got str 'abc'"),
    ({"metadata": {"feature_names": ["x", 1]}}, "metadata.feature_names must be a list of strings"),
    ({"metadata": {"task": {"x": 1}}}, "metadata.task must be a string, got dict {'x': 1}"),
    ({"metadata": {"standardizer": {"mean": [0], "scale": [1]}}},
     "metadata.standardizer.mean must be a list of 2 numbers (one per input feature), got list [0]"),
])
def test_malformed_description(tmp_path, change, message):
    path = small_model(tmp_path / "bad.npz", meta={**model_meta([dense(2, 3)]), **change})
    assert f"{path}: {message}" in load_error(bp.load, path)


def test_unknown_layer_type_names_the_files_version(tmp_path):
    path = small_model(tmp_path / "new.npz", meta=model_meta([dense(2, 3), {"type": "Conv2D"}],
                                                             bprop_version="9.0"))
    assert load_error(bp.load, path) == (
        f"{path}: layers[1].type 'Conv2D' is not a layer type of bprop {bp.__version__} (the file was written "
        "by bprop 9.0); known types: BatchNorm, Dense, Dropout, ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, "
        "Softmax, Tanh")


def test_json_that_is_not_an_object(tmp_path):
    path = write_zip(tmp_path / "list.npz", {"__meta__": npy(np.frombuffer(b"[1, 2]", np.uint8))})
    assert load_error(bp.load, path) == f"{path} is not a bprop model file: its JSON entry is a list, not an object"
    deep = write_zip(tmp_path / "deep.npz", {"__meta__": npy(np.frombuffer(b"[" * 100_000, np.uint8))})
    assert "its JSON entry is corrupt" in load_error(bp.load, deep)


@pytest.mark.parametrize("value, message", [
    (np.nan, "holds 1 NaN or infinite value(s); the model is broken (a run that diverged?) and would predict NaN"),
    (np.inf, "holds 1 NaN or infinite value(s)"),
])
def test_non_finite_parameters(tmp_path, value, message):
    W = np.ones((3, 2), np.float32)
    W[1, 1] = value
    path = small_model(tmp_path / "nan.npz", arrays={"param/0.W": W, "param/0.b": np.zeros(3, np.float32)})
    assert load_error(bp.load, path).startswith(f"{path}: array 'param/0.W' {message}")


def test_complex_and_foreign_dtypes(tmp_path):
    c = small_model(tmp_path / "complex.npz", arrays={"param/0.W": np.ones((3, 2), np.complex64),
                                                      "param/0.b": np.zeros(3, np.float32)})
    assert load_error(bp.load, c) == (f"{c} is not a bprop model file: its array 'param/0.W' has dtype <c8 "
                                      "(complex64); bprop writes 'param/0.W' as float32 or float64")
    f64 = small_model(tmp_path / "f64.npz", arrays={"param/0.W": np.ones((3, 2)), "param/0.b": np.zeros(3)})
    assert "array 'param/0.W' has shape (3, 2) and dtype float64, but layers[0] Dense(2→3) of its " \
           "description needs (3, 2) float32" in load_error(bp.load, f64)
    big = small_model(tmp_path / "big.npz", arrays={"param/0.W": np.ones((3, 2), ">f4"),
                                                    "param/0.b": np.zeros(3, np.float32)})
    assert "has dtype >f4 (float32)" in load_error(bp.load, big)


def test_from_payload_checks_in_memory_arrays():
    arrays, meta = bp.Sequential([bp.Dense(2, 3)], seed=0).to_payload()
    with pytest.raises(ValueError, match=re.escape("x.npz: array 'param/0.W' has shape (3, 2) and dtype complex128")):
        bp.Sequential.from_payload({**arrays, "param/0.W": np.ones((3, 2), complex)}, meta, "x.npz")
    with pytest.raises(ValueError, match=re.escape("x.npz: array 'param/0.b' holds 3 NaN or infinite value(s)")):
        bp.Sequential.from_payload({**arrays, "param/0.b": np.full(3, np.nan, np.float32)}, meta, "x.npz")


# --------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("change, message", [
    ({"history": []}, "history must be a dict, got list []"),
    ({"history": {"records": [{"loss": "low"}]}}, "history.records[0] must map column names to numbers"),
    ({"history": {"records": [], "step_lr": ["x"]}}, "history.step_lr must be a list of numbers"),
    ({"settings": {"batch_size": 0, "shuffle": True, "validation_split": 0.25, "clip_norm": None,
                   "clip_value": None}},
     "Invalid settings.batch_size: 0 (expected an integer settings.batch_size >= 1)"),
    ({"settings": {"batch_size": 16}}, "settings has unknown entries [] and lacks ['clip_norm', 'clip_value', "
                                       "'shuffle', 'validation_split']"),
    ({"epoch": "abc"}, "epoch must be an integer, got str 'abc'"),
    ({"epoch": -1}, "Invalid epoch: -1 (expected an integer epoch >= 0)"),
    ({"rng_state": {"bit_generator": "MT19937"}}, "rng_state is not a PCG64 generator state"),
    ({"optimizer": {"config": []}}, "optimizer must be an object holding a config object"),
    ({"optimizer": {"config": {"type": "Nadam"}}}, "optimizer is not a valid optimiser state (Unknown optimizer"),
    ({"loss": "hinge"}, "loss or early_stopping is not valid (Unknown loss"),
    ({"early_stopping": {"patience": -2}}, "loss or early_stopping is not valid (Invalid patience: -2"),
    ({"early_stopping_state": {"wait": "x"}}, "early_stopping_state.wait must be an integer, got str 'x'"),
])
def test_malformed_checkpoint(tmp_path, trained, change, message):
    _, ck, X, y = trained
    path = checkpoint_with(ck, tmp_path / "bad_ck.npz", **change)
    assert f"{path}: {message}" in load_error(bp.training.load_checkpoint, path)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}")):
        bp.resume(path, X, y, verbose=0)


def test_checkpoint_arrays_checked_against_the_network(tmp_path, trained):
    _, ck, X, y = trained
    with zipfile.ZipFile(ck) as zf:
        members = {i.filename[:-4]: zf.read(i) for i in zf.infolist()}
    optim = next(k for k in members if k.startswith("optim/") and k.endswith("0.W"))
    bad = write_zip(tmp_path / "optim.npz", {**members, optim: npy(np.zeros((2, 2), np.float32))})
    assert f"{bad}: array '{optim}' (optimiser state) has shape (2, 2) float32, but '0.W' has (4, 3) float32" \
        in load_error(bp.training.load_checkpoint, bad)
    stray = write_zip(tmp_path / "stray.npz", {**members, "optim/adam.m/9.W": npy(np.zeros(2, np.float32))})
    assert "array 'optim/adam.m/9.W' (optimiser state) belongs to no '9.W' of the network" in \
        load_error(bp.training.load_checkpoint, stray)
    half = write_zip(tmp_path / "half.npz", {k: v for k, v in members.items() if k != "split/val"})
    assert "split/train and split/val must both be there" in load_error(bp.training.load_checkpoint, half)
    neg = write_zip(tmp_path / "neg.npz", {**members, "split/val": npy(np.array([-1, 2], np.int64))})
    assert load_error(bp.training.load_checkpoint, neg) == f"{neg}: split/val holds negative row indices"
    floats = write_zip(tmp_path / "fsplit.npz", {**members, "split/val": npy(np.array([1.0, 2.0]))})
    assert "its array 'split/val' has dtype <f8 (float64); bprop writes 'split/val' as int64" in \
        load_error(bp.training.load_checkpoint, floats)
    assert bp.load(ck).n_in == 3        # a checkpoint holds a model


def test_model_file_is_not_a_checkpoint(trained):
    model, _, _, _ = trained
    assert "is not a bprop checkpoint (format 'bprop-model')" in load_error(bp.training.load_checkpoint, model)


def test_saved_estimator_goes_through_the_same_checks(tmp_path):
    from bprop.sklearn import BPClassifier, load
    X = np.random.default_rng(0).normal(size=(30, 2))
    est = BPClassifier(hidden_layer_sizes=(3,), max_epochs=2, tol=None, random_state=0).fit(X, X[:, 0] > 0)
    good = tmp_path / "est.npz"
    est.save(good)
    assert isinstance(BPClassifier.load(good), BPClassifier)
    with zipfile.ZipFile(good) as zf:
        members = {i.filename[:-4]: zf.read(i) for i in zf.infolist()}
    meta = json.loads(np.load(io.BytesIO(members["__meta__"])).tobytes())
    for field, value, message in [("history", [], "metadata.sklearn.history must be an object"),
                                  ("rng_state", 5, "metadata.sklearn.rng_state is not a PCG64 generator state"),
                                  ("params", {"max_epochs": "many"}, "the estimator's params, loss or fitted")]:
        bad_meta = json.loads(json.dumps(meta))
        bad_meta["metadata"]["sklearn"][field] = value
        bad = write_zip(tmp_path / f"est_{field}.npz", {**members, "__meta__": meta_bytes(bad_meta)})
        assert f"{bad}: {message}" in load_error(load, bad)
    assert "is not a saved bprop.sklearn estimator" in load_error(load, small_model(tmp_path / "m.npz"))


# --------------------------------------------------------------------------- memory under a hard limit
def test_crafted_files_fit_in_a_hard_memory_limit(tmp_path, trained):
    """Under RLIMIT_AS (address space 1 GiB) a normal load works and every crafted file gives its ValueError."""
    model, ck, _, _ = trained
    crafted = [write_zip(tmp_path / "a1.npz", {"__meta__": meta_bytes(model_meta([dense(10**9, 10**9)]))}),
               write_zip(tmp_path / "a1b.npz", {"__meta__": meta_bytes(model_meta([dense(20000, 20000)])),
                                                "param/0.W": npy_header((20000, 20000)),
                                                "param/0.b": npy_header((20000,))}),
               set_declared_size(small_model(tmp_path / "bomb.npz"), "param/0.W", 2**31),
               set_declared_size(small_model(tmp_path / "json.npz"), "__meta__", 300_000_000)]
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
        import bprop as bp
        bp.load({str(model)!r}); bp.training.load_checkpoint({str(ck)!r})
        for path in {[str(p) for p in crafted]!r}:
            try:
                bp.load(path)
            except ValueError as exc:
                assert path in str(exc), exc
            else:
                sys.exit(path + " loaded")
        print("ok")
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# --------------------------------------------------------------------------- the CLI: one line, exit 1
def test_cli_prints_one_error_line(tmp_path, capsys, trained):
    huge = write_zip(tmp_path / "huge.npz", {"__meta__": meta_bytes(model_meta([dense(20000, 20000)]))})
    points = tmp_path / "p.csv"
    points.write_text("a,b\n1,2\n")
    for argv in (["predict", huge, points], ["evaluate", huge, "--data", "moons"]):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert code == 1, err
        assert err.count("\n") == 1 and err.startswith("error: ") and "has no array 'param/0.W'" in err


def test_cli_resume_from_a_malformed_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", "moons", "--n-samples", "60", "--epochs", "1", "--layers", "4",
                 "--quiet", "--no-plots", "--out", str(run)]) == 0
    capsys.readouterr()
    ck = run / "checkpoint.npz"
    checkpoint_with(ck, ck, history=[])
    config = (run / "config.toml").read_bytes()
    code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-plots"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err == f"error: {ck}: history must be a dict, got list []\n"
    assert (run / "config.toml").read_bytes() == config


# --------------------------------------------------------------------------- fuzzing real files
def mutated(data: bytes, edits, cut):
    b = bytearray(data)
    for pos, value in edits:
        b[pos % len(b)] = value
    return bytes(b[:max(1, len(b) - cut)])


FUZZ = settings(max_examples=120, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6)


def check_mutant(loader, path):
    try:
        loader(path)
    except (ValueError, FileNotFoundError) as exc:
        assert str(path) in str(exc), exc
        assert "allow_pickle" not in str(exc)


@pytest.mark.parametrize("which", ["model", "checkpoint"])
@FUZZ
@given(edits=EDITS, cut=st.sampled_from([0, 0, 0, 1, 7, 100]))
def test_fuzz_mutated_files(tmp_path, trained, which, edits, cut):
    """Bytes of a real model file or checkpoint changed, or its end cut off."""
    path = tmp_path / f"mutant_{which}.npz"
    path.write_bytes(mutated(trained[0 if which == "model" else 1].read_bytes(), edits, cut))
    check_mutant(bp.load, path)
    if which == "checkpoint":
        check_mutant(bp.training.load_checkpoint, path)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=6)


@FUZZ
@given(where=st.lists(st.integers(0, 50), min_size=1, max_size=4), value=JSON_VALUES)
def test_fuzz_json_fields_of_a_checkpoint(tmp_path, trained, where, value):
    """Any field of a real checkpoint's JSON replaced by any JSON value: loaded, or a ValueError naming the file."""
    ck = trained[1]
    with zipfile.ZipFile(ck) as zf:
        meta = json.loads(np.load(io.BytesIO(zf.read("__meta__.npy"))).tobytes())
    node = meta
    for i in where:      # walk down to a random entry and replace it
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = keys[i % len(keys)]
        if not isinstance(node[key], (dict, list)) or i % 3 == 0:
            node[key] = value
            break
        node = node[key]
    path = checkpoint_with(ck, tmp_path / "json_ck.npz", **meta)
    check_mutant(bp.training.load_checkpoint, path)
    check_mutant(bp.load, path)
