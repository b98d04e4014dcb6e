"""Parity with PyTorch autograd in float64.

Outputs, loss, every parameter gradient and each Dense layer's δ (from
``net.trace``) against ``z.grad`` obtained with ``retain_grad()``, relative
error < 1e-10. BatchNorm in train and eval mode, running statistics included.
"""

import os
from functools import partial

import numpy as np
import pytest

import bprop as bp

RTOL = 1e-10

# The compiled BatchNorm (Sequential(..., backend="numba")) is held to PyTorch as well; CI installs numba.
_needs_numba = pytest.mark.skipif(os.environ.get("BPROP_REQUIRE_TORCH") != "1" and not bp._jit.numba_available(),
                                  reason="numba is not installed (pip install 'bprop[fast]')")
BACKENDS = ["numpy", pytest.param("numba", marks=_needs_numba)]


def assert_close(ours, theirs, what):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), 1e-300)
    err = float(np.max(np.abs(ours - theirs), initial=0.0)) / scale
    assert err < RTOL, f"{what}: relative error {err:.3e}"


class TorchMirror:
    """The same network in PyTorch, built from a bprop network's layers and arrays."""

    def __init__(self, torch, net):
        self.torch = torch
        self.net = net
        F = torch.nn.functional
        self.params = {
            key: torch.tensor(np.array(p, dtype=np.float64), requires_grad=True)
            for key, p in net.params.items()
        }
        self.bn = {}
        self.ops = []
        for i, layer in enumerate(net.layers):
            if isinstance(layer, bp.Dense):
                self.ops.append(("dense", i))
            elif isinstance(layer, bp.BatchNorm):
                n = net.params[f"{i}.gamma"].shape[0]
                bn = torch.nn.BatchNorm1d(n, momentum=layer.momentum, eps=layer.eps,
                                          dtype=torch.float64)
                with torch.no_grad():
                    bn.running_mean.copy_(torch.tensor(net.buffers[f"{i}.running_mean"]))
                    bn.running_var.copy_(torch.tensor(net.buffers[f"{i}.running_var"]))
                bn.weight = torch.nn.Parameter(self.params[f"{i}.gamma"])  # shared leaf
                bn.bias = torch.nn.Parameter(self.params[f"{i}.beta"])
                self.params[f"{i}.gamma"], self.params[f"{i}.beta"] = bn.weight, bn.bias
                self.bn[i] = bn
                self.ops.append(("bn", i))
            else:
                self.ops.append(("act", self._activation(F, layer)))

    def _activation(self, F, layer):
        t = self.torch
        table = {
            bp.Identity: lambda z: z,
            bp.Sigmoid: t.sigmoid,
            bp.Tanh: t.tanh,
            bp.ReLU: F.relu,
            bp.LeakyReLU: lambda z: F.leaky_relu(z, negative_slope=layer.slope),
            bp.ELU: lambda z: F.elu(z, alpha=layer.alpha),
            bp.GELU: lambda z: F.gelu(z, approximate=layer.approximate),
            bp.Softmax: lambda z: F.softmax(z, dim=1),
        }
        return table[type(layer)]

    def forward(self, X, training):
        """Output and the Dense layers' z tensors (with retained gradients)."""
        F = self.torch.nn.functional
        a = self.torch.tensor(np.asarray(X, dtype=np.float64))
        zs = []
        for kind, arg in self.ops:
            if kind == "dense":
                b = self.params.get(f"{arg}.b")
                a = F.linear(a, self.params[f"{arg}.W"], b)
                if training:
                    a.retain_grad()
                zs.append(a)
            elif kind == "bn":
                self.bn[arg].train(training)
                a = self.bn[arg](a)
            else:
                a = arg(a)
        return a, zs

    def zero_grad(self):
        for p in self.params.values():
            p.grad = None


def torch_loss(torch, kind, out, y):
    F = torch.nn.functional
    n = out.shape[0]
    if kind == "mse":  # bprop: 1/(2n) Σ ‖a − y‖²
        return 0.5 * ((out - torch.tensor(y)) ** 2).sum(1).mean()
    if kind == "ce_labels":
        return F.cross_entropy(out, torch.tensor(y, dtype=torch.long))
    if kind == "ce_onehot":
        return F.cross_entropy(out, torch.tensor(y))
    if kind == "bce":  # bprop: mean over samples of a sum over outputs
        return F.binary_cross_entropy_with_logits(out, torch.tensor(y), reduction="sum") / n
    raise AssertionError(kind)


BP_LOSS = {"mse": bp.MSE, "ce_labels": bp.CrossEntropy, "ce_onehot": bp.CrossEntropy,
           "bce": bp.BinaryCrossEntropy}


def make_targets(kind, rng, n, k):
    if kind == "mse":
        return rng.normal(size=(n, k))
    labels = rng.integers(0, k, size=n)
    if kind == "ce_labels":
        return labels
    if kind == "ce_onehot":
        return np.eye(k)[labels]
    return rng.integers(0, 2, size=(n, k)).astype(np.float64)


def check_parity(torch, net, X, y, kind):
    """One training step's worth of quantities, bprop vs PyTorch."""
    mirror = TorchMirror(torch, net)
    loss = BP_LOSS[kind]()

    records = net.trace(X, y, loss)
    C = net.backprop(X, y, loss)

    out_t, zs = mirror.forward(X, training=True)
    C_t = torch_loss(torch, kind, out_t, y)
    C_t.backward()

    assert_close(records[-1]["a_out"], out_t, "training output")
    assert_close(C, C_t, "loss")
    assert len(records) == len(zs)
    for i, (rec, z) in enumerate(zip(records, zs)):
        assert_close(rec["z"], z, f"Dense #{i} z")
        assert_close(rec["delta"], z.grad, f"Dense #{i} delta")
    for key, p in mirror.params.items():
        assert_close(net.grads[key], p.grad, f"grad {key}")
    # Eval-mode output (running statistics after the one training forward each did).
    out_eval, _ = mirror.forward(X, training=False)
    assert_close(net.predict(X), out_eval, "eval output")
    return mirror


