"""Error messages in the interface language.

The service layer words its refusals in English for the CLI, the API and the logs. In
Chinese mode the app shows the common ones (the editor's and the review workflow's) in
Chinese, recognised by their wording; any other message is shown as a Chinese sentence
saying the action failed, the English original kept behind a "details" expander, so the
page itself stays in one language. Values quoted from the message (ids, names, numbers)
are user data and kept as they are.
"""

from __future__ import annotations

import re

A = r"article '(?P<id>[^']+)' version (?P<v>\d+)"

#: (pattern of the English message, Chinese text with the pattern's named groups)
ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), zh)
    for pattern, zh in (
        (
            r"invalid id '(?P<id>.*)': use letters.*",
            "文章 ID “{id}” 无效：只能使用字母、数字、“.”、“_”或“-”（最长 128 个字符）",
        ),
        (r"article (?P<id>.*): title is empty", "文章 {id}：标题为空"),
        (r"article (?P<id>.*): an FAQ article needs a question", "文章 {id}：常见问题必须有标准问"),
        (
            r"article (?P<id>.*): effective_to is before effective_from",
            "文章 {id}：失效日期早于生效日期",
        ),
        (
            r"article (?P<id>.*): invalid lang '(?P<lang>.*)'.*",
            "文章 {id}：语言 “{lang}” 无效（例如 zh、en）",
        ),
        (
            r"article (?P<id>.*): only FAQ articles have similar_questions",
            "文章 {id}：只有常见问题才有相似问",
        ),
        (
            r"article (?P<id>.*): translation_of '(?P<link>[^']*)' names no article.*",
            "文章 {id}：译自的文章 “{link}” 不存在（请先导入或创建该文章，或留空）",
        ),
        (
            r"article (?P<id>.*): translation_of names the article itself",
            "文章 {id}：“译自”不能是文章本身",
        ),
        (
            r"article (?P<id>.*): invalid translation_of '(?P<link>.*)' \(an article id\)",
            "文章 {id}：译自 “{link}” 不是有效的文章 ID",
        ),
        (
            A
            + r" was changed by (?P<who>\S+) at (?P<when>\S+) \(you edited revision (?P<r>\d+)\).*",
            "文章 {id} 第 {v} 版已被 {who} 于 {when} 修改（你编辑的是修订 {r}）；"
            "请重新载入后再修改",
        ),
        (
            A + r" is identical to the published version (?P<p>\d+).*",
            "文章 {id} 第 {v} 版与已发布的第 {p} 版完全相同：没有需要审核的内容"
            "（请修改，或保留为草稿）",
        ),
        (
            A + r" is already a draft \(revision (?P<r>\d+).*",
            "文章 {id} 第 {v} 版已是草稿（修订 {r}）：请编辑该草稿",
        ),
        (A + r" is (?P<state>\w+), not a draft.*", "文章 {id} 第 {v} 版已不是草稿，不能再修改"),
        (r"article '(?P<id>[^']+)' already exists", "文章 {id} 已存在"),
        (
            r"article id '(?P<id>[^']+)'.* differs only by case from the existing "
            r"article '(?P<taken>[^']+)'.*",
            "文章 ID {id} 与已有文章 {taken} 只有大小写不同：请使用 {taken} 或其他 ID",
        ),
        (r"say why the version is rejected.*", "驳回时请说明原因"),
        (r"the comment is empty", "评论为空"),
        (r"no article '(?P<id>[^']+)'", "没有文章 {id}"),
        (
            r"(?P<who>\S+) wrote part of " + A + r".*four-eyes.*",
            "{who} 编写过文章 {id} 第 {v} 版的内容，不能审核它（四眼原则：须由他人审核）",
        ),
        (
            r"(?P<who>\S+) \(.*\) may not (?P<action>\w+): needs the (?P<roles>.+) role",
            "{who} 无权执行此操作",
        ),
        (A + r" is the published version already", "文章 {id} 第 {v} 版已是发布版本"),
        (
            A + r" is (?P<state>\w+); only a version that was published can be rolled back to",
            "文章 {id} 第 {v} 版从未发布过，不能回滚到该版本",
        ),
        (r"'(?P<id>[^']+)' is not a published article.*", "{id} 不是已发布的文章"),
        (
            r"publishing (?P<what>.+) would break (?P<n>\d+) golden answer\(s\): (?P<list>.*); "
            r"fix it, or publish with an override reason",
            "发布将破坏 {n} 个黄金问题的答案：{list}。请修改，或填写越过检查的理由后发布",
        ),
        (r"no unanswered group '(?P<id>[^']+)'.*", "待解答队列中没有 {id}（队列已变化，请刷新）"),
    )
)


def localize(message: str, lang: str) -> str | None:
    """The message in ``lang``; None when Chinese is wanted but the wording is not known."""
    if lang != "zh":
        return message
    for pattern, zh in ZH:
        match = pattern.fullmatch(message.strip())
        if match:
            return zh.format(**match.groupdict())
    return None
