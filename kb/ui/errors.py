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

#: the less common refusals: editing races, lifecycle, scheduling, the queue, golden
#: questions, practice, feedback, pickers and who is acting (issue 14)
UNCOMMON: tuple[tuple[str, str], ...] = (
    (
        A + r" is (?P<state>\w+) \(changed .*\); the article moved on to version (?P<to>\d+).*",
        "文章 {id} 第 {v} 版已{state}，文章已更新到第 {to} 版：请重新载入后再修改",
    ),
    (
        A + r" is a draft at revision (?P<r>\d+) .*say which revision you edited",
        "文章 {id} 第 {v} 版是草稿（修订 {r}）：请说明你编辑的是哪个修订",
    ),
    (
        r"the draft you edited \(revision (?P<r>\d+)\) is no longer a draft: "
        + A
        + r" is (?P<state>\w+) .*",
        "你编辑的草稿（修订 {r}）已不是草稿：文章 {id} 第 {v} 版已{state}；请重新载入后新建草稿",
    ),
    (r"the unsaved form is too large to keep", "未保存的内容太大，无法暂存"),
    (
        A + r" is (?P<state>\w+); (?P<action>\w+) needs a version that is (?P<needed>.+)",
        "文章 {id} 第 {v} 版当前为{state}，此操作需要处于{needed}状态的版本",
    ),
    (r"article '(?P<id>[^']+)' has no version (?P<v>\d+)", "文章 {id} 没有第 {v} 版"),
    (
        r"article '(?P<id>[^']+)' has no version that is (?P<state>\w+).*",
        "文章 {id} 没有处于{state}状态的版本",
    ),
    (
        A + r" is older than version (?P<p>\d+), which was published.*",
        "文章 {id} 第 {v} 版早于已发布的第 {p} 版：要恢复其内容，"
        "请回滚到该版本（生成新版本，需再审核）",
    ),
    (
        A + r" has no effective_from date: give the time to publish",
        "文章 {id} 第 {v} 版没有生效日期：请指定发布时间",
    ),
    (
        r"(?P<when>\S+) has passed: publish " + A + r" now instead",
        "{when} 已经过去：请直接发布文章 {id} 第 {v} 版",
    ),
    (r"article '(?P<id>[^']+)' has no scheduled publication", "文章 {id} 没有定时发布"),
    (
        r"'(?P<who>[^']+)' cannot be assigned: .*",
        "不能分配给 {who}：该用户不存在、已停用或无权处理待解答问题",
    ),
    (
        r"unanswered group '(?P<id>[^']+)' is already assigned to (?P<who>\S+)",
        "该组问题已分配给 {who}",
    ),
    (r"unanswered group '(?P<id>[^']+)' is not assigned to anyone", "该组问题尚未分配给任何人"),
    (r"unknown user '(?P<who>[^']*)'", "未知用户 {who}"),
    (r"user '(?P<who>[^']+)' is disabled", "用户 {who} 已停用"),
    (r"no acting user given", "未指定操作用户（请重新登录）"),
    (
        r"golden question: the question is empty.*",
        "黄金问题：问题为空（没有文字或数字）",
    ),
    (r"golden question: longer than (?P<n>\d+) characters", "黄金问题：超过 {n} 个字符"),
    (
        r"golden question: name at least one expected article.*",
        "黄金问题：请至少选择一篇应答文章",
    ),
    (r"golden question: no article (?P<ids>.+)", "黄金问题：没有文章 {ids}"),
    (r"no golden question (?P<n>\d+)", "没有编号为 {n} 的黄金问题"),
    (r"no feedback (?P<n>\d+)", "没有编号为 {n} 的反馈"),
    (
        r"feedback (?P<n>\d+) names no right article.*",
        "反馈 {n} 没有指出正确的文章：只有“答错了，正确的是某文章”的反馈可以成为黄金问题",
    ),
    (
        r"feedback (?P<n>\d+): its question is no longer in the query log",
        "反馈 {n} 的问题已不在查询日志中",
    ),
    (
        r"article '(?P<id>[^']+)' has no open version.*",
        "文章 {id} 没有未发布的版本（草稿、审核中或已批准）",
    ),
    (
        r"no questions for these tags and types.*",
        "这些标签和类型下没有题目（常见问题或黄金问题）",
    ),
    (r"the reply is empty", "回复为空"),
    (r"the reply is longer than (?P<n>\d+) characters", "回复超过 {n} 个字符"),
    (
        r"a round has 1 to (?P<n>\d+) questions, not (?P<m>-?\d+)",
        "一轮练习有 1 到 {n} 道题，不能是 {m} 道",
    ),
    (r"no practice round (?P<n>\d+)", "没有第 {n} 轮练习"),
    (r"round (?P<n>\d+) has no question (?P<p>\d+)", "第 {n} 轮练习没有第 {p} 题"),
    (
        r"question (?P<p>\d+) of round (?P<n>\d+) is answered already",
        "第 {n} 轮练习的第 {p} 题已经回答过了",
    ),
    (r"no enabled user '(?P<who>[^']+)'", "没有启用的用户 {who}"),
    (r"round (?P<n>\d+) is not (?P<who>\S+)'s", "第 {n} 轮练习不是 {who} 的"),
    (r"only (?P<who>\S+) answers round (?P<n>\d+)", "只有 {who} 可以回答第 {n} 轮练习"),
    (r"the comment is longer than (?P<n>\d+) characters", "评论超过 {n} 个字符"),
    (r"correct_article_id: no article '(?P<id>[^']+)'", "没有文章 {id}"),
    (r"no suggestion with request_id '(?P<id>[^']+)'.*", "找不到请求 {id} 的建议回复"),
    (
        r"article '(?P<id>[^']+)' is a (?P<type>\w+); its type cannot change to (?P<to>\w+)",
        "文章 {id} 是{type}，类型不能改为{to}",
    ),
    (r"the article id cannot be changed", "文章 ID 不能修改"),
    (
        r"(?P<name>\w+) must be between 0 and 3660 days, got (?P<n>-?\d+)",
        "天数须在 0 到 3660 之间，而不是 {n}",
    ),
    (r"unknown state '(?P<state>[^']*)'", "未知状态 {state}"),
    (r"a page holds 1 to (?P<n>\d+) articles.*", "每页可显示 1 到 {n} 篇文章"),
    (r"search at most (?P<n>\d+) characters", "查找内容最多 {n} 个字符"),
    (r"a picker shows 1 to (?P<n>\d+) articles", "选择框可显示 1 到 {n} 篇文章"),
    (r"unknown importance '(?P<v>[^']*)'.*", "未知的重要程度 {v}（普通或必读）"),
    (r"no feed entry (?P<n>\d+).*", "没有编号为 {n} 的知识动态"),
    (
        r"the search index could not be updated \((?P<reason>.*)\); nothing was published",
        "搜索索引未能更新（{reason}），本次未发布任何内容：请稍后重试",
    ),
)

