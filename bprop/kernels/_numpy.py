r"""Pure-NumPy implementations of the fused kernels (the fallback when numba is absent).

Every function here computes *exactly* what the readable reference code in
:mod:`bprop.activations`, :mod:`bprop.losses` and :mod:`bprop.optim` computes
— the same operations in the same order and the same dtype — but writes into
caller-provided arrays (``out=``) instead of allocating temporaries. The numba
versions in :mod:`bprop.kernels._numba` do the same arithmetic in one pass.

Conventions: ``Z`` is a layer's input (weighted input), ``A`` a cached
activation output, ``dA = ∂C/∂A`` the incoming gradient and ``out`` the
array to write (it may be ``dA`` itself). Scalars arrive already cast to the
arrays' dtype, so no operation is silently promoted to float64.
"""

from __future__ import annotations

import math

import numpy as np

NAME = "numpy"


# ---------------------------------------------------------------- activations
def relu_forward(Z, out):
    """``out = max(Z, 0)``."""
    return np.maximum(Z, 0, out=out)


def relu_backward(dA, A, out):
    """``out = dA ⊙ [A > 0]`` (A is the cached output; ``A > 0 ⇔ Z > 0``)."""
    return np.multiply(dA, A > 0, out=out)


def sigmoid_forward(Z, out):
    """``out = σ(Z)`` from :math:`e^{-|z|}`, never overflowing."""
    e = np.exp(-np.abs(Z))
    one = Z.dtype.type(1.0)
    den = one + e
    np.divide(one, den, out=out)
    neg = Z < 0
    np.divide(e, den, out=out, where=neg)
    return out


def sigmoid_backward(dA, A, out):
    """``out = dA ⊙ a ⊙ (1 − a)``."""
    np.multiply(dA, A, out=out)
    out *= 1.0 - A
    return out


def tanh_forward(Z, out):
    """``out = tanh Z``."""
    return np.tanh(Z, out=out)


def tanh_backward(dA, A, out):
    """``out = dA ⊙ (1 − a²)``."""
    t = A * A
    np.subtract(1.0, t, out=t)
    return np.multiply(dA, t, out=out)


def leaky_relu_forward(Z, slope, out):
    """``out = Z`` where ``Z > 0``, else ``slope·Z``."""
    np.multiply(Z, slope, out=out)
    np.copyto(out, Z, where=Z > 0)
    return out


def leaky_relu_backward(dA, Z, slope, out):
    """``out = dA`` where ``Z > 0``, else ``slope·dA``."""
    pos = Z > 0
    np.multiply(dA, slope, out=out, where=~pos)
    np.copyto(out, dA, where=pos)
    return out


def elu_forward(Z, alpha, out):
    """``out = Z`` where ``Z > 0``, else ``α(e^Z − 1)``."""
    np.minimum(Z, 0, out=out)
    np.expm1(out, out=out)
    out *= alpha
    np.copyto(out, Z, where=Z > 0)
    return out


def elu_backward(dA, Z, A, alpha, out):
    """``out = dA`` where ``Z > 0``, else ``dA ⊙ (a + α)``."""
    pos = Z > 0
    t = A + alpha
    np.multiply(dA, t, out=out, where=~pos)
    np.copyto(out, dA, where=pos)
    return out


