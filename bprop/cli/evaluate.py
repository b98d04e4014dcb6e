"""evaluate (being written)."""

from .options import add_parser


def register(subparsers) -> None:
    add_parser(subparsers, "evaluate", __doc__, "  bprop evaluate\n")


def run(args) -> int:
    return 0
