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
    """A :class:`FusedUpdate` for this chain, or ``None``.

    Call it after the transforms' state is allocated. Returns ``None`` for an
    unrecognised chain, or when an array is not C-contiguous (the kernels work
    on flat views).
    """
    split = _split(transforms)
    if split is None:
        return None
    states = [by_key for t in transforms for by_key in t.state.values()]
    if not _contiguous(params, {k: grads[k] for k in params}, *states):
        return None
    return FusedUpdate(*split)


class FusedUpdate:
    """``update(params, grads, step, work) -> bool``: one fused pass per parameter.

    ``work`` is a pair of dicts of scratch arrays keyed like ``params`` (the
    optimiser's own update and scratch arrays; the NumPy fallback uses them,
    the numba kernels do not). Returns False, having changed nothing, if an
    array is not C-contiguous: the caller then runs the chain. It holds the
    transforms (their hyper-parameters and state arrays), so it pickles and
    deep-copies along with the optimiser; the cached flat views do not.
    """

    def __init__(self, kind: str, parts: dict):
        self.kind, self.parts = kind, parts
        self._cache = None          # (arrays, views): flat views, rebuilt when an array changes

    def __getstate__(self):
        return {"kind": self.kind, "parts": self.parts}

    def __setstate__(self, state):
        self.kind, self.parts, self._cache = state["kind"], state["parts"], None

    def _slots(self):
        """The state arrays (by key) the kernel updates, in its argument order; None: unused."""
        p = self.parts
        trace = p.get("trace")
        momentum = trace.state["momentum"] if trace is not None else None
        if self.kind == "adam":
            return p["adam"].state["m"], p["adam"].state["v"]
        if self.kind == "sgd":
            return (momentum,)
        return p["rms"].state["square_avg"], momentum

    def _scalars(self, k, dtype, lr: float, step: int):
        p = self.parts
        decay, trace = p.get("decay"), p.get("trace")
        wd = decay.weight_decay if decay is not None else 0.0
        mu = trace.momentum if trace is not None else 0.0
        if self.kind == "adam":
            a = p["adam"]
            return k.adam_scalars(dtype, lr, a.b1, a.b2, a.eps, step + 1, wd, p["decoupled"])
        if self.kind == "sgd":
            return k.sgd_scalars(dtype, lr, mu, trace is not None and trace.nesterov, wd)
        return k.rmsprop_scalars(dtype, lr, p["rms"].alpha, p["rms"].eps, mu, wd)

    def _views(self, params, grads, work):
        """Flat views ``(p, g, *state, tmp, u)`` per parameter, or None if one would be a copy."""
        us, tmps = work
        arrays = [(p, grads[key], us[key], tmps[key]) for key, p in params.items()]
        cache = self._cache
        if cache is not None and len(cache[0]) == len(arrays) and all(
                a is b for new, old in zip(arrays, cache[0]) for a, b in zip(new, old)):
            return cache[1]
        if not all(a.flags.c_contiguous for group in arrays for a in group):
            return None
        slots = self._slots()
        views = []
        for key, p in params.items():
            tmp = tmps[key].reshape(-1)
            state = [tmp if slot is None else slot[key].reshape(-1) for slot in slots]  # tmp: unused slot
            views.append((p.reshape(-1), grads[key].reshape(-1), *state, tmp, us[key].reshape(-1)))
        self._cache = (arrays, views)
        return views

    def __call__(self, params, grads, step: int, work) -> bool:
        all_views = self._views(params, grads, work)
        if all_views is None:
            return False
        k = backend()
        run = getattr(k, f"{self.kind}_step")
        lr = self.parts["lr"].schedule(step)
        by_dtype = {}
        for views in all_views:
            dt = views[0].dtype
            s = by_dtype.get(dt)
            if s is None:
                s = by_dtype[dt] = self._scalars(k, dt, lr, step)
            run(*views, s)
        return True
