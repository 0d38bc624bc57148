"""Scoring a practice reply against the article it should come from (no LLM).

``key_facts(text)`` takes an article's answer apart into the facts an agent must give:
every figure (durations, amounts, percentages, dates, counts: ``kb.figures``) with what
it is a figure of, every contact (hotline, phone number, e-mail, web address) and every
other sentence as a point (a condition or a step), known by its content words.
``score_reply(text, reply)`` then says of each fact whether the reply gave it, left it
out, or got it wrong (a figure of the same kind about the same thing with another
value, another phone number), and gives a verdict:

* ``off_topic``: nothing given or got wrong, and few of the article's words used;
* ``wrong_figure``: a figure or contact got wrong;
* ``good``: at least ``GOOD_SHARE`` of the facts given, none wrong;
* ``partial``: the rest.

The score is the share of facts given (0-100), halved when a fact is wrong, 0 off topic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.figures import Figure, clause_terms, extract_figures, sentences
from kb.quality.changes import figure_label

GOOD_SHARE = 0.6
POINT_SHARE = 0.4
OFF_TOPIC_COVERAGE = 0.1
MIN_POINT_TERMS = 2
CONTACT = re.compile(
    r"(?<![\d-])(?:400[-\s]?\d{3}[-\s]?\d{4}|1[3-9]\d{9}|0\d{2,3}-\d{7,8}|9\d{4,5}|12\d{3}|110)(?![\d-])"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|https?://[^\s，。；）)]+"
)
VERDICTS = ("good", "partial", "wrong_figure", "off_topic")


@dataclass
class Fact:
    """One key fact of an article and how a reply dealt with it."""

    kind: str  # figure, contact or point
    text: str  # the figure or contact as written, or the point's sentence
    label: str = ""  # what a figure is a figure of
    context: str = ""  # a figure's clause ("客服将在24小时内核实"), to show it
    sentence: str = ""
    status: str = "missing"  # given, missing or wrong
    said: str = ""  # what the reply said instead (wrong facts)
    terms: frozenset[str] = field(default_factory=frozenset)
    value: tuple[float, ...] = ()
    unit: str = ""
    figure_kind: str = ""

    def shown(self) -> str:
        """The fact as a person reads it: a figure in its clause, else the text."""
        return self.context or self.text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (without the matching internals)."""
        data = asdict(self)
        for name in ("terms", "value", "unit", "figure_kind"):
            data.pop(name)
        return data


@dataclass
class Scored:
    """The verdict on one reply: the facts, the verdict and the score (0-100)."""

    verdict: str
    score: float
    facts: list[Fact]
    coverage: float

    def given(self) -> list[Fact]:
        """The facts the reply gave."""
        return [f for f in self.facts if f.status == "given"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "verdict": self.verdict,
            "score": self.score,
            "coverage": round(self.coverage, 3),
            "facts": [f.to_dict() for f in self.facts],
        }


def normalise(text: str) -> str:
    """NFKC and lower case: full-width digits and letters as plain ones."""
    return unicodedata.normalize("NFKC", text).lower()


def _digits(text: str) -> str:
    return re.sub(r"[^\d@a-z.]", "", normalise(text))


def key_facts(text: str) -> list[Fact]:
    """The figures, contacts and points of an answer, in order."""
    facts: list[Fact] = []
    for sentence in sentences(text):
        figures = _sentence_figures(sentence)
        contacts = [m.group() for m in CONTACT.finditer(sentence)]
        facts += [_figure_fact(f) for f in figures if not _is_contact(f, contacts)]
        facts += [Fact("contact", c, sentence=sentence) for c in dict.fromkeys(contacts)]
        if not figures and not contacts:
            terms = clause_terms(sentence)
            if len(terms) >= MIN_POINT_TERMS:
                facts.append(Fact("point", sentence, sentence=sentence, terms=terms))
    return _unique(facts)


def _sentence_figures(sentence: str) -> list[Figure]:
    return extract_figures(sentence)


def _is_contact(figure: Figure, contacts: list[str]) -> bool:
    return any(figure.text in contact for contact in contacts)


