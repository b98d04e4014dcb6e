"""``bprop playground``: backpropagation live in the browser, every number computed by bprop.

:mod:`bprop.playground.session` is one visitor's training session — the data,
the network built by :func:`bprop.mlp.build_mlp`, the optimiser, a worker
thread that trains with ``net.fit`` and the snapshots it publishes — and uses
NumPy and bprop only. :mod:`bprop.playground.server` is the Starlette
application around it (imported only by ``bprop playground`` and the tests,
so ``import bprop`` never needs Starlette). The page itself (HTML, JS, CSS
and the vendored KaTeX) is package data under ``static/``; the WebSocket
protocol is in ``docs/PLAYGROUND.md``.
"""
