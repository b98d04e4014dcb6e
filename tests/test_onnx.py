"""ONNX export: every layer type, activation and output head, float32 and float64, opsets 13, 17 and 20.

Each exported model passes ``onnx.checker.check_model(full_check=True)``, and
both onnxruntime and ``onnx.reference.ReferenceEvaluator`` reproduce
``net.predict`` (and the probabilities and labels of the head) to 1e-5
(float32) or 1e-10 (float64), relative to the largest output. onnxruntime
1.32 has no float64 kernel for ``Erf``/``Gelu``: a float64 network with GELU
is compared on the ReferenceEvaluator only (the float64 LeakyReLU, ELU and
BatchNorm are written with float64 constants, so onnxruntime runs them). The
ReferenceEvaluator's own ``Erf`` rounds to float32 (``np.vectorize(erf,
otypes=["f"])``, also inside its ``Gelu`` function), so the float64 checks
give it an ``Erf`` and a ``Gelu`` that keep float64 (:func:`math.erf`).

Without onnx/onnxruntime these tests skip with a reason, unless
``BPROP_REQUIRE_TORCH=1`` (CI, which installs the ``test`` extra), where they fail.
"""


import numpy as np
import pytest

import bprop as bp

OPSETS = (13, 17, 20)
RTOL = {"float32": 1e-5, "float64": 1e-10}
HEADS = ("regression", "cross_entropy", "bce_binary", "bce_multilabel", "bce_ovr")


def close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    err = np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)
    assert err < rtol, f"{what}: relative error {err:.2e} (tolerance {rtol:g})"


def every_layer(n_out, dtype, gelu, end=()):
    """A trained-looking network with every layer type and activation, BatchNorm statistics moved."""
    layers = [bp.Dense(5, 8), bp.BatchNorm(8), bp.ReLU(), bp.Dropout(0.3),
              bp.Dense(8, 8), bp.LeakyReLU(0.01), bp.Dense(8, 8), bp.ELU(0.7),
              bp.Dense(8, 8, bias=False), bp.Tanh(), bp.Dense(8, 8), bp.Sigmoid(), bp.Identity()]
    if gelu:
        layers += [bp.Dense(8, 8), bp.GELU(), bp.Dense(8, 8), bp.GELU("tanh")]
    layers += [bp.Dense(8, n_out), *end]
    net = bp.Sequential(layers, seed=3, dtype=dtype)
    rng = np.random.default_rng(0)
    for key, p in net.params.items():
        p[...] = rng.normal(scale=0.8, size=p.shape)
    net.buffers["1.running_mean"][...] = rng.normal(size=8)
    net.buffers["1.running_var"][...] = rng.uniform(0.3, 2.0, size=8)
    return net


HEAD_SETUP = {      # head: (n_out, loss, final layers, metadata)
    "regression": (3, bp.MSE(), (bp.Softmax(),), {}),
    "cross_entropy": (4, bp.CrossEntropy(), (), {"class_names": ["3", "5", "7", "11"]}),
    "bce_binary": (1, bp.BinaryCrossEntropy(), (), {"class_names": ["-1", "1"]}),
    "bce_multilabel": (3, bp.BinaryCrossEntropy(), (), {"task": "multilabel"}),
    "bce_ovr": (3, bp.BinaryCrossEntropy(), (), {"class_names": ["a", "b", "c"]}),
}


def expected_outputs(net, head, X):
    n_out, loss, _, meta = HEAD_SETUP[head]
    z = net.predict(X)
    if head == "regression":
        return {"output": z}
    out = {"logits": z, "probabilities": loss.output_to_prediction(z)}
    if head == "cross_entropy":
        out["label"] = np.array([3, 5, 7, 11])[np.argmax(z, axis=1)]
    elif head == "bce_binary":
        out["label"] = np.where(z[:, 0] > 0, 1, -1)
    elif head == "bce_multilabel":
        out["label"] = (z > 0).astype(np.int64)
    else:
        out["label"] = np.argmax(z, axis=1)
    return out


def reference(path, dtype):
    """``onnx.reference.ReferenceEvaluator`` of the file, with a float64 ``Erf`` for float64 graphs."""
    import math

    from onnx.reference import ReferenceEvaluator
    from onnx.reference.op_run import OpRun

    erf = np.vectorize(math.erf, otypes=[np.float64])

    class Erf(OpRun):
        op_domain = ""

        def _run(self, x):
            return (erf(x).astype(x.dtype),)

    class Gelu(OpRun):           # the operator's definition (opset 20), with that float64 erf
        op_domain = ""

        def _run(self, x, approximate="none"):
            if approximate == "tanh":
                return (0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),)
            return ((x * 0.5 * (1 + erf(x / math.sqrt(2)))).astype(x.dtype),)

    return ReferenceEvaluator(str(path), new_ops=[Erf, Gelu] if dtype == "float64" else None)


