r"""Fused optimiser updates: a whole transform chain in one pass per parameter.

An optimiser of :mod:`bprop.optim` is a chain of transforms applied to a copy
of the gradients, then added to the parameters. For Adam that is about a
dozen passes over every parameter array (copy, lerp, square, sqrt, divide,
scale, add). :func:`plan` recognises the chains of the built-in recipes and
returns a function doing the same arithmetic, in the same order and dtype, in
one pass per parameter (a numba kernel, or the in-place NumPy fallback):

=============================================================  ==================
chain                                                          kernel
=============================================================  ==================
``[AddDecayedWeights], [Trace], ScaleByLearningRate``          ``sgd_step``
``[AddDecayedWeights], ScaleByRMS, [Trace], ScaleByLearningRate``  ``rmsprop_step``
``[AddDecayedWeights], ScaleByAdam, ScaleByLearningRate``      ``adam_step`` (Adam)
``ScaleByAdam, AddDecayedWeights, ScaleByLearningRate``        ``adam_step`` (AdamW)
=============================================================  ==================

Any other chain (with clipping, say) returns ``None`` and runs transform by
transform. The transforms' state arrays (``m``, ``v``, momentum buffers) are
the ones updated, so ``state_dict`` and resuming work the same on both paths.
"""

from __future__ import annotations

from . import backend


def _split(transforms):
    """``(kind, parts)`` for a recognised chain, else ``None``."""
    from ..optim import transforms as T

    names = [type(t).__name__ for t in transforms]
    if any(type(t) is not getattr(T, n, None) for t, n in zip(transforms, names)):
        return None                       # a subclass: it may compute something else
    if not names or names[-1] != "ScaleByLearningRate":
        return None
    body, lr = list(transforms[:-1]), transforms[-1]
    parts = {"lr": lr}
    if body and type(body[0]) is T.AddDecayedWeights:    # first in the chain: L2 added to the gradient
        parts["decay"] = body.pop(0)
    kinds = [type(t).__name__ for t in body]
    if kinds in ([], ["Trace"]):
        parts["trace"] = body[0] if body else None
        return "sgd", parts
    if kinds in (["ScaleByRMS"], ["ScaleByRMS", "Trace"]):
        if body[1:] and body[1].nesterov:
            return None
        parts["rms"], parts["trace"] = body[0], (body[1] if body[1:] else None)
        return "rmsprop", parts
    if kinds == ["ScaleByAdam"]:
        parts["adam"], parts["decoupled"] = body[0], False
        return "adam", parts
    if kinds == ["ScaleByAdam", "AddDecayedWeights"] and "decay" not in parts:
        parts["adam"], parts["decay"], parts["decoupled"] = body[0], body[1], True
        return "adam", parts
    return None


def _contiguous(*dicts) -> bool:
    return all(a.flags.c_contiguous for d in dicts for a in d.values())


def plan(transforms, params: dict, grads: dict):
    """A fused ``update(params, grads, step, work)`` for this chain, or ``None``.

    Call it after the transforms' state is allocated. ``work`` is a pair of
    dicts of scratch arrays keyed like ``params`` (the optimiser's own update
    and scratch arrays; the NumPy fallback uses them, the numba kernels do
    not). Returns ``None`` for an unrecognised chain, or when an array is not
    C-contiguous (the kernels work on flat views).
    """
    split = _split(transforms)
    if split is None:
        return None
    states = [by_key for t in transforms for by_key in t.state.values()]
    if not _contiguous(params, {k: grads[k] for k in params}, *states):
        return None
    kind, parts = split
    lr_t = parts["lr"]
    decay = parts.get("decay")
    wd = decay.weight_decay if decay is not None else 0.0

    if kind == "adam":
        adam, decoupled = parts["adam"], parts["decoupled"]

        def update(params, grads, step, work):
            k = backend()
            lr = lr_t.schedule(step)
            ms, vs = adam.state["m"], adam.state["v"]
            us, tmps = work
            for key, p in params.items():
                k.adam_step(p.reshape(-1), grads[key].reshape(-1), ms[key].reshape(-1), vs[key].reshape(-1),
                            tmps[key].reshape(-1), us[key].reshape(-1), lr, adam.b1, adam.b2, adam.eps,
                            step + 1, wd, decoupled)
        return update

    if kind == "sgd":
        trace = parts["trace"]
        mu = trace.momentum if trace is not None else 0.0
        nesterov = trace.nesterov if trace is not None else False

        def update(params, grads, step, work):
            k = backend()
            lr = lr_t.schedule(step)
            bufs = trace.state["momentum"] if trace is not None else None
            us, tmps = work
            for key, p in params.items():
                buf = bufs[key].reshape(-1) if bufs is not None else tmps[key].reshape(-1)
                k.sgd_step(p.reshape(-1), grads[key].reshape(-1), buf, tmps[key].reshape(-1),
                           us[key].reshape(-1), lr, mu, nesterov, wd)
        return update

    rms, trace = parts["rms"], parts["trace"]
    mu = trace.momentum if trace is not None else 0.0

    def update(params, grads, step, work):
        k = backend()
        lr = lr_t.schedule(step)
        sq = rms.state["square_avg"]
        bufs = trace.state["momentum"] if trace is not None else None
        us, tmps = work
        for key, p in params.items():
            buf = bufs[key].reshape(-1) if bufs is not None else tmps[key].reshape(-1)
            k.rmsprop_step(p.reshape(-1), grads[key].reshape(-1), sq[key].reshape(-1), buf,
                           tmps[key].reshape(-1), us[key].reshape(-1), lr, rms.alpha, rms.eps, mu, wd)
    return update
