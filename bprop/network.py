r"""The feedforward network: a sequence of layers, forward pass and backpropagation."""

from __future__ import annotations

import copy as _copy
import os

import numpy as np

from . import activations, layers as _layers
from ._jit import check_backend
from ._memmap import PageBudget, chunk_rows, is_mapped
from numbers import Integral

from ._validation import Interval, check, check_dtype, check_X, check_same_length, is_sparse
from ._version import __version__
from .io import MODEL_FORMAT, read_npz, strip_prefix, with_prefix, write_npz_atomic
from .losses import Loss, get as get_loss
from .model_file import CHECKPOINT_MEMBERS, MODEL_MEMBERS, check_finite, check_model, layer_from_config


#: Rows per forward pass when :meth:`Sequential.predict` gets a sparse or memory-mapped X (at most
#: :data:`bprop._memmap.CHUNK_BYTES` of a map's rows).
PREDICT_CHUNK = 4096
#: What ``seed`` accepts: None (fresh entropy) or a non-negative integer (NumPy's rule, checked up front).
SEED = [None, Interval(Integral, 0, None)]


class Sequential:
    r"""A feedforward network ``A_0 = X → layer_0 → layer_1 → … → output``.

    Parameters
    ----------
    layers : list of Layer
        E.g. ``[Dense(784, 256), ReLU(), Dense(256, 10)]``. Consecutive feature
        counts are checked here.
    seed : int or None
        Seeds the one :class:`numpy.random.Generator` (:attr:`rng`) that drives
        initialisation, shuffling and dropout. ``None``: fresh entropy.
    dtype : {"float32", "float64"}
        Dtype of parameters, activations and gradients.
    backend : {"numpy", "numba"}, default "numpy"
        Which variant of the element-wise formulas runs: the NumPy expressions
        written in each layer and loss, or the one-pass loops written beside
        them and compiled with numba (``pip install bprop[fast]``; see
        :mod:`bprop._jit`). The numbers are the same (tested); numba is faster
        on small and medium layers. Settable later: ``net.backend = "numba"``.

    Notes
    -----
    :meth:`backprop` is the algorithm of the tutorials. The forward pass keeps
    each layer's input; the loss gives ``∇_out C`` (for the logit losses the
    fused ``δ_L``); then, from the last layer to the first, each layer's
    ``backward`` maps ``∂C/∂A_out`` to ``∂C/∂A_in``. For a Dense layer that is
    BP3/BP4 (its gradients) and ``δ W`` (the input gradient); for an activation
    it is the ``⊙ σ'(Z)`` of BP1/BP2. Chained, they give
    ``δ_l = (δ_{l+1} @ W_{l+1}) ⊙ σ'(Z_l)``.

    Examples
    --------
    >>> import bprop as bp
    >>> net = bp.Sequential([bp.Dense(2, 3), bp.Tanh(), bp.Dense(3, 1)], seed=0)
    >>> net.forward([[0.5, -1.0]]).shape
    (1, 1)
    """

    def __init__(self, layers, seed: int | None = None, dtype="float32", backend: str = "numpy"):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer, got an empty list")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, _layers.Layer):
                raise TypeError(f"layer {i} must be a bprop layer (Dense, ReLU, ...), "
                                f"got {type(layer).__name__}")
        self.dtype = check_dtype(dtype)
        self.seed = check(seed, "seed", SEED)
        self.rng = np.random.default_rng(self.seed)
        self.metadata: dict = {}
        n = None
        for i, layer in enumerate(self.layers):
            layer.index = i
            if n is not None and layer.n_in is not None and layer.n_in != n:
                raise ValueError(f"{type(layer).__name__} layer {i} expects {layer.n_in} input "
                                 f"features but the layer before it outputs {n}")
            n = layer.output_features(n) if n is not None or layer.n_out is not None else None
            layer.build(self.rng, self.dtype)
        self.n_in = next((l.n_in for l in self.layers if l.n_in is not None), None)
        self.n_out = n
        self.backend = backend
        self._collect()

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"numba"``: the variant of the formulas every layer and the loss run."""
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._backend = check_backend(value)
        for layer in self.layers:
            layer.backend = value

    def _collect(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            for k, v in layer.params.items():
                self.params[f"{i}.{k}"] = v
                self.grads[f"{i}.{k}"] = layer.grads[k]
            for k, v in layer.buffers.items():
                self.buffers[f"{i}.{k}"] = v

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_dout", None)          # scratch space, as the layers' buffers
        return state

    def __setstate__(self, state: dict) -> None:
        # Pickle (joblib) may restore arrays as separate objects: point params/grads/buffers
        # back at the layers' own live arrays.
        self.__dict__.update(state)
        self._collect()

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        A = X
        for layer in self.layers:
            A = layer.forward(A, training)
        return A

    def _backward(self, dOut: np.ndarray) -> None:
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            dOut = self.layers[i].backward(dOut, need_input_grad=i > 0)

    def _backprop(self, X: np.ndarray, Y: np.ndarray, loss: Loss, weights: np.ndarray | None = None,
                  scale: float | None = None) -> tuple[float, np.ndarray]:
        """Unchecked forward (training mode) + backward; returns ``(C, output)``.

        ``scale`` multiplies ``C`` and ``∂C/∂out`` before the backward pass: a
        data-parallel rank's share ``m_r/m`` of the global batch
        (:mod:`bprop.training.distributed`), so that the gradients it leaves
        are its terms of the global batch's gradient.

        One training step, the same code every caller runs (``fit``,
        :meth:`backprop`, ``gradcheck``): each layer's ``forward`` in training
        mode, the loss's ``C`` and ``∂C/∂out`` (written into a buffer reused
        from step to step), then each layer's ``backward`` from last to first.
        The output array is a layer's buffer, valid until the next step (the
        fit loop reads it for the running metrics).
        """
        out = self._forward(X, True)
        grad = self.__dict__.get("_dout")
        if grad is None or grad.shape != out.shape or grad.dtype != out.dtype:
            grad = self._dout = np.empty_like(out)
        c, dOut = loss.value_and_grad(out, Y, weights, grad=grad, backend=self._backend)
        if scale is not None:
            dOut *= dOut.dtype.type(scale)
            c *= scale
        self._backward(dOut)
        return c, out

    def _check_X(self, X) -> np.ndarray:
        X = check_X(X, None, self.dtype)
        if is_sparse(X) and not isinstance(self.layers[0], _layers.Dense):
            raise ValueError(f"a sparse X needs a network whose first layer is Dense (it multiplies "
                             f"the sparse matrix without densifying it); layer 0 is "
                             f"{type(self.layers[0]).__name__}: pass X.toarray() or start with a Dense layer")
        if self.n_in is not None and X.shape[1] != self.n_in:
            first = next(l for l in self.layers if l.n_in is not None)
            raise ValueError(f"{type(first).__name__} layer {first.index} expects {self.n_in} "
                             f"input features, got {X.shape[1]}")
        return X

    def _check_loss(self, loss) -> Loss:
        loss = get_loss(loss)
        if loss.takes_logits and isinstance(self.layers[-1], (activations.Softmax, activations.Sigmoid)):
            raise ValueError(f"{type(loss).__name__} takes logits, but the network ends in "
                             f"{type(self.layers[-1]).__name__}: remove the last layer (the loss "
                             "applies it, fused and stable) or use MSE")
        return loss

    def prepare(self, X, y, loss) -> tuple[np.ndarray, np.ndarray, Loss]:
        """Validate and convert ``X``, ``y`` and ``loss`` once (what the public methods do)."""
        loss = self._check_loss(loss)
        X = self._check_X(X)
        Y = loss.prepare_targets(y, self.n_out, self.dtype)
        check_same_length(X, Y)
        return X, Y, loss

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Output of the network for a batch ``X (n, n_in)``.

        ``training=True`` uses batch statistics in BatchNorm (and updates its
        running statistics) and samples dropout masks. The result is a fresh
        array (a training pass's own output lives in a reused buffer, so it is copied).
        """
        X = self._check_X(X)
        out = self._forward(X, bool(training))
        return out.copy() if training or out is X else out

    def predict(self, X) -> np.ndarray:
        """Raw output of the last layer in eval mode (logits for a net trained with CrossEntropy).

        Always a new array, never the caller's ``X`` (a network of only
        Identity/Dropout layers returns a copy). A sparse ``X`` (scipy.sparse,
        any format) is predicted in chunks of :data:`PREDICT_CHUNK` rows, so
        the first layer's dense output is never computed for all rows at once;
        a memory-mapped ``X`` in chunks of at most 4 MiB of rows, its pages
        released as they are read.
        """
        X = self._check_X(X)
        if is_mapped(X) or is_sparse(X):
            # chunks of rows: a memory map's pages are released as they are read, and a sparse X's
            # first dense output is never computed for all rows at once
            pages, step, outs = PageBudget(X) if is_mapped(X) else None, chunk_rows(X, PREDICT_CHUNK), []
            for s in range(0, X.shape[0], step):
                chunk = X[s:s + step]
                out = self._forward(chunk, False)
                outs.append(out.copy() if out is chunk else out)
                if pages is not None:
                    pages.add(out.nbytes + chunk.nbytes)
            return np.concatenate(outs)
        out = self._forward(X, False)
        return out.copy() if out is X else out

    __call__ = predict

    def backprop(self, X, y, loss) -> float:
        """One forward pass (training mode) and one backward pass; returns ``C``.

        Leaves ``∂C/∂θ`` in :attr:`grads` (overwriting, not accumulating).
        """
        X, Y, loss = self.prepare(X, y, loss)
        return self._backprop(X, Y, loss)[0]

    def trace(self, X, y, loss) -> list[dict]:
        r"""Every quantity of BP1–BP4, one record per Dense layer, in order.

        Each record holds copies of ``a_in`` (the Dense layer's input),
        ``z`` (its output ``a_in @ W.T + b``), ``a_out`` (the input of the next
        Dense layer, or the network output for the last), ``delta``
        (``∂C/∂z``), ``dW`` and ``db`` (``None`` without bias), plus ``layer``
        (the index) and ``loss``. Computed in training mode; the network —
        parameters, buffers, grads and generator — is left exactly as it was.
        """
        X, Y, loss = self.prepare(X, y, loss)
        saved_buffers = {k: v.copy() for k, v in self.buffers.items()}
        saved_grads = {k: v.copy() for k, v in self.grads.items()}
        saved_rng = _copy.deepcopy(self.rng.bit_generator.state)
        try:
            inputs, A = [], X
            for layer in self.layers:   # copies: a layer may work in place on its input
                inputs.append(A.copy())
                A = layer.forward(A, True)
            out = A.copy()
            c, dOut = loss.value_and_grad(out, Y)
            douts = [None] * len(self.layers)
            for i in range(len(self.layers) - 1, -1, -1):
                douts[i] = dOut.copy()
                dOut = self.layers[i].backward(dOut, need_input_grad=True)
            dense = [i for i, l in enumerate(self.layers) if isinstance(l, _layers.Dense)]
            records = []
            for j, i in enumerate(dense):
                layer = self.layers[i]
                nxt = dense[j + 1] if j + 1 < len(dense) else None
                a_out = inputs[nxt] if nxt is not None else out
                z = inputs[i + 1] if i + 1 < len(self.layers) else out
                records.append(TraceRecord({
                    "layer": i, "loss": c, "a_in": inputs[i].copy(), "z": z.copy(),
                    "a_out": a_out.copy(), "delta": douts[i],
                    "dW": layer.grads["W"].copy(),
                    "db": layer.grads["b"].copy() if layer.bias else None,
                }))
            return records
        finally:
            for k, v in saved_buffers.items():
                self.buffers[k][...] = v
            for k, v in saved_grads.items():
                self.grads[k][...] = v
            self.rng.bit_generator.state = saved_rng

    # ------------------------------------------------------------------ training
    def fit(self, X, y, *, loss, optimizer, epochs: int, batch_size: int = 32, **kwargs):
        """Train with mini-batch gradient descent; see :func:`bprop.training.fit`."""
        from .training import fit
        return fit(self, X, y, loss=loss, optimizer=optimizer, epochs=epochs,
                   batch_size=batch_size, **kwargs)

    # ------------------------------------------------------------------ state
    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters and buffers, keyed ``"<index>.<name>"``."""
        return {k: v.copy() for d in (self.params, self.buffers) for k, v in d.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the live parameters and buffers (shapes must match)."""
        live = {**self.params, **self.buffers}
        missing = sorted(set(live) - set(state))
        unexpected = sorted(set(state) - set(live))
        if missing or unexpected:
            raise ValueError(f"state does not fit this network: missing {missing}, "
                             f"unexpected {unexpected}")
        for k, v in state.items():
            v = np.asarray(v)
            if v.shape != live[k].shape:
                raise ValueError(f"state entry {k!r} has shape {v.shape}, the network needs "
                                 f"{live[k].shape}")
            live[k][...] = v

    def get_config(self) -> dict:
        return {"dtype": self.dtype.name, "layers": [l.get_config() for l in self.layers]}

    @classmethod
    def from_config(cls, config: dict, seed=None) -> "Sequential":
        """Rebuild the architecture (fresh parameters) from :meth:`get_config`."""
        built = [layer_from_config(spec, i) for i, spec in enumerate(config["layers"])]
        return cls(built, seed=seed, dtype=config.get("dtype", "float32"))

    def copy(self) -> "Sequential":
        """An independent copy (parameters, buffers, generator state, metadata)."""
        return _copy.deepcopy(self)

    def astype(self, dtype) -> "Sequential":
        """A copy with parameters and buffers converted to ``dtype``."""
        new = Sequential.from_config({**self.get_config(), "dtype": check_dtype(dtype).name})
        new.load_state_dict(self.state_dict())
        new.rng.bit_generator.state = _copy.deepcopy(self.rng.bit_generator.state)
        new.metadata = _copy.deepcopy(self.metadata)
        return new

    # ------------------------------------------------------------------ files
    def to_payload(self) -> tuple[dict[str, np.ndarray], dict]:
        """The arrays and JSON document of a model file (see :mod:`bprop.io` for the layout).

        Arrays: the parameters under ``param/<key>`` and the buffers under
        ``buffer/<key>`` (live arrays, not copies). Document: ``format``
        ``"bprop-model"``, the bprop version, :meth:`get_config` and :attr:`metadata`.
        """
        arrays = {**with_prefix("param/", self.params), **with_prefix("buffer/", self.buffers)}
        meta = {"format": MODEL_FORMAT, "bprop_version": __version__, **self.get_config(),
                "metadata": self.metadata}
        return arrays, meta

    @classmethod
    def from_payload(cls, arrays: dict, meta: dict, path: str = "model") -> "Sequential":
        """The network of :meth:`to_payload`'s ``arrays`` and ``meta`` (a model file's or a checkpoint's).

        ``path`` names the file in error messages. The description is checked
        against the arrays (:func:`bprop.model_file.check_model`: names, shapes,
        dtypes) before anything is built, and the parameters must be finite.

        Raises
        ------
        ValueError
            Naming ``path`` and the field, when ``meta`` is not a model's or a
            checkpoint's, a field is wrong, or the arrays do not fit it.
        """
        model = {k: v for k, v in arrays.items() if k.startswith(("param/", "buffer/"))}
        layers = check_model(meta, {k: (np.shape(v), np.asarray(v).dtype) for k, v in model.items()}, path)
        check_finite(model, path)
        try:
            net = cls(layers, dtype=meta.get("dtype", "float32"))
        except ValueError as exc:
            raise ValueError(f"{path} holds an inconsistent model: {exc}") from None
        net.load_state_dict({**strip_prefix("param/", model), **strip_prefix("buffer/", model)})
        net.metadata = meta.get("metadata", {}) or {}
        return net

    def save(self, path) -> None:
        """Write the model to one file, atomically, without pickle; see :func:`bprop.load`.

        A name ending in ``.safetensors`` gives a safetensors file with torch's
        ``state_dict`` names and the architecture in its metadata
        (:mod:`bprop.interop.safetensors`; ``pip install 'bprop[safetensors]'``);
        any other name an ``.npz`` model file (:mod:`bprop.io`).
        """
        if os.fspath(path).endswith(".safetensors"):
            from .interop.safetensors import write
            write(path, *self.to_payload())
            return
        write_npz_atomic(path, *self.to_payload())

    # ------------------------------------------------------------------ interop
    def to_onnx(self, path, *, opset: int = 20, input_name: str = "input", loss=None):
        """Export to an ONNX file (eval mode) and return the ``onnx.ModelProto``; see :mod:`bprop.interop.onnx`.

        ``loss`` (default ``metadata["loss"]``) decides the outputs: ``output``
        for a regression loss; ``logits``, ``probabilities`` and ``label`` for
        ``CrossEntropy``/``BinaryCrossEntropy``. A Standardizer in
        :attr:`metadata` (models of ``bprop train``) is folded in. Needs
        ``pip install 'bprop[onnx]'``.
        """
        from .interop.onnx import export
        return export(self, path, opset=opset, input_name=input_name, loss=loss)

    def to_torch(self):
        """An equal ``torch.nn.Sequential`` in eval mode (torch imported only now); see :mod:`bprop.interop.torch`."""
        from .interop.torch import to_torch
        return to_torch(self)

    # ------------------------------------------------------------------ display
    def _summary_rows(self) -> tuple[tuple, list[tuple]]:
        """``(head, rows)`` of the layer table: index, layer, output shape, parameter shapes, count."""
        rows, n = [], self.n_in
        for i, layer in enumerate(self.layers):
            n = layer.output_features(n) if n is not None else layer.n_out
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in layer.params.items())
            rows.append((str(i), repr(layer), f"(n, {n})", shapes or "-", f"{layer.n_params:,}"))
        return ("#", "layer", "output", "parameters", "count"), rows

    def _repr_html_(self) -> str:
        """The layer table, for notebooks."""
        from . import _html
        head, rows = self._summary_rows()
        return _html.table(list(head), [list(r) for r in rows],
                           f"Sequential ({self.dtype.name}, input (n, {self.n_in})), "
                           f"{self.n_params:,} parameters")

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        head, rows = self._summary_rows()
        widths = [max(len(r[c]) for r in rows + [head]) for c in range(5)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + f"  {{:>{widths[-1]}}}"
        rule = "-" * (sum(widths) + 8)
        lines = [f"Sequential ({self.dtype.name}, input (n, {self.n_in}))", rule, fmt.format(*head), rule]
        lines += [fmt.format(*r) for r in rows]
        lines += [rule, f"total parameters: {self.n_params:,}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        body = ",\n".join(f"  ({i}) {l!r}" for i, l in enumerate(self.layers))
        return f"Sequential([\n{body}\n], dtype={self.dtype.name!r}, params={self.n_params:,})"


class TraceRecord(dict):
    """One record of :meth:`Sequential.trace` (a dict); in a notebook, z, a, δ, ∂C/∂W and ∂C/∂b as coloured tables."""

    def _repr_html_(self) -> str:
        from . import _html
        return _html.trace_record(self)


def load(path) -> Sequential:
    """Load a model written by :meth:`Sequential.save` (or the model in a checkpoint).

    A ``.safetensors`` file must hold bprop's description in its metadata (one
    written by ``net.save``); weights saved by torch go into a network built
    with bprop through :func:`bprop.load_state_dict_into`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, corrupt or not a bprop model; it is checked
        before anything is read or built (:func:`bprop.io.read_npz`,
        :func:`bprop.model_file.check_model`), so a crafted file costs neither
        much memory nor much time.
    """
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        from .interop.safetensors import read
        return Sequential.from_payload(*read(path), path)
    arrays, meta = read_npz(path, CHECKPOINT_MEMBERS, what="bprop model file",
                            check=lambda meta, shapes: check_model(meta, shapes, path), read=MODEL_MEMBERS)
    return Sequential.from_payload(arrays, meta, path)


def from_torch(module) -> Sequential:
    """An equal :class:`Sequential` from a ``torch.nn.Sequential`` of the layers bprop has.

    Linear, BatchNorm1d (with its running statistics), Dropout, Identity,
    Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU and Softmax(dim=1), in the same
    positions (:mod:`bprop.interop.torch`); the parameters are copied, in the
    module's dtype (float32 or float64). Trained with the same optimiser, the
    two train identically (tested for 10 Adam steps to 1e-10 in float64).

    Raises
    ------
    TypeError
        Naming any other module and its position.
    """
    from .interop.torch import read_module
    layers, state, dtype = read_module(module)
    net = Sequential(layers, dtype=dtype)
    net.load_state_dict(state)
    return net
