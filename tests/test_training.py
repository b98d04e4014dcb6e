"""The fit loop: learning, resume, early stopping, divergence, weights, argument checks."""

import json

import numpy as np
import pytest

import bprop as bp


@pytest.fixture(scope="module")
def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    d = sklearn.load_digits()
    return train_test_split(d.data / 16.0, d.target, test_size=0.25, random_state=0, stratify=d.target)


def small_net(seed=1, dtype="float32"):
    return bp.Sequential([bp.Dense(64, 32, init="he_normal"), bp.ReLU(), bp.BatchNorm(32),
                          bp.Dropout(0.2), bp.Dense(32, 10)], seed=seed, dtype=dtype)


def test_xor_2_2_1_learns_to_100_percent():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]])
    net = bp.Sequential([bp.Dense(2, 2), bp.Tanh(), bp.Dense(2, 1)], seed=1, dtype="float64")
    h = net.fit(X, y, loss=bp.BinaryCrossEntropy(), optimizer=bp.optim.Adam(0.1), epochs=300,
                batch_size=4, shuffle=False, verbose=0)
    assert np.array_equal(net.predict(X) > 0, y == 1)
    assert h.records[-1]["accuracy"] == 1.0
    assert h.records[-1]["loss"] < 0.01


def test_digits_reaches_95_percent(digits):
    Xtr, Xte, ytr, yte = digits
    net = bp.Sequential([bp.Dense(64, 128, init="he_normal"), bp.ReLU(), bp.Dense(128, 10)], seed=0)
    h = net.fit(Xtr, ytr, loss=bp.CrossEntropy(), optimizer=bp.optim.Adam(1e-3), epochs=30,
                batch_size=32, validation_split=0.1, verbose=0)
    acc = np.mean(net.predict(Xte).argmax(1) == yte)
    assert acc >= 0.95, acc
    assert h["val_accuracy"][-1] >= 0.9
    assert h["loss"][-1] < h["loss"][0]


def test_one_full_batch_step_per_epoch_is_plain_gradient_descent(rng):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    net = bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)], seed=0, dtype="float64")
    manual = net.copy()
    net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=3, batch_size=len(X),
            shuffle=False, verbose=0)
    for _ in range(3):
        manual.backprop(X, y, "mse")
        for k in manual.params:
            manual.params[k] -= 0.1 * manual.grads[k]
    for k in net.params:
        np.testing.assert_allclose(net.params[k], manual.params[k], rtol=1e-13, atol=1e-15)


def test_last_partial_batch_is_used(rng):
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    net = bp.Sequential([bp.Dense(3, 2)], seed=0)
    seen = []

    class Count(bp.Callback):
        def on_train_begin(self, net, info):
            seen.append(info["steps_per_epoch"])

    h = net.fit(X, y, loss="ce", optimizer=bp.optim.SGD(0.1), epochs=2, batch_size=4,
                callbacks=[Count()], verbose=0)
    assert seen == [3] and len(h.step_lr) == 6


