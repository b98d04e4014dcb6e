"""Data-parallel training: an ``mpiexec -n 2`` run equals the one-process run.

The programs run by ``mpiexec`` are in ``tests/mpi_cases.py``; each is a
subprocess of pytest with a timeout and ``OMP_NUM_THREADS=1``. Without
mpi4py or ``mpiexec`` the tests skip with a reason (they fail instead under
``BPROP_REQUIRE_MPI=1``, as in CI).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mpi_cases
from conftest import require_mpi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def mpirun(mode, out, timeout=60, n=2):
    mpiexec = require_mpi()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([ROOT, HERE, os.environ.get("PYTHONPATH", "")])}
    return _killable([mpiexec, "-n", str(n), sys.executable, os.path.join(HERE, "mpi_cases.py"), mode, str(out)],
                     env, timeout)


def _killable(cmd, env, timeout, cwd=None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a session of its own, so that past its timeout it is killed with every rank it started."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def equal_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi_equal")
    proc = mpirun("equal", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _close(a, b, what, rtol=1e-12):
    scale = max(float(np.max(np.abs(b))), 1e-300)
    err = float(np.max(np.abs(a - b))) / scale
    assert err <= rtol, f"{what}: max relative difference {err:.3g} > {rtol}"


@pytest.mark.parametrize("case", sorted(mpi_cases.CASES))
def test_two_processes_equal_one(equal_runs, case):
    """3 epochs on 2 ranks give the parameters, buffers and losses of 3 epochs in one process."""
    net, history = mpi_cases.run_case(case)
    got = np.load(equal_runs / f"{case}.npz")
    assert int(got["ranks"]) == 2
    for k, v in net.params.items():
        _close(got[f"param/{k}"], v, f"{case} parameter {k}")
    for k, v in net.buffers.items():
        _close(got[f"buffer/{k}"], v, f"{case} buffer {k}")
    _close(got["loss"], np.array(history["loss"]), f"{case} loss history")
    # and the runs did train: the parameters moved away from their initial values
    fresh = mpi_cases.CASES[case][1]()
    assert max(float(np.max(np.abs(net.params[k] - fresh.params[k]))) for k in net.params) > 1e-3


@pytest.mark.parametrize("case", [c for c in sorted(mpi_cases.CASES) if mpi_cases.CASES[c][2].get("alpha")])
def test_alpha_cases_are_penalised(case):
    """The alpha cases above train another network than alpha=0 would, so their equality checks the penalty
    (added once, to the all-reduced gradient: adding it on each rank's part would double it on 2 ranks)."""
    net, history = mpi_cases.run_case(case)
    plain, plain_history = mpi_cases.run_case(case, alpha=0.0)
    assert max(float(np.max(np.abs(net.params[k] - plain.params[k]))) for k in net.params) > 1e-3
    assert history["loss"][0] > plain_history["loss"][0]      # the recorded loss includes the penalty


def test_resume_on_two_ranks_is_bit_exact(tmp_path):
    """2 epochs, a checkpoint, then bp.resume to 3 (all on 2 ranks) equals 3 epochs straight, bit for bit."""
    proc = mpirun("resume", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert int(a["ranks"]) == 2
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    import bprop as bp
    # SyncBN: the 2-rank checkpoint of epoch 2 continues in one process, equal to 3 epochs in one process
    net, _ = bp.resume(tmp_path / "epoch2.ckpt.npz", *mpi_cases.data("classification"), epochs=3, verbose=0,
                       checkpoint=None)
    ref, _ = mpi_cases.run_case("sync_batchnorm_dropout_schedule")
    for k, v in ref.params.items():
        _close(net.params[k], v, f"parameter {k}")
    # per-rank BatchNorm: another number of processes would be another run, and says so
    with pytest.raises(ValueError, match=r"written by a run on 2 process\(es\) and this one has 1: its "
                                         r"BatchNorm layers normalise each process's part.*mpiexec -n 2"):
        bp.resume(tmp_path / "per_rank_bn.ckpt.npz", *mpi_cases.data("classification"), epochs=2, verbose=0,
                  checkpoint=None)


def test_divergence_on_one_rank_stops_every_rank(tmp_path):
    """Only rank 1's part overflows, yet both ranks raise the same DivergenceError; the checkpoint stays."""
    proc = mpirun("diverge", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    msgs = [(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)]
    assert msgs[0].startswith("DivergenceError: training diverged at epoch 2, step 1"), msgs[0]
    assert msgs[0] == msgs[1]
    import bprop as bp
    from bprop.training import load_checkpoint
    arrays, meta = load_checkpoint(tmp_path / "run.ckpt.npz")     # epoch 1's, intact
    assert meta["epoch"] == 1
    assert bp.load(tmp_path / "run.ckpt.npz").n_params > 0


def test_a_killed_rank_ends_the_run(tmp_path):
    """kill -9 of rank 1 mid-run: mpiexec ends rank 0 and exits non-zero well within 30 s."""
    t0 = time.monotonic()
    proc = mpirun("kill", tmp_path, timeout=30)
    assert time.monotonic() - t0 < 30
    assert proc.returncode != 0
    assert "KILLED" in proc.stdout + proc.stderr or "signal 9" in (proc.stdout + proc.stderr).lower(), \
        proc.stdout[-2000:] + proc.stderr[-2000:]


def test_ctrl_c_stops_every_rank(tmp_path):
    """SIGINT to the process group (what a terminal's Ctrl-C does) ends every rank, exit status 130."""
    mpiexec = require_mpi()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([ROOT, HERE, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([mpiexec, "-n", "2", sys.executable, os.path.join(HERE, "mpi_cases.py"), "long",
                             str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the run did not start"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr[-2000:]
    assert "KeyboardInterrupt" in stderr and "aborting every rank" in stderr


def test_other_data_drift_and_an_error_on_one_rank(tmp_path):
    """Other data on rank 1, then drifted parameters on rank 1: DistributedError on both ranks; then an
    error on rank 1 alone aborts both."""
    t0 = time.monotonic()
    proc = mpirun("mismatch", tmp_path, timeout=30)
    assert time.monotonic() - t0 < 30
    msgs = [(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)]
    assert msgs[0] == msgs[1]
    assert msgs[0].startswith("DistributedError: rank(s) [1] were given other data"), msgs[0]
    sync = [(tmp_path / f"sync{r}.txt").read_text() for r in (0, 1)]
    assert sync[0] == sync[1]
    assert sync[0].startswith("DistributedError: after epoch 2 the parameters of rank(s) [1] differ from "
                              "rank 0's"), sync[0]
    assert proc.returncode != 0
    assert "error: rank 1 of 2 stopped (RuntimeError: a callback failed on rank 1); aborting every rank" \
        in proc.stderr, proc.stderr[-2000:]


def _cli_mpi(tmp_path, *args, n=2, timeout=60):
    mpiexec = require_mpi()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    proc = _killable([mpiexec, "-n", str(n), sys.executable, "-m", "bprop", *args], env, timeout, cwd=tmp_path)
    return proc.returncode, proc.stdout, proc.stderr


def _models_close(a, b, rtol=1e-12):
    import bprop as bp
    na, nb = bp.load(a), bp.load(b)
    for k, v in nb.params.items():
        _close(na.params[k], v, f"parameter {k}", rtol)
    for k, v in nb.buffers.items():
        _close(na.buffers[k], v, f"buffer {k}", rtol)


def test_mpiexec_bprop_train_equals_one_process(tmp_path):
    """`mpiexec -n 2 bprop train` writes the model.npz of `bprop train` (float64, SyncBN, dropout), to 1e-12."""
    from bprop.cli import main
    args = ["train", "--data", "digits", "--dtype", "float64", "--epochs", "3", "--batchnorm", "--sync-batchnorm",
            "--dropout", "0.1", "--no-plots"]
    rc, out, err = _cli_mpi(tmp_path, *args, "--out", "two")
    assert rc == 0, err[-3000:]
    assert out.count("run folder: two") == 1          # rank 0 alone prints
    assert main([*args, "--out", str(tmp_path / "one"), "--quiet"]) == 0
    _models_close(tmp_path / "two" / "model.npz", tmp_path / "one" / "model.npz")
    # resume on 2 ranks to 4 epochs equals 4 epochs in one process
    rc, out, err = _cli_mpi(tmp_path, "train", "--resume", "two", "--epochs", "4", "--quiet")
    assert rc == 0, err[-3000:]
    assert main([*args[:6], "4", *args[7:], "--out", str(tmp_path / "one4"), "--quiet"]) == 0
    _models_close(tmp_path / "two" / "model.npz", tmp_path / "one4" / "model.npz")


def test_mpiexec_bprop_train_error_on_rank_0_ends_every_rank(tmp_path):
    """The run folder is in use only for rank 0, which holds the lock: every rank ends with its one error line."""
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "model.npz").write_text("not empty")
    t0 = time.monotonic()
    rc, out, err = _cli_mpi(tmp_path, "train", "--epochs", "1", "--out", "busy", timeout=30)
    assert time.monotonic() - t0 < 30
    assert rc == 2, err[-2000:]
    assert err.count("error: ") >= 1 and "busy" in err


@pytest.mark.filterwarnings("ignore:.*max_epochs=4 reached")
def test_estimator_with_comm_equals_one_process(tmp_path):
    """BPClassifier(comm=MPI.COMM_WORLD) on 2 ranks equals BPClassifier(random_state=rank 0's seed) in one."""
    from bprop.sklearn import BPClassifier
    proc = mpirun("estimator", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.load(tmp_path / "estimator.npz")
    assert int(got["ranks"]) == 2
    X, y = mpi_cases.data("classification")
    clf = BPClassifier((16,), max_epochs=4, early_stopping=True, batch_size=32, dtype="float64", tol=None,
                       random_state=int(got["seed"])).fit(X, y)
    for k, v in clf.net_.params.items():
        _close(got[f"param/{k}"], v, f"parameter {k}")
    _close(got["proba"], clf.predict_proba(X), "predict_proba")
