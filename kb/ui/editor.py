"""The editor page: create and edit articles, preview them, save drafts, submit them.

Every front matter field has a widget; an FAQ gets its standard question and an
editable list of similar questions. Saving goes through ``review.editing``
with the version and revision the editor loaded, so a concurrent change is a
``Conflict`` shown to the user (their text stays in the form, nothing is
overwritten or merged). Submitting saves and submits in one transaction.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model import ArticleContent, ArticleType, Audience, State
from kb.store.tables import ArticleVersion
from kb.ui import article_picker, conflictview, editor_state
from kb.ui.editor_state import NEW, Base, apply_form, content_form, key
from kb.ui.i18n import language_name, resolve, t
from kb.ui.markup import md_body, md_text
from kb.ui.render import type_label
from kb.ui.services import run
from kb.ui.session import SignedIn, require
from review import editing, queries, workflow
from review.permissions import Action

FIELDS = (
    "id",
    "type",
    "title",
    "lang",
    "translation_of",
    "tags",
    "audience",
    "owner",
    "from",
    "to",
    "due",
)
LANG_CHOICES = ("zh", "en")
QUERY_PARAM = "article"
PAGE_PATH = "editor"  # its URL path in kb.ui.navigation
URL_SHOWN = "ed_url_shown"  # the ?article= this page last put in the address bar
_key = key


def fill_form(content: ArticleContent | None, owner: str) -> None:
    """Put an article's content (or an empty article) into the form's widgets."""
    apply_form(content_form(content, owner))


def similar_questions() -> list[str]:
    """The similar questions in the form, blanks and duplicates dropped, in order (one
    that repeats the standard question or another one, ``question_key``, is refused when
    saved, so the editor sees it)."""
    values = [st.session_state.get(_key(f"sim_{n}"), "") for n in st.session_state[_key("sim_ids")]]
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def content_from_form() -> ArticleContent:
    """The article the form describes (validated by the service layer when saved)."""
    s = st.session_state
    is_faq = s[_key("type")] == ArticleType.FAQ
    return ArticleContent(
        id=s[_key("id")].strip(),
        type=ArticleType(s[_key("type")]),
        title=s[_key("title")].strip(),
        body=s.get(_key("body"), ""),
        lang=s[_key("lang")],
        tags=[tag.strip() for tag in s[_key("tags")].replace("，", ",").split(",") if tag.strip()],
        audience=Audience(s[_key("audience")]),
        owner=s[_key("owner")].strip(),
        effective_from=s[_key("from")],
        effective_to=s[_key("to")],
        review_due=s[_key("due")],
        question=s.get(_key("question"), "").strip() if is_faq else "",
        similar_questions=similar_questions() if is_faq else [],
        translation_of=s.get(_key("translation_of"), "").strip(),
    )


def load(article_id: str, user: SignedIn) -> None:
    """Load the article's newest version (its draft, if it has one) into the form."""
    editor_state.load(article_id, user.name)


def save(session: Session, user: SignedIn, base: Base | None) -> ArticleVersion:
    """Save the form as a draft, checked against the loaded version and revision."""
    content = content_from_form()
    if base is None:
        return editing.create_draft(session, user.name, content, source="app")
    revision = base.revision if base.state == State.DRAFT else None
    return editing.save_draft(
        session, user.name, content, expected_version=base.version, expected_revision=revision
    )


def save_and_submit(session: Session, user: SignedIn, base: Base | None) -> ArticleVersion:
    """Save the form and submit the resulting draft for review, in one transaction."""
    row = save(session, user, base)
    return workflow.submit(session, user.name, row.article_id, version=row.version)


def _choose(user: SignedIn) -> None:
    """The article picker (search as you type); locked while the form holds unsaved edits
    (save or discard first)."""
    current = editor_state.base()
    dirty = editor_state.is_dirty()
    picker = article_picker.Picker(
        key=_key("choice"),
        title=t("edit_which"),
        include=[current.article_id] if current is not None else [],
        disabled=dirty,
    )
    found = article_picker.search(user, picker)
    names = {NEW: t("new_article"), **article_picker.labels(found)}
    options = [NEW, *found.items]
    if current is not None and current.article_id not in options:
        options.append(current.article_id)
    st.selectbox(
        t("edit_which"),
        options,
        key=_key("choice"),
        format_func=lambda a: names.get(a, a),
        on_change=lambda: load(st.session_state[_key("choice")], user),
        disabled=dirty,
    )
    if dirty:
        text_col, button_col = st.columns([4, 1])
        text_col.warning(t("unsaved_edits"))
        button_col.button(
            t("discard_edits"),
            key=_key("discard"),
            on_click=editor_state.discard,
            args=(user.name,),
        )


