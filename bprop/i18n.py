"""Languages of bprop's output: English (the messages as written) and simplified Chinese.

Output meant for learners — ``bprop explain``, ``bprop experiment`` and the
run report — passes each message through :func:`translator`, which is
Python's :mod:`gettext` over the catalogue ``bprop/locale/<lang>/LC_MESSAGES/bprop.mo``
(compiled from the ``.po`` beside it with ``msgfmt``). Another language is
one more ``.po``/``.mo`` pair and its code in :data:`LANGUAGES`.

The Chinese catalogue uses the tutorials' own terms: 前向传播 (forward pass),
反向传播 (backpropagation), 误差信号 δ (error signal), 权重更新 / 偏置更新
(weight / bias update), 学习率 (learning rate), 梯度消失 / 梯度爆炸
(vanishing / exploding gradients).
"""

from __future__ import annotations

import gettext
import os

#: language codes that ``--lang`` and ``BPROP_LANG`` accept
LANGUAGES = ("en", "zh")
DOMAIN = "bprop"
LOCALEDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")


def resolve(lang: str | None = None) -> str:
    """``lang``, else ``$BPROP_LANG``, else ``"en"``; a ValueError naming the valid codes for any other."""
    code = lang if lang is not None else (os.environ.get("BPROP_LANG") or "en")
    code = str(code).strip().lower().replace("_", "-")
    if code.startswith("zh"):     # zh, zh-cn, zh-hans
        code = "zh"
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {lang if lang is not None else code!r}; valid languages: "
                         f"{', '.join(LANGUAGES)} (from --lang or BPROP_LANG)")
    return code


def translation(lang: str | None = None) -> gettext.NullTranslations:
    """The :mod:`gettext` translations of ``lang`` (see :func:`resolve`); English is the messages as written."""
    code = resolve(lang)
    if code == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALEDIR, languages=[code])


def translator(lang: str | None = None):
    """``tr(message) -> str``: the message in ``lang``, or the message itself where there is no translation."""
    return translation(lang).gettext
