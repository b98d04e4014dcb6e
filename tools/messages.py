"""The messages of bprop's translated output, and the check of a language's catalogue.

    python tools/messages.py            # print the messages as a .pot template
    python tools/messages.py zh         # list the messages bprop/locale/zh/LC_MESSAGES/bprop.po lacks
    msgfmt -o bprop/locale/zh/LC_MESSAGES/bprop.mo bprop/locale/zh/LC_MESSAGES/bprop.po

A message is the first argument of a call of ``tr(...)``/``self.tr(...)`` or of
``Section(...)`` written as a string literal in the modules of :data:`SOURCES`,
plus the messages those modules pass through ``tr`` from tables
(:func:`dynamic`): the worked examples' titles and notes, the paragraphs of
the renderer, the experiments' titles and verdicts.
"""

from __future__ import annotations

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("bprop/explain/render.py", "bprop/explain/equations.py", "bprop/cli/experiment.py",
           "bprop/cli/report.py")


def literal_messages() -> set[str]:
    found = set()
    for rel in SOURCES:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            tree = ast.parse(f.read(), rel)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            arg = node.args[0]
            if name in ("tr", "Section") and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def dynamic() -> set[str]:
    sys.path.insert(0, ROOT)
    from bprop.cli import experiment
    from bprop.explain import render
    from bprop.explain.examples import EXAMPLES
    # the verdicts of bprop.experiments.initialization.verdict, and the parts the run report is measured on
    out = {"vanishing", "exploding", "stable", "test", "validation", "training"}
    for e in EXAMPLES.values():
        out |= {e.title, e.note}
    for sym in (render.NOTATION, render.BIAS_ADDED, render.BIAS_NOTE, render.MISTAKE):
        out |= {sym.text, sym.latex}
    out |= {render.ADAM_NOTE, render.W2_IS_RIGHT}
    out |= {label for label, _, _ in render.MISTAKE_RULES}
    out |= set(experiment.TITLES.values())
    return out


def messages() -> list[str]:
    """Every message, sorted."""
    return sorted(literal_messages() | dynamic())


def read_po(path) -> dict[str, str]:
    """``msgid → msgstr`` of a .po file (the subset of the format that this project writes)."""
    entries = {}

    def unquote(s):
        return ast.literal_eval(s)

    msgid, msgstr = [], []
    field = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("msgid "):
                if field == "msgstr":
                    entries["".join(msgid)] = "".join(msgstr)
                msgid, msgstr, field = [unquote(line[6:])], [], "msgid"
            elif line.startswith("msgstr "):
                msgstr, field = [unquote(line[7:])], "msgstr"
            elif line.startswith('"'):
                (msgid if field == "msgid" else msgstr).append(unquote(line))
    if field == "msgstr":
        entries["".join(msgid)] = "".join(msgstr)
    entries.pop("", None)   # the header
    return entries


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv) -> int:
    if not argv:
        print('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
        for m in messages():
            print(f"msgid {quote(m)}\nmsgstr \"\"\n")
        return 0
    po = read_po(os.path.join(ROOT, "bprop", "locale", argv[0], "LC_MESSAGES", "bprop.po"))
    missing = [m for m in messages() if not po.get(m)]
    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
