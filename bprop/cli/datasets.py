"""List the data sets --data accepts: synthetic 2-D sets, regression sets, scikit-learn's, MNIST, csv:PATH.

The synthetic sets take --n-samples and --noise; the scikit-learn and MNIST
sets take --n-samples (a stratified subset); MNIST and Fashion-MNIST are read
from IDX files in --data-dir, BPROP_DATA_DIR or the cache, downloaded once.
"""

from __future__ import annotations

from .options import add_parser

EXAMPLES = """\
  bprop datasets
  bprop train --data spiral --n-samples 600 --noise 0.3 --layers 32,32
  bprop train --data csv:measurements.csv --target price
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "datasets", __doc__, EXAMPLES)
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import data
    from .console import console, table

    t = table("--data accepts", ["name", "description"], show_lines=False)
    for name, description in data.available():
        t.add_row(name, description)
    console().print(t)
    return 0
