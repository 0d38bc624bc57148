"""The editor form's state: its values, what it was loaded from, and keeping unsaved work.

Streamlit forgets a widget's value when a run does not draw it (another page), and a
reload starts a new session. So the form's values are mirrored in a plain session key
after each run (restored when the user comes back to the editor) and, when they differ
from the loaded version, kept server-side (``review.autosave``, restored after a reload
or in a new tab). Widget values are only ever set at the top of a run, before the widgets
are drawn, or in a widget callback (setting them later is Streamlit's
``StreamlitWidgetAlreadyInstantiatedError``): a load asked for mid-run is queued with
``request_load`` and done by ``apply_pending`` on the next run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import streamlit as st

from kb.model import ArticleContent, ArticleType
from kb.store.articles import latest_version, to_content
from kb.store.tables import ArticleVersion
from kb.ui.services import services
from review import autosave

PREFIX = "ed_"
NEW = ""
TEXT_FIELDS = (
    "id",
    "type",
    "title",
    "lang",
    "translation_of",
    "tags",
    "audience",
    "owner",
    "question",
    "body",
)
DATE_FIELDS = ("from", "to", "due")
MIRROR = PREFIX + "mirror"  # {"form", "base", "loaded"}: survives visits to other pages
PENDING = PREFIX + "pending_load"  # an article id (or NEW) to load on the next run
PREFILL = PREFIX + "prefill"  # a new FAQ's questions to start from (from the insights page)
KEPT = PREFIX + "kept"  # the form last written to the autosave (None: none stored)


@dataclass(frozen=True)
class Base:
    """The version the form was loaded from: what a save is checked against."""

    article_id: str
    version: int
    revision: int
    state: str

    @classmethod
    def of(cls, row: ArticleVersion) -> Base:
        """The base for a stored version."""
        return cls(row.article_id, row.version, row.revision, row.state)


def key(name: str) -> str:
    """The session key of a form field."""
    return PREFIX + name


def content_form(content: ArticleContent | None, owner: str) -> dict[str, Any]:
    """The form values (JSON-ready) of an article, or of an empty FAQ owned by ``owner``."""
    c = content or ArticleContent(id="", type=ArticleType.FAQ, title="", body="", owner=owner)
    return {
        "id": c.id,
        "type": str(c.type),
        "title": c.title,
        "lang": c.lang,
        "translation_of": c.translation_of,
        "tags": ", ".join(c.tags),
        "audience": str(c.audience),
        "owner": c.owner,
        "question": c.question,
        "body": c.body,
        "from": _iso(c.effective_from),
        "to": _iso(c.effective_to),
        "due": _iso(c.review_due),
        "similar": list(c.similar_questions),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def apply_form(values: dict[str, Any]) -> None:
    """Put form values into the widgets (only before they are drawn, or in a callback)."""
    state = st.session_state
    for name in TEXT_FIELDS:
        state[key(name)] = str(values.get(name) or "")
    for name in DATE_FIELDS:
        raw = values.get(name)
        state[key(name)] = date.fromisoformat(raw) if raw else None
    set_similar([str(q) for q in values.get("similar") or []])


def set_similar(questions: list[str]) -> None:
    """Replace the similar-question list (each row is its own text input)."""
    for name in [k for k in st.session_state if str(k).startswith(key("sim_"))]:
        del st.session_state[name]
    ids = list(range(len(questions)))
    for n, text in zip(ids, questions, strict=True):
        st.session_state[key(f"sim_{n}")] = text
    st.session_state[key("sim_ids")] = ids
    st.session_state[key("sim_next")] = len(questions)


def form_values() -> dict[str, Any]:
    """The form's current values (JSON-ready, blanks kept as typed)."""
    state = st.session_state
    values: dict[str, Any] = {name: state.get(key(name), "") for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        values[name] = _iso(state.get(key(name)))
    values["similar"] = [state.get(key(f"sim_{n}"), "") for n in state.get(key("sim_ids"), [])]
    return values


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    similar = [s.strip() for s in values.get("similar") or [] if s.strip()]
    return {**values, "similar": similar}


def is_dirty() -> bool:
    """True when the form differs from the version (or empty article) it was loaded from."""
    mirror = st.session_state.get(MIRROR)
    if mirror is None:
        return False
    return _comparable(form_values()) != _comparable(mirror["loaded"])


def base() -> Base | None:
    """The version the form was loaded from (None: a new article)."""
    return st.session_state.get(key("base"))


def _remember(form: dict[str, Any], loaded_from: Base | None, loaded: dict[str, Any]) -> None:
    _set_base(loaded_from)
    st.session_state[MIRROR] = {"form": form, "base": loaded_from, "loaded": loaded}


def load(article_id: str, user_name: str) -> None:
    """Load the article's newest version (its draft, if it has one), or an empty form."""
    if article_id == NEW:
        values = content_form(None, user_name)
        apply_form(values)
        _remember(values, None, values)
        return
    with services().session() as session:
        row = latest_version(session, article_id)
        values = content_form(to_content(row), user_name)
        loaded_from = Base.of(row)
    apply_form(values)
    _remember(values, loaded_from, values)


def request_load(article_id: str) -> None:
    """Load ``article_id`` at the start of the next run (safe after widgets are drawn)."""
    st.session_state[PENDING] = article_id


def request_new_faq(question: str, similar: list[str]) -> None:
    """Open the editor on a new FAQ with these questions (done by ``apply_prefill``)."""
    st.session_state[PREFILL] = {"question": question, "similar": similar}


def apply_prefill(user_name: str) -> bool | None:
    """Start a new FAQ from a queued prefill: True if done, False if unsaved edits stopped
    it (the prefill is dropped), None if there was none."""
    prefill = st.session_state.pop(PREFILL, None)
    if prefill is None:
        return None
    if MIRROR in st.session_state:
        restore_mirror()
        if is_dirty():
            return False
    empty = content_form(None, user_name)
    values = {**empty, "title": prefill["question"], **prefill}
    apply_form(values)
    _remember(values, None, empty)  # differs from the empty form: kept as unsaved work
    return True


def apply_pending(user_name: str) -> bool:
    """Do a queued load; True if there was one."""
    if PENDING not in st.session_state:
        return False
    load(st.session_state.pop(PENDING), user_name)
    return True


def restore_mirror() -> bool:
    """After a visit to another page: put the mirrored values back; True if it did."""
    mirror = st.session_state.get(MIRROR)
    if mirror is None or key("type") in st.session_state:
        return False
    apply_form(mirror["form"])
    _set_base(mirror["base"])
    return True


def _set_base(loaded_from: Base | None) -> None:
    """Remember the loaded version, and point the article picker at it."""
    st.session_state[key("base")] = loaded_from
    st.session_state[key("choice")] = loaded_from.article_id if loaded_from else NEW


def restore_autosave(user_name: str) -> autosave.Autosave | None:
    """In a new browser session: the user's server-side unsaved form, put into the widgets."""
    with services().session() as session:
        kept = autosave.restore(session, user_name)
    if kept is None:
        return None
    saved_base = Base(**kept.base) if kept.base else None
    loaded = content_form(None, user_name)
    if saved_base is not None:
        try:
            load(saved_base.article_id, user_name)
            loaded = st.session_state[MIRROR]["loaded"]
        except Exception:  # the article is gone: keep the text, save as new
            saved_base = None
    apply_form(kept.form)
    _remember(kept.form, saved_base, loaded)
    st.session_state[KEPT] = kept.form
    return kept


def sync(user_name: str) -> None:
    """After the widgets are drawn: mirror the form and keep or clear the autosave."""
    mirror = st.session_state.get(MIRROR)
    if mirror is None:
        return
    form = form_values()
    mirror["form"] = form
    mirror["base"] = base()
    wanted = form if is_dirty() else None
    if wanted == st.session_state.get(KEPT):
        return
    with services().session() as session:
        if wanted is None:
            autosave.discard(session, user_name)
        else:
            current = base()
            autosave.keep(session, user_name, form, asdict(current) if current else None)
    st.session_state[KEPT] = wanted


def discard(user_name: str) -> None:
    """Forget the unsaved edits: the autosave, and (next run) reload the loaded version."""
    with services().session() as session:
        autosave.discard(session, user_name)
    st.session_state[KEPT] = None
    current = base()
    request_load(current.article_id if current else NEW)


def has_unsaved(user_name: str) -> str | None:
    """The title (or id) of the user's unsaved form, if there is one (for other pages)."""
    if PENDING in st.session_state:
        return None  # just saved or discarded: the editor reloads the stored version next
    mirror = st.session_state.get(MIRROR)
    if mirror is not None:
        if _comparable(mirror["form"]) == _comparable(mirror["loaded"]):
            return None
        return str(mirror["form"].get("title") or mirror["form"].get("id") or "—")
    with services().session() as session:
        kept = autosave.restore(session, user_name)
    if kept is None:
        return None
    return str(kept.form.get("title") or kept.form.get("id") or "—")