def test_shuffle_source_gives_each_epochs_order(rng, tmp_path):
    """shuffle=<object with permutation(n)>: each epoch's batches follow source.permutation(n),
    drawn once per epoch, and net.rng is left alone; shuffle=True draws net.rng.permutation(n)."""
    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))

    class Recorded:
        def __init__(self):
            self.rng, self.orders = np.random.default_rng(7), []

        def permutation(self, n):
            self.orders.append(self.rng.permutation(n))
            return self.orders[-1]

    def batches(shuffle):
        """The batches the first layer sees in 2 epochs of 3 batches, and the network's generator before."""
        net = bp.Sequential([bp.Dense(3, 1)], seed=0, dtype="float64")
        before = np.random.Generator(np.random.PCG64())
        before.bit_generator.state = net.rng.bit_generator.state
        seen, forward = [], net.layers[0].forward

        def spy(A, training=False):
            if training:
                seen.append(A.copy())
            return forward(A, training)
        net.layers[0].forward = spy
        net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=2, batch_size=4, verbose=0,
                shuffle=shuffle)
        return seen, before, net

    def expected(orders):
        return [X[o[s:s + 4]] for o in orders for s in (0, 4, 8)]

    source = Recorded()
    seen, before, net = batches(source)
    assert len(source.orders) == 2 and net.rng.bit_generator.state == before.bit_generator.state
    for got, want in zip(seen, expected(source.orders), strict=True):
        np.testing.assert_array_equal(got, want)
    seen, _, _ = batches(np.random.default_rng(7))          # a Generator is such a source
    for got, want in zip(seen, expected(source.orders), strict=True):
        np.testing.assert_array_equal(got, want)
    seen, before, _ = batches(True)                         # the default: net.rng's permutations
    for got, want in zip(seen, expected([before.permutation(10), before.permutation(10)]), strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="checkpoint= needs shuffle=True or False"):
        bp.Sequential([bp.Dense(3, 1)], seed=0).fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1,
                                                   verbose=0, shuffle=Recorded(), checkpoint=tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("order", [np.arange(9), np.r_[0, 0, np.arange(2, 10)], np.r_[np.arange(9), 10],
                                   np.r_[np.arange(9), -1], np.arange(10.0), np.arange(10).reshape(2, 5)])
def test_shuffle_source_with_a_bad_permutation_is_refused(order, rng):
    """An order source's permutation is checked before any batch is gathered: a repeated, missing or
    out-of-range index would otherwise train on wrong (clipped) rows without a word."""
    class Bad:
        def permutation(self, n):
            return order

    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    net = bp.Sequential([bp.Dense(3, 1)], seed=0)
    before = net.params["0.W"].copy()
    with pytest.raises(ValueError, match=r"permutation\(10\) must return each of 0\.\.9 once"):
        net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1, verbose=0, shuffle=Bad())
    np.testing.assert_array_equal(net.params["0.W"], before)    # nothing trained


def test_resume_equals_uninterrupted_run_bit_for_bit(tmp_path, digits):
    Xtr, _, ytr, _ = digits
    kwargs = dict(loss="ce", epochs=5, batch_size=50, validation_split=0.2, verbose=0,
                  early_stopping=bp.EarlyStopping(patience=10))
    straight = small_net()
    h_straight = straight.fit(Xtr, ytr, optimizer=bp.optim.Adam(1e-3), **kwargs)

    ck = tmp_path / "ck.npz"
    interrupted = small_net()
    interrupted.fit(Xtr, ytr, optimizer=bp.optim.Adam(1e-3), checkpoint=ck,
                    callbacks=[lambda net, rec: rec["epoch"] == 2], **kwargs)
    resumed, h = bp.resume(ck, Xtr, ytr, verbose=0)
    assert len(h) == 5
    for k in straight.params:
        assert np.array_equal(straight.params[k], resumed.params[k]), k
    for k in straight.buffers:
        assert np.array_equal(straight.buffers[k], resumed.buffers[k]), k
    assert h["val_loss"] == h_straight["val_loss"]
    assert h.step_lr == h_straight.step_lr


def test_early_stopping_restores_best_weights(digits):
    Xtr, _, ytr, _ = digits
    snapshots = {}

    def remember(net, rec):
        snapshots[rec["epoch"]] = (rec["val_loss"], net.state_dict())

    net = small_net()
    # A large learning rate makes the validation loss bounce, so the best epoch is not the last.
    h = net.fit(Xtr, ytr, loss="ce", optimizer=bp.optim.SGD(0.5, momentum=0.9), epochs=40,
                batch_size=64, validation_split=0.2, verbose=0, callbacks=[remember],
                early_stopping=bp.EarlyStopping(patience=3))
    best_epoch = min(snapshots, key=lambda e: snapshots[e][0])
    assert h.best_epoch == best_epoch
    assert h.stop_reason.startswith("early stopping")
    assert len(h) == best_epoch + 3
    for k, v in snapshots[best_epoch][1].items():
        assert np.array_equal({**net.params, **net.buffers}[k], v), k


