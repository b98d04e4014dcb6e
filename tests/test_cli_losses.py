"""The command line's new losses (``--loss mae``, ``huber:delta=…``, ``cross_entropy:label_smoothing=…``),
``--init torch_default``, multi-label CSV targets (``--target a,b`` with BCE) and ``explain`` of each loss."""

import csv
import os
import re

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import bprop as bp  # noqa: E402
from bprop.cli import main  # noqa: E402
from conftest import require_module  # noqa: E402


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, run, *extra):
    code, out, err = cli(capsys, "train", "--epochs", "2", "--quiet", "--no-plots", "--out", run, *extra)
    assert code == 0, err
    return bp.load(run / "model.npz")


@pytest.mark.parametrize("data, loss, spec", [
    ("sine", "mae", "mae"),
    ("sine", "huber:delta=0.5", "huber:delta=0.5"),
    ("moons", "cross_entropy:label_smoothing=0.1", "cross_entropy:label_smoothing=0.1"),
    ("moons", "CE", "cross_entropy"),
])
def test_train_with_each_loss_records_it(data, loss, spec, tmp_path, capsys):
    run = tmp_path / "run"
    net = train(capsys, run, "--data", data, "--layers", "8", "--loss", loss)
    assert net.metadata["loss"] == spec
    assert f'loss = "{spec}"' in (run / "config.toml").read_text()
    code, out, err = cli(capsys, "evaluate", run)
    assert code == 0, err
    code, _, err = cli(capsys, "train", "--resume", run, "--epochs", "3", "--quiet", "--no-plots")
    assert code == 0, err
    assert repr(bp.losses.get(bp.load(run / "model.npz").metadata["loss"])) == repr(bp.losses.get(spec))