def _review_comments(user: SignedIn, base: Base) -> None:
    """The reviewers' comments on the loaded version (e.g. why it was rejected)."""
    found = run(lambda s: queries.article_history(s, user.name, base.article_id))
    if found is None:
        return
    version = next((v for v in found.versions if v["version"] == base.version), None)
    for comment in (version or {}).get("comments", []):
        if comment["author"] == user.name:
            continue
        when = str(comment["created_at"])[:16]
        st.warning(t("comment_by", who=comment["author"], when=when, text=comment["body"]))


def _metadata_fields(base: Base | None, lang: str) -> None:
    left, right = st.columns(2)
    with left:
        st.text_input(t("field_id", lang=lang), key=_key("id"), disabled=base is not None)
        st.selectbox(
            t("field_type", lang=lang),
            [str(a) for a in ArticleType],
            key=_key("type"),
            format_func=lambda v: type_label(v, lang),
        )
        st.text_input(t("field_title", lang=lang), key=_key("title"))
        st.selectbox(
            t("field_lang", lang=lang),
            _langs(),
            key=_key("lang"),
            format_func=lambda v: language_name(v, lang),
        )
        st.text_input(t("field_tags", lang=lang), key=_key("tags"))
    with right:
        st.selectbox(
            t("field_audience", lang=lang),
            [str(a) for a in Audience],
            key=_key("audience"),
            format_func=lambda v: t(f"audience_{v}", lang=lang),
        )
        st.text_input(t("field_owner", lang=lang), key=_key("owner"))
        st.text_input(
            t("field_translation_of", lang=lang),
            key=_key("translation_of"),
            help=t("translation_of_help", lang=lang),
        )
        for name, label in (
            ("from", "effective_from"),
            ("to", "effective_to"),
            ("due", "review_due"),
        ):
            st.date_input(t(f"field_{label}", lang=lang), key=_key(name), format="YYYY-MM-DD")


def _langs() -> list[str]:
    current = st.session_state.get(_key("lang"), "zh")
    return list(dict.fromkeys([*LANG_CHOICES, current]))


def _similar_editor(lang: str) -> None:
    st.markdown(f"**{t('field_similar', lang=lang)}**")
    st.caption(t("similar_help", lang=lang))
    ids = st.session_state[_key("sim_ids")]
    for position, n in enumerate(list(ids), start=1):
        text_col, delete_col = st.columns([12, 1])
        with text_col:
            st.text_input(
                t("similar_n", lang=lang, n=position),
                key=_key(f"sim_{n}"),
                label_visibility="visible",
            )
        with delete_col:
            st.button("✕", key=_key(f"sim_del_{n}"), on_click=_remove_similar, args=(n,))
    st.button(t("add_similar", lang=lang), key=_key("sim_add"), on_click=_add_similar)


def _add_similar() -> None:
    n = st.session_state[_key("sim_next")]
    st.session_state[_key("sim_next")] = n + 1
    st.session_state[_key(f"sim_{n}")] = ""
    st.session_state[_key("sim_ids")] = [*st.session_state[_key("sim_ids")], n]


def _remove_similar(n: int) -> None:
    st.session_state[_key("sim_ids")] = [i for i in st.session_state[_key("sim_ids")] if i != n]
    st.session_state.pop(_key(f"sim_{n}"), None)


def _preview(lang: str) -> None:
    st.subheader(t("preview", lang=lang))
    s = st.session_state
    if s[_key("title")]:
        st.markdown(f"### {md_text(s[_key('title')])}")
    if s[_key("type")] == ArticleType.FAQ:
        if s[_key("question")]:
            st.markdown(f"**{t('field_question', lang=lang)}：** {md_text(s[_key('question')])}")
        for question in similar_questions():
            st.markdown(f"- {md_text(question)}")
    st.markdown(md_body(s[_key("body")] or ""))  # HTML shows as text; images as alt text


def _actions(user: SignedIn, base: Base | None, lang: str) -> None:
    save_col, submit_col, reload_col = st.columns(3)
    with save_col:
        if st.button(t("save_draft", lang=lang), key=_key("save"), type="primary"):
            _after(run(lambda s: Base.of(save(s, user, base)), conflict_key="conflict"), "saved")
    with submit_col:
        if st.button(t("submit_review", lang=lang), key=_key("submit")):
            row = run(lambda s: Base.of(save_and_submit(s, user, base)), conflict_key="conflict")
            if row is not None:
                found = conflictview.version_conflicts(user, row.article_id, row.version)
                st.session_state[_key("conflicts")] = found
            _after(row, "submitted")
    with reload_col:
        if base is not None:
            # a callback runs before the widgets are drawn, so it may refill them
            st.button(
                t("reload", lang=lang),
                key=_key("reload"),
                on_click=editor_state.discard,
                args=(user.name,),
            )


