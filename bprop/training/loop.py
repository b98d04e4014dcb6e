r"""The fit loop: epochs of mini-batch steps, divergence checks, early stopping, checkpoints.

One epoch of :func:`fit` is the mini-batch stochastic gradient descent of the
tutorials: shuffle the training set with the network's generator (or the order
source given as ``shuffle``), cut it into batches of ``batch_size`` (the last,
partial batch included), and for each batch run backpropagation (forward
pass, BP1–BP4) and let the optimiser update every weight and bias in place,
:math:`θ ← θ − η\,∂C/∂θ` for plain SGD.

One step, in order (:func:`_step`): ``net._backprop`` (``C`` and ``∂C/∂θ`` in
``net.grads``), the squared norm of every gradient (for the history and for
``clip_norm``), a finiteness check of ``C`` and the gradients, the clipping of
:mod:`bprop.optim.transforms`, then ``optimizer.step``.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

import numpy as np

from .._threads import check_threads, limit_threads
from .._validation import all_finite, check_number, check_positive_int
from ..errors import DivergenceError
from ..layers import BatchNorm, Dense, Dropout
from ..optim.transforms import clip_grad_norm_, clip_grad_value_
from .callbacks import Callback, EarlyStopping, as_callbacks
from .checkpoints import save_checkpoint
from .data import Batches, batch_bounds, batch_total, labels_of
from .distributed import DataParallel
from .history import History
from .meter import EpochMeter, evaluate
from .run import Run, RunState, Settings, start_run
from .warmup import load_step_loops


def fit(net, X, y, *, loss, optimizer, epochs: int, batch_size: int = 32, shuffle: bool = True,
        validation_data=None, validation_split: float = 0.0, early_stopping=None,
        clip_norm: float | None = None, clip_value: float | None = None, callbacks=(),
        checkpoint=None, verbose: int = 1, sample_weight=None, class_weight=None,
        alpha: float = 0.0, comm=None, threads: int | None = None) -> History:
    r"""Train ``net`` with mini-batch gradient descent; returns a :class:`History`.

    Parameters
    ----------
    net : Sequential
    X : array-like (n, n_in) or scipy.sparse matrix
        A sparse ``X`` (any scipy.sparse format, kept as CSR) is never
        densified: each batch gathers its rows from the CSR matrix and the
        first Dense layer multiplies them sparsely (see :class:`~bprop.Dense`).
    y : array-like
        Targets for ``loss`` (class labels or one-hot rows for CrossEntropy).
    loss : Loss or str
    optimizer : bprop.optim optimiser
        Its state persists across ``fit`` calls, so calling ``fit`` again continues.
    epochs : int
        Passes over the training data (0 is allowed and only evaluates).
    batch_size : int
        ``batch_size=len(X), shuffle=False`` gives one full-batch step per
        epoch. The last partial batch is used (merged into the one before if
        it would hold a single sample and the network has BatchNorm).
    shuffle : bool or an object with a ``permutation(n)`` method
        Reshuffle the training set each epoch: ``True`` with ``net.rng``
        (``perm = net.rng.permutation(n)``); an object ``source`` (a NumPy
        ``Generator`` or ``RandomState``, or any object whose ``permutation(n)``
        returns a permutation of ``range(n)``) gives each epoch's order as
        ``perm = source.permutation(n)`` instead, once per epoch, before the
        epoch's first batch (the estimators pass scikit-learn's MLP order this
        way). ``False``: the rows in their order. A run with such a source
        cannot be checkpointed (its state is not stored).
    validation_data : (X_val, y_val), optional
    validation_split : float in [0, 1)
        Fraction of ``X`` held out for validation (stratified by class for
        classification), drawn with ``net.rng``. Ignored if ``validation_data`` is given.
    early_stopping : EarlyStopping or int, optional
        An int is the patience of ``EarlyStopping()``.
    clip_norm : float, optional
        Rescale the gradients so their global 2-norm is at most ``clip_norm``
        (:func:`bprop.optim.clip_grad_norm_`, as ``torch.nn.utils.clip_grad_norm_``:
        factor ``clip_norm/(‖g‖ + 1e-6)`` when below 1).
    clip_value : float, optional
        Clip every gradient entry to ``[−clip_value, clip_value]`` (after
        ``clip_norm``; :func:`bprop.optim.clip_grad_value_`).
    callbacks : sequence of Callback or functions
    checkpoint : path, optional
        Written atomically after every epoch; continue with :func:`bprop.resume`.
    verbose : int
        0 silent, 1 one line per epoch.
    sample_weight : array-like (n,), optional
        Per-sample weights: each batch's loss is ``Σ w_x C_x / Σ w_x``.
    class_weight : dict or "balanced", optional
        Multiplies each sample's weight by its class's weight (CrossEntropy only).
    alpha : float, default 0.0
        L2 penalty on the Dense weights (biases excluded), with the semantics
        of scikit-learn's MLP ``alpha``: each batch's cost becomes

        .. math:: C_\text{batch} + \frac{\alpha}{2 n_b} \sum_{l} \lVert W_l \rVert_F^2,

        so :math:`\alpha W_l / n_b` is added to every :math:`\partial C/\partial W_l`
        before clipping and the optimiser step (:math:`n_b` is the batch's row count,
        or the sum of its sample weights when weighted). Unlike an optimiser's
        ``weight_decay`` (PyTorch's: :math:`\lambda\theta` added to the gradient of
        every parameter, biases included, independent of the batch size), its
        strength falls as the batch grows, and the loss in the History includes it.
    comm : mpi4py communicator, optional
        Data-parallel training (:mod:`bprop.training.distributed`): every rank
        of ``comm`` calls ``fit`` with the same arguments and data; each
        global batch is split into one contiguous part per rank and the
        gradients are summed with one ``Allreduce`` per step, so the run
        equals the single-process one to rounding. Rank 0's parameters and
        generator are broadcast first; rank 0 alone prints and writes the
        checkpoint; the validation metrics are those of the whole validation set.
    threads : int, optional
        At most this many threads for NumPy's BLAS (through ``threadpoolctl``,
        ``pip install 'bprop[threads]'``) and numba while this call trains; the
        previous limits are restored afterwards. ``None`` (default): unchanged.
        On a machine shared with other busy processes, give no more threads
        than the cores this run has to itself: BLAS threads spin while they
        wait, and oversubscribed cores slow every process down
        (:mod:`bprop._threads`).

    Raises
    ------
    DivergenceError
        When the loss, a gradient or a parameter becomes non-finite. If the
        loss or a gradient is non-finite while the parameters are finite, no
        update is made: the parameters and optimiser state are those from
        before the failing step. If an update overflowed a parameter (found at
        the next step or at the end of the epoch), the parameters and
        optimiser state are put back to their values at the start of the
        epoch, the last state known to be finite. A checkpoint on disk is left
        intact.
    """
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a bprop.optim optimiser (e.g. bp.optim.Adam(1e-3)), "
                        f"got {optimizer!r}")
    check_number(validation_split, "validation_split", low=0.0, high=1.0, high_open=True)
    alpha = check_number(alpha, "alpha", low=0.0)
    for name, v in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if v is not None:
            check_number(v, name, low=0.0, low_open=True)
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        early_stopping = EarlyStopping(patience=early_stopping)
    elif early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping or an int patience, got {early_stopping!r}")
    order = None
    if callable(getattr(shuffle, "permutation", None)):
        if checkpoint is not None:
            raise ValueError(f"checkpoint= needs shuffle=True or False: the order source {shuffle!r} "
                             "cannot be stored in a checkpoint, so a resumed run could not follow it")
        order, shuffle = shuffle, True
    settings = Settings(epochs=epochs, batch_size=batch_size, shuffle=bool(shuffle),
                        validation_split=validation_split, clip_norm=clip_norm, clip_value=clip_value,
                        early_stopping=early_stopping, alpha=alpha, order=order)
    threads = check_threads(threads)

    def start():
        return start_run(net, X, y, loss=loss, optimizer=optimizer, settings=settings, state=RunState(),
                         validation_data=validation_data, validation_split=validation_split,
                         sample_weight=sample_weight, class_weight=class_weight)
    if comm is None:
        run = start()
    else:
        parallel = DataParallel(comm)
        parallel.broadcast_network(net)   # before the validation split draws from net.rng
        run = parallel.agree(start, "check its data")
    return train(run, start_epoch=0, callbacks=callbacks, checkpoint=checkpoint, verbose=verbose, comm=comm,
                 threads=threads)


def train(run: Run, *, start_epoch: int, callbacks=(), checkpoint=None, verbose: int = 1,
          comm=None, threads: int | None = None) -> History:
    """Train ``run`` from epoch ``start_epoch + 1`` to ``run.settings.epochs``; returns its History.

    ``comm``: an mpi4py communicator for data-parallel training (see :func:`fit`).
    ``threads``: as :func:`fit`'s (per rank in a data-parallel run).
    """
    callbacks = as_callbacks(callbacks)
    _check_ranks(run, start_epoch, 1 if comm is None else comm.Get_size())
    if comm is None:
        plan, guard = _Plan.of(run), nullcontext()
    else:
        parallel = DataParallel(comm)
        data = run.data
        parallel.check_same_data(data.n_train, data.X.shape[1], data.n_val, run.settings)
        plan = parallel.agree(lambda: _Plan.of(run, parallel), "plan its batches")
        # a callback may stop the run on one rank: the ranks then agree on every stop (one rank may have none)
        plan = replace(plan, agree_stops=parallel.any(bool(callbacks)))
        guard = parallel.guard()
    uses_numba = run.net.backend == "numba" or bool(getattr(run.optimizer, "fused", False))
    if uses_numba:
        load_step_loops(run, plan.batches, plan.bounds[0])     # before epoch 1's clock, on copies
    # Overflow in a diverging run is detected explicitly (DivergenceError), not through warnings.
    with limit_threads(threads, numba=uses_numba), guard, _sharded_layers(run.net, plan.parallel), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _train_epochs(run, plan, start_epoch, callbacks, checkpoint, verbose)


def _check_ranks(run: Run, start_epoch: int, ranks: int) -> None:
    """A run continued on another number of processes is the same run unless BatchNorm uses per-rank statistics."""
    per_rank_bn = any(isinstance(l, BatchNorm) and not l.sync for l in run.net.layers)
    if start_epoch > 0 and ranks != run.state.ranks and per_rank_bn and max(ranks, run.state.ranks) > 1:
        raise ValueError(f"the checkpoint was written by a run on {run.state.ranks} process(es) and this one has "
                         f"{ranks}: its BatchNorm layers normalise each process's part of a batch, so another "
                         f"number of processes would train a different network. Resume with mpiexec -n "
                         f"{run.state.ranks} (a network with BatchNorm(sync=True), or without BatchNorm, "
                         "resumes on any number, equal to rounding).")
    run.state.ranks = ranks


@contextmanager
def _sharded_layers(net, parallel):
    """Give BatchNorm(sync=True) layers the communicator for the duration of a data-parallel run.

    Afterwards no layer keeps a communicator or a Dropout part (the network predicts and trains alone).
    """
    synced = [l for l in net.layers if isinstance(l, BatchNorm) and l.sync] if parallel is not None else []
    for layer in synced:
        layer.comm = parallel.comm
    try:
        yield
    finally:
        for layer in net.layers:
            if isinstance(layer, BatchNorm):
                layer.comm = None
            elif isinstance(layer, Dropout):
                layer.part = None


@dataclass(frozen=True)
class _Plan:
    """What stays fixed over the epochs of one :func:`train` call."""

    bounds: list           # (start, end) of every batch
    batches: Batches       # X, Y, labels, weights of a batch
    grad_keys: list        # the Dense weights whose gradient norms the history records
    monitor: str | None    # the History column early stopping watches
    parallel: DataParallel | None = None   # the ranks of a data-parallel run
    dropout: tuple = ()    # the Dropout layers, told each step which rows of the global batch are theirs
    agree_stops: bool = False   # data-parallel with callbacks on some rank: stops are agreed on

    @classmethod
    def of(cls, run: Run, parallel: DataParallel | None = None) -> "_Plan":
        net, data = run.net, run.data
        bn = [l for l in net.layers if isinstance(l, BatchNorm)]
        bounds = batch_bounds(data.n_train, run.settings.batch_size, bool(bn))
        if parallel is not None:
            _check_parts(bounds, parallel.size, per_rank_bn=any(not l.sync for l in bn))
        arrays = (data.X, data.Y, labels_of(data.Y, run.loss.task), data.weights)
        es = run.settings.early_stopping
        return cls(bounds=bounds, batches=Batches(arrays, max(e - s for s, e in bounds),
                                                  rows=(data.rows, None, None, None)),
                   grad_keys=[f"{i}.W" for i, l in enumerate(net.layers) if isinstance(l, Dense)],
                   monitor=None if es is None else es.column(data.X_val is not None), parallel=parallel,
                   dropout=tuple(l for l in net.layers if isinstance(l, Dropout)) if parallel else ())


def _check_parts(bounds: list, n_ranks: int, per_rank_bn: bool) -> None:
    """Every rank needs rows in every batch (two with per-rank BatchNorm statistics)."""
    need = 2 * n_ranks if per_rank_bn else n_ranks
    small = min(e - s for s, e in bounds)
    if small < need:
        why = " (BatchNorm with per-rank statistics needs 2 rows per rank)" if per_rank_bn else ""
        raise ValueError(f"a batch of {small} rows cannot be split over {n_ranks} ranks{why}: every batch "
                         f"needs at least {need} rows. Use a larger batch_size, fewer ranks, or a number "
                         "of training rows whose last partial batch is large enough.")


def _train_epochs(run: Run, plan: _Plan, start_epoch: int, callbacks: list[Callback], checkpoint,
                  verbose: int) -> History:
    net, history = run.net, run.state.history
    info = {"epochs": run.settings.epochs, "initial_epoch": start_epoch, "steps_per_epoch": len(plan.bounds),
            "n_train": run.data.n_train, "n_val": run.data.n_val}
    for cb in callbacks:
        cb.on_train_begin(net, info)
    stop = None
    for epoch in range(start_epoch + 1, run.settings.epochs + 1):
        t0 = time.perf_counter()
        for cb in callbacks:
            cb.on_epoch_begin(net, epoch)
        meter, stop = _train_epoch(run, plan, epoch, callbacks)
        stop = _end_epoch(run, plan, meter, epoch, t0, stop, callbacks, verbose)
        if checkpoint is not None and (plan.parallel is None or plan.parallel.is_root):
            save_checkpoint(checkpoint, run, epoch)
        if stop is not None:
            break
    _end_training(run, callbacks, stop, verbose if plan.parallel is None or plan.parallel.is_root else 0)
    return history


@dataclass(frozen=True)
class _LastFinite:
    """Parameters and optimiser state at the start of an epoch: the last state known to be finite.

    Parameters are checked once per epoch (and when the loss goes
    non-finite), not after every step: an overflowed parameter shows up in
    the next step's loss, and a per-step pass over every parameter costs ~5% of a step.
    """

    params: dict
    optimizer_state: dict
    n_steps: int   # len(history.step_lr) then

    @classmethod
    def of(cls, run: Run) -> "_LastFinite":
        return cls({k: v.copy() for k, v in run.net.params.items()}, run.optimizer.state_dict(),
                   len(run.state.history.step_lr))

    def restore(self, run: Run) -> None:
        for k, v in self.params.items():
            run.net.params[k][...] = v
        run.optimizer.load_state_dict(self.optimizer_state)
        del run.state.history.step_lr[self.n_steps:]


def _all_finite(arrays: dict) -> bool:
    return all(all_finite(a) for a in arrays.values())


def _diverged(run: Run, what: str) -> DivergenceError:
    return DivergenceError(f"training diverged {what} Try a smaller learning rate (now {run.optimizer.lr}) "
                           "or clip_norm.")


def _train_epoch(run: Run, plan: _Plan, epoch: int, callbacks: list[Callback]) -> tuple[EpochMeter, str | None]:
    """One pass over the training batches; returns the epoch's meter and a callback's stop reason."""
    last_finite = _LastFinite.of(run)
    perm = _epoch_order(run)
    meter = EpochMeter.of(run, plan.grad_keys)
    stop = None
    parallel = plan.parallel
    for step, (s, e) in enumerate(plan.bounds, start=1):
        # the global batch's size, for alpha's penalty (the same on every rank of a data-parallel run)
        n_b = batch_total(run.data.weights, s, e, perm) if run.settings.alpha else None
        if parallel is None:
            c = _step(run, plan, meter, plan.batches.take(s, e, perm), epoch, step, last_finite, n_b)
        else:
            a, b = parallel.part(s, e)
            share = parallel.share(s, e, a, b, run.data.weights, perm)
            for layer in plan.dropout:
                layer.part = (a - s, b - s, e - s)
            c = _step(run, plan, meter, plan.batches.take(a, b, perm), epoch, step, last_finite, n_b, share)
        stop_now = any(cb.on_batch_end(run.net, step, c) for cb in callbacks)
        if plan.agree_stops:
            stop_now = parallel.any(stop_now)
        if stop_now:
            stop = "stopped by callback"
            break
    if not _all_finite(run.net.params):
        last_finite.restore(run)
        raise _diverged(run, f"in epoch {epoch}: a parameter became infinite or NaN; the parameters and "
                             f"optimiser state were put back to the start of epoch {epoch}.")
    if parallel is not None:
        meter.reduce(parallel)
        parallel.check_in_sync(run.net, epoch)
    return meter, stop


def _epoch_order(run: Run) -> np.ndarray | None:
    """The epoch's permutation of the training samples (``None``: in order), drawn once per epoch
    from ``settings.order`` or, by default, ``net.rng`` (see :func:`fit`'s ``shuffle``)."""
    if not run.settings.shuffle:
        return None
    n, source = run.data.n_train, run.settings.order
    if source is None:
        return run.net.rng.permutation(n)
    perm = np.asarray(source.permutation(n))
    # another object's order is checked: the batches gather rows by these indices without bounds checks
    expected = f"shuffle={source!r}: permutation({n}) must return each of 0..{n - 1} once as integers"
    if perm.shape != (n,) or perm.dtype.kind not in "iu":
        raise ValueError(f"{expected}, got an array of shape {perm.shape} and dtype {perm.dtype}")
    if n and (perm.min() < 0 or perm.max() >= n or np.bincount(perm, minlength=n).max() > 1):
        raise ValueError(f"{expected}, got values from {perm.min()} to {perm.max()}, some repeated or missing")
    return perm


def _add_l2_penalty(net, keys: list, alpha: float, n_b: float) -> float:
    r"""scikit-learn's ``alpha``: :math:`∂C/∂W \mathrel{+}= αW/n_b` for each weight in ``keys``;
    returns the cost's share :math:`\frac{α}{2n_b}\sum\lVert W\rVert^2`."""
    scale = alpha / n_b
    total = 0.0
    for k in keys:
        W = net.params[k]
        total += float(np.dot(W.ravel(), W.ravel()))
        net.grads[k] += W.dtype.type(scale) * W
    return 0.5 * scale * total


def _step(run: Run, plan: _Plan, meter: EpochMeter, batch: tuple, epoch: int, step: int,
          last_finite: _LastFinite, n_b: float | None, share: float | None = None) -> float:
    """Backpropagation on one batch, then one clipped optimiser update; returns the batch loss ``C``.

    ``n_b``: the global batch's size (rows, or weight sum) when ``alpha`` is set, else None.
    In a data-parallel run (``plan.parallel``) ``batch`` is this rank's part of the global batch,
    ``share`` its weight in the global loss (:meth:`DataParallel.share`), and
    the gradients and ``C`` are summed over the ranks before anything reads them; ``alpha``'s
    penalty is then added once, to the summed gradient, as in one process.
    """
    net, opt, parallel = run.net, run.optimizer, plan.parallel
    Xb, Yb, labels_b, weights_b = batch
    if share == 0.0 and weights_b is not None:
        weights_b = None      # a part whose weights sum to 0 adds nothing (and its own mean is 0/0)
    c, out = net._backprop(Xb, Yb, run.loss, weights_b, scale=share)
    if parallel is not None:
        c = parallel.allreduce(net.grads, c)
    if n_b is not None:
        c += _add_l2_penalty(net, plan.grad_keys, run.settings.alpha, n_b)
    meter.add_batch(c, out, Yb, labels_b)
    sq = {k: float(np.dot(g.ravel(), g.ravel())) for k, g in net.grads.items()}
    total = sum(sq.values())
    if not (math.isfinite(c) and math.isfinite(total)):
        _raise_step_divergence(run, c, epoch, step, last_finite)
    meter.add_grads(sq)
    if run.settings.clip_norm is not None:
        clip_grad_norm_(net.grads, run.settings.clip_norm, norm=math.sqrt(total))
    if run.settings.clip_value is not None:
        clip_grad_value_(net.grads, run.settings.clip_value)
    lr = opt.lr
    run.state.history.step_lr.append(float("nan") if lr is None else float(lr))
    opt.step(net.params, net.grads)
    return c


def _raise_step_divergence(run: Run, c: float, epoch: int, step: int, last_finite: _LastFinite):
    """The loss or a gradient of a step is not finite: is it this step's fault, or an earlier update's?"""
    where = f"at epoch {epoch}, step {step}:"
    if _all_finite(run.net.params):
        what = "loss" if not math.isfinite(c) else "gradient"
        raise _diverged(run, f"{where} the {what} is not finite (loss {c}); no update was made, the "
                             "parameters are those before this step.")
    last_finite.restore(run)
    raise _diverged(run, f"{where} an earlier update of this epoch made a parameter infinite or NaN; the "
                         f"parameters and optimiser state were put back to the start of epoch {epoch}.")


def _end_epoch(run: Run, plan: _Plan, meter: EpochMeter, epoch: int, t0: float, stop: str | None,
               callbacks: list[Callback], verbose: int) -> str | None:
    """Record the epoch, tell the optimiser, early stopping and the callbacks; returns why to stop, if so."""
    net, opt, history = run.net, run.optimizer, run.state.history
    rec = {"epoch": epoch, **meter.record()}
    if run.data.X_val is not None:
        rec.update(evaluate(net, run.data.X_val, run.data.Y_val, run.loss, prefix="val_",
                            parallel=plan.parallel, rows=run.data.val_rows))
    rec["lr"] = history.step_lr[-1] if history.step_lr else (opt.lr or float("nan"))
    rec["time"] = time.perf_counter() - t0
    history.records.append(rec)
    opt_observe = getattr(opt, "observe", None)
    if opt_observe is not None:
        opt_observe(rec.get("val_loss", rec["loss"]))
    if run.settings.early_stopping is not None and stop is None:
        stop = _early_stopping(run, plan.monitor, rec, epoch)
    root = plan.parallel is None or plan.parallel.is_root
    if verbose and root:
        _print_record(rec, run.settings.epochs)
    stop_now = any(cb.on_epoch_end(net, rec) for cb in callbacks)
    if plan.agree_stops:
        stop_now = plan.parallel.any(stop_now)
    if stop_now and stop is None:
        stop = "stopped by callback"
    if stop is not None:
        history.stop_reason = stop
    return stop


def _early_stopping(run: Run, monitor: str, rec: dict, epoch: int) -> str | None:
    """Update the early-stopping state with this epoch's ``rec``; the stop reason once patience runs out."""
    es, state = run.settings.early_stopping, run.state.es_state
    if monitor not in rec:
        raise ValueError(f"early_stopping monitors {es.monitor!r}, which is not recorded; "
                         f"columns: {', '.join(rec)}")
    stop = None
    value = rec[monitor]
    if es.improved(value, state.get("best")):
        state.update(best=value, best_epoch=epoch, wait=0)
        if es.restore_best:
            run.state.best_state = run.net.state_dict()
    else:
        state["wait"] = state.get("wait", 0) + 1
        if state["wait"] >= es.patience:
            stop = (f"early stopping: {monitor} did not improve for {es.patience} epochs "
                    f"(best {state['best']:.6g} at epoch {state['best_epoch']})")
    run.state.history.best_epoch = state.get("best_epoch")
    return stop


def _end_training(run: Run, callbacks: list[Callback], stop: str | None, verbose: int) -> None:
    history, es = run.state.history, run.settings.early_stopping
    if not history.stop_reason:
        history.stop_reason = "completed"
    if es is not None and es.restore_best and run.state.best_state is not None:
        run.net.load_state_dict(run.state.best_state)
    for cb in callbacks:
        cb.on_train_end(run.net, history)
    if verbose and stop:
        print(stop, file=sys.stdout, flush=True)


def _print_record(rec: dict, epochs: int) -> None:
    parts = [f"epoch {rec['epoch']:>{len(str(epochs))}}/{epochs}"]
    for k, v in rec.items():
        if k in ("epoch", "time") or k.startswith("grad_norm"):
            continue
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    parts.append(f"{rec['time']:.2f}s")
    print("  ".join(parts), file=sys.stdout, flush=True)