@pytest.mark.parametrize("loss, message", [
    ("huber:alpha=1", "Huber has no argument 'alpha'"),
    ("huber:delta=-1", "delta"),
    ("hubber", "unknown loss 'hubber'"),
    ("cross_entropy:label_smoothing=2", "label_smoothing"),
])
def test_bad_loss_specs_are_usage_errors(loss, message, tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--data", "moons", "--loss", loss, "--out", tmp_path / "r")
    assert code == 2 and message in err and err.startswith("error: ")


def test_regression_losses_refuse_class_data_only_where_meaningless(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--data", "sine", "--loss", "cross_entropy:label_smoothing=0.1",
                       "--out", tmp_path / "r", "--quiet", "--no-plots", "--epochs", "1")
    assert code == 2 and "needs class labels" in err


def test_init_torch_default_gives_weights_and_biases_its_bounds(tmp_path, capsys):
    net = train(capsys, tmp_path / "run", "--data", "moons", "--layers", "16", "--init", "torch_default",
                "--epochs", "0")
    first = net.layers[0]
    assert first.init.name == "torch_default" and first.bias_init.name == "torch_default"
    bound = 1 / np.sqrt(2)
    assert 0 < np.abs(net.params["0.b"]).max() <= bound and np.abs(net.params["0.W"]).max() <= bound


def write_multilabel_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    rows = [["x1", "x2", "x3", "rain", "wind"]]
    for x in X:
        rows.append([f"{v:.6f}" for v in x] + [str(int(x[0] > 0)), str(int(x[1] + x[2] > 0.3))])
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return X


def test_multilabel_csv_targets_train_predict_evaluate_and_export(tmp_path, capsys):
    data = tmp_path / "weather.csv"
    X = write_multilabel_csv(data)
    run = tmp_path / "run"
    net = train(capsys, run, "--data", f"csv:{data}", "--target", "rain,wind", "--layers", "8", "--epochs", "5")
    assert net.n_out == 2 and net.n_in == 3
    assert net.metadata["task"] == "multilabel" and net.metadata["loss"] == "binary_cross_entropy"
    assert net.metadata["class_names"] == ["rain", "wind"] and net.metadata["feature_names"] == ["x1", "x2", "x3"]
    code, out, err = cli(capsys, "evaluate", run)
    assert code == 0, err
    assert "accuracy" in out and "subset_accuracy" in out
    points = tmp_path / "points.csv"
    with open(points, "w", newline="") as f:
        csv.writer(f).writerows([["x1", "x2", "x3"]] + [[f"{v:.6f}" for v in x] for x in X[:5]])
    code, out, err = cli(capsys, "predict", run, points, "--proba")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "rain,wind,p_rain,p_wind" and len(lines) == 6
    from bprop.cli.common import transform_features
    z = net.predict(transform_features(net, np.round(X[:5], 6), "points"))
    assert [line.split(",")[:2] for line in lines[1:]] == [[str(int(v > 0)) for v in row] for row in z]
    code, _, err = cli(capsys, "train", "--data", f"csv:{data}", "--target", "rain,wind", "--loss", "mse",
                       "--out", tmp_path / "r2", "--quiet")
    assert code == 2 and "--loss bce" in err

    ort = require_module("onnxruntime", "pip install onnxruntime")       # the ONNX export of this model
    assert cli(capsys, "export", run)[0] == 0
    sess = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, proba, label = sess.run(None, {"input": np.round(X[:5], 6).astype(np.float32)})
    np.testing.assert_array_equal(label, (z > 0).astype(np.int64))


def test_multilabel_csv_reader(tmp_path):
    data = tmp_path / "w.csv"
    write_multilabel_csv(data, n=40)
    ds = bp.data.load(f"csv:{data}", target=["rain", "wind"])
    assert ds.task == "multilabel" and ds.n_outputs == 2 and ds.y_train.shape[1] == 2
    assert ds.feature_names == ["x1", "x2", "x3"]
    ds = bp.data.load(f"csv:{data}", target=["x1", "x2"])          # not 0/1: regression on two outputs
    assert ds.task == "regression" and ds.n_outputs == 2 and ds.feature_names == ["x3", "rain", "wind"]
    with pytest.raises(ValueError, match="twice"):
        bp.data.load(f"csv:{data}", target=["rain", "rain"])


@pytest.mark.parametrize("loss", ["mae", "huber:delta=0.5"])
def test_explain_writes_each_loss(loss, capsys):
    code, out, err = cli(capsys, "explain", "--loss", loss)
    assert code == 0, err
    if loss == "mae":                       # C, and ∇ₐC = sign(a − y)/n (not the quadratic cost's (a − y)/n)
        assert "|a⁽²⁾ⱼ − yⱼ|" in out and "sign(a⁽²⁾ − y)/n" in out
    else:
        assert "h_δ(a⁽²⁾ⱼ − yⱼ)" in out and "clip(a⁽²⁾ − y, −δ, δ)/n" in out


def test_explain_label_smoothing_formula(capsys):
    code, out, err = cli(capsys, "explain", "--layers", "2,3,2", "--loss", "cross_entropy:label_smoothing=0.1",
                         "--input", "0.5,-0.2", "--target", "1")
    assert code == 0, err
    assert "y' = (1 − ε) y + ε/k" in out and "(softmax(z⁽²⁾) − y')/n" in out


def test_multilabel_targets_from_a_config_file(tmp_path, capsys):
    data = tmp_path / "weather.csv"
    write_multilabel_csv(data, n=60)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data = "csv:{data}"\ntarget = ["rain", "wind"]\nlayers = [4]\nepochs = 1\n')
    net = train(capsys, tmp_path / "run", "--config", cfg)
    assert net.metadata["task"] == "multilabel" and net.metadata["class_names"] == ["rain", "wind"]
    assert 'target = "rain,wind"' in (tmp_path / "run" / "config.toml").read_text()


def counts_csv(folder, n, offset, seed):
    """A CSV of ``n`` rows ``x, count`` with ``count ~ Poisson(e^(offset + x))``, ``x`` uniform in [−1, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    path = folder / "counts.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x", "count"])
        w.writerows(zip(x.round(4), rng.poisson(np.exp(offset + x))))
    return path, x


def test_train_with_poisson_loss_on_counts(tmp_path, capsys):
    # counts y ~ Poisson(e^(0.5 + x)): the Poisson loss predicts e^z, so every prediction is > 0
    data, x = counts_csv(tmp_path, 300, 0.5, seed=0)
    run = tmp_path / "run"
    net = train(capsys, run, "--data", f"csv:{data}", "--target", "count", "--loss", "poisson", "--layers", "8",
                "--lr", "0.01", "--epochs", "30")
    assert net.metadata["loss"] == "poisson"
    assert 'loss = "poisson"' in (run / "config.toml").read_text()
    code, out, err = cli(capsys, "predict", run, data, "--output", tmp_path / "pred.csv")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "pred.csv").open()))
    pred = np.array([float(r["prediction"]) for r in rows])
    assert pred.min() > 0                                          # e^z, never a negative count
    assert np.corrcoef(pred, np.exp(0.5 + x))[0, 1] > 0.9          # it learned the rate


def test_poisson_loss_refuses_negative_targets(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--data", "sine", "--loss", "poisson", "--out", tmp_path / "r",
                       "--quiet", "--no-plots", "--epochs", "1")
    assert code == 2 and err.startswith("error: --loss poisson models counts or rates y ≥ 0") and "use mse" in err


def test_poisson_run_reports_and_plots_the_rate(tmp_path, capsys):
    # report.md's metrics, evaluate and fit.png compare e^z (the predicted count) with the counts, not z:
    # with z (about ln 3 here) in place of the rate, R² would be far below 0
    data, _ = counts_csv(tmp_path, 400, 1.0, seed=1)
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", "--data", f"csv:{data}", "--target", "count", "--loss", "poisson",
                       "--layers", "8", "--lr", "0.01", "--epochs", "40", "--quiet", "--out", run)
    assert code == 0, err
    assert (run / "fit.png").is_file()
    code, out, err = cli(capsys, "evaluate", run)
    assert code == 0, err
    r2 = float(re.search(r"r2\W+(-?[0-9.]+)", out).group(1))
    assert r2 > 0.3
    assert re.search(r"r2\W+" + re.escape(f"{r2:.4f}"), (run / "report.md").read_text())
