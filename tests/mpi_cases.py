"""The programs the MPI tests run under ``mpiexec -n 2`` (and, for reference, in one process).

``python tests/mpi_cases.py MODE OUTDIR`` under ``mpiexec``:

- ``equal``: every case of :data:`CASES` with ``comm=MPI.COMM_WORLD``; rank 0
  writes ``OUTDIR/<case>.npz`` (parameters, buffers, the loss history);
- ``resume``: 3 epochs straight, and 2 epochs then :func:`bprop.resume` to 3,
  both data-parallel; rank 0 writes both parameter sets;
- ``diverge``: after epoch 1, rank 1's copy of X turns NaN, so only rank 1's
  part of each batch has a non-finite loss; each rank writes the error it got;
- ``kill``: rank 1 sends itself SIGKILL at the start of epoch 2;
- ``long``: trains for hours unless interrupted (the Ctrl-C test);
- ``estimator``: a ``BPClassifier(comm=...)`` with early stopping and no
  ``random_state`` (rank 0's seed is used everywhere);
- ``mismatch``: rank 1 passes 10 rows fewer (each rank writes the error it
  got); rank 1's parameters drift by 1e-9 (the checksum error, written too);
  then a callback raises on rank 1 only, which must abort every rank.

The test computes the single-process run of a case with :func:`run_case`.
"""

import os
import shutil
import signal
import sys

import numpy as np

import bprop as bp

N = 203        # 203 rows, batch 32: the last batch is partial (11 rows)


def data(task: str):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 6))
    if task == "classification":
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    elif task == "multilabel":
        y = np.stack([X[:, 0] > 0, X[:, 1] * X[:, 2] > 0], axis=1).astype(float)
    else:
        y = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]], axis=1)
    return X, y


def _net(n_out, *extra, backend="numpy"):
    return bp.Sequential([bp.Dense(6, 16), bp.Tanh(), *extra, bp.Dense(16, n_out)], seed=3, dtype="float64",
                         backend=backend)


#: name → (task, network builder, fit arguments)
CASES = {
    "mse_sgd_momentum": ("regression", lambda: _net(2),
                         dict(loss="mse", optimizer=lambda: bp.optim.SGD(0.05, momentum=0.9, nesterov=True))),
    "ce_adam_clip": ("classification", lambda: _net(3),
                     dict(loss="cross_entropy", optimizer=lambda: bp.optim.Adam(1e-2), clip_norm=0.3,
                          clip_value=0.05, validation_split=0.2)),
    "bce_adamw": ("multilabel", lambda: _net(2),
                  dict(loss="binary_cross_entropy", optimizer=lambda: bp.optim.AdamW(1e-2, weight_decay=0.1))),
    "ce_class_and_sample_weights": ("classification", lambda: _net(3),
                                    dict(loss="cross_entropy", optimizer=lambda: bp.optim.RMSProp(1e-2),
                                         class_weight="balanced",
                                         sample_weight=np.random.default_rng(1).uniform(0, 2, N))),
    "sync_batchnorm_dropout_schedule": ("classification",
                                        lambda: _net(3, bp.BatchNorm(16, sync=True), bp.Dropout(0.3)),
                                        dict(loss="cross_entropy", validation_split=0.1,
                                             optimizer=lambda: bp.optim.SGD(
                                                 bp.optim.CosineDecay(0.1, total_steps=21), momentum=0.5))),
    # the compiled backend and fused Adam in one process; on 2 ranks the synced BatchNorm statistics take
    # the NumPy path (equal to the loops to rounding); threads= and alpha= beside comm=
    "sync_batchnorm_numba_threads_alpha": ("classification",
                                           lambda: _net(3, bp.BatchNorm(16, sync=True), backend="numba"),
                                           dict(loss="cross_entropy", alpha=0.5, threads=1,
                                                optimizer=lambda: bp.optim.Adam(1e-2, fused=True))),
    # alpha's penalty is added once, to the all-reduced gradient, with the global batch's n_b (its weight sum)
    "ce_alpha_sample_weights": ("classification", lambda: _net(3),
                                dict(loss="cross_entropy", optimizer=lambda: bp.optim.Adam(1e-2), alpha=2.0,
                                     validation_split=0.2, sample_weight=np.random.default_rng(2).uniform(0, 2, N))),
    # a sparse (CSR) X: each rank gathers its part's rows from the CSR matrix; alpha with unweighted rows
    "mse_alpha_sparse_X": ("regression", lambda: _net(2),
                           dict(loss="mse", optimizer=lambda: bp.optim.SGD(0.05, momentum=0.9), alpha=1.0,
                                sparse=True)),
}


def run_case(name, comm=None, epochs=3, **extra):
    task, make, kwargs = CASES[name]
    X, y = data(task)
    net = make()
    kwargs = {**kwargs, "optimizer": kwargs["optimizer"](), **extra}
    if kwargs.pop("sparse", False):
        import scipy.sparse
        X = scipy.sparse.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0))   # about half the entries stored
    history = net.fit(X, y, epochs=epochs, batch_size=32, verbose=0, comm=comm, **kwargs)
    return net, history


