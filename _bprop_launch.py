"""Entry point of the ``bprop`` command: Ctrl-C is caught from the very first moment.

The command's own handler (:func:`bprop.cli.main`) is installed only once
``bprop`` and NumPy are imported, about a tenth of a second after start-up. A
Ctrl-C before that would end in a ``KeyboardInterrupt`` traceback, so this
module, which needs nothing but the standard library and lives outside the
``bprop`` package (importing any module of the package imports the package
first), installs a handler before importing anything else: such a Ctrl-C
gives the command's usual one line and exit status 130.
"""

import signal
import sys

EXIT_INTERRUPTED = 130


_seen = []   # a Ctrl-C arrived (the import it interrupted may turn the KeyboardInterrupt into another error)


def _interrupted(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # a second Ctrl-C while stopping changes nothing
    _seen.append(signum)
    raise KeyboardInterrupt


def main() -> int:
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:   # started with Ctrl-C ignored: keep it so
        signal.signal(signal.SIGINT, _interrupted)
    try:
        # A launcher (or a test) may hold SIGINT blocked until this handler is in place: deliver it now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        from bprop.cli import main as run
    except BaseException as exc:
        # NumPy reports a KeyboardInterrupt inside its C-level imports as an ImportError
        # ("PyCapsule_Import could not import module 'datetime'"): after a Ctrl-C, any error is the Ctrl-C.
        if not (isinstance(exc, KeyboardInterrupt) or _seen):
            raise
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return run()


if __name__ == "__main__":
    sys.exit(main())