# Classes and partials are the layer factories (a layer belongs to one network).
ACTS = dict(identity=bp.Identity, sigmoid=bp.Sigmoid, tanh=bp.Tanh, relu=bp.ReLU,
            leaky_relu=bp.LeakyReLU, elu=bp.ELU, gelu=bp.GELU, softmax=bp.Softmax,
            leaky_relu_03=partial(bp.LeakyReLU, slope=0.3), elu_17=partial(bp.ELU, alpha=1.7),
            gelu_tanh=partial(bp.GELU, approximate="tanh"))


@pytest.mark.parametrize("act", sorted(ACTS))
def test_every_activation(torch, act, rng):
    net = bp.Sequential([bp.Dense(5, 7), ACTS[act](), bp.Dense(7, 4), ACTS[act](), bp.Dense(4, 3)],
                        seed=1, dtype="float64")
    X = rng.normal(scale=1.5, size=(9, 5))
    check_parity(torch, net, X, make_targets("mse", rng, 9, 3), "mse")


@pytest.mark.parametrize("act", ["sigmoid", "softmax", "tanh", "identity"])
def test_activation_output_layer_with_mse(torch, act, rng):
    net = bp.Sequential([bp.Dense(4, 6), bp.ReLU(), bp.Dense(6, 3), ACTS[act]()],
                        seed=2, dtype="float64")
    X = rng.normal(size=(8, 4))
    check_parity(torch, net, X, rng.uniform(size=(8, 3)), "mse")


@pytest.mark.parametrize("kind", ["mse", "ce_labels", "ce_onehot", "bce"])
@pytest.mark.parametrize("bias", [True, False])
def test_every_loss_with_and_without_bias(torch, kind, bias, rng):
    net = bp.Sequential([bp.Dense(6, 8, bias=bias), bp.Tanh(), bp.Dense(8, 5, bias=bias),
                         bp.ReLU(), bp.Dense(5, 4, bias=bias)], seed=3, dtype="float64")
    if not bias:
        assert not any(key.endswith(".b") for key in net.params)
    X = rng.normal(size=(10, 6))
    check_parity(torch, net, X, make_targets(kind, rng, 10, 4), kind)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["mse", "ce_labels", "bce"])
def test_batchnorm_train_mode(torch, kind, backend, rng):
    net = bp.Sequential([bp.Dense(5, 8, bias=False), bp.BatchNorm(8), bp.ReLU(),
                         bp.Dense(8, 6, bias=False), bp.BatchNorm(6, momentum=0.3, eps=1e-3), bp.GELU(),
                         bp.Dense(6, 3)], seed=4, dtype="float64", backend=backend)
    net.params["1.gamma"][...] = rng.uniform(0.5, 1.5, size=8)
    net.params["1.beta"][...] = rng.normal(size=8)
    X = rng.normal(loc=2.0, scale=3.0, size=(12, 5))
    check_parity(torch, net, X, make_targets(kind, rng, 12, 3), kind)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batchnorm_running_statistics_and_eval_mode(torch, backend, rng):
    net = bp.Sequential([bp.Dense(4, 6, bias=False), bp.BatchNorm(6, momentum=0.2), bp.Tanh(),
                         bp.Dense(6, 2)],
                        seed=5, dtype="float64", backend=backend)
    mirror = TorchMirror(torch, net)
    bn_t = mirror.bn[1]
    loss = bp.MSE()
    for step in range(5):  # several training forwards on different batches
        X = rng.normal(loc=step, scale=1 + step, size=(7, 4))
        y = rng.normal(size=(7, 2))
        net.backprop(X, y, loss)
        mirror.forward(X, training=True)
        # running_var uses the unbiased batch variance, as torch does
        assert_close(net.buffers["1.running_mean"], bn_t.running_mean, f"running_mean step {step}")
        assert_close(net.buffers["1.running_var"], bn_t.running_var, f"running_var step {step}")
    assert not np.allclose(net.buffers["1.running_var"], 1.0)
    X = rng.normal(size=(5, 4))
    out_t, _ = mirror.forward(X, training=False)
    assert_close(net.predict(X), out_t, "eval output")
    assert_close(net.forward(X, training=False), out_t, "forward(training=False)")
    # Eval mode does not touch the running statistics.
    assert_close(net.buffers["1.running_mean"], bn_t.running_mean, "running_mean after eval")


def test_trace_deltas_with_batchnorm_and_deep_net(torch, rng):
    # (A Dense bias right before BatchNorm has gradient exactly 0: leave it out.)
    layers = [bp.Dense(3, 6, bias=False)]
    for i in range(4):
        layers += [bp.BatchNorm(6), bp.ELU(), bp.Dense(6, 6, bias=i == 3)]
    layers += [bp.Sigmoid(), bp.Dense(6, 2)]
    net = bp.Sequential(layers, seed=6, dtype="float64")
    X = rng.normal(size=(9, 3))
    check_parity(torch, net, X, make_targets("ce_onehot", rng, 9, 2), "ce_onehot")


def test_large_batch_realistic_shapes(torch, rng):
    net = bp.Sequential([bp.Dense(64, 32, init="he_normal"), bp.ReLU(), bp.BatchNorm(32),
                         bp.Dense(32, 10)], seed=7, dtype="float64")
    X = rng.normal(size=(128, 64))
    check_parity(torch, net, X, make_targets("ce_labels", rng, 128, 10), "ce_labels")
