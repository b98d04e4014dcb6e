r"""ONNX export of a bprop network: ``net.to_onnx(path)``, ``est.to_onnx(path)``, ``bprop export``.

Each layer becomes the ONNX operator that computes the same formula, on a
batch ``X (N, n_in)`` whose ``N`` is dynamic:

==============  =========================================  ==================================================
bprop layer     float32 network                            float64 network
==============  =========================================  ==================================================
``Dense``       ``Gemm(A, W, b, transB=1)``: :math:`Z = A W^\top + b` (``W`` is already ``(n_out, n_in)``)
``Identity``    ``Identity``
``Sigmoid``     ``Sigmoid``; ``Tanh``, ``ReLU`` → ``Tanh``, ``Relu``; ``Softmax`` → ``Softmax(axis=1)``
``LeakyReLU``   ``LeakyRelu(alpha=s)``                      ``Where(Z > 0, Z, Z·s)``
``ELU``         ``Elu(alpha=α)``                            ``Where(Z > 0, Z, α·(exp(min(Z, 0)) − 1))``
``GELU``        opset ≥ 20: ``Gelu(approximate=…)``; below: ``Z·½(1 + Erf(Z/√2))`` or the tanh form
``BatchNorm``   opset ≥ 14: ``BatchNormalization``          ``(Z − μ_run)·(1/√(σ²_run + ε))·γ + β``
                (running statistics); opset 13: as float64
``Dropout``     left out (the identity in eval mode)
==============  =========================================  ==================================================

Why float64 networks avoid some native operators: ONNX stores attributes
such as ``alpha`` and ``epsilon`` as float32, so ``LeakyRelu(alpha=0.01)`` in a
float64 graph multiplies by 0.0099999997764825820922852 and cannot agree with
the network to 1e-10. The float64 graph therefore writes those formulas with
float64 constants (initializers), and the export stays exact. (A float32
network rounds those constants to float32 itself, so its native operators
agree.) At opset 13 ``BatchNormalization`` is version 9, which onnx's own
``ReferenceEvaluator`` runs with the batch's statistics instead of the
running ones, so there BatchNorm is written out in every dtype.
onnxruntime 1.32 has no float64 kernel for ``Elu``, ``LeakyRelu``,
``Erf`` or ``Gelu``: the decompositions above also let it run float64
``LeakyReLU``, ``ELU`` and ``BatchNorm`` graphs; a float64 ``GELU`` graph runs on
``onnx.reference.ReferenceEvaluator`` (or any runtime with those kernels).

Before the first layer, a model saved by ``bprop train`` folds in its
``Standardizer``, :math:`x' = (x − \text{mean})/\text{scale}` (``Sub``, ``Div``), so
raw features go in.

Outputs: a regression network gives ``output``. A network trained with a
logit loss (``CrossEntropy``, ``BinaryCrossEntropy``) gives ``logits``, then
``probabilities`` (``Softmax``, or ``Sigmoid`` per output; for the estimators
what ``predict_proba`` returns, see ``probabilities=``) and ``label``:
``ArgMax`` of the logits — or, for one sigmoid output and for multi-label
networks, ``z > 0`` (that is σ(z) > ½) — mapped to the class names with a
``Gather`` where the names are numbers (integers: int64, otherwise float64);
other names stay in the file's metadata (``class_names``) and ``label`` is the
class index. No ``ZipMap``: plain tensors are what every runtime reads.

``ir_version`` is the oldest IR that knows the opset (opset 20 ↔ IR 9), so
older runtimes load the file. Opsets 13 to the newest the installed ``onnx``
knows are supported.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .. import activations, layers as _layers
from .._version import __version__
from ..io import write_bytes
from ..losses import BinaryCrossEntropy, CrossEntropy, get as get_loss

#: The oldest opset the exporter writes (Softmax's one-axis semantics, Gemm without C since 11).
MIN_OPSET = 13
#: The first opset with a ``Gelu`` operator.
GELU_OPSET = 20
#: The first opset whose ``BatchNormalization`` says eval mode outright (``training_mode=0``): onnx's own
#: ReferenceEvaluator runs version 9 (opsets 9–13) with the batch's statistics.
BATCHNORM_OPSET = 14


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'bprop[onnx]'") from None
    return onnx


def check_opset(opset) -> int:
    """``opset`` if this exporter and the installed ``onnx`` support it, else a ValueError saying which do."""
    onnx = _onnx()
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an integer from {MIN_OPSET} to {newest}, got {opset!r}")
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"opset {opset} is not supported: bprop exports opsets {MIN_OPSET} to {newest} (the newest "
                         f"that the installed onnx {onnx.__version__} knows); e.g. opset=17")
    return int(opset)


class _Graph:
    """The nodes and constants of the graph being built, with fresh names."""

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes, self.initializers = [], []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, value, dtype=None) -> str:
        """An initializer holding ``value`` (in the network's dtype unless ``dtype`` is given)."""
        arr = np.array(value, dtype=self.dtype if dtype is None else dtype, order="C")   # a scalar stays 0-d
        name = self.name(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs: list, stem: str | None = None, output: str | None = None, **attrs) -> str:
        out = output or self.name(stem or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def _where_positive(g: _Graph, x: str, negative: str) -> str:
    """``Where(x > 0, x, negative)``: the branch structure of LeakyReLU and ELU."""
    return g.op("Where", [g.op("Greater", [x, g.const("zero", 0.0)]), x, negative])


def _layer(g: _Graph, layer, x: str, opset: int, i: int) -> str:
    """Nodes computing ``layer`` on tensor ``x``; returns the name of the result."""
    f64 = g.dtype == np.float64
    if isinstance(layer, _layers.Dense):
        inputs = [x, g.const(f"W{i}", layer.params["W"])]
        if layer.bias:
            inputs.append(g.const(f"b{i}", layer.params["b"]))
        return g.op("Gemm", inputs, f"z{i}", transB=1)                   # Z = A W^T + b
    if isinstance(layer, _layers.Dropout):
        return x                                                         # eval mode: the identity
    if isinstance(layer, _layers.BatchNorm):
        rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
        gamma, beta = layer.params["gamma"], layer.params["beta"]
        if not f64 and opset >= BATCHNORM_OPSET:
            return g.op("BatchNormalization", [x, g.const(f"gamma{i}", gamma), g.const(f"beta{i}", beta),
                                               g.const(f"running_mean{i}", rm), g.const(f"running_var{i}", rv)],
                        f"bn{i}", epsilon=float(layer.eps))
        inv_std = 1.0 / np.sqrt(rv + layer.eps)                          # as BatchNorm.forward in eval mode
        xhat = g.op("Mul", [g.op("Sub", [x, g.const(f"running_mean{i}", rm)]), g.const(f"inv_std{i}", inv_std)])
        return g.op("Add", [g.op("Mul", [xhat, g.const(f"gamma{i}", gamma)]), g.const(f"beta{i}", beta)], f"bn{i}")
    simple = {activations.Identity: "Identity", activations.Sigmoid: "Sigmoid", activations.Tanh: "Tanh",
              activations.ReLU: "Relu"}
    if type(layer) in simple:
        return g.op(simple[type(layer)], [x], f"a{i}")
    if isinstance(layer, activations.Softmax):
        return g.op("Softmax", [x], f"a{i}", axis=1)
    if isinstance(layer, activations.LeakyReLU):
        if not f64:
            return g.op("LeakyRelu", [x], f"a{i}", alpha=float(layer.slope))
        return _where_positive(g, x, g.op("Mul", [x, g.const("slope", layer.slope)]))
    if isinstance(layer, activations.ELU):
        if not f64:
            return g.op("Elu", [x], f"a{i}", alpha=float(layer.alpha))
        em1 = g.op("Sub", [g.op("Exp", [g.op("Min", [x, g.const("zero", 0.0)])]), g.const("one", 1.0)])
        return _where_positive(g, x, g.op("Mul", [em1, g.const("alpha", layer.alpha)]))
    if isinstance(layer, activations.GELU):
        if opset >= GELU_OPSET:
            return g.op("Gelu", [x], f"a{i}", approximate=layer.approximate)
        if layer.approximate == "tanh":                                  # ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))
            cube = g.op("Mul", [g.op("Mul", [x, x]), x])
            u = g.op("Mul", [g.const("k", math.sqrt(2.0 / math.pi)),
                             g.op("Add", [x, g.op("Mul", [g.const("c", 0.044715), cube])])])
            half_z = g.op("Mul", [g.const("half", 0.5), x])
            return g.op("Mul", [half_z, g.op("Add", [g.const("one", 1.0), g.op("Tanh", [u])])], f"a{i}")
        erf = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", math.sqrt(2.0))])])   # z · ½(1 + erf(z/√2))
        cdf = g.op("Mul", [g.const("half", 0.5), g.op("Add", [g.const("one", 1.0), erf])])
        return g.op("Mul", [x, cdf], f"a{i}")
    raise ValueError(f"layer {i} ({type(layer).__name__}) has no ONNX export; bprop exports Dense, BatchNorm, "
                     "Dropout, Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU and Softmax")


def _numeric_classes(class_names):
    """The class names as an int64 or float64 array if every one is a number, else None."""
    if not class_names:
        return None
    try:
        values = [float(c) for c in class_names]
    except (TypeError, ValueError):
        return None
    if all(math.isfinite(v) and v == int(v) for v in values):
        return np.array([int(v) for v in values], dtype=np.int64)
    return np.array(values, dtype=np.float64)


#: How ``probabilities`` is made from the sigmoid outputs p = σ(z), for the estimators' ``predict_proba``.
PROBABILITIES = {
    "sigmoid": "p, one probability per output",
    "binary_pair": "[1 − p, p] of one output: the two classes' probabilities",
    "normalized": "p / Σ p per row: one-vs-rest sigmoids made into one distribution over the classes",
}


def export(net, path, *, opset: int = 20, input_name: str = "input", loss=None, class_names=None,
           standardizer=None, multilabel: bool | None = None, probabilities: str = "sigmoid"):
    """Write ``net`` to ``path`` as an ONNX model and return the ``onnx.ModelProto``.

    Parameters
    ----------
    net : bprop.Sequential
    path : str or os.PathLike
        Written atomically (:func:`bprop.io.atomic_write`).
    opset : int, default 20
        From 13 to the newest opset the installed ``onnx`` knows.
    input_name : str, default "input"
        Name of the input ``(N, n_in)`` tensor, in the network's dtype.
    loss : Loss or str, optional
        Decides the outputs (see the module docstring); default the loss in
        ``net.metadata["loss"]`` (a model from ``bprop train``), else a
        regression output.
    class_names : list, optional
        Default ``net.metadata["class_names"]``.
    standardizer : dict, optional
        ``{"mean": [...], "scale": [...]}`` folded in before the first layer;
        default ``net.metadata["standardizer"]``.
    multilabel : bool, optional
        For ``BinaryCrossEntropy``: each output is its own yes/no label (``z > 0``)
        rather than one class among the outputs (``ArgMax``); default: whether
        ``net.metadata["task"]`` is ``"multilabel"``.
    probabilities : {"sigmoid", "binary_pair", "normalized"}, default "sigmoid"
        For ``BinaryCrossEntropy``: the ``probabilities`` output (:data:`PROBABILITIES`);
        the estimators ask for what their ``predict_proba`` returns.

    Raises
    ------
    ValueError
        For an opset outside the supported range, a layer without an export,
        or a ``standardizer`` that does not fit the input.
    ImportError
        Without the ``onnx`` package (``pip install 'bprop[onnx]'``).
    """
    onnx = _onnx()
    from onnx import TensorProto, helper

    opset = check_opset(opset)
    if not isinstance(input_name, str) or not input_name:
        raise ValueError(f"input_name must be a non-empty string, got {input_name!r}")
    meta = getattr(net, "metadata", None) or {}
    loss = get_loss(loss if loss is not None else meta.get("loss") or "mse")
    class_names = class_names if class_names is not None else meta.get("class_names")
    standardizer = standardizer if standardizer is not None else meta.get("standardizer")
    multilabel = meta.get("task") == "multilabel" if multilabel is None else bool(multilabel)
    dtype = np.dtype(net.dtype)
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    g = _Graph(onnx, dtype)

    x = input_name
    if standardizer:
        mean, scale = (np.asarray(standardizer[k], dtype=np.float64) for k in ("mean", "scale"))
        if mean.shape != (net.n_in,) or scale.shape != (net.n_in,):
            raise ValueError(f"the standardizer has {mean.size} means and {scale.size} scales, but the network "
                             f"takes {net.n_in} input features")
        x = g.op("Div", [g.op("Sub", [x, g.const("mean", mean)]), g.const("scale", scale)], "standardized")
    for i, layer in enumerate(net.layers):
        x = _layer(g, layer, x, opset, i)

    n_out = net.n_out
    outputs = []
    if not loss.takes_logits:
        g.op("Identity", [x], output="output")
        outputs.append(helper.make_tensor_value_info("output", elem, ["N", n_out]))
    else:
        g.op("Identity", [x], output="logits")
        outputs.append(helper.make_tensor_value_info("logits", elem, ["N", n_out]))
        softmax = isinstance(loss, CrossEntropy)
        if not softmax and not isinstance(loss, BinaryCrossEntropy):
            raise ValueError(f"no ONNX output head for the logit loss {type(loss).__name__}")
        n_proba = n_out
        if softmax:
            g.op("Softmax", ["logits"], output="probabilities", axis=1)
        elif probabilities == "sigmoid":
            g.op("Sigmoid", ["logits"], output="probabilities")
        elif probabilities == "binary_pair" and n_out == 1:             # [1 − σ(z), σ(z)]
            p = g.op("Sigmoid", ["logits"], "p")
            g.op("Concat", [g.op("Sub", [g.const("one", 1.0), p]), p], output="probabilities", axis=1)
            n_proba = 2
        elif probabilities == "normalized":                              # σ(z) / Σ_j σ(z_j)
            p = g.op("Sigmoid", ["logits"], "p")
            total = g.op("ReduceSum", [p, g.const("axes", [1], np.int64)], "total", keepdims=1)
            g.op("Div", [p, total], output="probabilities")
        else:
            raise ValueError(f"probabilities={probabilities!r} is not one of {', '.join(PROBABILITIES)} "
                             "(binary_pair needs one output)")
        outputs.append(helper.make_tensor_value_info("probabilities", elem, ["N", n_proba]))
        if softmax or (n_out > 1 and not multilabel):                    # one class among the outputs
            index = g.op("ArgMax", ["logits"], "index", axis=1, keepdims=0)
            label_shape = ["N"]
        else:                                                            # σ(z) > ½ ⇔ z > 0, per output
            index = g.op("Cast", [g.op("Greater", ["logits", g.const("zero", 0.0)])], "index", to=TensorProto.INT64)
            if n_out == 1:
                index = g.op("Reshape", [index, g.const("flat", [-1], np.int64)], "index")
            label_shape = ["N"] if n_out == 1 else ["N", n_out]
        classes = None if multilabel else _numeric_classes(class_names)
        if classes is not None and len(classes) == (2 if n_out == 1 else n_out):
            g.op("Gather", [g.const("classes", classes, classes.dtype), index], output="label", axis=0)
            label_type = TensorProto.INT64 if classes.dtype == np.int64 else TensorProto.DOUBLE
        else:
            g.op("Identity", [index], output="label")
            label_type = TensorProto.INT64
        outputs.append(helper.make_tensor_value_info("label", label_type, label_shape))

    graph = helper.make_graph(g.nodes, "bprop", [helper.make_tensor_value_info(input_name, elem, ["N", net.n_in])],
                              outputs, initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="bprop", producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    props = {"bprop_layers": json.dumps([layer.get_config() for layer in net.layers]), "loss": loss.spec}
    if class_names:
        props["class_names"] = json.dumps([str(c) for c in class_names])
    if meta.get("feature_names"):
        props["feature_names"] = json.dumps(meta["feature_names"])
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    write_bytes(path, model.SerializeToString())
    return model
