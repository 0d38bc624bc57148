"""Bulk FAQ files: JSON Lines, CSV and YAML, one FAQ article per entry.

Each entry has ``id`` and ``question`` and optionally ``similar_questions``,
``answer`` and the article metadata (``title``, ``lang``, ``tags``,
``audience``, ``owner``, ``effective_from``, ``effective_to``, ``review_due``,
``translation_of``).
In CSV, list cells separate their items with ``|``. ``render_faq_file`` writes
entries back with only the fields that carry information, so an export of an
import gives the same file.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml

from kb.errors import InvalidInput
from kb.formats.markdown import article_from_fields, load_yaml, refuse_nested
from kb.model import ArticleContent, Audience

FAQ_SUFFIXES = (".jsonl", ".csv", ".yaml", ".yml")
ENTRY_FIELDS = (
    "id",
    "question",
    "similar_questions",
    "answer",
    "title",
    "lang",
    "tags",
    "audience",
    "owner",
    "effective_from",
    "effective_to",
    "review_due",
    "translation_of",
)
LIST_FIELDS = ("similar_questions", "tags")
CSV_LIST_SEPARATOR = "|"


def entry_to_article(entry: dict[str, Any], where: str) -> ArticleContent:
    """Turn one FAQ entry into a validated FAQ article."""
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: an FAQ entry must be an object with id and question")
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}")
    refuse_nested(entry, where, LIST_FIELDS)
    if not str(entry.get("question") or "").strip():
        raise InvalidInput(f"{where}: missing required field 'question'")
    fields = {k: v for k, v in entry.items() if k != "answer"}
    fields["type"] = "faq"
    fields.setdefault("title", entry["question"])
    if not fields.get("title"):
        fields["title"] = entry["question"]
    return article_from_fields(fields, str(entry.get("answer") or ""), where)


def _parse_jsonl(text: str, name: str) -> list[tuple[dict[str, Any], str]]:
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append((json.loads(line), f"{name} line {number}"))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{name} line {number}: invalid JSON ({exc.msg})") from None
        except RecursionError:
            raise InvalidInput(f"{name} line {number}: invalid JSON (nested too deeply)") from None
    return entries


def _split_cell(value: str) -> list[str]:
    parts = value.replace("\n", CSV_LIST_SEPARATOR).split(CSV_LIST_SEPARATOR)
    return [p.strip() for p in parts if p.strip()]


def _parse_csv(text: str, name: str) -> list[tuple[dict[str, Any], str]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_entries(reader, name)
    except csv.Error as exc:  # a quote never closed runs into the field size limit
        raise InvalidInput(f"{name} line {reader.line_num}: malformed CSV ({exc})") from None


def _csv_entries(reader: csv.DictReader[str], name: str) -> list[tuple[dict[str, Any], str]]:
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise InvalidInput(f"{name} line 1: CSV header must name at least id and question")
    twice = sorted({f for f in reader.fieldnames if list(reader.fieldnames).count(f) > 1})
    if twice:
        raise InvalidInput(f"{name} line 1: CSV header names {', '.join(twice)} twice")
    entries = []
    for row in reader:
        if None in row:
            raise InvalidInput(f"{name} line {reader.line_num}: more cells than header columns")
        entry: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        for field in LIST_FIELDS:
            if field in entry:
                entry[field] = _split_cell(entry[field])
        entries.append((entry, f"{name} line {reader.line_num}"))
    return entries


def _parse_yaml(text: str, name: str) -> list[tuple[dict[str, Any], str]]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InvalidInput(f"{name}{line}: malformed YAML ({problem})") from None
    except ValueError as exc:  # a well-formed value that cannot exist, e.g. 2026-13-01
        raise InvalidInput(f"{name}: malformed YAML (impossible value: {exc})") from None
    if not isinstance(data, list):
        raise InvalidInput(f"{name}: a YAML FAQ file must be a list of entries")
    return [(entry, f"{name} entry {i}") for i, entry in enumerate(data, start=1)]


def parse_faq_file(text: str, name: str, suffix: str) -> list[ArticleContent]:
    """Parse a bulk FAQ file (by suffix) into FAQ articles, in file order."""
    parser = {".jsonl": _parse_jsonl, ".csv": _parse_csv}.get(suffix, _parse_yaml)
    return [entry_to_article(entry, where) for entry, where in parser(text, name)]


def article_to_entry(article: ArticleContent) -> dict[str, Any]:
    """The entry of an FAQ article, with only the fields that carry information."""
    meta = article.metadata()
    entry: dict[str, Any] = {"id": article.id, "question": article.question}
    if article.similar_questions:
        entry["similar_questions"] = list(article.similar_questions)
    if article.body.strip():
        entry["answer"] = article.body
    if article.title != article.question:
        entry["title"] = article.title
    defaults = {"lang": "zh", "audience": Audience.PUBLIC.value}
    for field in ENTRY_FIELDS[5:]:
        value = meta.get(field)
        if value not in (None, "", []) and value != defaults.get(field):
            entry[field] = value
    return entry


def render_faq_file(articles: list[ArticleContent], suffix: str) -> str:
    """Write FAQ articles back as one bulk file of the given kind."""
    entries = [article_to_entry(a) for a in articles]
    if suffix == ".jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
    if suffix == ".csv":
        columns = [f for f in ENTRY_FIELDS if any(f in e for e in entries)]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            writer.writerow(
                {
                    k: CSV_LIST_SEPARATOR.join(v) if isinstance(v, list) else v
                    for k, v in entry.items()
                }
            )
        return out.getvalue()
    return yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=10**9)
