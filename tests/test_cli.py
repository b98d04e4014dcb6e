"""The ``bprop`` command, run for real: ``main([...])`` in-process (fast) and a few subprocesses.

Every training run here is a few epochs; plots are skipped except where they
are what the test checks.
"""

import math
import os
import signal
import subprocess
import sys
import time
import tomllib

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import bprop as bp  # noqa: E402
from bprop.cli import build_parser, main  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FILES = ("model.npz", "checkpoint.npz", "history.csv", "history.json", "config.toml", "report.md")


def run_cli(capsys, *argv):
    """``main(argv)`` → (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def env():
    e = dict(os.environ, MPLBACKEND="Agg", COLUMNS="120")
    e.pop("BPROP_DEBUG", None)
    return e


def check_png(path):
    import matplotlib.image
    with open(path, "rb") as f:
        head = f.read(8)
    assert head == PNG_SIGNATURE, path
    assert os.path.getsize(path) > 5_000, path
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200, (path, img.shape)
    assert img[..., :3].std() > 0.05, f"{path} looks blank"


def models_equal(a, b):
    return set(a.params) == set(b.params) and all(np.array_equal(a.params[k], b.params[k]) for k in a.params) \
        and all(np.array_equal(a.buffers[k], b.buffers[k]) for k in a.buffers)


# --------------------------------------------------------------------------- help
def test_python_m_bprop_help():
    res = subprocess.run([sys.executable, "-m", "bprop", "--help"], capture_output=True, text=True, env=env(),
                         timeout=60)
    assert res.returncode == 0, res.stderr
    for cmd in ("train", "evaluate", "predict", "explain", "gradcheck", "datasets"):
        assert cmd in res.stdout


def test_every_option_is_documented_with_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert p.epilog and "bprop " + name in p.epilog, name
        for action in p._actions:
            if action.dest in ("help",) or not action.option_strings:
                continue
            assert action.help, f"{name} {action.option_strings} has no help"
            flags = " ".join(action.option_strings)
            if action.nargs != 0 and action.choices is None:
                assert "e.g." in action.help, f"bprop {name} {flags}: no example in its help"


def test_subcommand_help_exits_zero(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0 and "--early-stopping" in out and "--resume" in out


# --------------------------------------------------------------------------- train
def test_default_train_writes_the_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--epochs", 2, "--out", run)
    assert code == 0, err
    for name in RUN_FILES + ("loss.png", "metric.png", "gradient_norms.png", "confusion_matrix.png"):
        assert (run / name).is_file(), name
    for png in run.glob("*.png"):
        check_png(png)
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["data"] == "digits" and cfg["layers"] == [128, 64] and cfg["loss"] == "cross_entropy"
    assert cfg["epochs"] == 2 and cfg["init"] == "he_normal"
    net = bp.load(run / "model.npz")
    assert net.n_in == 64 and net.n_out == 10
    assert net.metadata["class_names"] == [str(i) for i in range(10)]
    assert len(net.metadata["standardizer"]["mean"]) == 64
    import json
    hist = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in hist["records"]] == [1, 2]
    assert "grad_norm/0.W" in hist["records"][0]
    assert (run / "history.csv").read_text().splitlines()[0].startswith("epoch,loss")
    report = (run / "report.md").read_text()
    assert "17,226 parameters" in report and "(confusion_matrix.png)" in report and "accuracy" in report
    # the epoch table and the final metrics
    assert "val loss" in out and "2/2" in out and "accuracy" in out


@pytest.mark.parametrize("data, plot", [("moons", "decision_boundary.png"), ("sine", "fit.png"),
                                        ("plane", "surface.png")])
def test_task_specific_plots(tmp_path, capsys, data, plot):
    run = tmp_path / data
    code, _, err = run_cli(capsys, "train", "--data", data, "--n-samples", 200, "--layers", 8, "--epochs", 3,
                           "--out", run, "--quiet")
    assert code == 0, err
    check_png(run / plot)
    other = "confusion_matrix.png" if data == "moons" else "residuals.png"
    check_png(run / other)


def test_resume_equals_an_uninterrupted_run(tmp_path, capsys):
    # BatchNorm buffers, dropout masks (the generator), a schedule, early-stopping state: all in the checkpoint.
    # (A schedule whose length follows --epochs, such as cosine, is fixed when the run starts: resuming with
    # more epochs does not stretch it, so such a run is compared with its own --epochs only.)
    common = ["--data", "moons", "--n-samples", 300, "--layers", "16,16", "--batchnorm", "--dropout", 0.1,
              "--schedule", "step:every=1,gamma=0.7", "--early-stopping", 50, "--quiet", "--no-plots"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_cli(capsys, "train", *common, "--epochs", 4, "--out", straight)[0] == 0
    assert run_cli(capsys, "train", *common, "--epochs", 2, "--out", split)[0] == 0
    assert not models_equal(bp.load(straight / "model.npz"), bp.load(split / "model.npz"))
    code, _, err = run_cli(capsys, "train", "--resume", split, "--epochs", 4, "--quiet", "--no-plots")
    assert code == 0, err
    a, b = bp.load(straight / "model.npz"), bp.load(split / "model.npz")
    if not models_equal(a, b):
        pytest.fail("resumed run differs from the uninterrupted one")


def test_resume_without_schedule_is_bit_identical(tmp_path, capsys):
    common = ["--n-samples", 400, "--layers", 32, "--quiet", "--no-plots"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_cli(capsys, "train", *common, "--epochs", 4, "--out", straight)[0] == 0
    assert run_cli(capsys, "train", *common, "--epochs", 2, "--out", split)[0] == 0
    code, _, err = run_cli(capsys, "train", "--resume", split, "--epochs", 4, "--quiet", "--no-plots")
    assert code == 0, err
    assert models_equal(bp.load(straight / "model.npz"), bp.load(split / "model.npz"))
    import json
    ha = json.loads((straight / "history.json").read_text())["records"]
    hb = json.loads((split / "history.json").read_text())["records"]
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]
    assert tomllib.loads((split / "config.toml").read_text())["epochs"] == 4


def test_resume_refuses_other_settings(tmp_path, capsys):
    run = tmp_path / "r"
    assert run_cli(capsys, "train", "--data", "xor", "--epochs", 1, "--out", run, "--quiet", "--no-plots")[0] == 0
    code, _, err = run_cli(capsys, "train", "--resume", run, "--lr", 0.5)
    assert code == 2 and err.startswith("error: --resume") and "--lr" in err


def test_config_file_repeats_the_run_and_options_override_it(tmp_path, capsys):
    first, again, other = tmp_path / "first", tmp_path / "again", tmp_path / "other"
    code, _, err = run_cli(capsys, "train", "--data", "circles", "--n-samples", 200, "--layers", "8,8",
                           "--activation", "tanh", "--optimizer", "momentum", "--epochs", 3, "--seed", 5,
                           "--out", first, "--quiet", "--no-plots")
    assert code == 0, err
    cfg_path = first / "config.toml"
    assert run_cli(capsys, "train", "--config", cfg_path, "--out", again, "--quiet", "--no-plots")[0] == 0
    assert models_equal(bp.load(first / "model.npz"), bp.load(again / "model.npz"))
    code, _, err = run_cli(capsys, "train", "--config", cfg_path, "--epochs", 1, "--lr", 0.05, "--out", other,
                           "--quiet", "--no-plots")
    assert code == 0, err
    cfg = tomllib.loads((other / "config.toml").read_text())
    assert cfg["epochs"] == 1 and cfg["lr"] == 0.05 and cfg["activation"] == "tanh" and cfg["seed"] == 5
    assert len(bp.training.History.from_dict(
        __import__("json").loads((other / "history.json").read_text())).records) == 1


def test_config_accepts_dashed_keys_and_strings(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('data = "xor"\nbatch-size = 16\nlayers = "4"\nepochs = 1\nquiet = true\n')
    code, out, err = run_cli(capsys, "train", "--config", cfg, "--out", tmp_path / "r", "--no-plots")
    assert code == 0, err
    resolved = tomllib.loads((tmp_path / "r" / "config.toml").read_text())
    assert resolved["batch_size"] == 16 and resolved["layers"] == [4]


def test_ctrl_c_keeps_the_checkpoint_and_exits_130(tmp_path):
    run = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "bprop", "train", "--epochs", 100000, "--batch-size", 8,
                             "--out", run, "--no-plots"] if False else
                            [sys.executable, "-m", "bprop", "train", "--epochs", "100000", "--batch-size", "8",
                             "--out", str(run), "--no-plots"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        deadline = time.time() + 60
        while not (run / "checkpoint.npz").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert (run / "checkpoint.npz").exists(), proc.stderr.read() if proc.poll() is not None else "timeout"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"bprop train --resume {run}" in err
    ckpt = bp.training.load_checkpoint(run / "checkpoint.npz")[1]
    assert ckpt["epoch"] >= 1


# --------------------------------------------------------------------------- evaluate / predict
def test_predict_round_trip_with_labels_and_proba(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 120
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "cat", "dog")
    data = tmp_path / "pets.csv"
    rows = ["a,b,c,kind"] + [f"{x[0]:.5f},{x[1]:.5f},{x[2]:.5f},{lab}" for x, lab in zip(X, labels)]
    data.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{data}", "--target", "kind", "--layers", 8,
                           "--epochs", 30, "--lr", 0.02, "--out", run, "--quiet", "--no-plots")
    assert code == 0, err
    # input: same columns in another order, plus the target column (ignored)
    inp = tmp_path / "new.csv"
    inp.write_text("c,kind,a,b\n" + "\n".join(f"{x[2]},{lab},{x[0]},{x[1]}" for x, lab in zip(X[:10], labels[:10]))
                   + "\n")
    out_csv = tmp_path / "pred.csv"
    code, _, err = run_cli(capsys, "predict", run / "model.npz", inp, "-o", out_csv, "--proba")
    assert code == 0, err
    lines = out_csv.read_text().splitlines()
    assert lines[0] == "prediction,p_cat,p_dog" and len(lines) == 11
    net = bp.load(run / "model.npz")
    st = bp.data.Standardizer.from_dict(net.metadata["standardizer"])
    P = bp.CrossEntropy().output_to_prediction(net.predict(st.transform(X[:10])).astype(np.float64))
    for line, p in zip(lines[1:], P):
        label, pc, pd = line.split(",")
        assert label == ("cat" if p[0] > p[1] else "dog")
        assert math.isclose(float(pc), p[0], rel_tol=1e-5) and math.isclose(float(pc) + float(pd), 1, rel_tol=1e-5)
    assert np.mean([l.split(",")[0] == t for l, t in zip(lines[1:], labels[:10])]) >= 0.8
    # to stdout, a run folder as MODEL
    code, out, _ = run_cli(capsys, "predict", run, inp)
    assert code == 0 and out.splitlines()[0] == "prediction" and len(out.splitlines()) == 11


def test_evaluate_run_and_model(tmp_path, capsys):
    run = tmp_path / "r"
    assert run_cli(capsys, "train", "--data", "iris", "--layers", 8, "--epochs", 20, "--out", run, "--quiet",
                   "--no-plots")[0] == 0
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0, err
    assert "accuracy" in out and "confusion matrix" in out and "log_loss" in out
    code, out, err = run_cli(capsys, "evaluate", run / "model.npz", "--data", "iris", "--part", "train")
    assert code == 0, err


# --------------------------------------------------------------------------- explain
def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def seed_numbers():
    """The 1-1-1 example by hand: x = 0.5, w1 = 0.8, w2 = 0.6, y = 0.9, η = 0.1, C = ½(a2 − y)²."""
    x, w1, w2, y, lr = 0.5, 0.8, 0.6, 0.9, 0.1
    z1 = w1 * x
    a1 = sigmoid(z1)
    z2 = w2 * a1
    a2 = sigmoid(z2)
    C = 0.5 * (a2 - y) ** 2
    d2 = (a2 - y) * a2 * (1 - a2)          # BP1
    d1 = d2 * w2 * a1 * (1 - a1)           # BP2
    dw2, dw1 = d2 * a1, d1 * x             # BP4
    w1_new, w2_new = w1 - lr * dw1, w2 - lr * dw2
    w1_seed = w1 - lr * a1 * dw1           # the tutorial code's extra factor a1
    return dict(z1=z1, a1=a1, z2=z2, a2=a2, C=C, d2=d2, d1=d1, dw2=dw2, dw1=dw1, w1_new=w1_new,
                w2_new=w2_new, w1_seed=w1_seed)


def fmt6(v):
    return f"{v:.6f}".replace("-", "−")


def test_explain_default_is_the_seed_example(capsys):
    code, out, err = run_cli(capsys, "explain")
    assert code == 0, err
    h = seed_numbers()
    assert fmt6(h["w1_new"]) == "0.800543" and fmt6(h["w2_new"]) == "0.604510"
    for key in ("z1", "a1", "z2", "a2", "C", "d2", "d1", "dw2", "dw1", "w1_new", "w2_new", "w1_seed"):
        assert fmt6(h[key]) in out, f"{key} = {fmt6(h[key])} missing"
    for tag in ("[BP1]", "[BP2]", "[BP4]"):
        assert tag in out
    assert "δ⁽²⁾ = ∇ₐC ⊙ σ'(z⁽²⁾)" in out and "δ⁽¹⁾ = (δ⁽²⁾ @ W⁽²⁾) ⊙ σ'(z⁽¹⁾)" in out
    assert "W⁽¹⁾ ← W⁽¹⁾ − η ∂C/∂W⁽¹⁾" in out
    assert "classic mistake" in out and fmt6(h["w1_seed"]) in out


def test_explain_formats_and_summary(capsys):
    code, md, _ = run_cli(capsys, "explain", "--format", "markdown")
    assert code == 0 and "## Step 1" in md and "**BP1**" in md and "$" in md and "0.800543" in md
    code, tex, _ = run_cli(capsys, "explain", "--format", "latex")
    assert code == 0 and r"\begin{align*}" in tex and r"\tag*{BP2}" in tex and "0.604510" in tex
    code, out, _ = run_cli(capsys, "explain", "--steps", 1000, "--every", 100)
    assert code == 0
    steps = [line for line in out.splitlines() if line.strip().startswith("step ")]
    assert len(steps) == 10 and steps[-1].strip().startswith("step 1000")
    assert out.count("[BP1]") == 1   # only step 1 in full


def test_explain_bigger_network_matches_numpy(capsys):
    code, out, err = run_cli(capsys, "explain", "--layers", "2,2,1", "--weights", "0.15,0.20|0.25,0.30;0.40,0.45",
                             "--biases", "0.35,0.35;0.60", "--input", "0.05,0.10", "--target", 0.01, "--lr", 0.5)
    assert code == 0, err
    # by hand, batch-major: z = a @ W.T + b
    x = np.array([[0.05, 0.10]])
    W1, b1 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35, 0.35])
    W2, b2 = np.array([[0.40, 0.45]]), np.array([0.60])
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a1 = s(x @ W1.T + b1)
    a2 = s(a1 @ W2.T + b2)
    d2 = (a2 - 0.01) * a2 * (1 - a2)
    d1 = (d2 @ W2) * a1 * (1 - a1)
    W1n, W2n = W1 - 0.5 * d1.T @ x, W2 - 0.5 * d2.T @ a1
    b1n, b2n = b1 - 0.5 * d1.sum(0), b2 - 0.5 * d2.sum(0)
    for v in np.concatenate([W1n.ravel(), W2n.ravel(), b1n, b2n]):
        assert fmt6(v) in out
    assert "[BP3]" in out
    code, tex, _ = run_cli(capsys, "explain", "--layers", "2,2,1", "--weights", "0.15,0.20|0.25,0.30;0.40,0.45",
                           "--biases", "0.35,0.35;0.60", "--input", "0.05,0.10", "--target", 0.01, "--format", "latex")
    assert code == 0 and r"\tag*{BP3}" in tex
    start = next(line for line in tex.splitlines() if line.startswith("Start:"))
    assert r"\begin{bmatrix}0.150000 & 0.200000 \\ 0.250000 & 0.300000\end{bmatrix}" in start
    assert r"\&" not in tex   # math keeps its column separators


@pytest.mark.parametrize("argv, message", [
    (["--layers", "2,2,1", "--weights", "1,2;3"], "must have shape (n_out, n_in) = (2, 2)"),
    (["--layers", "2,1"], "--input and --target"),
    (["--activation", "swish"], "valid activations"),
    (["--loss", "cross_entropy", "--output-activation", "sigmoid"], "takes logits"),
    (["--lr", "-1"], "learning rate must be positive"),
])
def test_explain_usage_errors(capsys, argv, message):
    code, out, err = run_cli(capsys, "explain", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


# --------------------------------------------------------------------------- gradcheck, datasets
def test_gradcheck_passes(capsys):
    code, out, err = run_cli(capsys, "gradcheck", "--layers", "3,6,4,2", "--activation", "tanh", "--batchnorm",
                             "--dropout", 0.2)
    assert code == 0, err
    assert "PASSED" in out and "relative error" in out and "1.gamma" in out


def test_gradcheck_mse_and_named_data(capsys):
    code, out, _ = run_cli(capsys, "gradcheck", "--layers", "3,4,2", "--activation", "sigmoid",
                           "--output-activation", "sigmoid", "--loss", "mse")
    assert code == 0 and "PASSED" in out
    code, out, _ = run_cli(capsys, "gradcheck", "--data", "iris", "--layers", 5, "--n-samples", 6)
    assert code == 0 and "iris" in out


def test_gradcheck_failure_exits_1(capsys):
    # No float64 central difference is exact: a tolerance of 0 must fail, and say so.
    code, out, _ = run_cli(capsys, "gradcheck", "--tolerance", 0)
    assert code == 1 and "FAILED" in out and "FAIL" in out


def test_datasets_lists_what_data_accepts(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name in ("xor", "circles", "moons", "spiral", "gaussian", "sine", "digits", "iris", "mnist",
                 "fashion-mnist", "csv:PATH"):
        assert name in out


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,cat\n3,x,dog\n5,6,cat\n7,8,dog\n")
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n")
    notnpz = tmp_path / "model.npz"
    notnpz.write_text("not a model")
    return {"bad": bad, "ok": ok, "notnpz": notnpz, "dir": tmp_path}


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    run = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "--epochs", "1", "--layers", "8", "--out", str(run), "--quiet", "--no-plots"]) == 0
    return run


BAD = [
    (["train", "--data", "nope"], 2, "unknown data set 'nope'"),
    (["train", "--data", "digts"], 2, "did you mean 'digits'"),
    (["train", "--activation", "swish"], 2, "valid activations: identity"),
    (["train", "--optimizer", "adamx"], 2, "valid optimizers: sgd"),
    (["train", "--loss", "hinge"], 2, "valid losses"),
    (["train", "--layers", "12,x"], 2, "--layers"),
    (["train", "--schedule", "wiggly"], 2, "valid schedules"),
    (["train", "--dropout", "1.5"], 2, "--dropout"),
    (["train", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["train", "--noise", "0.1"], 2, "noise applies only to synthetic"),
    (["train", "--data", "sine", "--loss", "cross_entropy"], 2, "regression data set"),
    (["train", "--data", "csv:{dir}/missing.csv"], 1, "no such file"),
    (["train", "--data", "csv:{bad}"], 1, "non-numeric value 'x'"),
    (["train", "--data", "csv:{ok}", "--target", "price"], 2, "target column 'price' is not in"),
    (["train", "--config", "{dir}/none.toml"], 1, "no such file"),
    (["predict", "{dir}/nothing.npz", "{ok}"], 1, "no such model file"),
    (["predict", "{notnpz}", "{ok}"], 1, "not a bprop"),
    (["evaluate", "{dir}/nowhere"], 1, "no such model file or run folder"),
    (["gradcheck", "--activation", "nope"], 2, "valid activations"),
    (["explain", "--format", "html"], 2, "invalid choice"),
    (["nonsense"], 2, "invalid choice"),
]


@pytest.mark.parametrize("argv, status, message", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input_gives_one_line(files, capsys, argv, status, message):
    argv = [a.format(**files) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code == status, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and message in err, err


def test_model_data_mismatch(digits_model, files, capsys):
    code, _, err = run_cli(capsys, "evaluate", digits_model, "--data", "moons")
    assert code == 1 and err.count("\n") == 1
    assert "the model expects 64 input features" in err and "has 2" in err
    code, _, err = run_cli(capsys, "predict", digits_model, files["ok"])
    assert code == 1 and err.count("\n") == 1 and "expects 64" in err


def test_bad_config_key_is_a_usage_error(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("epochs = 3\nlearning_rate = 0.1\n")
    code, _, err = run_cli(capsys, "train", "--config", cfg)
    assert code == 2 and "unknown key 'learning_rate'" in err and "valid keys" in err


@pytest.mark.parametrize("text, message", [
    ('epochs = "many"\n', "--epochs: epochs must be an integer, got str 'many'"),
    ("epochs = 2.5\n", "--epochs: epochs must be an integer, got float 2.5"),
    ("lr = -0.5\n", "--lr: Invalid learning rate: -0.5 (expected lr > 0)"),
    ('batchnorm = "yes"\n', "--batchnorm: batchnorm must be a bool, got str 'yes'"),
])
def test_bad_config_values_are_usage_errors(tmp_path, capsys, text, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    code, _, err = run_cli(capsys, "train", "--config", cfg)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_subprocess_error_has_no_traceback(tmp_path):
    res = subprocess.run([sys.executable, "-m", "bprop", "train", "--activation", "swish"], capture_output=True,
                         text=True, env=env(), timeout=60)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and res.stdout == ""


def test_threads_option_trains_the_same_run_and_is_not_saved(tmp_path, capsys):
    pytest.importorskip("threadpoolctl")
    common = ["--data", "moons", "--n-samples", 200, "--layers", 8, "--epochs", 2, "--quiet", "--no-plots"]
    assert run_cli(capsys, "train", *common, "--out", tmp_path / "a")[0] == 0
    assert run_cli(capsys, "train", *common, "--threads", 1, "--out", tmp_path / "b")[0] == 0
    assert models_equal(bp.load(tmp_path / "a" / "model.npz"), bp.load(tmp_path / "b" / "model.npz"))
    assert "threads" not in tomllib.loads((tmp_path / "b" / "config.toml").read_text())
    code, _, err = run_cli(capsys, "train", "--resume", tmp_path / "b", "--epochs", 3, "--threads", 1, "--quiet",
                           "--no-plots")
    assert code == 0, err
    code, _, err = run_cli(capsys, "train", *common, "--threads", 0, "--out", tmp_path / "c")
    assert code == 2 and "--threads" in err and not (tmp_path / "c").exists()