def _save(path, net, history):
    from mpi4py import MPI
    np.savez(path, loss=np.array(history["loss"]), ranks=MPI.COMM_WORLD.Get_size(),
             **{f"param/{k}": v for k, v in net.params.items()},
             **{f"buffer/{k}": v for k, v in net.buffers.items()})


def main(mode, out):
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    if mode == "equal":
        for name in CASES:
            net, history = run_case(name, comm)
            if rank == 0:
                _save(os.path.join(out, f"{name}.npz"), net, history)
    elif mode == "resume":
        ck = os.path.join(out, "run.ckpt.npz")
        straight, h = run_case("sync_batchnorm_dropout_schedule", comm)
        run_case("sync_batchnorm_dropout_schedule", comm, checkpoint=ck, epochs=2)
        comm.Barrier()            # rank 0 has written the checkpoint
        if rank == 0:
            shutil.copy(ck, os.path.join(out, "epoch2.ckpt.npz"))   # for a resume in one process
        comm.Barrier()
        resumed, h2 = bp.resume(ck, *data("classification"), epochs=3, verbose=0, comm=comm)
        if rank == 0:
            _save(os.path.join(out, "straight.npz"), straight, h)
            _save(os.path.join(out, "resumed.npz"), resumed, h2)
        X, y = data("classification")   # per-rank BatchNorm: a checkpoint only 2 ranks can continue
        _net(3, bp.BatchNorm(16)).fit(X, y, loss="cross_entropy", optimizer=bp.optim.SGD(0.1), epochs=1,
                                      batch_size=32, verbose=0, comm=comm,
                                      checkpoint=os.path.join(out, "per_rank_bn.ckpt.npz"))
    elif mode == "diverge":
        X, y = data("classification")

        def poison(net, record):      # rank 1's X only: its part of each batch gives NaN
            if rank == 1 and record["epoch"] == 1:
                X[:] = np.nan
        cb = bp.training.Callback()
        cb.on_epoch_end = poison
        ck = os.path.join(out, "run.ckpt.npz")
        try:
            _net(3).fit(X, y, loss="cross_entropy", optimizer=bp.optim.SGD(0.1), epochs=3, batch_size=32,
                        verbose=0, comm=comm, checkpoint=ck, callbacks=[cb],
                        shuffle=False)
            result = "no error"
        except bp.DivergenceError as exc:
            result = f"DivergenceError: {exc}"
        with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
            f.write(result)
    elif mode == "kill":
        def die(net, epoch):
            if rank == 1 and epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        cb = bp.training.Callback()
        cb.on_epoch_begin = die
        X, y = data("classification")
        _net(3).fit(np.repeat(X, 20, axis=0), np.repeat(y, 20), loss="cross_entropy",
                    optimizer=bp.optim.SGD(0.1), epochs=50, batch_size=32, verbose=0, comm=comm,
                    callbacks=[cb])
    elif mode == "long":             # trains until interrupted; rank 0 says when the first epoch is done
        def started(net, record):
            if rank == 0 and record["epoch"] == 1:
                open(os.path.join(out, "started"), "w").close()
        X, y = data("classification")
        _net(3).fit(np.repeat(X, 20, axis=0), np.repeat(y, 20), loss="cross_entropy", optimizer=bp.optim.SGD(0.1),
                    epochs=10_000, batch_size=32, verbose=0, comm=comm, callbacks=[started])
    elif mode == "estimator":        # BPClassifier(comm=...) with early stopping and no random_state
        from bprop.sklearn import BPClassifier
        X, y = data("classification")
        clf = BPClassifier((16,), max_epochs=4, early_stopping=True, batch_size=32, dtype="float64", comm=comm,
                           tol=None).fit(X, y)
        seed = clf.net_.seed
        if rank == 0:
            np.savez(os.path.join(out, "estimator.npz"), seed=seed, proba=clf.predict_proba(X),
                     ranks=comm.Get_size(), **{f"param/{k}": v for k, v in clf.net_.params.items()})
    elif mode == "mismatch":
        X, y = data("regression")
        try:
            _net(2).fit(X if rank == 0 else X[:-10], y if rank == 0 else y[:-10], loss="mse",
                        optimizer=bp.optim.SGD(0.1), epochs=2, verbose=0, comm=comm)
            result = "no error"
        except bp.DistributedError as exc:
            result = f"DistributedError: {exc}"
        with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
            f.write(result)

        def nudge(net, record):      # rank 1's network drifts from rank 0's: the epoch checksum sees it
            if rank == 1 and record["epoch"] == 1:
                net.params["0.W"][0, 0] += 1e-9
        try:
            _net(2).fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=3, verbose=0, comm=comm,
                        callbacks=[nudge])
            result = "no error"
        except bp.DistributedError as exc:
            result = f"DistributedError: {exc}"
        with open(os.path.join(out, f"sync{rank}.txt"), "w") as f:
            f.write(result)

        def fail(net, record):
            if rank == 1 and record["epoch"] == 2:
                raise RuntimeError("a callback failed on rank 1")
        _net(2).fit(X, y, loss="mse", optimizer=bp.optim.SGD(0.1), epochs=50, verbose=0, comm=comm,
                    callbacks=[fail])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
