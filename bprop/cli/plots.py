"""PNG plots of a training run, drawn with matplotlib's Agg backend (no display needed).

Each function takes plain arrays (or a prediction function) and a path, and
writes one PNG atomically. Figures are made with :class:`matplotlib.figure.Figure`
directly, never through pyplot's global state, so plotting is safe inside
other programs and tests.
"""

from __future__ import annotations

import io
import os

import numpy as np

DPI = 110


def _figure(width: float = 6.4, height: float = 4.4, ncols: int = 1):
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib; install it with: pip install 'bprop[cli]'") from None
    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols) if ncols > 1 else fig.subplots()
    return fig, axes


def _save(fig, path) -> str:
    """Render to PNG in memory, then write the file atomically."""
    from ..io import write_bytes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    write_bytes(path, buf.getvalue())
    return os.fspath(path)


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _epochs(records: list[dict]) -> np.ndarray:
    return np.array([r["epoch"] for r in records])


def _column(records: list[dict], key: str) -> np.ndarray | None:
    if not any(key in r and r[key] is not None for r in records):
        return None
    return np.array([r.get(key, np.nan) if r.get(key) is not None else np.nan for r in records], dtype=float)


def _maybe_log(ax, *series) -> None:
    values = np.concatenate([s[np.isfinite(s)] for s in series if s is not None] or [np.array([1.0])])
    values = values[values > 0]
    if len(values) and values.max() / max(values.min(), 1e-300) > 100:
        ax.set_yscale("log")


