"""The ``bprop`` command: train, evaluate, predict, export, explain, experiment, gradcheck, datasets, playground.

``main(argv)`` parses the command line, runs one sub-command and returns its
exit status. Every error a user can cause ends as one line ``error: …`` on
stderr, with exit status 2 for a usage error (a bad option or an unknown name)
and 1 for a failure (a missing or malformed file, data that do not fit the
model, diverging training); Ctrl-C exits with 130 and one line, at any moment
from the start of :func:`main` (a second Ctrl-C while the command stops is
ignored). ``BPROP_DEBUG=1`` shows the traceback instead.

Each sub-command lives in its own module with ``register(subparsers)`` and
``run(args) -> int``; the modules import rich, matplotlib and scikit-learn
only when they run, so ``import bprop`` and ``bprop --help`` stay light.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

from .options import EXIT_FAILURE, EXIT_INTERRUPTED, HelpFormatter, Parser, UsageError, CommandFailed

__all__ = ["main", "build_parser"]

#: sub-command -> module (in the order ``bprop --help`` lists them)
COMMANDS = ("train", "evaluate", "predict", "export", "explain", "experiment", "gradcheck", "datasets", "playground")

EXAMPLES = """\
examples:
  bprop train                                   # a default network on scikit-learn's digits, in seconds
  bprop train --data moons --layers 16,16 --activation tanh --epochs 200 --out runs/moons
  bprop train --data mnist --layers 256,128 --optimizer adam --lr 1e-3 --epochs 10
  bprop train --resume runs/moons --epochs 400   # continue a run from its checkpoint
  bprop evaluate runs/moons                     # metrics on the run's test data
  bprop predict runs/moons/model.npz points.csv -o predictions.csv --proba
  bprop export runs/moons --format onnx         # runs/moons/model.onnx: raw features in, labels out
  bprop explain                                 # backpropagation by hand: the 1-1-1 sigmoid example
  bprop explain --example 2-2-2                 # Mazur's 2-2-2 network, checked against his numbers
  bprop experiment init                         # the tutorials' claims on initialisation, measured
  bprop gradcheck --layers 4,8,3 --activation tanh --batchnorm
  bprop datasets                                # what --data accepts
  bprop playground                              # backpropagation live in the browser

Run 'bprop COMMAND --help' for the options of a command, each with an example.
"""


def _module(name: str):
    return importlib.import_module(f".{name}", __name__)


def build_parser() -> Parser:
    """The argument parser of ``bprop`` and its sub-commands."""
    from .._version import __version__

    parser = Parser(
        prog="bprop",
        description=("bprop — fully-connected networks trained by backpropagation, with every quantity "
                     "visible:\nz, a, δ = ∂C/∂Z, ∂C/∂W and ∂C/∂b (notation: W (n_out, n_in), Z = A @ W.T + b)."),
        epilog=EXAMPLES, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"bprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=Parser)
    for name in COMMANDS:
        _module(name).register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing entry {text}"
    text = " ".join(text.split())
    return text if len(text) <= 600 else text[:597] + "…"


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the ``bprop`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 on failure, 2 on a usage error, 130 when interrupted.
    """
    previous, debug = None, False
    try:
        previous = _catch_ctrl_c()
        argv = list(sys.argv[1:] if argv is None else argv)
        debug = os.environ.get("BPROP_DEBUG", "") not in ("", "0")
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return int(_module(args.command).run(args) or 0)
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except (UsageError, CommandFailed) as exc:
        if debug:
            raise
        _error(_one_line(exc))
        return exc.exit_code
    except (ValueError, TypeError, OSError, FloatingPointError, ImportError, RuntimeError, KeyError) as exc:
        if debug:
            raise
        _error(_one_line(exc))
        return EXIT_FAILURE
    finally:
        if previous is not None and signal.getsignal(signal.SIGINT) is _on_ctrl_c:
            signal.signal(signal.SIGINT, previous)      # after a Ctrl-C, later ones stay ignored until exit


def _on_ctrl_c(signum, frame):
    """The first Ctrl-C raises KeyboardInterrupt; the ones after it are ignored while the command stops
    (cleans up its temporary files, prints its one line), so that a double Ctrl-C still exits 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _catch_ctrl_c():
    """Install :func:`_on_ctrl_c` (main thread only); returns the handler it replaces, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:                # a handler not installed from Python
        previous = signal.SIG_DFL
    if previous is signal.SIG_IGN:      # started in the background with Ctrl-C ignored: keep it so
        return None
    signal.signal(signal.SIGINT, _on_ctrl_c)
    # A launcher may block SIGINT until this handler is in place (the tests do, to send Ctrl-C at the
    # very start); one that arrived meanwhile is delivered now, as a KeyboardInterrupt inside main.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    return previous