def test_divergence_stops_with_message_and_finite_parameters(tmp_path, digits):
    Xtr, _, ytr, _ = digits
    net = bp.Sequential([bp.Dense(64, 32), bp.Tanh(), bp.Dense(32, 1)], seed=0)
    ck = tmp_path / "ck.npz"
    with pytest.raises(bp.DivergenceError, match=r"epoch \d+, step \d+.*smaller learning rate") as err:
        net.fit(Xtr, ytr.astype(float), loss="mse", optimizer=bp.optim.SGD(1e3), epochs=20,
                batch_size=32, checkpoint=ck, verbose=0)
    assert isinstance(err.value, FloatingPointError)
    assert all(np.isfinite(p).all() for p in net.params.values())
    if ck.exists():  # the last good checkpoint is intact and loadable
        assert all(np.isfinite(p).all() for p in bp.load(ck).params.values())


def test_sample_weight_two_equals_duplicated_rows(rng):
    X, y = rng.normal(size=(12, 3)), rng.integers(0, 3, 12)
    w = np.ones(12)
    w[[2, 7]] = 2.0
    Xd, yd = np.vstack([X, X[[2, 7]]]), np.concatenate([y, y[[2, 7]]])
    a = bp.Sequential([bp.Dense(3, 5), bp.Tanh(), bp.Dense(5, 3)], seed=4, dtype="float64")
    b = a.copy()
    common = dict(loss="ce", epochs=5, shuffle=False, verbose=0)
    a.fit(X, y, optimizer=bp.optim.SGD(0.3), batch_size=12, sample_weight=w, **common)
    b.fit(Xd, yd, optimizer=bp.optim.SGD(0.3), batch_size=14, **common)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12, atol=1e-14)


def test_class_weight_balanced_matches_explicit_weights(rng):
    X, y = rng.normal(size=(30, 3)), np.r_[np.zeros(24, int), np.ones(6, int)]
    a = bp.Sequential([bp.Dense(3, 2)], seed=0, dtype="float64")
    b = a.copy()
    common = dict(loss="ce", epochs=3, batch_size=30, shuffle=False, verbose=0)
    a.fit(X, y, optimizer=bp.optim.SGD(0.1), class_weight="balanced", **common)
    b.fit(X, y, optimizer=bp.optim.SGD(0.1), sample_weight=np.where(y == 1, 30 / 12, 30 / 48), **common)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12)


def test_clip_norm_matches_torch(torch, rng):
    X, y = rng.normal(size=(16, 4)) * 10, rng.normal(size=(16, 2)) * 10
    net = bp.Sequential([bp.Dense(4, 3), bp.Tanh(), bp.Dense(3, 2)], seed=0, dtype="float64")
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        for i in (0, 2):
            tnet[i].weight.copy_(torch.tensor(net.params[f"{i}.W"]))
            tnet[i].bias.copy_(torch.tensor(net.params[f"{i}.b"]))
    net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.05), epochs=4, batch_size=16, shuffle=False,
            clip_norm=0.5, verbose=0)
    opt = torch.optim.SGD(tnet.parameters(), lr=0.05)
    for _ in range(4):
        opt.zero_grad()
        out = tnet(torch.tensor(X))
        (0.5 * ((out - torch.tensor(y)) ** 2).sum(1).mean()).backward()
        torch.nn.utils.clip_grad_norm_(tnet.parameters(), 0.5)
        opt.step()
    for i in (0, 2):
        np.testing.assert_allclose(net.params[f"{i}.W"], tnet[i].weight.detach().numpy(), rtol=1e-10)