def _figure_fact(figure: Figure) -> Fact:
    return Fact(
        "figure",
        figure.text,
        label=figure_label(figure),
        context=figure.clause,
        sentence=figure.sentence,
        terms=figure.terms,
        value=figure.value,
        unit=figure.unit,
        figure_kind=figure.kind,
    )


def _unique(facts: list[Fact]) -> list[Fact]:
    seen: set[tuple[str, str, tuple[float, ...]]] = set()
    kept = []
    for fact in facts:
        key = (fact.kind, fact.label if fact.kind == "figure" else fact.text, fact.value)
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return kept


def score_reply(answer: str, reply: str) -> Scored:
    """Score ``reply`` against the article ``answer``: each fact given, missing or wrong."""
    facts = key_facts(answer)
    said = normalise(reply)
    _match_figures([f for f in facts if f.kind == "figure"], extract_figures(reply))
    contacts = [m.group() for m in CONTACT.finditer(reply)]
    known = {_digits(f.text) for f in facts if f.kind == "contact"}
    for fact in facts:
        if fact.kind == "contact":
            _match_contact(fact, contacts, known)
        elif fact.kind == "point":
            _match_point(fact, said)
    return _verdict(facts, _coverage(answer, said))


def _match_figures(facts: list[Fact], figures: list[Figure]) -> None:
    """Align each figure of the reply with the article's figure it is most about (same
    kind and unit; shared words first, an equal value breaks ties): equal values are
    given, others wrong unless the fact was given elsewhere."""
    for figure in figures:
        fact = _aligned(figure, facts)
        if fact is None:
            continue
        if fact.value == figure.value:
            fact.status, fact.said = "given", ""
        elif fact.status != "given":
            fact.status, fact.said = "wrong", figure.text


def _aligned(figure: Figure, facts: list[Fact]) -> Fact | None:
    candidates = [f for f in facts if f.figure_kind == figure.kind and f.unit == figure.unit]
    if not candidates:
        return None
    scored = [
        (_about(figure, f) + (0.5 if f.value == figure.value else 0.0), f) for f in candidates
    ]
    best, fact = max(scored, key=lambda pair: pair[0])
    return fact if best > 0 else None


def _about(figure: Figure, fact: Fact) -> float:
    """How much a reply's figure and an article's figure are about the same thing."""
    shared = len(figure.terms & fact.terms)
    label = 1.0 if fact.label and fact.label in figure.clause else 0.0
    return shared + label


def _match_contact(fact: Fact, contacts: list[str], known: set[str]) -> None:
    wanted = _digits(fact.text)
    found = [_digits(c) for c in contacts]
    if wanted in found:
        fact.status = "given"
        return
    strangers = [c for c in contacts if _digits(c) not in known and _digits(c)[:1].isdigit()]
    if strangers and fact.text[0].isdigit():
        fact.status, fact.said = "wrong", strangers[0]


def _match_point(fact: Fact, said: str) -> None:
    if not fact.terms:
        return
    found = sum(1 for term in fact.terms if term in said)
    if found / len(fact.terms) >= POINT_SHARE:
        fact.status = "given"


def _coverage(answer: str, said: str) -> float:
    """The share of the answer's content words the reply uses."""
    terms = clause_terms(normalise(answer))
    if not terms:
        return 0.0
    return sum(1 for term in terms if term in said) / len(terms)


def _verdict(facts: list[Fact], coverage: float) -> Scored:
    given = sum(1 for f in facts if f.status == "given")
    wrong = sum(1 for f in facts if f.status == "wrong")
    share = given / len(facts) if facts else 0.0
    if given == 0 and not wrong and coverage < OFF_TOPIC_COVERAGE:
        return Scored("off_topic", 0.0, facts, coverage)
    if wrong:
        return Scored("wrong_figure", round(50 * share, 1), facts, coverage)
    verdict = "good" if share >= GOOD_SHARE else "partial"
    return Scored(verdict, round(100 * share, 1), facts, coverage)
