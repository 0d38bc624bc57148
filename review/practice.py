"""Practice rounds: kb asks customer questions, the agent replies, kb scores the reply.

A round is started by an agent for themself, or by a supervisor (or admin) for an
agent of the team, over chosen tags and article types. Questions are drawn from the
similar questions (相似问) of published, currently effective FAQs and from the golden
questions (``kb golden``) whose expected article is in the chosen set. A round's
``audience`` is ``public`` by default (a customer-facing round): internal-only
articles, and golden questions that expect one, are never used; ``internal`` allows
them (agents-only practice).

Each reply is scored against the article version the question was drawn from
(``kb.quality.practice_scoring``): which key facts were given, missing or wrong, and a verdict.
When every question has a reply the round ends with its score (the mean, 0-100).
Scores and weak topics (an article's first tag, else its id) are kept per agent;
supervisors see the team table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import Conflict, InvalidInput, NotFound
from kb.model import ArticleType, Audience
from kb.privacy import mask_personal_data
from kb.quality.practice_scoring import score_reply
from kb.store.articles import get_version, served_versions, utcnow
from kb.store.tables import Article, ArticleVersion, GoldenQuestion, PracticeItem, PracticeRound
from review.feed import agents
from review.permissions import Action, authorize, find_user, refuse, user_may

DEFAULT_SIZE = 5
MAX_SIZE = 20
MAX_REPLY_CHARS = 4000
WEAK_BELOW = 60.0


@dataclass(frozen=True)
class Question:
    """A question kb may ask, the article that answers it and where it came from."""

    text: str
    source: str  # similar (an FAQ's similar question) or golden
    row: ArticleVersion


def _types(names: list[str]) -> list[str]:
    chosen = []
    for name in names:
        try:
            chosen.append(str(ArticleType(name.strip().lower())))
        except ValueError:
            raise InvalidInput(f"unknown article type '{name}' (faq, policy, regulation)") from None
    return chosen


def _audience(name: str) -> str:
    try:
        return str(Audience(name.strip().lower()))
    except ValueError:
        raise InvalidInput(f"unknown audience '{name}' (public or internal)") from None


def questions(
    session: Session, audience: str, tags: list[str], types: list[str], on: date | None = None
) -> list[Question]:
    """Every question a round with these choices may ask (see the module docstring)."""
    kind = dict(session.execute(select(Article.id, Article.type)).tuples().all())
    rows = [r for r in served_versions(session, on or date.today()) if _fits(r, audience, tags)]
    rows = [r for r in rows if not types or kind[r.article_id] in types]
    found = [
        Question(text, "similar", row)
        for row in rows
        if kind[row.article_id] == ArticleType.FAQ
        for text in (row.similar_questions or [row.question])
        if text.strip()
    ]
    by_id = {row.article_id: row for row in rows}
    golden = session.scalars(select(GoldenQuestion).where(GoldenQuestion.active.is_(True)))
    for item in golden:
        row = next((by_id[a] for a in item.expected if a in by_id), None)
        if row is not None:
            found.append(Question(item.question, "golden", row))
    return found


def _fits(row: ArticleVersion, audience: str, tags: list[str]) -> bool:
    if audience == Audience.PUBLIC and row.audience != Audience.PUBLIC:
        return False
    return not tags or bool(set(tags) & set(row.tags or []))


def _player(session: Session, actor: str, agent: str | None) -> str:
    """The agent the round is for: the actor, or (supervisors) a named agent."""
    user = authorize(session, actor, Action.READ)
    if agent is None or agent == user.name:
        return user.name
    if not user_may(user, Action.SUPERVISE):
        raise refuse(session, actor, Action.SUPERVISE, f"{actor} may only practise for themself")
    target = find_user(session, agent)
    if target is None or target.disabled:
        raise NotFound(f"no enabled user '{agent}'")
    return target.name


def start_round(
    session: Session,
    actor: str,
    *,
    agent: str | None = None,
    tags: list[str] | None = None,
    types: list[str] | None = None,
    audience: str = "public",
    size: int = DEFAULT_SIZE,
    seed: int | None = None,
) -> PracticeRound:
    """Start a round of ``size`` questions for ``agent`` (default: the actor)."""
    if not 1 <= size <= MAX_SIZE:
        raise InvalidInput(f"a round has 1 to {MAX_SIZE} questions, not {size}")
    kinds, scope = _types(types or []), _audience(audience)
    wanted = [t.strip() for t in tags or [] if t.strip()]
    player = _player(session, actor, agent)
    pool = questions(session, scope, wanted, kinds)
    if not pool:
        raise InvalidInput("no questions for these tags and types (FAQs or golden questions)")
    picked = random.Random(seed).sample(pool, min(size, len(pool)))
    practice = PracticeRound(
        user_name=player, started_by=actor, audience=scope, tags=wanted, types=kinds,
        started_at=utcnow(),
    )  # fmt: skip
    practice.items = [_item(n, q) for n, q in enumerate(picked, start=1)]
    session.add(practice)
    session.flush()
    return practice


def _item(position: int, question: Question) -> PracticeItem:
    row = question.row
    return PracticeItem(
        position=position,
        question=question.text,
        source=question.source,
        article_id=row.article_id,
        article_version=row.version,
        topic=(row.tags or [row.article_id])[0],
        facts=[],
    )


def get_round(session: Session, actor: str, round_id: int) -> PracticeRound:
    """A round, for its agent or a supervisor (NotFound for anyone else)."""
    user = authorize(session, actor, Action.READ)
    practice = session.get(PracticeRound, round_id)
    if practice is None:
        raise NotFound(f"no practice round {round_id}")
    if practice.user_name != user.name and not user_may(user, Action.SUPERVISE):
        raise refuse(session, actor, Action.READ, f"round {round_id} is not {actor}'s")
    return practice


def answer(session: Session, actor: str, round_id: int, position: int, reply: str) -> PracticeItem:
    """Score the agent's reply to question ``position``; the last one ends the round.

    The reply is scored as written and kept with personal data masked (``kb.privacy``:
    a customer's phone number typed into a practice reply is not stored)."""
    text = (reply or "").strip()
    if not text:
        raise InvalidInput("the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    practice = get_round(session, actor, round_id)
    if practice.user_name != actor:
        reason = f"only {practice.user_name} answers round {round_id}"
        raise refuse(session, actor, Action.READ, reason)
    item = next((i for i in practice.items if i.position == position), None)
    if item is None:
        raise NotFound(f"round {round_id} has no question {position}")
    if item.reply is not None:
        raise Conflict(f"question {position} of round {round_id} is answered already")
    article = get_version(session, item.article_id, item.article_version)
    scored = score_reply(article.body, text)
    item.reply, item.verdict, item.score = mask_personal_data(text), scored.verdict, scored.score
    item.facts = [f.to_dict() | {"said": mask_personal_data(f.said)} for f in scored.facts]
    item.answered_at = utcnow()
    if all(i.reply is not None for i in practice.items):
        practice.finished_at = utcnow()
        practice.score = round(sum(i.score or 0 for i in practice.items) / len(practice.items), 1)
    session.flush()
    return item


def round_dict(practice: PracticeRound, *, with_answers: bool = True) -> dict[str, Any]:
    """JSON-ready data of a round (each question's article, and, once answered, the
    reply, verdict, score and facts)."""
    return {
        "id": practice.id,
        "agent": practice.user_name,
        "started_by": practice.started_by,
        "audience": practice.audience,
        "tags": list(practice.tags or []),
        "types": list(practice.types or []),
        "started_at": _iso(practice.started_at),
        "finished_at": _iso(practice.finished_at),
        "score": practice.score,
        "questions": [_item_dict(i, with_answers) for i in practice.items],
    }


def _item_dict(item: PracticeItem, with_answers: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "position": item.position,
        "question": item.question,
        "source": item.source,
        "topic": item.topic,
        "answered": item.reply is not None,
    }
    if with_answers and item.reply is not None:
        data |= {
            "article_id": item.article_id,
            "article_version": item.article_version,
            "reply": item.reply,
            "verdict": item.verdict,
            "score": item.score,
            "facts": list(item.facts or []),
        }
    return data


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


@dataclass
class AgentStats:
    """One agent's practice record."""

    agent: str
    rounds: int
    answers: int
    average: float | None
    last_round: str | None
    weak_topics: list[tuple[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "agent": self.agent,
            "rounds": self.rounds,
            "answers": self.answers,
            "average": self.average,
            "last_round": self.last_round,
            "weak_topics": [{"topic": t, "average": s} for t, s in self.weak_topics],
        }


def stats(session: Session, actor: str, agent: str | None = None) -> AgentStats:
    """An agent's finished rounds, average score and weak topics (their own, or any
    agent's for a supervisor)."""
    player = _viewed(session, actor, agent)
    return _stats_of(session, player)


def _viewed(session: Session, actor: str, agent: str | None) -> str:
    user = authorize(session, actor, Action.READ)
    if agent is None or agent == user.name:
        return user.name
    if not user_may(user, Action.SUPERVISE):
        raise refuse(session, actor, Action.SUPERVISE, f"{actor} may only see their own practice")
    return agent


def _stats_of(session: Session, name: str) -> AgentStats:
    rounds = list(
        session.scalars(
            select(PracticeRound)
            .where(PracticeRound.user_name == name, PracticeRound.finished_at.is_not(None))
            .order_by(PracticeRound.finished_at)
        )
    )
    items = [i for r in rounds for i in r.items if i.score is not None]
    topics: dict[str, list[float]] = {}
    for item in items:
        topics.setdefault(item.topic, []).append(item.score or 0.0)
    averages = {t: round(sum(s) / len(s), 1) for t, s in topics.items()}
    weak = sorted(((t, a) for t, a in averages.items() if a < WEAK_BELOW), key=lambda p: p[1])
    scores = [r.score for r in rounds if r.score is not None]
    return AgentStats(
        agent=name,
        rounds=len(rounds),
        answers=len(items),
        average=round(sum(scores) / len(scores), 1) if scores else None,
        last_round=_iso(rounds[-1].finished_at) if rounds else None,
        weak_topics=weak,
    )


def team(session: Session, actor: str) -> list[AgentStats]:
    """Every agent's practice record (supervisors and admins)."""
    authorize(session, actor, Action.SUPERVISE)
    return [_stats_of(session, name) for name in agents(session)]


def rounds_of(session: Session, actor: str, agent: str | None = None) -> list[PracticeRound]:
    """An agent's rounds, newest first (their own, or any agent's for a supervisor)."""
    player = _viewed(session, actor, agent)
    query = (
        select(PracticeRound)
        .where(PracticeRound.user_name == player)
        .order_by(PracticeRound.id.desc())
    )
    return list(session.scalars(query))