def test_history_records_and_exports(tmp_path, rng):
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    net = bp.Sequential([bp.Dense(2, 8), bp.Tanh(), bp.Dense(8, 1)], seed=0)
    h = net.fit(X, y, loss="mse", optimizer=bp.optim.Adam(1e-2), epochs=3, batch_size=16,
                validation_data=(X[:10], y[:10]), verbose=0)
    rec = h.to_list()[0]
    for key in ("epoch", "loss", "mse", "rmse", "mae", "r2", "val_loss", "val_r2", "lr", "time",
                "grad_norm/0.W", "grad_norm/2.W"):
        assert key in rec, key
    assert rec["rmse"] == pytest.approx(np.sqrt(rec["mse"]))
    h.to_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,loss")
    h.to_json(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text())["records"][2]["epoch"] == 3
    with pytest.raises(KeyError, match="columns"):
        h["nonexistent"]


def test_callback_on_batch_end_can_stop(rng):
    X, y = rng.normal(size=(64, 2)), rng.integers(0, 2, 64)
    net = bp.Sequential([bp.Dense(2, 2)], seed=0)

    class StopAt(bp.Callback):
        def on_batch_end(self, net, step, batch_loss):
            return step == 3

    h = net.fit(X, y, loss="ce", optimizer=bp.optim.SGD(0.1), epochs=5, batch_size=8,
                callbacks=[StopAt()], verbose=0)
    assert len(h) == 1 and len(h.step_lr) == 3 and h.stop_reason == "stopped by callback"


def test_optimizer_state_persists_across_fit_calls(rng):
    X, y = rng.normal(size=(32, 2)), rng.integers(0, 2, 32)
    opt = bp.optim.Adam(1e-2)
    net = bp.Sequential([bp.Dense(2, 2)], seed=0)
    net.fit(X, y, loss="ce", optimizer=opt, epochs=2, batch_size=8, verbose=0)
    net.fit(X, y, loss="ce", optimizer=opt, epochs=1, batch_size=8, verbose=0)
    assert opt.step_count == 12


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"),
    (dict(epochs=-1), "epochs"),
    (dict(validation_split=1.0), "validation_split"),
    (dict(validation_split=-0.1), "validation_split"),
    (dict(clip_norm=0.0), "clip_norm"),
    (dict(optimizer="adam"), "optimizer"),
    (dict(early_stopping="yes"), "early_stopping"),
])
def test_fit_rejects_bad_arguments(kwargs, match, rng):
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    net = bp.Sequential([bp.Dense(2, 2)], seed=0)
    args = dict(loss="ce", optimizer=bp.optim.SGD(0.1), epochs=1, batch_size=4, verbose=0)
    args.update(kwargs)
    before = net.state_dict()
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, **args)
    for k, v in before.items():
        assert np.array_equal(net.state_dict()[k], v)


def test_resume_rejects_a_model_file(tmp_path):
    net = bp.Sequential([bp.Dense(2, 2)], seed=0)
    net.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="not a bprop checkpoint"):
        bp.resume(tmp_path / "m.npz", np.zeros((2, 2)), [0, 1])


@pytest.mark.parametrize("batch_size", [8, 4])  # the overflow found at the epoch's end / in the next step
def test_parameter_overflow_puts_back_the_start_of_the_epoch(batch_size):
    X = np.ones((8, 1))
    y = np.full(8, 1e4)
    net = bp.Sequential([bp.Dense(1, 1)], seed=0)          # float32: a step of 1e38·1e4 overflows
    before = net.state_dict()
    opt = bp.optim.SGD(1e38)
    with pytest.raises(bp.DivergenceError, match="put back to the start of epoch 1"):
        net.fit(X, y, loss="mse", optimizer=opt, epochs=3, batch_size=batch_size, shuffle=False,
                verbose=0)
    for k, v in before.items():
        assert np.array_equal(net.state_dict()[k], v), k
    assert opt.step_count == 0