def _after(new_base: Base | None, message: str) -> None:
    """Remember what was saved so the next save is checked against it (reloaded next run)."""
    if new_base is None:
        return
    st.session_state[_key("flash")] = t(
        message, id=new_base.article_id, version=new_base.version, revision=new_base.revision
    )
    editor_state.request_load(new_base.article_id)
    st.rerun()


def _open_form(user: SignedIn) -> None:
    """Fill the form before any widget is drawn: a queued load, the values kept while the
    user was on another page, the server-side autosave, or the article the URL names."""
    prefilled = editor_state.apply_prefill(user.name)
    if prefilled is not None:
        message = "faq_from_queue" if prefilled else "unsaved_blocks_faq"
        st.session_state[_key("flash_info")] = t(message)
        return
    if editor_state.apply_pending(user.name) or editor_state.restore_mirror():
        return
    if editor_state.MIRROR in st.session_state:
        _follow_url(user)
        return
    kept = editor_state.restore_autosave(user.name)
    if kept is not None:
        st.session_state[_key("flash_info")] = t(
            "restored_edits", when=kept.updated_at.strftime("%Y-%m-%d %H:%M")
        )
        return
    requested = st.query_params.get(QUERY_PARAM, NEW)
    if not _try_load(requested, user):
        load(NEW, user)


def _follow_url(user: SignedIn) -> None:
    """Open the article a link asks for, unless that would drop unsaved edits."""
    requested = st.query_params.get(QUERY_PARAM)
    current = editor_state.base()
    if requested == st.session_state.get(URL_SHOWN):
        return  # the address this page wrote itself, not a link followed
    if not requested or (current is not None and current.article_id == requested):
        return
    if editor_state.is_dirty():
        st.session_state[_key("flash_info")] = t("unsaved_blocks_open", id=requested)
        return
    _try_load(requested, user)


def _try_load(article_id: str, user: SignedIn) -> bool:
    """Load ``article_id``; False (with a message) when it does not exist."""
    try:
        load(article_id, user)
    except KbError:
        st.session_state[_key("flash_info")] = t("no_such_article", id=article_id)
        return False
    return True


def _show_url() -> None:
    """Keep ``?article=<id>`` in the address bar in step with the loaded article."""
    current = editor_state.base()
    if current is None:
        if QUERY_PARAM in st.query_params:
            del st.query_params[QUERY_PARAM]
    elif st.query_params.get(QUERY_PARAM) != current.article_id:
        st.query_params[QUERY_PARAM] = current.article_id
    st.session_state[URL_SHOWN] = current.article_id if current else None


def page() -> None:
    """The editor page."""
    user = require(Action.EDIT)
    st.title(t("editor_title"))
    _open_form(user)
    _show_url()
    _choose(user)
    _messages()
    base = editor_state.base()
    lang = resolve(st.session_state.get(_key("lang")))
    if base is not None:
        state = t(f"state_{base.state}")
        st.caption(t("editing_state", version=base.version, state=state, revision=base.revision))
        if base.state != State.DRAFT:
            st.info(t("edit_creates_draft", state=state))
        _review_comments(user, base)
    form, preview = st.columns([3, 2])
    with form:
        _form_fields(base, lang)
        _actions(user, base, lang)
        _confirmation()
    with preview:
        _preview(lang)
    editor_state.sync(user.name)


def _messages() -> None:
    info = st.session_state.pop(_key("flash_info"), None)
    if info:
        st.info(info)
    conflictview.show_conflicts(
        st.session_state.pop(_key("conflicts"), []), heading="conflicts_after_submit"
    )


def _confirmation() -> None:
    """What the last save or submit did, under the buttons."""
    flash = st.session_state.pop(_key("flash"), None)
    if flash:
        st.success(flash)


def _form_fields(base: Base | None, lang: str) -> None:
    _metadata_fields(base, lang)
    is_faq = st.session_state[_key("type")] == ArticleType.FAQ
    if is_faq:
        st.text_input(t("field_question", lang=lang), key=_key("question"))
        _similar_editor(lang)
    body_label = "field_answer" if is_faq else "field_body"
    st.text_area(t(body_label, lang=lang), key=_key("body"), height=260)


def open_with_faq(question: str, similar: list[str]) -> None:
    """Switch to the editor on a new FAQ with these questions (from another page)."""
    editor_state.request_new_faq(question, similar)
    st.switch_page(st.Page(page, url_path=PAGE_PATH))


def form_state() -> dict[str, Any]:
    """The form's values (for tests and debugging)."""
    return {name: st.session_state.get(_key(name)) for name in FIELDS}