def loss_curves(records: list[dict], path, *, loss_label: str = "loss C", title: str = "") -> str:
    """Training and validation loss per epoch."""
    fig, ax = _figure()
    ep = _epochs(records)
    train, val = _column(records, "loss"), _column(records, "val_loss")
    ax.plot(ep, train, marker="o" if len(ep) <= 30 else None, ms=3, label="training (mean over the epoch's batches)")
    if val is not None:
        ax.plot(ep, val, marker="o" if len(ep) <= 30 else None, ms=3, label="validation (end of epoch)")
    _maybe_log(ax, train, val)
    ax.set_xlabel("epoch")
    _integer_epochs(ax)
    ax.set_ylabel(loss_label)
    ax.set_title(title or "Loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def metric_curves(records: list[dict], metric: str, path, *, title: str = "") -> str:
    """A metric (accuracy, rmse, ...) per epoch, training and validation."""
    fig, ax = _figure()
    ep = _epochs(records)
    train, val = _column(records, metric), _column(records, f"val_{metric}")
    if train is not None:
        ax.plot(ep, train, marker="o" if len(ep) <= 30 else None, ms=3,
                label="training (batches as seen, training mode)")
    if val is not None:
        ax.plot(ep, val, marker="o" if len(ep) <= 30 else None, ms=3, label="validation (end of epoch)")
    if metric == "accuracy":
        ax.set_ylim(min(0.0 if train is None else np.nanmin(train), 1.0) - 0.02, 1.02)
    ax.set_xlabel("epoch")
    _integer_epochs(ax)
    ax.set_ylabel(metric)
    ax.set_title(title or metric.capitalize())
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def gradient_norms(records: list[dict], path, *, layer_names: dict | None = None) -> str:
    """‖∂C/∂W‖₂ of every Dense layer per epoch on a log scale: vanishing or exploding gradients show here."""
    fig, ax = _figure(7.0, 4.6)
    ep = _epochs(records)
    keys = [k for k in records[0] if k.startswith("grad_norm/")] if records else []
    for n, key in enumerate(keys, start=1):
        values = _column(records, key)
        pkey = key.split("/", 1)[1]
        label = (layer_names or {}).get(pkey, f"Dense layer {n} ({pkey})")
        ax.plot(ep, np.where(values > 0, values, np.nan), marker="o" if len(ep) <= 30 else None, ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    _integer_epochs(ax)
    ax.set_ylabel("‖∂C/∂W‖₂  (RMS over the epoch's steps)")
    ax.set_title("Gradient norm per layer (first layer = closest to the input)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def confusion_matrix(cm: np.ndarray, class_names: list[str], path, *, title: str = "") -> str:
    """Counts of (true class, predicted class), with row-normalised colours."""
    k = len(class_names)
    size = min(3.0 + 0.45 * k, 12.0)
    fig, ax = _figure(size + 1.2, size)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(class_names, rotation=45 if max(map(len, class_names)) > 3 else 0, ha="right"
                       if max(map(len, class_names)) > 3 else "center")
    ax.set_yticklabels(class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 25:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8 if k > 12 else 10,
                            color="white" if frac[i, j] > 0.5 else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {acc:.3f})")
    return _save(fig, path)


def residuals(y_true: np.ndarray, y_pred: np.ndarray, path, *, title: str = "") -> str:
    """Predicted against true values, and residuals against predictions."""
    y_true = np.asarray(y_true, float).reshape(-1)
    y_pred = np.asarray(y_pred, float).reshape(-1)
    fig, (ax1, ax2) = _figure(10.0, 4.4, ncols=2)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax1.scatter(y_true, y_pred, s=10, alpha=0.6)
    ax1.plot([lo, hi], [lo, hi], color="black", lw=1, label="prediction = target")
    ax1.set_xlabel("target y")
    ax1.set_ylabel("prediction")
    ax1.set_title("Prediction against target")
    ax1.legend()
    r = y_pred - y_true
    ax2.scatter(y_pred, r, s=10, alpha=0.6)
    ax2.axhline(0.0, color="black", lw=1)
    ax2.set_xlabel("prediction")
    ax2.set_ylabel("residual (prediction − target)")
    ax2.set_title(f"Residuals (RMSE {np.sqrt(np.mean(r * r)):.4g})")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _grid(X: np.ndarray, n: int = 200):
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])


def decision_boundary(predict_proba, X_train, y_train, X_test, y_test, class_names, path, *,
                      feature_names=("x1", "x2"), title: str = "") -> str:
    """Predicted class over the plane (shaded), the 50 % boundary, and the data points.

    ``predict_proba(X_raw) -> (n, k)`` takes raw (unstandardised) features.
    """
    from matplotlib.colors import ListedColormap
    X_all = np.vstack([X_train, X_test]) if len(X_test) else X_train
    gx, gy, grid = _grid(X_all)
    P = predict_proba(grid)
    k = len(class_names)
    if P.shape[1] == 1:   # one sigmoid output: P(class 1)
        P = np.hstack([1 - P, P])
    pred = P.argmax(axis=1).reshape(gx.shape)
    conf = P.max(axis=1).reshape(gx.shape)
    colors = [f"C{i % 10}" for i in range(k)]
    fig, ax = _figure(6.4, 5.6)
    cmap = ListedColormap(colors)
    ax.contourf(gx, gy, pred, levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.contourf(gx, gy, conf, levels=[0.0, 0.6], colors=["white"], alpha=0.35)
    ax.contour(gx, gy, pred, levels=np.arange(k) + 0.5, colors="black", linewidths=0.8)
    for c in range(k):
        m = y_train == c
        ax.scatter(X_train[m, 0], X_train[m, 1], s=12, color=colors[c], edgecolors="none", alpha=0.8,
                   label=f"{class_names[c]} (train)")
        if len(X_test):
            m = y_test == c
            ax.scatter(X_test[m, 0], X_test[m, 1], s=22, color=colors[c], marker="^", edgecolors="black",
                       linewidths=0.5, label=f"{class_names[c]} (test)")
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title or "Decision boundary (shade: predicted class; pale: confidence < 60 %)")
    ax.legend(fontsize="x-small", ncols=2, loc="best", framealpha=0.8)
    return _save(fig, path)


def regression_surface(predict, X_train, y_train, X_test, y_test, path, *, feature_names=("x1", "x2"),
                       title: str = "") -> str:
    """2-D regression: the predicted surface as filled contours, data coloured by target on the same scale."""
    X_all = np.vstack([X_train, X_test]) if len(X_test) else X_train
    gx, gy, grid = _grid(X_all, 150)
    Z = np.asarray(predict(grid), float)[:, 0].reshape(gx.shape)
    y_all = np.concatenate([np.asarray(y_train, float).reshape(len(X_train), -1)[:, 0],
                            np.asarray(y_test, float).reshape(len(X_test), -1)[:, 0]])
    vmin, vmax = float(min(Z.min(), y_all.min())), float(max(Z.max(), y_all.max()))
    fig, ax = _figure(6.6, 5.4)
    cs = ax.contourf(gx, gy, Z, levels=20, cmap="viridis", vmin=vmin, vmax=vmax, alpha=0.8)
    ax.scatter(X_all[:, 0], X_all[:, 1], c=y_all, cmap="viridis", vmin=vmin, vmax=vmax, s=14,
               edgecolors="white", linewidths=0.4)
    fig.colorbar(cs, ax=ax, label="prediction (shade) / target (points)")
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title or "Predicted surface and data")
    return _save(fig, path)


