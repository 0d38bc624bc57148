"""Sources of one reply that disagree on a figure: keep one, tell the agent about the other.

Two sentences of two articles disagree when a figure of one and a figure of the other
state different values for the same thing in the same scope (``kb.figures`` extracts
them, ``kb.quality.contradictions.figures_disagree`` compares them as ``kb conflicts`` does), and
neither sentence also states the other's value ("由 30% 提高至 50%" is a change, not a
disagreement). Of the two, the reply keeps the sentence of the article that takes
precedence (``precedence``: the newer one by ``effective_from``, then the more specific one,
whose title names more scope words, then the better-ranked one) and drops the other; a
``Disagreement`` records both, so the reply can say that another source says otherwise,
with that source's citation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kb.answer.citations import Sentence
from kb.figures import Figure, extract_figures
from kb.quality.contradictions import figures_disagree, scope_of
from kb.text import date_text


@dataclass(frozen=True)
class Disagreement:
    """A kept sentence and a sentence of another article that states another figure."""

    kept: Sentence
    kept_figure: Figure
    other: Sentence
    other_figure: Figure
    about: tuple[str, ...]

    def to_note(self) -> dict[str, Any]:
        """JSON-ready: what the reply says, and the other source's citation."""
        meta = self.other.meta
        return {
            "kind": "disagreement",
            "article_id": self.kept.article_id,
            "figure": self.kept_figure.text,
            "other_figure": self.other_figure.text,
            "about": list(self.about),
            "other": {
                "article_id": self.other.article_id,
                "version": meta.get("version"),
                "title": str(meta.get("title") or ""),
                "type": str(meta.get("type") or ""),
                "audience": meta.get("audience"),
                "effective_from": date_text(meta.get("effective_from")),
                "effective_to": date_text(meta.get("effective_to")),
                "passage": self.other.text,
                "char_start": self.other.start,
                "char_end": self.other.end,
            },
        }


def precedence(sentence: Sentence) -> tuple[str, int, int]:
    """Newer (``effective_from``), then more specific (scope words in its title), then
    better ranked: the greater tuple wins."""
    meta = sentence.meta
    newer = date_text(meta.get("effective_from")) or ""
    specific = len(scope_of(str(meta.get("title") or "")))
    return newer, specific, -sentence.article_rank


def conflict(a: Sentence, b: Sentence) -> tuple[Figure, Figure, tuple[str, ...]] | None:
    """The first pair of figures on which ``a`` and ``b`` (two articles) disagree."""
    if a.article_id == b.article_id:
        return None
    a_figures, b_figures = figures_of(a.text), figures_of(b.text)
    a_title, b_title = str(a.meta.get("title") or ""), str(b.meta.get("title") or "")
    for fa in a_figures:
        for fb in b_figures:
            about = figures_disagree(fa, a_title, fb, b_title)
            if about and not _states(b_figures, fa) and not _states(a_figures, fb):
                return fa, fb, about
    return None


@lru_cache(maxsize=4096)
def figures_of(text: str) -> tuple[Figure, ...]:
    """The figures of one sentence (cached, so immutable: the same sentences recur across
    questions)."""
    return tuple(extract_figures(text))


def _states(figures: tuple[Figure, ...], figure: Figure) -> bool:
    """One of ``figures`` has ``figure``'s kind and value."""
    return any(f.kind == figure.kind and f.value == figure.value for f in figures)


def resolve(
    chosen: list[Sentence], pool: list[Sentence], replace: bool = True
) -> tuple[list[Sentence], list[Disagreement]]:
    """The chosen sentences with no two disagreeing, and the disagreements found.

    Each chosen sentence is compared with the other chosen ones and with ``pool`` (other
    sentences about the question). The one that takes precedence stays; a pool sentence
    that takes precedence replaces the chosen one it disagrees with (when ``replace``;
    otherwise, as for an FAQ's own answer, the chosen sentence stays and is only noted).
    """
    kept = list(chosen)
    notes: list[Disagreement] = []
    others = chosen + [p for p in pool if p not in chosen]
    for sentence in chosen:
        for other in others:
            if sentence not in kept or other is sentence:
                continue
            found = conflict(sentence, other)
            if found is None:
                continue
            fa, fb, about = found
            if replace and precedence(other) > precedence(sentence):
                _swap(kept, sentence, other)
                notes.append(Disagreement(other, fb, sentence, fa, about))
            else:
                if other in kept:
                    kept.remove(other)
                notes.append(Disagreement(sentence, fa, other, fb, about))
    return kept, _one_per_source(notes)


def _swap(kept: list[Sentence], loser: Sentence, winner: Sentence) -> None:
    """Put ``winner`` where ``loser`` was (once)."""
    position = kept.index(loser)
    kept.remove(loser)
    if winner not in kept:
        kept.insert(position, winner)


def _one_per_source(notes: list[Disagreement]) -> list[Disagreement]:
    """One note per other sentence (the first found)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for note in notes:
        key = (note.other.article_id, note.other.start, note.other.end)
        if key not in seen:
            seen.add(key)
            out.append(note)
    return out