def check_against(run, names, expected, rtol, what):
    got = dict(zip(names, run))
    assert set(got) == set(expected), what
    for name, value in expected.items():
        if name == "label":
            np.testing.assert_array_equal(got[name], value, err_msg=f"{what}: label")
        else:
            close(got[name], value, rtol, f"{what}: {name}")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("head", HEADS)
def test_every_layer_and_head_matches_predict(head, dtype, opset, tmp_path, onnx, ort):
    n_out, loss, end, meta = HEAD_SETUP[head]
    X = np.random.default_rng(1).normal(size=(11, 5)).astype(dtype)
    for gelu in (False, True):
        net = every_layer(n_out, dtype, gelu, end)
        net.metadata = dict(meta)
        path = tmp_path / f"m{int(gelu)}.onnx"
        model = net.to_onnx(path, opset=opset, loss=loss)
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        assert model.opset_import[0].version == opset
        assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
        if opset == 20:
            assert model.ir_version == 9
        names = [o.name for o in model.graph.output]
        expected = expected_outputs(net, head, X)
        what = f"{head} {dtype} opset {opset}{' GELU' if gelu else ''}"
        ref = reference(path, dtype)
        check_against(ref.run(None, {"input": X}), names, expected, RTOL[dtype], f"reference {what}")
        if gelu and dtype == "float64":
            continue     # onnxruntime 1.32 has no float64 Erf/Gelu kernel (module docstring)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        check_against(sess.run(None, {"input": X}), names, expected, RTOL[dtype], f"onnxruntime {what}")


def test_batch_dimension_is_dynamic_and_graph_uses_native_ops(tmp_path, onnx, ort):
    net = every_layer(2, "float32", gelu=True)
    model = net.to_onnx(tmp_path / "m.onnx", opset=20, input_name="features")
    ops = {n.op_type for n in model.graph.node}
    assert {"Gemm", "BatchNormalization", "Relu", "LeakyRelu", "Elu", "Tanh", "Sigmoid", "Gelu"} <= ops
    assert "Dropout" not in ops
    dim = model.graph.input[0].type.tensor_type.shape.dim
    assert dim[0].dim_param and dim[1].dim_value == 5
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    assert [a.i for a in gemm.attribute if a.name == "transB"] == [1]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 7, 64):
        X = np.random.default_rng(n).normal(size=(n, 5)).astype(np.float32)
        close(sess.run(None, {"features": X})[0], net.predict(X), 1e-5, f"batch {n}")


def test_float64_exports_keep_their_constants_exact(tmp_path, onnx):
    # A float32 attribute would round slope 0.01 to 0.009999999776…; the float64 graph multiplies by a
    # float64 initializer instead (and never uses the float32-attribute operators).
    net = bp.Sequential([bp.Dense(3, 4), bp.LeakyReLU(0.01), bp.Dense(4, 4), bp.ELU(0.3), bp.BatchNorm(4)],
                        seed=0, dtype="float64")
    model = net.to_onnx(tmp_path / "m.onnx", opset=17)
    ops = {n.op_type for n in model.graph.node}
    assert not ops & {"LeakyRelu", "Elu", "BatchNormalization"}
    consts = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    assert any(v.dtype == np.float64 and v.shape == () and v == 0.01 for v in consts.values())


def test_gelu_below_opset_20_is_decomposed(tmp_path, onnx):
    net = bp.Sequential([bp.Dense(2, 3), bp.GELU()], seed=0)
    ops13 = {n.op_type for n in net.to_onnx(tmp_path / "a.onnx", opset=13).graph.node}
    ops20 = {n.op_type for n in net.to_onnx(tmp_path / "b.onnx", opset=20).graph.node}
    assert "Erf" in ops13 and "Gelu" not in ops13 and "Gelu" in ops20