#: words the service layer quotes that have a Chinese name (states, article types)
WORDS = {
    "draft": "草稿",
    "in_review": "审核中",
    "approved": "已批准",
    "published": "已发布",
    "archived": "已归档",
    "rejected": "已驳回",
    "superseded": "已被取代",
    "faq": "常见问题",
    "policy": "政策",
    "regulation": "法规",
}
TRANSLATED_GROUPS = ("state", "needed", "type", "to")

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
            r"article (?P<id>.*): title is longer than (?P<n>\d+) characters",
            "文章 {id}：标题超过 {n} 个字符",
        ),
        (
            r"article (?P<id>.*): the question is longer than (?P<n>\d+) characters",
            "文章 {id}：标准问超过 {n} 个字符",
        ),
        (
            r"article (?P<id>.*): similar question '(?P<q>.*)' is longer than (?P<n>\d+) "
            r"characters",
            "文章 {id}：相似问 “{q}” 超过 {n} 个字符",
        ),
        (
            r"article (?P<id>.*): more than (?P<n>\d+) similar questions",
            "文章 {id}：相似问超过 {n} 个",
        ),
        (r"article (?P<id>.*): a similar question is empty", "文章 {id}：有一个相似问为空"),
        (
            r"article (?P<id>.*): similar question '(?P<q>.*)' repeats '(?P<first>.*)'",
            "文章 {id}：相似问 “{q}” 与 “{first}” 重复",
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
        *UNCOMMON,
    )
)


def localize(message: str, lang: str) -> str | None:
    """The message in ``lang``; None when Chinese is wanted but the wording is not known."""
    if lang != "zh":
        return message
    for pattern, zh in ZH:
        match = pattern.fullmatch(message.strip())
        if match:
            return zh.format(**_named(match.groupdict()))
    return None


def _named(groups: dict[str, str]) -> dict[str, str]:
    """States and types in Chinese ("draft or in_review" → "草稿或审核中"); the rest as is."""
    out = dict(groups)
    for name in TRANSLATED_GROUPS:
        if out.get(name):
            out[name] = "或".join(WORDS.get(w, w) for w in out[name].split(" or "))
    return out
