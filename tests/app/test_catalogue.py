"""The interface catalogue (``kb.ui.i18n.STRINGS``) is whole (issue 14): every key has a
Chinese and an English text, neither blank, both with the same placeholders, the Chinese
one Chinese; every key the code asks for with a literal ``t("...")`` exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from kb.ui.i18n import STRINGS

UI = Path(__file__).resolve().parents[2] / "kb" / "ui"
HAN = re.compile(r"[\u4e00-\u9fff]")
# entries whose Chinese text is a name, a symbol or a format (no Han character needed)
NO_HAN = {"lang_auto"}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_chinese_and_english_with_the_same_placeholders() -> None:
    for key, pair in STRINGS.items():
        assert isinstance(pair, tuple) and len(pair) == 2, key
        zh, en = pair
        assert zh.strip() and en.strip(), key
        assert placeholders(zh) == placeholders(en), key
        only_fields = not re.sub(r"\{[^}]*\}", "", zh).strip(" ·:：()（）/-—|「」")
        assert HAN.search(zh) or only_fields or key in NO_HAN, (key, zh)


def test_every_literal_key_the_pages_ask_for_exists() -> None:
    asked = set()
    for path in UI.glob("*.py"):
        asked |= set(
            re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"\s*[,)]", path.read_text(encoding="utf-8"))
        )
    assert asked, "no t(...) calls found"
    assert sorted(asked - set(STRINGS)) == []
