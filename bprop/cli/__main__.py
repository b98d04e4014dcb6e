"""``python -m bprop.cli`` — the same as the ``bprop`` command."""

import sys

from . import main

sys.exit(main())
