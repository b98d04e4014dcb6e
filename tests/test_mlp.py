"""bprop.mlp.build_mlp: the one builder of the CLI, the estimators and explain, and the rules it states."""

import numpy as np
import pytest

import bprop as bp
from bprop.mlp import RELU_FAMILY, build_mlp, default_init


def kinds(net):
    return [type(layer).__name__ for layer in net.layers]


def dense(net):
    return [layer for layer in net.layers if isinstance(layer, bp.Dense)]


def test_layout_and_output_activation():
    net = build_mlp(4, [8, 6], 3, activation="tanh", dropout=0.2, seed=0)
    assert kinds(net) == ["Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense"]
    for no_layer in (None, "identity", "linear"):   # logits for the logit losses
        assert kinds(build_mlp(2, [3], 2, activation="relu", output_activation=no_layer)) == ["Dense", "ReLU", "Dense"]
    assert kinds(build_mlp(2, [], 1, output_activation="sigmoid")) == ["Dense", "Sigmoid"]
    hidden_identity = build_mlp(2, [3], 1, activation="identity")   # a hidden identity stays a layer
    assert kinds(hidden_identity) == ["Dense", "Identity", "Dense"]


def test_no_bias_before_batchnorm():
    net = build_mlp(4, [8, 6], 3, activation="relu", batchnorm=True, bias_init=0.01, seed=0)
    assert kinds(net) == ["Dense", "BatchNorm", "ReLU", "Dense", "BatchNorm", "ReLU", "Dense"]
    assert [d.bias for d in dense(net)] == [False, False, True]
    assert set(net.params) == {"0.W", "1.gamma", "1.beta", "3.W", "4.gamma", "4.beta", "6.W", "6.b"}
    np.testing.assert_array_equal(net.params["6.b"], np.full(3, 0.01, dtype=np.float32))
    assert all(not d.bias for d in dense(build_mlp(1, [1], 1, bias=False)))


def test_initialisers():
    assert [default_init(a) for a in RELU_FAMILY] == ["he_normal"] * 4
    assert [default_init(a) for a in ("sigmoid", "tanh", "softmax", "identity", None)] == ["xavier_uniform"] * 5
    # auto: each Dense layer by the activation after it; the output layer (no activation) gets Xavier
    auto = build_mlp(3, [4, 4], 2, activation=["relu", "tanh"])
    assert [d.init.name for d in dense(auto)] == ["he_normal", "xavier_uniform", "xavier_uniform"]
    # a name: every layer, the output layer too, unless output_init says otherwise
    named = build_mlp(3, [4], 2, activation="relu", init="he_uniform")
    assert [d.init.name for d in dense(named)] == ["he_uniform", "he_uniform"]
    mixed = build_mlp(3, [4], 2, activation="relu", init="he_uniform", output_init="xavier_normal")
    assert [d.init.name for d in dense(mixed)] == ["he_uniform", "xavier_normal"]


def test_per_layer_values_and_seed():
    net = build_mlp(3, [4, 5], 2, activation=("elu", "sigmoid"), dropout=[0.0, 0.3], seed=1, dtype="float64")
    assert kinds(net) == ["Dense", "ELU", "Dense", "Sigmoid", "Dropout", "Dense"]
    assert net.dtype == np.float64
    again = build_mlp(3, [4, 5], 2, activation=("elu", "sigmoid"), dropout=[0.0, 0.3], seed=1, dtype="float64")
    for k in net.params:
        np.testing.assert_array_equal(net.params[k], again.params[k])
    with pytest.raises(ValueError, match="one per hidden layer"):
        build_mlp(3, [4, 5], 2, activation=["relu"])
