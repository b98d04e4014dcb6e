r"""numba versions of the fused kernels: one pass over the data, no temporaries.

Each function mirrors the one of the same name in :mod:`bprop.kernels._numpy`
operation by operation, in the arrays' own dtype: constants are made with
``X.dtype.type(...)`` and scalars arrive cast to that dtype, because numba
(unlike NumPy) would promote ``float32 * 1.0`` to float64. Compiled with
``cache=True`` (the machine code is stored next to this file, or in numba's
user cache when that folder is read-only) and ``fastmath=False``, so results
follow IEEE arithmetic exactly as NumPy's do (``error_model="numpy"``: division
by zero gives inf or nan, as in NumPy). Loss values are accumulated in
float64, as the reference code's ``np.sum(..., dtype=np.float64)``.

This module imports numba; :mod:`bprop.kernels` imports it only on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NAME = "numba"
# error_model="numpy": x/0 gives inf/nan as in NumPy instead of raising ZeroDivisionError; the
# check numba would otherwise insert before every division also stops loops from vectorising.
_jit = njit(cache=True, fastmath=False, nogil=True, error_model="numpy")


# ---------------------------------------------------------------- activations
@_jit
def relu_forward(Z, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = zero if z <= zero else z     # NaN passes through, as np.maximum
    return out


@_jit
def relu_backward(dA, A, out):
    zero, one = A.dtype.type(0.0), A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            out[i, j] = dA[i, j] * (one if A[i, j] > zero else zero)
    return out


@_jit
def sigmoid_forward(Z, out):
    zero, one = Z.dtype.type(0.0), Z.dtype.type(1.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            e = np.exp(-abs(z))
            out[i, j] = e / (one + e) if z < zero else one / (one + e)
    return out


@_jit
def sigmoid_backward(dA, A, out):
    one = A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            out[i, j] = dA[i, j] * a * (one - a)
    return out


def tanh_forward(Z, out):
    return np.tanh(Z, out=out)      # NumPy's own tanh, so both backends agree bit for bit


@_jit
def tanh_backward(dA, A, out):
    one = A.dtype.type(1.0)
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            out[i, j] = dA[i, j] * (one - a * a)
    return out


@_jit
def leaky_relu_forward(Z, slope, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = z if z > zero else z * slope
    return out


@_jit
def leaky_relu_backward(dA, Z, slope, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            d = dA[i, j]
            out[i, j] = d if Z[i, j] > zero else d * slope
    return out


@_jit
def elu_forward(Z, alpha, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            out[i, j] = z if z > zero else alpha * np.expm1(min(z, zero))
    return out


@_jit
def elu_backward(dA, Z, A, alpha, out):
    zero = Z.dtype.type(0.0)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            d = dA[i, j]
            out[i, j] = d if Z[i, j] > zero else d * (A[i, j] + alpha)
    return out


# ---------------------------------------------------------------- softmax (activation layer)
@_jit
def softmax_forward(Z, out):
    n, k = Z.shape
    for i in range(n):
        mx = Z[i, 0]
        for j in range(1, k):
            if Z[i, j] > mx:
                mx = Z[i, j]
        s = Z.dtype.type(0.0)
        for j in range(k):
            e = np.exp(Z[i, j] - mx)
            out[i, j] = e
            s += e
        for j in range(k):
            out[i, j] /= s
    return out


@_jit
def softmax_backward(dA, A, out):
    n, k = A.shape
    for i in range(n):
        s = A.dtype.type(0.0)
        for j in range(k):
            s += dA[i, j] * A[i, j]
        for j in range(k):
            out[i, j] = (dA[i, j] - s) * A[i, j]
    return out


# ---------------------------------------------------------------- losses
@_jit
def mse_value_and_grad(out, Y, G):
    n, k = out.shape
    inv_n = out.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        for j in range(k):
            r = out[i, j] - Y[i, j]
            acc += r * r
            G[i, j] = r * inv_n
    return 0.5 * acc / n


@_jit
def softmax_xent_value_and_grad(Z, Y, G):
    n, k = Z.shape
    inv_n = Z.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        mx = Z[i, 0]
        for j in range(1, k):
            if Z[i, j] > mx:
                mx = Z[i, j]
        s = Z.dtype.type(0.0)
        for j in range(k):
            s += np.exp(Z[i, j] - mx)
        lse = np.log(s)
        for j in range(k):
            logp = (Z[i, j] - mx) - lse
            y = Y[i, j]
            acc += y * logp
            G[i, j] = (np.exp(logp) - y) * inv_n
    return -acc / n


@_jit
def sigmoid_bce_value_and_grad(Z, Y, G):
    zero, one = Z.dtype.type(0.0), Z.dtype.type(1.0)
    n, k = Z.shape
    inv_n = Z.dtype.type(1.0 / n)
    acc = 0.0
    for i in range(n):
        for j in range(k):
            z, y = Z[i, j], Y[i, j]
            e = np.exp(-abs(z))
            acc += max(z, zero) - z * y + np.log1p(e)
            s = e / (one + e) if z < zero else one / (one + e)
            G[i, j] = (s - y) * inv_n
    return acc / n


# ---------------------------------------------------------------- optimisers (flat 1-D views)
# ``*_scalars`` converts the step's constants once (cast to the parameters' dtype); ``*_step``
# then updates one parameter in one pass.
@_jit
def _adam(p, g, m, v, lr, w1, b1c, b2, one_minus_b2, bc1, bc2_sqrt, eps, wd, coupled, decoupled, small):
    for i in range(p.shape[0]):
        u = g[i]
        if coupled:
            u += p[i] * wd
        if small:
            m[i] += (u - m[i]) * w1
        else:
            m[i] = u - (u - m[i]) * b1c
        v[i] = v[i] * b2 + u * one_minus_b2 * u
        u = (m[i] / bc1) / (np.sqrt(v[i]) / bc2_sqrt + eps)
        if decoupled:
            u += p[i] * wd
        p[i] += u * lr


def adam_scalars(dtype, lr, b1, b2, eps, t, wd, decoupled):
    T = np.dtype(dtype).type
    w1 = 1 - b1
    return (T(-lr), T(w1), T(1 - w1), T(b2), T(1 - b2), T(1 - b1 ** t), T((1 - b2 ** t) ** 0.5), T(eps),
            T(wd), bool(wd) and not decoupled, bool(wd) and decoupled, abs(w1) < 0.5)


def adam_step(p, g, m, v, tmp, u, scalars):
    _adam(p, g, m, v, *scalars)


@_jit
def _sgd(p, g, buf, lr, mu, wd, decay, use_momentum, nesterov):
    for i in range(p.shape[0]):
        u = g[i]
        if decay:
            u += p[i] * wd
        if use_momentum:
            b = buf[i] * mu + u
            buf[i] = b
            u = u + b * mu if nesterov else b
        p[i] += u * lr


def sgd_scalars(dtype, lr, momentum, nesterov, wd):
    T = np.dtype(dtype).type
    return T(-lr), T(momentum), T(wd), bool(wd), bool(momentum), bool(nesterov)


def sgd_step(p, g, buf, tmp, u, scalars):
    _sgd(p, g, buf, *scalars)


@_jit
def _rmsprop(p, g, s, buf, lr, alpha, one_minus_alpha, eps, mu, wd, decay, use_momentum):
    for i in range(p.shape[0]):
        u = g[i]
        if decay:
            u += p[i] * wd
        si = s[i] * alpha + u * one_minus_alpha * u
        s[i] = si
        u = u / (np.sqrt(si) + eps)
        if use_momentum:
            b = buf[i] * mu + u
            buf[i] = b
            u = b
        p[i] += u * lr


def rmsprop_scalars(dtype, lr, alpha, eps, momentum, wd):
    T = np.dtype(dtype).type
    return T(-lr), T(alpha), T(1 - alpha), T(eps), T(momentum), T(wd), bool(wd), bool(momentum)


def rmsprop_step(p, g, s, buf, tmp, u, scalars):
    _rmsprop(p, g, s, buf, *scalars)


del math