def regression_fit_1d(predict, X_train, y_train, X_test, y_test, path, *, feature_name="x", title: str = "") -> str:
    """1-D regression: the data and the network's curve."""
    X_all = np.vstack([X_train, X_test]) if len(X_test) else X_train
    lo, hi = float(X_all.min()), float(X_all.max())
    xs = np.linspace(lo, hi, 400).reshape(-1, 1)
    fig, ax = _figure()
    ax.scatter(X_train[:, 0], np.asarray(y_train).reshape(len(X_train), -1)[:, 0], s=10, alpha=0.6, label="train")
    if len(X_test):
        ax.scatter(X_test[:, 0], np.asarray(y_test).reshape(len(X_test), -1)[:, 0], s=14, alpha=0.8, marker="^",
                   label="test")
    ax.plot(xs[:, 0], np.asarray(predict(xs))[:, 0], color="black", lw=2, label="network")
    ax.set_xlabel(feature_name)
    ax.set_ylabel("y")
    ax.set_title(title or "Fit")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


# --------------------------------------------------------------------------- bprop experiment
def _positive(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def init_gradients(names: list[str], start: list[list[float]], epoch1: list[list[float]], path, *,
                   title: str = "") -> str:
    """‖∂C/∂W⁽ˡ⁾‖ per Dense layer, one line per initialiser: at step 0 and after the first epoch (log scale)."""
    fig, (ax0, ax1) = _figure(11.0, 4.6, ncols=2)
    for ax, series, when in ((ax0, start, "step 0 (before training)"), (ax1, epoch1, "after epoch 1")):
        for k, (name, values) in enumerate(zip(names, series)):
            layers = np.arange(1, len(values) + 1)
            ax.plot(layers, _positive(values), marker="o", ms=3, color=f"C{k % 10}", label=name,
                    ls="--" if "+" in name else "-")
        ax.set_yscale("log")
        ax.set_xlabel("Dense layer l (1 = next to the input, last = output)")
        _integer_epochs(ax)
        ax.set_ylabel("‖∂C/∂W⁽ˡ⁾‖")
        ax.set_title(when)
        ax.grid(True, which="both", alpha=0.3)
    ax0.legend(fontsize="small")
    fig.suptitle(title or "Gradient norm per layer, one line per initialiser")
    return _save(fig, path)


def init_variance(names: list[str], variances: list[list[float]], path, *, title: str = "") -> str:
    """Var a⁽ˡ⁾ of every hidden layer at step 0, one line per initialiser (log scale)."""
    fig, ax = _figure(7.0, 4.6)
    for k, (name, values) in enumerate(zip(names, variances)):
        ax.plot(np.arange(1, len(values) + 1), _positive(values), marker="o", ms=3, color=f"C{k % 10}",
                label=name, ls="--" if "+" in name else "-")
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer l")
    _integer_epochs(ax)
    ax.set_ylabel("Var a⁽ˡ⁾ (over the batch and the units)")
    ax.set_title(title or "Activation variance per layer at step 0")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def depth_factors(depths, measured, predicted, sigma, weight, grad_first, path, *, title: str = "") -> str:
    """‖δ⁽¹⁾‖/‖δ⁽ᴸ⁾‖ measured against the seed's ∏σ'·∏‖W‖ factor, and ‖∂C/∂W⁽¹⁾‖, against depth."""
    fig, (ax0, ax1) = _figure(11.0, 4.6, ncols=2)
    ax0.plot(depths, _positive(measured), marker="o", label="measured ‖δ⁽¹⁾‖ / ‖δ⁽ᴸ⁾‖")
    ax0.plot(depths, _positive(predicted), marker="s", ls="--", label="predicted ∏ σ' factor × ∏ W factor")
    ax0.plot(depths, _positive(sigma), marker=".", ls=":", label="∏ rms σ'(z⁽ˡ⁾)")
    ax0.plot(depths, _positive(weight), marker=".", ls=":", label="∏ ‖W⁽ˡ⁺¹⁾‖_F / √n")
    ax0.set_yscale("log")
    ax0.set_xlabel("hidden layers")
    ax0.set_title("How much of δ reaches the first layer")
    ax0.legend(fontsize="small")
    ax1.plot(depths, _positive(grad_first), marker="o", color="C4")
    ax1.set_yscale("log")
    ax1.set_xlabel("hidden layers")
    ax1.set_ylabel("‖∂C/∂W⁽¹⁾‖ at step 0")
    ax1.set_title("The first layer's gradient")
    for ax in (ax0, ax1):
        ax.set_xticks(list(depths))
        ax.grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def batchnorm_heatmaps(inits: list[str], lrs: list[float], without: np.ndarray, with_bn: np.ndarray, path, *,
                       title: str = "") -> str:
    """Final training loss over (initialiser, learning rate), without and with BatchNorm; × marks divergence."""
    from matplotlib.colors import LogNorm
    both = np.concatenate([without.ravel(), with_bn.ravel()])
    finite = both[np.isfinite(both) & (both > 0)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (1e-3, 10.0)
    norm = LogNorm(vmin=lo, vmax=max(hi, lo * 1.01))
    fig, axes = _figure(11.0, 0.9 + 0.55 * len(inits) + 1.5, ncols=2)
    im = None
    for ax, grid, name in zip(axes, (without, with_bn), ("without BatchNorm", "with BatchNorm")):
        shown = np.where(np.isfinite(grid), grid, np.nan)
        im = ax.imshow(shown, cmap="viridis_r", norm=norm, aspect="auto")
        ax.set_xticks(range(len(lrs)))
        ax.set_xticklabels([f"{lr:g}" for lr in lrs])
        ax.set_yticks(range(len(inits)))
        ax.set_yticklabels(inits)
        ax.set_xlabel("learning rate η")
        ax.set_title(name)
        for i in range(len(inits)):
            for j in range(len(lrs)):
                v = grid[i, j]
                ax.text(j, i, "×" if not np.isfinite(v) else f"{v:.3g}", ha="center", va="center", fontsize=9,
                        color="red" if not np.isfinite(v) else "white")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="final training loss C (× = diverged)")
    fig.suptitle(title or "BatchNorm: final loss over initialiser × learning rate")
    return _save(fig, path)


def optimizer_paths(names: list[str], losses: list[list[float]], paths: list[np.ndarray], f, path, *,
                    minimum=(1.0, 1.0), title: str = "") -> str:
    """Loss curves of the optimisers on the network, and their paths over f's contours (log-spaced levels)."""
    fig, (ax0, ax1) = _figure(12.0, 4.8, ncols=2)
    for k, (name, curve) in enumerate(zip(names, losses)):
        if len(curve):
            ax0.plot(np.arange(1, len(curve) + 1), curve, marker="o" if len(curve) <= 30 else None, ms=3,
                     color=f"C{k}", label=name)
    ax0.set_yscale("log")
    ax0.set_xlabel("epoch")
    _integer_epochs(ax0)
    ax0.set_ylabel("training loss C")
    ax0.set_title("Same network, data and budget")
    ax0.grid(True, which="both", alpha=0.3)
    ax0.legend(fontsize="small")
    xs, ys = np.linspace(-2.0, 2.0, 300), np.linspace(-1.0, 3.0, 300)
    gx, gy = np.meshgrid(xs, ys)
    Z = f(np.stack([gx, gy], axis=-1))
    ax1.contour(gx, gy, Z, levels=np.logspace(-1, 3.5, 14), colors="grey", linewidths=0.6)
    for k, (name, p) in enumerate(zip(names, paths)):
        ax1.plot(p[:, 0], p[:, 1], color=f"C{k}", lw=1.2, label=name)
        ax1.plot(p[-1, 0], p[-1, 1], "o", color=f"C{k}", ms=4)
    ax1.plot(paths[0][0, 0], paths[0][0, 1], "k^", ms=7, label="start")
    ax1.plot(*minimum, "k*", ms=10, label="minimum")
    ax1.set_xlim(-2, 2)
    ax1.set_ylim(-1, 3)
    ax1.set_xlabel("x")
    ax1.set_ylabel("y")
    ax1.set_title("Rosenbrock f = (1 − x)² + 100 (y − x²)²")
    ax1.legend(fontsize="x-small", loc="lower right")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
