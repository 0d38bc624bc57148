"""What changed between two versions of an article, in plain words.

``summarize(old, new)`` compares the body sentence by sentence (``kb.figures.sentences``)
and the fields an agent would quote (title, question, similar questions, audience,
effective dates) and returns ``Change`` records: a changed figure with what it is a
figure of ("退货期限：7天 → 15天"), a reworded sentence (old → new), a sentence added
or removed, a field changed. ``describe`` renders one as a line of text. The change
feed (``review.feed``) stores them with each entry.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from typing import Any

from kb.figures import Figure, extract_figures, sentences
from kb.model import ArticleContent

MAX_CHANGES = 12
NEW_SENTENCES = 2  # sentences shown for a new article without figures
PAIR_RATIO = 0.4
FIELDS = ("title", "question", "audience", "effective_from", "effective_to")
LABEL_TRIM = " \t：:，,为是在于达到按共计约的"
FIELD_LABELS = {
    "title": "title",
    "question": "question",
    "similar_questions": "similar questions",
    "audience": "audience",
    "effective_from": "effective from",
    "effective_to": "effective to",
    "more": "more changes",
}


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is figure, sentence, added, removed, field or more."""

    kind: str
    old: str = ""
    new: str = ""
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """The change stored by ``to_dict``."""
        return cls(**{k: str(data.get(k) or "") for k in ("kind", "old", "new", "label")})


def describe(change: Change, labels: dict[str, str] | None = None) -> str:
    """One line of text for a change (``labels`` translates field names)."""
    names = {**FIELD_LABELS, **(labels or {})}
    if change.kind == "figure":
        return f"{change.label}：{change.old} → {change.new}"
    if change.kind == "sentence":
        return f"「{change.old}」 → 「{change.new}」"
    if change.kind == "added":
        return f"+ {change.new}"
    if change.kind == "removed":
        return f"− {change.old}"
    if change.kind == "more":
        return f"… {change.new} {names['more']}"
    field = names.get(change.label, change.label)
    return f"{field}: {change.old or '—'} → {change.new or '—'}"


def summarize(old: ArticleContent | None, new: ArticleContent) -> list[Change]:
    """The changes from ``old`` to ``new`` (a new article: its figures as added facts)."""
    if old is None:
        return _capped(_new_article(new))
    changes = _field_changes(old, new)
    changes += _body_changes(sentences(old.body), sentences(new.body))
    return _capped(changes)


def _new_article(new: ArticleContent) -> list[Change]:
    """A new article's key facts: its question, the sentences holding figures (else its
    first sentences)."""
    head = [Change("field", "", new.question, "question")] if new.question else []
    facts = [Change("added", new=f.sentence) for f in _unique_sentences(new.body)]
    if not facts:
        facts = [Change("added", new=s) for s in sentences(new.body)[:NEW_SENTENCES]]
    return head + facts


def _unique_sentences(body: str) -> list[Figure]:
    """One figure per sentence that holds figures: a new article's key facts."""
    seen: dict[str, Figure] = {}
    for figure in extract_figures(body):
        seen.setdefault(figure.sentence, figure)
    return list(seen.values())


def _capped(changes: list[Change]) -> list[Change]:
    if len(changes) <= MAX_CHANGES:
        return changes
    rest = len(changes) - MAX_CHANGES + 1
    return [*changes[: MAX_CHANGES - 1], Change("more", new=str(rest), label="more")]


def _field_changes(old: ArticleContent, new: ArticleContent) -> list[Change]:
    changes = []
    for name in FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(Change("field", _text(before), _text(after), name))
    added = [q for q in new.similar_questions if q not in old.similar_questions]
    removed = [q for q in old.similar_questions if q not in new.similar_questions]
    if added or removed:
        changes.append(Change("field", "、".join(removed), "、".join(added), "similar_questions"))
    return changes


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _body_changes(old: list[str], new: list[str]) -> list[Change]:
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes += _block_changes(old[i1:i2], new[j1:j2])
    return changes


def _block_changes(old: list[str], new: list[str]) -> list[Change]:
    """Pair each new sentence with the most similar old one; the rest are added/removed."""
    changes: list[Change] = []
    left = list(old)
    for sentence in new:
        match = _best_match(sentence, left)
        if match is None:
            changes.append(Change("added", new=sentence))
            continue
        left.remove(match)
        changes += _pair_changes(match, sentence)
    changes += [Change("removed", old=s) for s in left]
    return changes


def _best_match(sentence: str, candidates: list[str]) -> str | None:
    scored = [(difflib.SequenceMatcher(None, c, sentence).ratio(), c) for c in candidates]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= PAIR_RATIO else None


def _pair_changes(old: str, new: str) -> list[Change]:
    """Changed figures of a reworded sentence, or the sentence itself if none changed."""
    before, after = extract_figures(old), extract_figures(new)
    figures = []
    if len(before) == len(after):
        for a, b in zip(before, after, strict=True):
            if a.kind == b.kind and (a.value != b.value or a.text != b.text):
                figures.append(Change("figure", a.text, b.text, figure_label(b)))
    if figures and _only_figures_differ(old, new, before, after):
        return figures
    return [*figures, Change("sentence", old, new)]


def _only_figures_differ(old: str, new: str, before: list[Figure], after: list[Figure]) -> bool:
    def masked(text: str, figures: list[Figure]) -> str:
        for figure in figures:
            text = text.replace(figure.text, "#", 1)
        return text

    return masked(old, before) == masked(new, after)


def figure_label(figure: Figure) -> str:
    """What a figure is a figure of: its clause up to the figure ("退货期限为7天" 退货期限)."""
    clause = figure.clause
    head = clause.split(figure.text, 1)[0] if figure.text in clause else ""
    head = re.split(r"、|;|,(?!\d{3})", head)[-1]  # not the figure before it ("1,000 元、")
    head = re.sub(r"^[\s,，、。；;]+", "", head).rstrip(LABEL_TRIM)
    if head:
        return head[-24:]
    return "".join(sorted(figure.terms))[:24] or figure.kind
