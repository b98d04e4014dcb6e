"""The ``bprop`` command against hostile input and careless users (issue 10).

Every case ends in its one ``error:`` line with the documented exit status
(2: usage, 1: failure, 130: Ctrl-C), never a traceback, and nothing a run
folder holds is lost: run folders are locked, ``kill -9`` leaves only
complete files (and temporaries that the next run removes), and user text
can inject neither rich markup, HTML/Markdown nor spreadsheet formulas.
"""

import contextlib
import errno
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

os.environ.setdefault("MPLBACKEND", "Agg")

import bprop as bp  # noqa: E402
from bprop.cli import main  # noqa: E402
from bprop.io import is_temporary  # noqa: E402

QUICK = ["--quiet", "--no-plots"]
XOR = ["--data", "xor", "--n-samples", "40", "--layers", "4", "--epochs", "1"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(*argv):
    """``main(argv)`` in this process → (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_error(err: str) -> str:
    """The one ``error:`` line of ``err`` (asserting there is exactly one line and no traceback)."""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def env():
    e = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", COLUMNS="120")
    e.pop("BPROP_DEBUG", None)
    return e


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------- options checked before data
@pytest.mark.parametrize("argv, message", [
    (["--layers", "99999999999"], "--layers: hidden layer 1 of 99,999,999,999 units gives the network at least"),
    (["--layers", "20000,20000"], "--layers: hidden layer 2 of 20,000 units"),
    (["--schedule", "warmup:epochs=-3"], "--schedule warmup:epochs=-3: Invalid epochs: -3"),
    (["--schedule", "step:gamma=-1"], "--schedule step:every=6,gamma=-1: Invalid gamma: -1.0"),
    (["--schedule", "cosine:min_lr=5"], "--schedule cosine:min_lr=5: Invalid min_lr: 5.0"),
    (["--schedule", "plateau:patience=x"], "--schedule plateau:patience=x: patience must be a number"),
    (["--out", ""], "--out: expected a folder, got an empty string"),
    (["--data-dir", " "], "--data-dir: expected a folder, got an empty string"),
])
def test_bad_options_are_usage_errors_before_any_data(argv, message, monkeypatch):
    def no_data(*a, **k):
        raise AssertionError("data loaded before the options were checked")
    monkeypatch.setattr("bprop.data.load", no_data)
    code, _, err = cli("train", *argv)
    assert code == 2 and message in one_error(err)


@pytest.mark.parametrize("content, message", [
    (b"out = 5\n", "--out: out must be a str, got int 5"),
    (b'out = ""\n', "--out: expected a folder, got an empty string"),
    (b'quiet = "yes"\n', "--quiet: quiet must be a bool, got str 'yes'"),
    (b'schedule = "warmup:epochs=-3"\n', "--schedule warmup:epochs=-3: Invalid epochs: -3"),
    (b"data_dir = 3\n", "--data-dir: data_dir must be a str, got int 3"),
    (b"target = true\n", "--target: expected a column name or index, got True"),
    (b'data = "caf\xe9"\n', "is not UTF-8 text (byte 0xe9 at offset 11); save it as UTF-8"),
    (b"epochs = 1\n[optim]\nlr = 0.1\n", "--config: [optim] in"),
    (b"[train]\nepochs = 1\n[train.more]\nlr = 0.1\n", "--config: [more] in"),
    (b"epochs = [[", "is not valid TOML"),
])
def test_bad_config_files_are_usage_errors(tmp_path, content, message):
    cfg = write(tmp_path / "c.toml", content, "wb")
    code, _, err = cli("train", "--config", cfg)
    assert code == 2 and message in one_error(err)


def test_config_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "c.toml"
    os.mkfifo(fifo)                     # reading it would block for ever
    code, _, err = cli("train", "--config", fifo)
    assert code == 2 and "is not a regular file" in one_error(err)
    write(tmp_path / "big.toml", "# " + "x" * (1 << 20) + "\n")
    code, _, err = cli("train", "--config", tmp_path / "big.toml")
    assert code == 2 and "is over 1024 KiB" in one_error(err)


# --------------------------------------------------------------------------- run folders
def test_non_empty_out_needs_overwrite_which_removes_stale_files(tmp_path):
    run = tmp_path / "run"
    assert cli("train", *XOR, *QUICK, "--out", run)[0] == 0
    config = (run / "config.toml").read_bytes()
    code, _, err = cli("train", *XOR, *QUICK, "--seed", 2, "--out", run)
    assert code == 2 and f"--out {run} already holds a run; give --overwrite" in one_error(err)
    assert (run / "config.toml").read_bytes() == config
    write(run / "decision_boundary.png", "an old plot")                         # a stale file the run owns
    write(run / ".model.npz.bprop-tmp-abc123.npz", "half a model")               # a kill -9's temporary
    code, _, err = cli("train", *XOR, *QUICK, "--seed", 2, "--out", run, "--overwrite")
    assert code == 0, err
    assert sorted(os.listdir(run)) == [".bprop.lock", "checkpoint.npz", "config.toml", "history.csv",
                                       "history.json", "model.npz", "report.md"]
    assert tomllib.loads((run / "config.toml").read_text())["seed"] == 2


def test_folder_with_other_files_is_refused_even_with_overwrite(tmp_path):
    write(tmp_path / "thesis.tex", "mine")
    code, _, err = cli("train", *XOR, *QUICK, "--out", tmp_path, "--overwrite")
    assert code == 2 and "holds files that 'bprop train' did not write (thesis.tex)" in one_error(err)
    assert os.listdir(tmp_path) == ["thesis.tex"]


def test_failing_resume_keeps_the_config(tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert cli("train", *XOR, *QUICK, "--out", run)[0] == 0
    config = (run / "config.toml").read_bytes()

    def broken(*args, **kwargs):
        raise ValueError("the checkpoint does not fit")
    import bprop.resume
    monkeypatch.setattr(sys.modules["bprop.resume"], "resume", broken)   # bp.resume is also a function
    code, _, err = cli("train", "--resume", run, "--epochs", 5)
    assert code == 1 and "the checkpoint does not fit" in one_error(err)
    assert (run / "config.toml").read_bytes() == config
    code, _, err = cli("train", "--resume", run, "--epochs", 0)
    assert code == 2 and "the checkpoint already holds 1 epochs" in one_error(err)
    assert (run / "config.toml").read_bytes() == config


@pytest.mark.parametrize("failure, call", [
    (lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")), "os.fsync"),
    (lambda *a, **k: (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied",
                                                           os.path.join(k["dir"], ".config.toml.bprop-tmp-x"))),
     "tempfile.mkstemp"),
])
def test_full_disk_or_read_only_folder_names_the_real_file(tmp_path, monkeypatch, failure, call):
    monkeypatch.setattr(call, failure)
    code, _, err = cli("train", *XOR, *QUICK, "--out", tmp_path / "run")
    assert code == 1 and f"cannot write {tmp_path / 'run' / 'config.toml'}" in one_error(err)
    assert "bprop-tmp" not in err
    assert not [n for n in os.listdir(tmp_path / "run") if is_temporary(n)]


# --------------------------------------------------------------------------- predict and evaluate
HOSTILE_LABELS = ["=HYPERLINK(\"http://evil\",\"x\")", "<script>alert(1)</script>", "[/bold]"]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run on a CSV whose path and class labels hold rich markup, HTML and a spreadsheet formula."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "pts[").mkdir()
    data = folder / "pts[" / "bold].csv"            # its path holds "[/bold]"
    rows = ["x1,x2,label"] + [f"{i % 3},{i % 5},\"{HOSTILE_LABELS[i % 3].replace(chr(34), chr(34) * 2)}\""
                              for i in range(60)]       # the class is x1
    write(data, "\n".join(rows) + "\n")
    run = folder / "run"
    code, _, err = cli("train", "--data", f"csv:{data}", "--layers", 8, "--epochs", 60, "--lr", 0.05, "--out", run,
                       "--no-plots")
    assert code == 0, err                               # rich markup in the path and labels printed as text
    return run, data


def test_user_text_is_escaped_for_rich_markdown_and_spreadsheets(hostile_run, tmp_path):
    run, data = hostile_run
    code, out, err = cli("train", "--data", f"csv:{data}", "--layers", 4, "--epochs", 1, "--out", tmp_path / "q",
                         "--quiet", "--no-plots")
    assert code == 0, err
    code, out, err = cli("evaluate", run)
    assert code == 0 and "[/bold]" in out and f"data: csv:{data}" in out, err
    report = (run / "report.md").read_text()
    assert "<script>" not in report and "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in report
    pts = write(tmp_path / "p.csv", "x1,x2\n" + "\n".join(f"{i % 3},{i % 5}" for i in range(6)) + "\n")
    code, _, err = cli("predict", run, pts, "-o", tmp_path / "pred.csv", "--proba")
    assert code == 0, err
    cells = (tmp_path / "pred.csv").read_text()
    assert "'=HYPERLINK" in cells and "\n=" not in cells and ",=" not in cells and "p_'=HYPERLINK" not in cells


def test_predict_never_replaces_run_files_inputs_or_existing_files(hostile_run, tmp_path):
    run, _ = hostile_run
    pts = write(tmp_path / "p.csv", "x1,x2\n1,2\n")
    model = (run / "model.npz").read_bytes()
    for target in ("model.npz", "config.toml", "checkpoint.npz", ".bprop.lock"):
        code, _, err = cli("predict", run, pts, "-o", run / target, "--force")
        assert code == 2 and f"-o {run / target} is a file of the run folder {run}" in one_error(err)
    assert (run / "model.npz").read_bytes() == model
    code, _, err = cli("predict", run, pts, "-o", pts, "--force")
    assert code == 2 and "is an input of this command" in one_error(err)
    write(tmp_path / "old.csv", "keep me")
    code, _, err = cli("predict", run, pts, "-o", tmp_path / "old.csv")
    assert code == 2 and "exists; give --force to replace it" in one_error(err)
    assert (tmp_path / "old.csv").read_text() == "keep me"
    assert cli("predict", run, pts, "-o", tmp_path / "old.csv", "--force")[0] == 0
    code, _, err = cli("predict", run, pts, "-o", tmp_path)
    assert code == 2 and "is a folder" in one_error(err)


def test_predict_does_not_suggest_a_target_option(hostile_run, tmp_path):
    run, _ = hostile_run
    pts = write(tmp_path / "p.csv", "x1,x2\n1,abc\n")
    code, _, err = cli("predict", run, pts)
    assert code == 1 and "--target" not in one_error(err) and "x2" in err


def test_evaluate_needs_data_for_a_model_file_from_elsewhere(hostile_run, tmp_path):
    run, _ = hostile_run
    net = bp.load(run / "model.npz")
    net.metadata["data"] = "csv:/etc/passwd"
    net.save(tmp_path / "m.npz")
    code, _, err = cli("evaluate", tmp_path / "m.npz")
    assert code == 2 and "--data is needed for a model file outside a run folder (its metadata names " \
        "'csv:/etc/passwd'" in one_error(err)


# --------------------------------------------------------------------------- signals, kills and two runs
# SIGINT is blocked until main() has installed its handler (main unblocks it), so a Ctrl-C sent right
# after "ready" is held, not lost in the few bytecodes before main's try.
CHILD = ("import signal, sys, bprop.cli; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}); "
         "print('ready', flush=True); sys.exit(bprop.cli.main(sys.argv[1:]))")


def start(*argv):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    assert proc.stdout.readline() == "ready\n"
    return proc


def finish(proc, timeout=60):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def test_every_ctrl_c_exits_130_with_one_line(tmp_path):
    rng = random.Random(10)
    for trial, delay in enumerate([0.0, 0.05] + [rng.uniform(0.1, 2.0) for _ in range(3)]):
        proc = start("train", "--data", "moons", "--epochs", 200, "--out", tmp_path / f"r{trial}", "--quiet")
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
        proc.send_signal(signal.SIGINT)                  # a double Ctrl-C
        code, _, err = finish(proc)
        assert code in (0, 130), (delay, code, err)
        assert "Traceback" not in err and err.count("\n") <= 1 and (code == 0 or err.strip()), (delay, err)


def complete(path) -> None:
    """``path`` (a file of a run folder) is a whole file of its kind."""
    name = os.path.basename(path)
    if name == "model.npz":
        bp.load(path)
    elif name == "checkpoint.npz":
        bp.training.load_checkpoint(path)
    elif name == "history.json":
        with open(path) as f:
            json.load(f)
    elif name == "config.toml":
        with open(path, "rb") as f:
            tomllib.load(f)
    elif name.endswith(".png"):
        with open(path, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE and os.path.getsize(path) > 1000, path
    elif name in ("history.csv", "report.md"):
        with open(path) as f:
            assert f.read().endswith("\n"), path


def test_kill_9_leaves_only_complete_files_and_resume_succeeds(tmp_path):
    rng = random.Random(9)
    run = tmp_path / "run"
    epochs = 200
    for _ in range(7):
        if (run / "checkpoint.npz").exists() and (run / "config.toml").exists():
            done = bp.training.load_checkpoint(run / "checkpoint.npz")[1]["epoch"]
            epochs = max(epochs, done) + 50
            argv = ["train", "--resume", run, "--epochs", epochs, "--quiet"]
        else:
            argv = ["train", "--data", "moons", "--epochs", 200, "--out", run, "--quiet", "--overwrite"]
        proc = start(*argv)
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait()
        for name in os.listdir(run) if run.exists() else []:
            if not is_temporary(name) and name != ".bprop.lock":
                complete(run / name)
    assert (run / "checkpoint.npz").exists() and (run / "config.toml").exists()
    code, out, err = cli("train", "--resume", run, "--epochs", epochs + 5, "--quiet", "--no-plots")
    assert code == 0, err
    assert not [n for n in os.listdir(run) if is_temporary(n)]
    for name in os.listdir(run):
        if name != ".bprop.lock":
            complete(run / name)


def test_two_runs_into_one_folder_the_second_refuses(tmp_path):
    run = tmp_path / "run"
    first = start("train", "--epochs", 100000, "--batch-size", 8, "--out", run, "--quiet", "--no-plots")
    try:
        deadline = time.time() + 60
        while not (run / "config.toml").exists() and time.time() < deadline and first.poll() is None:
            time.sleep(0.05)
        config = (run / "config.toml").read_bytes()
        for overwrite in ([], ["--overwrite"]):
            code, _, err = cli("train", *XOR, *QUICK, "--out", run, *overwrite)
            assert code == 1 and f"--out {run} is in use by another bprop run (pid {first.pid})" in one_error(err)
        code, _, err = cli("train", "--resume", run, "--epochs", 3)
        assert code == 1 and f"--resume {run} is in use by another bprop run (pid {first.pid})" in one_error(err)
        assert (run / "config.toml").read_bytes() == config
    finally:
        first.send_signal(signal.SIGINT)
        code, _, err = finish(first)
    assert code == 130 and "Traceback" not in err


# --------------------------------------------------------------------------- fuzzing option values
NUMBERS = st.one_of(st.integers(-10 ** 12, 10 ** 12).map(str), st.floats(allow_nan=True).map(repr),
                    st.text(max_size=6))
OPTIONS = {
    "--lr": NUMBERS,
    "--batch-size": NUMBERS,
    "--dropout": NUMBERS,
    "--val-split": NUMBERS,
    "--test-size": NUMBERS,
    "--weight-decay": NUMBERS,
    "--clip-norm": NUMBERS,
    "--seed": NUMBERS,
    "--layers": st.text(alphabet="0123456789,- x", max_size=5),
    "--schedule": st.builds(lambda name, key, value: f"{name}:{key}={value}" if key else name,
                            st.sampled_from(["constant", "step", "cosine", "warmup", "plateau", "exponential",
                                             "nope"]),
                            st.sampled_from(["", "every", "gamma", "min_lr", "epochs", "factor", "patience", "x"]),
                            NUMBERS),
    "--activation": st.one_of(st.sampled_from(["relu", "tanh", "gelu"]), st.text(max_size=8)),
    "--optimizer": st.one_of(st.sampled_from(["sgd", "adam", "adamw", "nesterov"]), st.text(max_size=8)),
    "--dtype": st.sampled_from(["float32", "float64", "float16", "[/bold]"]),
}


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), min_size=1, max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})))
def test_fuzzed_option_values_give_a_status_and_at_most_one_line(tmp_path_factory, values):
    argv = ["train", "--data", "xor", "--n-samples", "24", "--epochs", "1", "--out",
            tmp_path_factory.mktemp("fuzz") / "run", *QUICK]
    for option, value in values.items():
        argv += [f"{option}={value}"]
    code, _, err = cli(*argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and sum(line.startswith("error:") for line in err.splitlines()) <= 1, (argv, err)
    assert code == 0 or err.startswith("error: "), (argv, err)


def test_ctrl_c_while_bprop_is_still_being_imported_exits_130(tmp_path):
    """The entry point catches Ctrl-C before ``import bprop`` (a tenth of a second of start-up)."""
    code = "import sys, _bprop_launch; sys.exit(_bprop_launch.main())"
    for delay in (0.0, 0.03, 0.08):
        proc = subprocess.Popen([sys.executable, "-c", code, "train", "--epochs", "1", "--out", str(tmp_path / "r")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                                # SIGINT held until the launcher's handler is in place (it unblocks it)
                                preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}))
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        status, out, err = finish(proc)
        assert status == 130 and err == "error: interrupted\n", (delay, status, err)
        assert not (tmp_path / "r").exists()