@pytest.mark.parametrize("fused", [False, True])
def test_an_overflow_in_a_later_epoch_puts_back_that_epochs_start(fused, rng):
    # the start-of-epoch snapshot reuses the last epoch's arrays: it must still hold epoch 3's start
    X, y = rng.standard_normal((24, 3)), rng.integers(0, 2, 24)
    net = bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)], seed=0, dtype="float64",
                        backend="numba" if fused else "numpy")
    opt = bp.optim.Adam(0.01, fused=fused)
    seen = {}

    class Blow(bp.training.Callback):
        def on_epoch_begin(self, net, epoch):
            if epoch == 3:
                seen["params"], seen["opt"] = net.state_dict(), opt.state_dict()

        def on_batch_end(self, net, step, loss):
            if "params" in seen and step == 2:
                net.params["2.W"][0, 0] = np.inf      # found at the epoch's end, after the last step

    with pytest.raises(bp.DivergenceError, match="put back to the start of epoch 3"):
        net.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=5, batch_size=8, verbose=0,
                callbacks=[Blow()])
    after = net.state_dict()
    assert all(np.array_equal(after[k], v) for k, v in seen["params"].items())
    state = opt.state_dict()
    assert state["step"] == seen["opt"]["step"] == 6
    assert all(np.array_equal(state["arrays"][k], v) for k, v in seen["opt"]["arrays"].items())
    assert not np.array_equal(seen["params"]["0.W"], bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)],
                                                                   seed=0, dtype="float64").params["0.W"])


def test_multilabel_shuffled_batches_with_weights(rng):
    X = rng.normal(size=(40, 3))
    Y = (X[:, :2] > 0).astype(float)                      # two independent labels
    net = bp.Sequential([bp.Dense(3, 8), bp.Tanh(), bp.Dense(8, 2)], seed=0)
    h = net.fit(X, Y, loss="bce", optimizer=bp.optim.Adam(0.05), epochs=30, batch_size=16,
                sample_weight=np.linspace(0.5, 1.5, 40), verbose=0)
    assert 0.0 <= h["accuracy"][0] <= 1.0
    assert h["accuracy"][-1] >= 0.9


def test_fit_clips_with_the_transforms_clipping(rng, monkeypatch):
    """clip_norm/clip_value in fit run bprop.optim.transforms' functions, with the loop's own norm."""
    from bprop.optim import transforms
    from bprop.training import loop
    calls = []
    real_norm, real_value = transforms.clip_grad_norm_, transforms.clip_grad_value_

    def norm(grads, max_norm, norm=None):
        calls.append(("norm", max_norm, norm, transforms.global_norm(grads)))
        return real_norm(grads, max_norm, norm=norm)

    def value(grads, clip_value):
        calls.append(("value", clip_value))
        real_value(grads, clip_value)

    monkeypatch.setattr(loop, "clip_grad_norm_", norm)
    monkeypatch.setattr(loop, "clip_grad_value_", value)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    net = bp.Sequential([bp.Dense(3, 4), bp.Tanh(), bp.Dense(4, 2)], seed=0, dtype="float64")
    net.fit(X, y, loss="ce", optimizer=bp.optim.SGD(0.1), epochs=1, batch_size=10, clip_norm=0.01,
            clip_value=1e-3, verbose=0)
    assert [c[0] for c in calls] == ["norm", "value", "norm", "value"]
    for c in calls[::2]:
        assert c[1] == 0.01 and c[2] == pytest.approx(c[3], rel=1e-12)


def test_clip_grad_norm_with_a_given_norm_equals_the_computed_one(rng):
    from bprop.optim import clip_grad_norm_, global_norm
    for dtype in (np.float32, np.float64):
        a = {k: rng.normal(size=s).astype(dtype) for k, s in (("0.W", (4, 3)), ("0.b", (4,)))}
        b = {k: v.copy() for k, v in a.items()}
        n = global_norm(a)
        assert clip_grad_norm_(a, 0.5) == clip_grad_norm_(b, 0.5, norm=n) == n
        for k in a:
            assert a[k].dtype == dtype
            np.testing.assert_array_equal(a[k], b[k])