def test_standardizer_is_folded_in(tmp_path, ort):
    rng = np.random.default_rng(2)
    raw = rng.normal(loc=[100.0, -3.0, 0.5], scale=[20.0, 0.1, 4.0], size=(9, 3))
    st = bp.data.Standardizer().fit(raw)
    net = bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)], seed=0, dtype="float64")
    net.metadata = {"standardizer": st.to_dict(), "loss": "cross_entropy", "task": "classification",
                    "class_names": ["0", "1"]}
    net.to_onnx(tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    logits, proba, label = sess.run(None, {"input": raw})
    close(logits, net.predict(st.transform(raw)), 1e-10, "logits from raw features")
    np.testing.assert_array_equal(label, np.argmax(logits, axis=1))


def test_estimators_export(tmp_path, ort):
    from bprop.sklearn import BPClassifier, BPRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = np.array(["cat", "dog", "eel"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
    clf = BPClassifier((8,), max_epochs=3, tol=None, random_state=0).fit(X, y)
    clf.to_onnx(tmp_path / "c.onnx")
    sess = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    logits, proba, label = sess.run(None, {"input": X})
    close(proba, clf.predict_proba(X), 1e-5, "predict_proba")
    np.testing.assert_array_equal(clf.classes_[label], clf.predict(X))
    from bprop.cli import main
    clf.save(tmp_path / "clf.npz")                       # the same file from a saved estimator, by the CLI
    assert main(["export", str(tmp_path / "clf.npz"), "-o", str(tmp_path / "cli.onnx")]) == 0
    sess = ort.InferenceSession(str(tmp_path / "cli.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(clf.classes_[sess.run(["label"], {"input": X})[0]], clf.predict(X))
    yb = (X[:, 0] > 0).astype(int) * 3                                   # classes 0 and 3: numeric labels
    clf = BPClassifier((8,), max_epochs=3, tol=None, random_state=0).fit(X, yb)
    clf.to_onnx(tmp_path / "b.onnx")
    sess = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    label, proba = sess.run(["label", "probabilities"], {"input": X})
    np.testing.assert_array_equal(label, clf.predict(X))
    close(proba, clf.predict_proba(X), 1e-5, "binary predict_proba")
    y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)                 # one-vs-rest sigmoids, normalised
    clf = BPClassifier((8,), max_epochs=3, tol=None, random_state=0, loss="binary_cross_entropy").fit(X, y3)
    clf.to_onnx(tmp_path / "o.onnx", opset=13)
    sess = ort.InferenceSession(str(tmp_path / "o.onnx"), providers=["CPUExecutionProvider"])
    label, proba = sess.run(["label", "probabilities"], {"input": X})
    np.testing.assert_array_equal(label, clf.predict(X))
    close(proba, clf.predict_proba(X), 1e-5, "one-vs-rest predict_proba")
    reg = BPRegressor((8,), max_epochs=3, tol=None, random_state=0, loss="huber").fit(X, X[:, :2] @ [1.0, -2.0])
    reg.to_onnx(tmp_path / "r.onnx", opset=17)
    sess = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    close(sess.run(None, {"input": X})[0][:, 0], reg.predict(X), 1e-5, "regressor")


@pytest.mark.parametrize("opset", [12, 10_000, 17.0, True])
def test_unsupported_opset_is_a_clear_error(opset, tmp_path, onnx):
    net = bp.Sequential([bp.Dense(2, 1)], seed=0)
    with pytest.raises((ValueError, TypeError), match="opset"):
        net.to_onnx(tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_unsupported_layer_is_a_clear_error(tmp_path, onnx):
    class Square(bp.Layer):
        def forward(self, A, training=False):
            return A * A
    net = bp.Sequential([bp.Dense(2, 2), Square()], seed=0)
    with pytest.raises(ValueError, match=r"layer 1 \(Square\) has no ONNX export"):
        net.to_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_train_export_run_predict_and_round_trips(tmp_path, capsys, ort, safetensors):
    from bprop.cli import main
    run = tmp_path / "run"
    assert main(["train", "--data", "moons", "--layers", "8", "--batchnorm", "--epochs", "2", "--quiet",
                 "--no-plots", "--out", str(run), "--dtype", "float64"]) == 0
    assert main(["export", str(run), "--format", "onnx"]) == 0
    assert main(["export", str(run), "--format", "onnx"]) == 2          # exists: --force needed
    assert main(["export", str(run), "-o", str(tmp_path / "old.onnx"), "--opset", "9"]) == 2
    assert "--opset: opset 9 is not supported" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "safetensors", "-o", str(tmp_path / "m.safetensors")]) == 0
    capsys.readouterr()
    net = bp.load(run / "model.npz")
    raw = np.random.default_rng(5).normal(size=(40, 2))
    from bprop.cli.common import transform_features
    expected = net.predict(transform_features(net, raw, "test"))
    sess = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, _, label = sess.run(None, {"input": raw})
    close(logits, expected, 1e-10, "onnxruntime on raw features")
    names = np.array(net.metadata["class_names"]).astype(np.int64)
    np.testing.assert_array_equal(label, names[np.argmax(expected, axis=1)])
    back = bp.load(tmp_path / "m.safetensors")
    assert back.metadata == net.metadata
    close(back.predict(raw), net.predict(raw), 1e-15, "safetensors round trip")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_newest_opset_the_installed_onnx_knows(dtype, tmp_path, onnx):
    opset = onnx.defs.onnx_opset_version()
    net = every_layer(4, dtype, gelu=True)
    net.metadata = {"loss": "cross_entropy"}
    net.to_onnx(tmp_path / "m.onnx", opset=opset)
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
    X = np.random.default_rng(3).normal(size=(6, 5)).astype(dtype)
    check_against(reference(tmp_path / "m.onnx", dtype).run(None, {"input": X}), ["logits", "probabilities", "label"],
                  {"logits": net.predict(X), "probabilities": bp.CrossEntropy().output_to_prediction(net.predict(X)),
                   "label": np.argmax(net.predict(X), axis=1)}, RTOL[dtype], f"opset {opset}")
