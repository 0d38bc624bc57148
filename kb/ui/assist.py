"""Agent assist: a question in, a suggested reply with numbered citations out.

The reply's ``[n]`` markers link to the citations below it; each citation opens
to the cited passage highlighted inside its article, with title, type, version,
effective dates and badges (internal, expires soon, review overdue). The reply
itself says when it is internal guidance or rests on an overdue or expiring
source, and its copy button copies clean text (``kb.ui.reply``); helpful /
wrong feedback (wrong asks for the right article) is stored with the logged
suggestion. Without a confident answer the
page says so plainly and shows only the search results (no feedback buttons: there is no
answer to rate; the hand-off goes to the editors' unanswered queue). All article text is
escaped (``kb.ui.render``).
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
from sqlalchemy.orm import Session

from kb.answer.message_answer import message_text
from kb.errors import KbError, NotReady
from kb.model import ArticleType
from kb.store.articles import find_version, published_tags
from kb.store.tables import ArticleVersion
from kb.ui import article_picker, article_view, recent, render
from kb.ui.feedback import CHANNEL, record_feedback, requester
from kb.ui.i18n import resolve, t
from kb.ui.markup import md_text
from kb.ui.reply import reply_notes, show_reply
from kb.ui.search import suggest
from kb.ui.services import run, services
from kb.ui.session import SignedIn, require
from review.permissions import Action

ANSWER_KEY = "as_answer"
FLUSH_S = 20.0  # longest wait for the queued log row of the suggestion feedback is about


def cited_versions(session: Session, items: list[dict[str, Any]]) -> dict[tuple, ArticleVersion]:
    """The stored versions behind citations and results, by (article id, version)."""
    found = {}
    for item in items:
        key = (item["article_id"], item.get("version"))
        if key in found or key[1] is None:
            continue
        row = find_version(session, key[0], key[1])
        if row is not None:
            found[key] = row
    return found


def ask(question: str, types: list[str], tags: list[str], user: SignedIn) -> dict[str, Any] | None:
    """Get, log and remember the suggestion for a question."""
    started = time.perf_counter()
    try:
        data = suggest(question, requester=requester(user.name), types=types, tags=tags)
    except NotReady as exc:
        st.error(t("not_ready", message=exc.message))
        return None
    except KbError as exc:
        st.error(t("error", message=exc.message))
        return None
    data["latency_ms"] = (time.perf_counter() - started) * 1000
    data["question"] = question  # the language of the greeting and closing
    return data


def _question_form() -> tuple[bool, str, list[str], list[str]]:
    with services().session() as session:
        tags = published_tags(session)
    with st.form("ask", border=False):
        question = st.text_area(
            t("question"), key="as_question", height=100, placeholder=t("question_help")
        )
        left, right = st.columns(2)
        types = left.multiselect(
            t("filter_types"),
            [str(a) for a in ArticleType],
            key="as_types",
            format_func=render.type_label,
            placeholder=t("choose"),
        )
        chosen_tags = right.multiselect(
            t("filter_tags"), tags, key="as_tags", placeholder=t("choose")
        )
        pressed = st.form_submit_button(t("ask"), type="primary")
    return pressed, question.strip(), types, chosen_tags


def _article_text(row: ArticleVersion | None, item: dict[str, Any]) -> str:
    return row.body if row is not None else str(item.get("passage") or "")


def _meta_line(item: dict[str, Any], lang: str) -> str:
    return render.meta_line(
        str(item.get("type") or ""),
        item.get("version"),
        item.get("effective_from"),
        item.get("effective_to"),
        lang,
        section=item.get("section"),
    )


def _locate(text: str, item: dict[str, Any]) -> tuple[int, int] | None:
    """Where a cited passage (``passage``, ``char_start``, ``char_end``) is in ``text``."""
    passage = str(item.get("passage") or "")
    return render.locate(text, passage, item.get("char_start"), item.get("char_end"))


def _show_source(item: dict[str, Any], row: ArticleVersion | None, lang: str) -> None:
    """Badges, the metadata line and the article with the passage highlighted."""
    render.show_badges(
        render.badges(
            audience=row.audience if row is not None else item.get("audience"),
            effective_to=row.effective_to
            if row is not None
            else render.parse_day(item.get("effective_to")),
            review_due=row.review_due if row is not None else None,
            lang=lang,
        )
    )
    st.caption(_meta_line(item, lang))
    article_view.show_link(str(item["article_id"]), lang)
    text = _article_text(row, item)
    span = render.locate(
        text, str(item.get("passage") or ""), item.get("char_start"), item.get("char_end")
    )
    more = [
        found for extra in item.get("spans") or [] if (found := _locate(text, extra)) is not None
    ]
    render.show_article(text, span, more)


def _anchor(part: int) -> str:
    """The id prefix of the citations of reply part ``part`` (0: a one-question reply)."""
    return f"kb-cite-{part}-" if part else "kb-cite-"


def _citations(
    data: dict[str, Any], rows: dict[tuple, ArticleVersion], lang: str, part: int = 0
) -> None:
    citations = data.get("citations") or []
    if not citations:
        return
    st.subheader(t("citations", lang=lang) if not part else t("part_citations", lang=lang, k=part))
    for cite in citations:
        row = rows.get((cite["article_id"], cite.get("version")))
        cite_lang = resolve(row.lang if row is not None else None)
        st.html(f'<div id="{_anchor(part)}{int(cite["n"])}"></div>')
        label = (
            f"\\[{cite['n']}\\] {md_text(cite.get('title', ''))} · {md_text(cite['article_id'])}"
        )
        with st.expander(label, expanded=cite == citations[0]):
            _show_source(cite, row, cite_lang)


def _feedback(data: dict[str, Any], user: SignedIn, lang: str) -> None:
    rid = data["request_id"]
    if st.session_state.get("as_feedback_done") == rid:
        st.success(t("feedback_thanks", lang=lang))
        return
    helpful_col, wrong_col = st.columns(2)
    helpful = helpful_col.button(t("helpful", lang=lang), key="as_helpful")
    if helpful:
        services().usage.flush(timeout=FLUSH_S)  # the suggestion's log row may be queued
    if helpful and run(lambda s: record_feedback(s, user.name, rid, True)) is not None:
        st.session_state["as_feedback_done"] = rid
        st.rerun()
    if wrong_col.button(t("wrong", lang=lang), key="as_wrong"):
        st.session_state["as_wrong_open"] = rid
    if st.session_state.get("as_wrong_open") == rid:
        _wrong_form(rid, user, lang)


def _wrong_form(rid: str, user: SignedIn, lang: str) -> None:
    picker = article_picker.Picker(
        key="as_right_article", title=t("right_article", lang=lang), published=True
    )
    found = article_picker.search(user, picker)  # outside the form: it searches as you type
    names = {"": t("right_article_none", lang=lang), **article_picker.labels(found, True)}
    with st.form("as_wrong_form"):
        right = st.selectbox(
            t("right_article", lang=lang),
            ["", *found.items],
            key="as_right_article",
            format_func=lambda a: names.get(a, a),
        )
        comment = st.text_input(t("feedback_comment", lang=lang), key="as_feedback_comment")
        if st.form_submit_button(t("send_feedback", lang=lang)):
            services().usage.flush(timeout=FLUSH_S)
            saved = run(lambda s: record_feedback(s, user.name, rid, False, comment, right or None))
            if saved is not None:
                st.session_state["as_feedback_done"] = rid
                st.rerun()


def _key(item: dict[str, Any]) -> tuple:
    return (item["article_id"], item.get("version"))


def _results(
    items: list[dict[str, Any]], rows: dict[tuple, ArticleVersion], heading: str, lang: str
) -> None:
    """Search results under ``heading``, each opening to its article."""
    st.subheader(heading)
    if not items:
        st.caption(t("no_results", lang=lang))
        return
    for item in items:
        row = rows.get(_key(item))
        item_lang = resolve(row.lang if row is not None else item.get("lang"))
        label = (
            f"{md_text(item.get('title', ''))} · {md_text(item['article_id'])} · "
            f"{float(item.get('score') or 0):.3f}"
        )
        with st.expander(label):
            _show_source(item, row, item_lang)


def _other_results(data: dict[str, Any], rows: dict[tuple, ArticleVersion], lang: str) -> None:
    """The results of every part not cited by any part (nor listed already as a handed-off
    part's candidates): the candidates themselves when no part is answered."""
    parts = data.get("parts") or [data]
    seen = {_key(c) for p in parts for c in p.get("citations") or []}
    if len(parts) > 1:  # a handed-off part lists its own candidates (``_show_parts``)
        seen |= {_key(r) for p in parts if not p.get("answer") for r in p.get("results") or []}
    others = []
    for item in (r for p in parts for r in p.get("results") or []):
        if _key(item) not in seen:
            seen.add(_key(item))
            others.append(item)
    if not others and len(parts) > 1:
        return  # every result is listed already, under its question
    answered = any(p.get("answer") for p in parts)
    _results(others, rows, t("other_results" if answered else "candidates", lang=lang), lang)


def _answer_lang(data: dict[str, Any], rows: dict[tuple, ArticleVersion]) -> str:
    first = (data.get("citations") or data.get("results") or [None])[0]
    row = rows.get((first["article_id"], first.get("version"))) if first else None
    return resolve(row.lang if row is not None else None)


def page() -> None:
    """The agent-assist page."""
    user = require(Action.READ)
    st.title(t("assist_title"))
    article_view.show_requested_article()
    reask = recent.take_reask()
    pressed, question, types, tags = _question_form()
    if reask or (pressed and question):
        data = ask(reask or question, types, tags, user)
        st.session_state[ANSWER_KEY] = data
        st.session_state.pop("as_wrong_open", None)
        if data:
            recent.remember(reask or question, data)
    data = st.session_state.get(ANSWER_KEY)
    if data:
        _show_answer(data, user)
    recent.show_recent(user.name)


def _show_answer(data: dict[str, Any], user: SignedIn) -> None:
    parts = data.get("parts") or [data]
    with services().session() as session:
        items = [i for p in parts for i in [*(p.get("citations") or []), *(p.get("results") or [])]]
        rows = cited_versions(session, items)
    lang = _answer_lang(data, rows)
    if len(parts) == 1:
        show_reply(data, rows, lang)
        _citations(data, rows, lang)
    else:
        _show_parts(data, parts, rows, lang)
    if any(p.get("answer") for p in parts):  # a hand-off gave no answer to rate
        _feedback(data, user, lang)
    _other_results(data, rows, lang)


def _show_parts(
    data: dict[str, Any], parts: list[dict[str, Any]], rows: dict[tuple, ArticleVersion], lang: str
) -> None:
    """A message that asks several questions: each question with its own reply, citations
    and copy button, then one button that copies the whole reply."""
    st.info(t("parts_found", lang=lang, n=len(parts)))
    for k, part in enumerate(parts, start=1):
        st.subheader(t("part_heading", lang=lang, k=k, question=part.get("question", "")))
        show_reply(part, rows, lang, key=f"p{k}-{data['request_id'][:12]}", anchor=_anchor(k))
        _citations(part, rows, lang, part=k)
        if not part.get("answer"):  # a hand-off: this question's candidates, under it
            heading = t("part_candidates", lang=lang, k=k)
            _results(part.get("results") or [], rows, heading, lang)
    question = str(data.get("question") or "")
    whole = message_text(data, services().config, channel=CHANNEL, question=question)
    if whole:
        internal = any(reply_notes(p.get("citations") or [], rows, lang).internal for p in parts)
        label = t("copy_all_internal" if internal else "copy_all", lang=lang)
        render.copy_button(whole, key=f"all-{data['request_id'][:12]}", label=label)
