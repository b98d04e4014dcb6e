"""The playground's server and protocol, through Starlette's TestClient (no browser).

Every number a snapshot carries is bprop's: the weights equal a ``net.fit``
with the same seed and epochs, and δ equals ``net.trace`` for the same state.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")   # Starlette 1.x: "install httpx2" (the TestClient works with httpx)
    from starlette.testclient import TestClient  # noqa: E402

import bprop as bp  # noqa: E402
from bprop.mlp import build_mlp  # noqa: E402
from bprop.playground.server import MAX_MESSAGE_BYTES, create_app  # noqa: E402
from bprop.playground.session import DEFAULTS, Session, check_config, ProtocolError  # noqa: E402

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client():
    app = create_app(allowed_hosts=("testserver", "127.0.0.1"), max_sessions=3)
    with TestClient(app) as c:
        c.app_ref = app
        yield c


def _until(ws, kind, limit=50):
    """The next message of type ``kind`` (skipping others)."""
    for _ in range(limit):
        m = json.loads(ws.receive_text())
        if m["type"] == kind:
            return m
    raise AssertionError(f"no {kind!r} message in {limit}")


def _send(ws, **msg):
    ws.send_text(json.dumps(msg))


def test_page_and_vendored_katex_are_served_offline(client):
    r = client.get("/")
    assert r.status_code == 200 and 'data-testid="play"' in r.text and "https://" not in r.text.split("<body>")[0]
    assert client.get("/static/katex/katex.min.js").status_code == 200
    assert client.get("/static/katex/LICENSE").status_code == 200
    assert client.get("/static/app.js").status_code == 200


def test_start_step_and_snapshot_numbers_are_the_librarys(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        _send(ws, type="config", config={"optimizer": "adam", "learning_rate": 0.01, "seed": 3})
        data = _until(ws, "data")
        assert data["config"]["optimizer"] == "adam"
        first = _until(ws, "snapshot")
        assert first["epoch"] == 0
        _send(ws, type="step")
        formulas = _until(ws, "formulas")
        tags = {e["tag"] for sec in formulas["sections"] for e in sec["equations"]}
        assert {"BP1", "BP2", "BP3", "BP4", "update"} <= tags
        snap = _until(ws, "snapshot")
        assert snap["step"] == 1 and snap["layers"][0]["adam_m"] is not None
        session = next(iter(client.app_ref.state.sessions))
        with session.lock:
            r = snap["selected"]
            recs = session.net.trace(session.X_train[r:r + 1], session.t_train[r:r + 1], session.loss)
            for sent, rec in zip(snap["sample"], recs):
                np.testing.assert_allclose(sent["delta"], rec["delta"][0], rtol=0, atol=1e-12)
                np.testing.assert_allclose(sent["z"], rec["z"][0], rtol=0, atol=1e-12)
            for layer in snap["layers"]:
                i = layer["index"]
                np.testing.assert_array_equal(np.array(layer["W"]), session.net.params[f"{i}.W"])
                np.testing.assert_array_equal(np.array(layer["dW"]), session.net.grads[f"{i}.W"])


def test_played_epochs_equal_one_fit_with_the_same_seed():
    cfg = check_config({"dataset": "moons", "optimizer": "momentum", "learning_rate": 0.1, "seed": 7,
                        "layers": [{"units": 5, "activation": "relu", "batchnorm": True, "dropout": 0.1}]})
    s = Session(lambda m: None, cfg)
    try:
        s.train_epochs(4)
        snap = s.snapshot()
        net = build_mlp(2, [5], 2, activation="relu", batchnorm=True, dropout=0.1, seed=7, dtype="float64")
        net.fit(s.X_train, s.y_train, loss=bp.CrossEntropy(), optimizer=bp.optim.get("momentum", lr=0.1),
                epochs=4, batch_size=10, verbose=0)
        for layer in snap["layers"]:
            np.testing.assert_array_equal(np.array(layer["W"]), net.params[f"{layer['index']}.W"])
        assert snap["epoch"] == 4 and len(snap["history"]) == 4
    finally:
        s.close()


def test_play_streams_throttled_snapshots_and_pause_answers_at_once(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        _send(ws, type="hello")
        _until(ws, "snapshot")
        _send(ws, type="play")
        assert _until(ws, "state")["playing"] is True
        t0, count, epochs = time.monotonic(), 0, []
        while time.monotonic() - t0 < 0.7:
            epochs.append(_until(ws, "snapshot")["epoch"])
            count += 1
        assert epochs[-1] > epochs[0] and count <= 0.7 * 20 + 2
        t1 = time.monotonic()
        _send(ws, type="pause")
        assert _until(ws, "state")["playing"] is False
        assert time.monotonic() - t1 < 1.0
        paused = _until(ws, "snapshot")["epoch"]
        _send(ws, type="reset")
        assert _until(ws, "snapshot")["epoch"] == 0
        assert paused > 0


@pytest.mark.parametrize("text, words", [
    ("not json", "not JSON"),
    ("[1, 2]", '"type"'),
    (json.dumps({"type": "fly"}), "unknown message type"),
    (json.dumps({"type": "config", "config": {"layers": [{"units": 99}]}}), "units"),
    (json.dumps({"type": "config", "config": {"learning_rate": -1}}), "learning rate"),
    (json.dumps({"type": "config", "config": {"colour": 1}}), "unknown setting"),
    (json.dumps({"type": "config", "config": {"dataset": "plane", "loss": "cross_entropy"}}), "regression"),
    (json.dumps({"type": "select", "index": 10**9}), "select"),
    (json.dumps({"type": "upload", "name": "a.csv", "csv": "x,y\n1,oops\n"}), "a.csv"),
    (json.dumps({"type": "export", "what": "pdf"}), "export"),
    ("[" * 100000 + "]" * 100000, "not JSON"),
])
def test_a_malformed_message_gets_an_error_and_the_session_goes_on(client, text, words):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(text)
        err = _until(ws, "error")
        assert words in err["message"]
        _send(ws, type="hello")
        assert _until(ws, "snapshot")["epoch"] == 0


def test_an_oversized_message_and_upload_are_refused(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "upload", "csv": "1,2,3\n" * (MAX_MESSAGE_BYTES // 6 + 10)}))
        assert "over the limit" in _until(ws, "error")["message"]
        _send(ws, type="upload", name="big.csv", csv="1,2,3\n" * 200000)
        assert "big.csv is over" in _until(ws, "error")["message"]
        _send(ws, type="hello")
        assert _until(ws, "snapshot")["task"] == "classification"


def test_a_bad_origin_or_host_is_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
            pass
    assert info.value.code == 1008
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"host": "evil.example", **ORIGIN}):
            pass
    assert client.get("/", headers={"host": "rebound.example"}).status_code == 400


def test_two_sessions_are_independent_and_connections_are_capped(client):
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/ws", headers=ORIGIN) as a, client.websocket_connect("/ws", headers=ORIGIN) as b:
        _send(a, type="config", config={"dataset": "xor", "seed": 1})
        _until(a, "snapshot")
        _send(b, type="hello")
        _until(b, "snapshot")
        _send(a, type="step")
        sa = _until(a, "snapshot")
        _send(b, type="hello")
        sb = _until(b, "snapshot")
        assert sa["step"] == 1 and sb["step"] == 0
        assert sa["layers"][0]["W"] != sb["layers"][0]["W"]
        with client.websocket_connect("/ws", headers=ORIGIN) as c:
            _send(c, type="hello")
            _until(c, "snapshot")
            with pytest.raises(WebSocketDisconnect) as info:
                with client.websocket_connect("/ws", headers=ORIGIN) as d:
                    assert "sessions at once" in _until(d, "error")["message"]
                    d.receive_text()
            assert info.value.code == 1013


def test_exports_model_history_and_command(client, tmp_path):
    import base64

    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        _send(ws, type="hello")
        _until(ws, "snapshot")
        _send(ws, type="step")
        _until(ws, "snapshot")
        _send(ws, type="export", what="model")
        m = _until(ws, "export")
        path = tmp_path / m["filename"]
        path.write_bytes(base64.b64decode(m["base64"]))
        session = next(iter(client.app_ref.state.sessions))
        X = np.random.default_rng(0).uniform(-1, 1, (10, 2))
        np.testing.assert_array_equal(bp.load(path).predict(X), session.net.predict(X))
        _send(ws, type="export", what="history")
        assert _until(ws, "export")["text"].startswith("epoch,step,loss,val_loss,grad_norm_W1")
        _send(ws, type="export", what="command")
        cmd = _until(ws, "export")["text"]
        assert cmd.startswith("bprop train --data circles") and "--lr 0.03" in cmd and "#" not in cmd
    from bprop.cli import main

    run = tmp_path / "run"
    argv = cmd.split()[1:] + ["--epochs", "1", "--quiet", "--no-plots", "--out", str(run)]
    assert main(argv) == 0 and (run / "model.npz").exists()      # the command line runs as it is


def test_uploaded_csv_with_more_features_draws_the_first_two():
    s = Session(lambda m: None)
    try:
        rows = "\n".join(f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{i % 3},{i % 2}" for i in range(60))
        s.handle({"type": "upload", "name": "d.csv", "csv": "a,b,c,label\n" + rows})
        snap = s.snapshot()
        assert snap["widths"][0] == 3 and s.cfg["dataset"] == "csv"
        with pytest.raises(ProtocolError, match="at least two"):
            s.handle({"type": "upload", "name": "one.csv", "csv": "a,label\n" + "\n".join(f"{i},{i % 2}" for i in range(20))})
        assert s.snapshot()["widths"][0] == 3         # the previous data set stays
    finally:
        s.close()


def test_defaults_are_a_valid_config():
    assert check_config({}) == {**DEFAULTS, "layers": DEFAULTS["layers"]}


def test_l1_regularisation_adds_lambda_sign_theta_to_the_gradient():
    from bprop.optim.transforms import AddL1Penalty, from_config

    s = Session(lambda m: None, check_config({"regularization": "l1", "reg_rate": 0.01, "learning_rate": 0.1}))
    try:
        before = {k: v.copy() for k, v in s.net.params.items()}
        s.step()
        for k, theta in before.items():   # SGD: θ ← θ − η (∂C/∂θ + λ sign θ)
            expected = theta - 0.1 * (s.net.grads[k] + 0.01 * np.sign(theta))
            np.testing.assert_allclose(s.net.params[k], expected, rtol=0, atol=1e-15)
        assert "L1" in s.command_line()
    finally:
        s.close()
    t = from_config(AddL1Penalty(0.5).get_config())
    assert isinstance(t, AddL1Penalty) and t.l1 == 0.5
    with pytest.raises(ValueError):
        AddL1Penalty(-1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the diverging loss overflows on its way to inf
def test_a_diverging_run_stops_play_with_an_error_message():
    msgs = []
    s = Session(msgs.append, check_config({"dataset": "plane", "learning_rate": 10,
                                           "layers": [{"units": 8, "activation": "relu"}]}))
    try:
        s.handle({"type": "play"})
        deadline = time.monotonic() + 10
        while not any(m["type"] == "error" for m in msgs) and time.monotonic() < deadline:
            time.sleep(0.01)
        err = next(m for m in msgs if m["type"] == "error")
        assert "training stopped: training diverged" in err["message"] and "smaller learning rate" in err["message"]
        assert not s.playing and s.thread.is_alive()
        assert s.handle({"type": "reset"})[-1]["epoch"] == 0
    finally:
        s.close()


def test_a_config_answer_names_the_config_it_answers():
    """The page numbers its configs (``seq``) and applies only the answer to its latest one, so an answer to
    an older config never overwrites a newer change made meanwhile (a race under load)."""
    from bprop.playground.server import _answer
    s = Session(lambda m: None)
    try:
        data = next(m for m in s.handle({"type": "config", "config": {"learning_rate": 0.01}, "seq": 7})
                    if m["type"] == "data")
        assert data["seq"] == 7 and data["config"]["learning_rate"] == 0.01
        assert "seq" not in next(m for m in s.handle({"type": "hello"}) if m["type"] == "data")
        error, = _answer(s, json.dumps({"type": "config", "config": {"learning_rate": -1}, "seq": 8}))
        assert error["type"] == "error" and error["request"] == "config" and error["seq"] == 8
    finally:
        s.close()
