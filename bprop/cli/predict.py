"""predict (being written)."""

from .options import add_parser


def register(subparsers) -> None:
    add_parser(subparsers, "predict", __doc__, "  bprop predict\n")


def run(args) -> int:
    return 0