# ---------------------------------------------------------------- softmax (activation layer)
def softmax_forward(Z, out):
    """Row-wise ``out = softmax(Z)``."""
    np.subtract(Z, Z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def softmax_backward(dA, A, out):
    """Row-wise ``out = a ⊙ (dA − Σ_j dA_j a_j)``."""
    s = np.sum(dA * A, axis=1, keepdims=True)
    np.subtract(dA, s, out=out)
    out *= A
    return out


# ---------------------------------------------------------------- losses
def mse_value_and_grad(out, Y, G):
    """``G = (a − y)/n``; returns :math:`C = \\frac{1}{2n}\\sum (a-y)^2` (float64 sum)."""
    n = len(out)
    np.subtract(out, Y, out=G)
    c = float(0.5 * np.sum(G * G, dtype=np.float64) / n)
    G *= out.dtype.type(1.0 / n)
    return c


def softmax_xent_value_and_grad(Z, Y, G):
    """``G = (softmax(Z) − Y)/n``; returns :math:`C = −\\frac1n\\sum Y\\ln\\mathrm{softmax}(Z)`."""
    n = len(Z)
    np.subtract(Z, Z.max(axis=1, keepdims=True), out=G)          # shifted
    G -= np.log(np.sum(np.exp(G), axis=1, keepdims=True))           # log p
    c = float(-np.sum(Y * G, dtype=np.float64) / n)
    np.exp(G, out=G)
    G -= Y
    G *= Z.dtype.type(1.0 / n)
    return c


def sigmoid_bce_value_and_grad(Z, Y, G):
    """``G = (σ(Z) − Y)/n``; returns the binary cross-entropy on logits."""
    n = len(Z)
    per = np.sum(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z))), axis=1)
    c = float(np.sum(per, dtype=np.float64) / n)
    sigmoid_forward(Z, G)
    G -= Y
    G *= Z.dtype.type(1.0 / n)
    return c


# ---------------------------------------------------------------- optimisers (flat 1-D views)
# ``*_scalars`` gathers the step's constants once; ``*_step`` updates one parameter ``p`` in place
# from its gradient ``g`` and state, using the work arrays ``tmp`` and ``u`` (``p``'s shape).
def _lerp_(m, u, w1, tmp):
    # m ← lerp(m, u, w1), in torch's two forms (as ScaleByAdam)
    np.subtract(u, m, out=tmp)
    if abs(w1) < 0.5:
        tmp *= w1
        m += tmp
    else:
        tmp *= 1 - w1
        np.subtract(u, tmp, out=m)


def adam_scalars(dtype, lr, b1, b2, eps, t, wd, decoupled):
    """Constants of Adam step ``t`` (1-based); AdamW's decay when ``decoupled``."""
    return lr, b1, b2, eps, t, wd, decoupled


def adam_step(p, g, m, v, tmp, u, scalars):
    """One Adam/AdamW update of ``p`` in place, in the order of :class:`ScaleByAdam`."""
    lr, b1, b2, eps, t, wd, decoupled = scalars
    np.copyto(u, g)
    if wd and not decoupled:
        np.multiply(p, wd, out=tmp)
        u += tmp
    _lerp_(m, u, 1 - b1, tmp)
    v *= b2
    np.multiply(u, 1 - b2, out=tmp)
    tmp *= u
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= (1 - b2 ** t) ** 0.5
    tmp += eps
    np.divide(m, 1 - b1 ** t, out=u)
    u /= tmp
    if wd and decoupled:
        np.multiply(p, wd, out=tmp)
        u += tmp
    u *= -lr
    p += u


def sgd_scalars(dtype, lr, momentum, nesterov, wd):
    """Constants of an SGD step (L2 decay, momentum, Nesterov)."""
    return lr, momentum, nesterov, wd


def sgd_step(p, g, buf, tmp, u, scalars):
    """One SGD update in the order of the SGD chain."""
    lr, momentum, nesterov, wd = scalars
    np.copyto(u, g)
    if wd:
        np.multiply(p, wd, out=tmp)
        u += tmp
    if momentum:
        buf *= momentum
        buf += u
        if nesterov:
            np.multiply(buf, momentum, out=tmp)
            u += tmp
        else:
            np.copyto(u, buf)
    u *= -lr
    p += u


def rmsprop_scalars(dtype, lr, alpha, eps, momentum, wd):
    """Constants of an RMSProp step."""
    return lr, alpha, eps, momentum, wd


def rmsprop_step(p, g, s, buf, tmp, u, scalars):
    """One RMSProp update in the order of the RMSProp chain."""
    lr, alpha, eps, momentum, wd = scalars
    np.copyto(u, g)
    if wd:
        np.multiply(p, wd, out=tmp)
        u += tmp
    s *= alpha
    np.multiply(u, 1 - alpha, out=tmp)
    tmp *= u
    s += tmp
    np.sqrt(s, out=tmp)
    tmp += eps
    u /= tmp
    if momentum:
        buf *= momentum
        buf += u
        np.copyto(u, buf)
    u *= -lr
    p += u


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "math", "np")]
del math
