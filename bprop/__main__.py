"""``python -m bprop`` — the same as the ``bprop`` command (see :mod:`bprop.cli`)."""

import sys

from .cli import main

sys.exit(main())
