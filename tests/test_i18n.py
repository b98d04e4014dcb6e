"""Translations: every message of the translated output has a Chinese translation, and the .mo is the .po."""

import gettext
import os
import sys

import pytest

from bprop import i18n

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import messages  # noqa: E402


@pytest.mark.parametrize("lang", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_message_has_a_translation(lang):
    po = messages.read_po(os.path.join(ROOT, "bprop", "locale", lang, "LC_MESSAGES", "bprop.po"))
    msgs = messages.messages()
    assert len(msgs) > 80
    missing = [m for m in msgs if not po.get(m)]
    assert not missing, f"{len(missing)} message(s) without a {lang} translation: {missing[:3]}"
    assert not set(po) - set(msgs), f"stale entries: {sorted(set(po) - set(msgs))[:3]}"
    # the compiled catalogue shipped in the package says the same (recompile with msgfmt after an edit)
    tr = i18n.translation(lang)
    assert isinstance(tr, gettext.GNUTranslations)
    for m in msgs:
        assert tr.gettext(m) == po[m], m
        # a message with {fields} keeps exactly those fields
        assert sorted(_fields(m)) == sorted(_fields(po[m])), m


def _fields(text):
    import string
    return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]


def test_resolve():
    assert i18n.resolve("zh-CN") == "zh" and i18n.resolve("EN") == "en"
    with pytest.raises(ValueError, match="unknown language 'fr'; valid languages: en, zh"):
        i18n.resolve("fr")
    assert i18n.translator("en")("Step {n}") == "Step {n}"
    assert i18n.translator("zh")("Step {n}") == "第 {n} 步"
