"""HTML views for notebooks: what Jupyter shows for a network, a ``trace`` record and a History.

Jupyter calls ``_repr_html_`` on the last value of a cell; ``Sequential``,
``TraceRecord`` and ``History`` return these. Plain HTML and an inline SVG,
no dependency: arrays are small tables whose cells are coloured on a
diverging scale (blue < 0 < red, white at 0, full colour at ``max |a|``), the
loss history is a sparkline. Every text is escaped.
"""

from __future__ import annotations

import html

import numpy as np

#: the largest array shown in full (rows, columns); bigger ones show their top-left corner and "…"
MAX_SHOWN = (8, 12)
STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px;margin:2px"
CELL = "border:1px solid #ccc;padding:1px 5px;text-align:right"


def table(head: list[str], rows: list[list[str]], caption: str = "") -> str:
    """An HTML table; ``head`` and the cells are text (escaped here)."""
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    th = "".join(f"<th style='{CELL}'>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='{CELL}'>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table style='{STYLE}'>{cap}<tr>{th}</tr>{body}</table>"


def colour(v: float, scale: float) -> str:
    """``rgb(...)`` of ``v`` on the diverging scale: white at 0, red (+scale) or blue (−scale)."""
    t = 0.0 if scale == 0 or not np.isfinite(v) else min(abs(v) / scale, 1.0)
    fade = int(round(255 * (1 - 0.75 * t)))
    return f"rgb(255,{fade},{fade})" if v > 0 else f"rgb({fade},{fade},255)"


def array(a, name: str) -> str:
    """``a`` (any shape up to 2-D) as a coloured table captioned ``name (shape)``."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    finite = a[np.isfinite(a)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    r, c = min(a.shape[0], MAX_SHOWN[0]), min(a.shape[1], MAX_SHOWN[1])
    rows = []
    for i in range(r):
        cells = "".join(f"<td style='{CELL};background:{colour(v, scale)}'>{v:.4g}</td>" for v in a[i, :c])
        rows.append(f"<tr>{cells}{'<td>…</td>' if a.shape[1] > c else ''}</tr>")
    if a.shape[0] > r:
        rows.append("<tr><td>⋮</td></tr>")
    cap = f"{html.escape(name)} {tuple(int(n) for n in a.shape)}"
    return f"<table style='{STYLE}'><caption style='text-align:left'>{cap}</caption>{''.join(rows)}</table>"


def sparkline(values, width: int = 220, height: int = 40, colour_: str = "#1f77b4") -> str:
    """An inline SVG polyline of ``values`` (NaN and inf skipped), log-scaled when they span over ×100."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return ""
    y = v[ok]
    if y.min() > 0 and y.max() / y.min() > 100:
        y = np.log10(y)
    x = np.flatnonzero(ok).astype(float)
    x = (x - x.min()) / max(x.max() - x.min(), 1) * (width - 4) + 2
    span = y.max() - y.min()
    y = height - 2 - ((y - y.min()) / span if span > 0 else np.full_like(y, 0.5)) * (height - 4)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    return (f"<svg width='{width}' height='{height}' style='vertical-align:middle'>"
            f"<polyline fill='none' stroke='{colour_}' stroke-width='1.5' points='{points}'/></svg>")


def trace_record(rec: dict) -> str:
    """z, a, δ, ∂C/∂W and ∂C/∂b of one Dense layer, side by side."""
    parts = [("a_in", "a⁽ˡ⁻¹⁾"), ("z", "z"), ("a_out", "a⁽ˡ⁾"), ("delta", "δ = ∂C/∂z"), ("dW", "∂C/∂W"),
             ("db", "∂C/∂b")]
    cells = "".join(f"<td style='vertical-align:top'>{array(rec[k], label)}</td>" for k, label in parts
                    if rec.get(k) is not None)
    head = f"Dense layer {int(rec['layer'])} — C = {float(rec['loss']):.6g}"
    return f"<div><b>{html.escape(head)}</b><table><tr>{cells}</tr></table></div>"


def history(h) -> str:
    """The loss per epoch as a sparkline (validation loss beside it), and the last epoch's numbers."""
    if not h.records:
        return "<div>History (no epochs)</div>"
    lines = [f"training loss {sparkline(h['loss'])} {h['loss'][-1]:.4g}"]
    if any(r.get("val_loss") is not None for r in h.records):
        val = [r.get("val_loss", np.nan) if r.get("val_loss") is not None else np.nan for r in h.records]
        lines.append(f"validation loss {sparkline(val, colour_='#ff7f0e')} {val[-1]:.4g}")
    last = h.records[-1]
    keys = [k for k in last if not k.startswith("grad_norm/")]
    rows = [[k, f"{last[k]:.4g}" if isinstance(last[k], float) else str(last[k])] for k in keys]
    return (f"<div><b>History: {len(h.records)} epoch(s)</b><br>" + "<br>".join(lines)
            + table(["last epoch", "value"], rows) + "</div>")
