"""train (being written)."""

from .options import add_parser


def register(subparsers) -> None:
    add_parser(subparsers, "train", __doc__, "  bprop train\n")


def run(args) -> int:
    return 0
