"""One article per Markdown file, with YAML front matter (the ``articles/`` format).

A file that starts with a ``---`` line has front matter up to the next ``---``
line; the rest is the body (for FAQ articles, the answer). ``render_markdown``
writes the canonical form, which ``parse_markdown`` reads back unchanged.
See docs/article-format.md.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Any

import yaml

from kb.errors import InvalidInput
from kb.model import ArticleContent, ArticleType, Audience

FENCE = "---"
FIELDS = (
    "id",
    "type",
    "title",
    "lang",
    "translation_of",
    "tags",
    "audience",
    "owner",
    "effective_from",
    "effective_to",
    "review_due",
    "question",
    "similar_questions",
)
#: Fields written only when they carry a value (files without them stay as they were).
OPTIONAL = ("translation_of",)
FAQ_ONLY = ("question", "similar_questions")
#: Fields whose value is a list of strings.
LIST_FIELDS = ("tags", "similar_questions")
DATE_FIELDS = ("effective_from", "effective_to", "review_due")
#: C0/C1 control characters but tab, line and form feed and carriage return: NUL breaks
#: PostgreSQL text and an escape sequence rewrites the terminal of whoever lists the article.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses an alias (``*name``) of a list or a mapping.

    Such aliases share one object, so a few lines can nest into billions of items
    (a "billion laughs" file) that turning a field into text would expand until memory
    runs out. Article fields never need them; an alias of a plain value stays allowed.
    """

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            if anchored is not None and not isinstance(anchored, yaml.ScalarNode):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"alias *{event.anchor} of a list or mapping (not allowed)",
                    event.start_mark,
                )
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """Parse YAML like ``yaml.safe_load``, refusing aliases of lists and mappings
    (see ``_Loader``) and nesting deeper than Python's recursion limit; raises
    ``yaml.YAMLError``."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except RecursionError:  # '[[[[...' thousands deep: PyYAML composes recursively
        raise yaml.MarkedYAMLError(problem="nested too deeply") from None


def has_front_matter(text: str) -> bool:
    """True when the text opens with a front-matter fence."""
    return text.lstrip("\ufeff").startswith(FENCE + "\n")


def split_front_matter(text: str, name: str) -> tuple[str, str]:
    """Split a document into (front matter YAML, body)."""
    lines = text.lstrip("\ufeff").split("\n")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise InvalidInput(f"{name} line 1: front matter opened with '---' is never closed")


def _load_yaml(front: str, name: str) -> dict[str, Any]:
    try:
        data = load_yaml(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 2}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InvalidInput(f"{name}{line}: malformed front matter ({problem})") from None
    except ValueError as exc:  # a well-formed value that cannot exist, e.g. 2026-13-01
        raise InvalidInput(f"{name}: malformed front matter (impossible value: {exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{name} line 2: front matter must be a mapping of field: value")
    return data


def parse_date(value: Any, field: str, name: str) -> date | None:
    """Accept a YAML date, an ISO date string, or null."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{name}: {field} must be a date YYYY-MM-DD, got {value!r}") from None


def _string_list(value: Any, field: str, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise InvalidInput(f"{name}: {field} must be a list of strings")
    return [str(v).strip() for v in value if str(v).strip()]


def _enum(enum_type: type[Enum], value: Any, field: str, name: str) -> Any:
    try:
        return enum_type(str(value).strip())
    except ValueError:
        allowed = " | ".join(e.value for e in enum_type)
        raise InvalidInput(f"{name}: unknown {field} {value!r} (use {allowed})") from None


def refuse_nested(data: dict[str, Any], name: str, list_fields: tuple[str, ...]) -> None:
    """InvalidInput unless every field is a single value (a list of values for
    ``list_fields``): a list or mapping where text belongs is an error, never its printed
    form (which YAML aliases can make gigabytes long from a file of a few hundred bytes)."""
    for key, value in data.items():
        if key in list_fields and isinstance(value, list):
            continue
        if value is not None and not isinstance(value, str | int | float | date):
            raise InvalidInput(f"{name}: {key} must be a single value, not a list or mapping")


def _control_error(name: str, where: str, char: str) -> InvalidInput:
    return InvalidInput(
        f"{name}{where} has a control character (U+{ord(char):04X}): the file is damaged "
        "or binary; remove it and import again"
    )


def check_no_control(text: str, name: str) -> None:
    """Refuse text with a control character (``_CONTROL``), naming the line it is on."""
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise _control_error(name, f" line {line}", bad.group())


def _check_fields(data: dict[str, Any], body: str, name: str) -> None:
    """Refuse a field or body with a control character (one a JSON escape put there);
    call after ``refuse_nested``."""
    body_field = "answer" if data.get("type") == "faq" else "body"
    for field, value in [*data.items(), (body_field, body)]:
        for item in value if isinstance(value, list) else [value]:
            bad = _CONTROL.search(item) if isinstance(item, str) else None
            if bad:
                raise _control_error(name, f": {field}", bad.group())


def article_from_fields(data: dict[str, Any], body: str, name: str) -> ArticleContent:
    """Build and validate an article from front-matter style fields."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"{name}: unknown field(s) {', '.join(unknown)}")
    refuse_nested(data, name, LIST_FIELDS)
    _check_fields(data, body, name)
    for required in ("id", "type", "title"):
        if data.get(required) in (None, ""):
            raise InvalidInput(f"{name}: missing required field '{required}'")
    article = ArticleContent(
        id=str(data["id"]).strip(),
        type=_enum(ArticleType, data["type"], "type", name),
        title=str(data["title"]).strip(),
        body=body,
        lang=str(data.get("lang") or "zh").strip(),
        tags=_string_list(data.get("tags"), "tags", name),
        audience=_enum(Audience, data.get("audience") or "public", "audience", name),
        owner=str(data.get("owner") or "").strip(),
        question=str(data.get("question") or "").strip(),
        similar_questions=_string_list(data.get("similar_questions"), "similar_questions", name),
        translation_of=str(data.get("translation_of") or "").strip(),
        **{f: parse_date(data.get(f), f, name) for f in DATE_FIELDS},
    )
    try:
        return article.validate()
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.message}") from None


def parse_markdown(text: str, name: str) -> ArticleContent:
    """Parse one Markdown article with front matter."""
    check_no_control(text, name)
    front, body = split_front_matter(text, name)
    return article_from_fields(_load_yaml(front, name), body.strip("\n") + "\n", name)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10**9)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def render_markdown(article: ArticleContent) -> str:
    """The canonical Markdown file of an article (parsed back by ``parse_markdown``)."""
    lines = [FENCE]
    for field in FIELDS:
        if field in FAQ_ONLY and article.type != ArticleType.FAQ:
            continue
        value = getattr(article, field)
        if field in OPTIONAL and not value:
            continue
        if field == "similar_questions":
            lines.append("similar_questions:")
            lines.extend(f"  - {_scalar(q)}" for q in value)
            continue
        if isinstance(value, ArticleType | Audience):
            value = value.value
        lines.append(f"{field}: {_scalar(value)}")
    lines.append(FENCE)
    return "\n".join(lines) + "\n" + article.body.strip("\n") + "\n"
