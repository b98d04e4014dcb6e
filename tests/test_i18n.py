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


def test_train_report_in_chinese(tmp_path, capsys):
    from bprop.cli import main
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--layers", "8", "--out", str(run), "--quiet", "--no-plots",
                 "--lang", "zh"]) == 0
    report = (run / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# bprop 训练记录: digits")
    for heading in ("## 数据", "## 网络", "## 训练", "## 最终指标(测试数据", "## 文件"):
        assert heading in report, heading
    assert "lang" not in (run / "config.toml").read_text()        # a presentation option, not a setting
    capsys.readouterr()
    assert main(["train", "--lang", "xx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lang: unknown language 'xx'" in err