def test_optimizer_state_packer_round_trip(rng):
    from bprop.training import pack_optimizer_state, unpack_optimizer_state
    net = bp.Sequential([bp.Dense(3, 4), bp.ReLU(), bp.Dense(4, 2)], seed=0)
    opt = bp.optim.Adam(1e-2)
    net.fit(rng.normal(size=(8, 3)), rng.integers(0, 2, 8), loss="ce", optimizer=opt, epochs=1, verbose=0)
    arrays = {"param/0.W": net.params["0.W"]}
    state = pack_optimizer_state(opt, arrays)
    assert "arrays" not in state and any(k.startswith("optim/") for k in arrays)
    back = unpack_optimizer_state(json.loads(json.dumps(state)), arrays)
    a, b = opt.state_dict(), back.state_dict()
    assert {k: v for k, v in a.items() if k != "arrays"} == {k: v for k, v in b.items() if k != "arrays"}
    assert a["arrays"].keys() == b["arrays"].keys()
    for k in a["arrays"]:
        np.testing.assert_array_equal(a["arrays"][k], b["arrays"][k])


def test_training_never_imports_the_network():
    """network.fit delegates to training; training and io never import network (nor resume, sklearn)."""
    import ast
    import pathlib
    folder = pathlib.Path(bp.__file__).parent
    for path in [folder / "io.py", *sorted((folder / "training").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):   # function-local imports included
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.split(".")[-1] in ("network", "resume", "sklearn") for n in names), path


# ------------------------------------------------------------------ threads=
def _blas_threads():
    from threadpoolctl import threadpool_info
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def test_fit_threads_limits_blas_during_training_and_restores_it(rng):
    pytest.importorskip("threadpoolctl")
    X, y = rng.standard_normal((60, 5)), rng.integers(0, 3, 60)
    before = _blas_threads()
    seen = []

    class Watch(bp.training.Callback):
        def on_epoch_end(self, net, record):
            seen.append(_blas_threads())

    nets = []
    for threads, cbs in ((None, ()), (1, [Watch()])):
        net = bp.Sequential([bp.Dense(5, 8), bp.ReLU(), bp.Dense(8, 3)], seed=0, dtype="float64")
        net.fit(X, y, loss="cross_entropy", optimizer=bp.optim.Adam(1e-2), epochs=2, batch_size=16, verbose=0,
                threads=threads, callbacks=cbs)
        nets.append(net)
    assert seen and all(t == [1] * len(before) for t in seen)
    assert _blas_threads() == before                     # put back afterwards
    for k in nets[0].params:
        np.testing.assert_array_equal(nets[1].params[k], nets[0].params[k])   # the same numbers


@pytest.mark.parametrize("threads, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_fit_threads_is_checked(threads, exc, rng):
    net = bp.Sequential([bp.Dense(2, 1)], seed=0)
    with pytest.raises(exc, match="threads"):
        net.fit(rng.standard_normal((4, 2)), rng.standard_normal((4, 1)), loss="mse",
                optimizer=bp.optim.SGD(0.1), epochs=1, verbose=0, threads=threads)


def test_fit_threads_without_threadpoolctl_says_what_to_install(monkeypatch, rng):
    import sys
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    net = bp.Sequential([bp.Dense(2, 1)], seed=0)
    X, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    with pytest.raises(ModuleNotFoundError, match=r"threads= needs threadpoolctl.*bprop\[threads\]"):
        net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1, verbose=0, threads=2)
    net.fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=1, verbose=0)    # threads=None needs nothing


def test_import_bprop_does_not_import_threadpoolctl():
    import subprocess
    import sys
    code = "import sys, bprop; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
