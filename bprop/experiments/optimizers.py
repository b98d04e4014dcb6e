r"""Seeds 000 and 004's optimisers on one problem and one budget, and on Rosenbrock's valley.

1. A classifier (default one hidden layer of 64, ReLU) trained by each of
   SGD, Momentum, Nesterov, RMSProp, Adam and AdamW (:mod:`bprop.optim`) from
   the same initial parameters, on the same batches (same seed), for the same
   number of epochs: the training loss per epoch and the test accuracy.
2. Each optimiser's path over Rosenbrock's function

   .. math::

       f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2, \qquad
       \nabla f = \bigl(-2(1 - x) - 400\,x\,(y - x^2),\; 200\,(y - x^2)\bigr),

   from (−1.5, 2) for ``steps`` steps, each step bprop's own ``optimizer.step``
   on the parameter ``{"p": [x, y]}``; the minimum is f(1, 1) = 0 at the end of
   a long, curved, flat-bottomed valley. A path that leaves the plane (a
   non-finite or huge value) is cut where it did.

The learning rates on the network (:data:`OPTIMIZERS`) are each optimiser's
usual ones. Those on Rosenbrock are each one's best, after 2 000 steps from
(−1.5, 2), of the grid 1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 1e-2, 2e-2, 5e-2
(measured once with bprop and fixed here; SGD diverges from 4e-3 on, as the
valley's curvature of ≈ 2 000 allows η < 2/2 000 only near the minimum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import optim
from ..errors import DivergenceError
from ..losses import CrossEntropy
from ..mlp import build_mlp

#: name → (optimizer name of bprop.optim.get, learning rate on the network, learning rate on Rosenbrock)
OPTIMIZERS = {
    "sgd": ("sgd", 0.1, 2e-3),
    "momentum": ("momentum", 0.01, 1e-3),
    "nesterov": ("nesterov", 0.01, 1e-3),
    "rmsprop": ("rmsprop", 1e-3, 4e-3),
    "adam": ("adam", 1e-3, 5e-2),
    "adamw": ("adamw", 1e-3, 5e-2),
}
START = (-1.5, 2.0)


def rosenbrock(p) -> float:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_grad(p) -> np.ndarray:
    x, y = float(p[0]), float(p[1])
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@dataclass
class OptimizerResult:
    name: str
    lr: float
    losses: list[float]            # training loss per epoch
    accuracy: float                # test accuracy (NaN if it diverged)
    diverged: bool
    rosen_lr: float
    path: np.ndarray = field(repr=False, default=None)   # (steps + 1, 2) points on Rosenbrock
    rosen_final: float = float("nan")                    # f at the path's end
    rosen_distance: float = float("nan")                 # its distance to the minimum (1, 1)


def rosenbrock_path(name: str, lr: float, steps: int, start=START) -> np.ndarray:
    """The points the optimiser ``name`` visits from ``start`` (cut at the first non-finite or |p| > 1e3)."""
    opt = optim.get(name, lr=lr)
    p = {"p": np.array(start, dtype=np.float64)}
    g = {"p": np.zeros(2)}
    points = [p["p"].copy()]
    for _ in range(steps):
        g["p"][...] = rosenbrock_grad(p["p"])
        opt.step(p, g)
        if not np.all(np.isfinite(p["p"])) or np.abs(p["p"]).max() > 1e3:
            break
        points.append(p["p"].copy())
    return np.array(points)


def optimizer_experiment(X, y, X_test, y_test, *, names=tuple(OPTIMIZERS), hidden=(64,), activation="relu",
                         epochs: int = 10, batch_size: int = 32, steps: int = 2000, seed: int = 0,
                         tick=None) -> list[OptimizerResult]:
    """One :class:`OptimizerResult` per optimiser; ``tick()`` after each."""
    loss = CrossEntropy()
    n_classes = int(max(np.max(y), np.max(y_test))) + 1
    out = []
    for name in names:
        opt_name, lr, rosen_lr = OPTIMIZERS[name]
        net = build_mlp(X.shape[1], list(hidden), n_classes, activation=activation, seed=seed, dtype="float64")
        try:
            h = net.fit(X, y, loss=loss, optimizer=optim.get(opt_name, lr=lr), epochs=epochs,
                        batch_size=batch_size, verbose=0)
            losses, diverged = list(h["loss"]), False
            acc = float(np.mean(np.argmax(net.predict(X_test), axis=1) == y_test))
        except DivergenceError:
            losses, diverged, acc = [], True, float("nan")
        path = rosenbrock_path(opt_name, rosen_lr, steps)
        end = path[-1]
        out.append(OptimizerResult(name, lr, losses, acc, diverged, rosen_lr, path, float(rosenbrock(end)),
                                   float(np.hypot(end[0] - 1, end[1] - 1))))
        if tick is not None:
            tick()
    return out
