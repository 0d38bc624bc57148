"""Comments the system writes into the audit log and review comments, in the interface
language.

The service layer words them in English (``"superseded by version 2"``,
``"rollback to version 1: ..."``); in Chinese mode the history page shows the known ones
in Chinese, recognised by their wording (``localize``). A comment a person wrote is data
and is shown as written; values quoted from a note (versions, times, reasons) are kept.
"""

from __future__ import annotations

import re

from kb.ui import errors

#: (pattern of the English note, Chinese text with the pattern's named groups)
ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), zh)
    for pattern, zh in (
        (r"superseded by version (?P<v>\d+)", "已被第 {v} 版取代"),
        (r"rollback to version (?P<v>\d+): (?P<why>.*)", "回滚到第 {v} 版：{why}"),
        (r"rollback to version (?P<v>\d+)", "回滚到第 {v} 版"),
        (r"saved revision (?P<r>\d+)", "保存修订 {r}"),
        (r"new draft based on version (?P<v>\d+)", "基于第 {v} 版的新草稿"),
        (r"imported from (?P<source>.+)", "导入自 {source}"),
        (
            r"bootstrap publication by import \(no review took place\); reason: (?P<why>.*)",
            "导入时初始发布（未经审核）；原因：{why}",
        ),
        (r"bootstrap publication by import \(no review took place\)", "导入时初始发布（未经审核）"),
        (
            r"copy of version (?P<v>\d+) for bootstrap publication",
            "第 {v} 版的副本（初始发布）",
        ),
        (r"scheduled for (?P<when>\S+)", "定时于 {when}（UTC）发布"),
        (r"scheduled publication", "定时发布"),
        (r"golden question (?P<id>\d+): (?P<q>.*) -> (?P<e>.*)", "黄金问题 {id}：{q} → {e}"),
    )
)


def localize(note: str, lang: str) -> str:
    """The note in ``lang``: known system wording translated, anything else unchanged."""
    if lang != "zh" or not note:
        return note
    for pattern, zh in ZH:
        match = pattern.fullmatch(note.strip())
        if match:
            return zh.format(**match.groupdict())
    return errors.localize(note, lang) or note
