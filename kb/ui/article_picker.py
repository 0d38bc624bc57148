"""An article picker that asks the database as you type (``review.picker``).

A search field (part of the id or title) above a select box that holds one page of
matches (``PICKER_LIMIT``) and always the current choice; when more articles match, a
line says how many and asks for more letters. The select box keeps its key and its
values (article ids), so a page reads the choice as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from kb.ui.i18n import t
from kb.ui.services import run
from kb.ui.session import SignedIn
from review.picker import PICKER_LIMIT, Choice, Choices, pick_articles


def label(choice: Choice, published: bool) -> str:
    """How a picker names an article: "title · id" (published), else "id · title (state)"."""
    if published:
        return f"{choice.title} · {choice.article_id}"
    return f"{choice.article_id} · {choice.title} ({t('state_' + choice.state)})"


def labels(found: Choices, published: bool = False) -> dict[str, str]:
    """Each match's label, made now (a select box's format_func must not depend on when
    it is called)."""
    return {a: label(choice, published) for a, choice in found.items.items()}


@dataclass
class Picker:
    """What one picker shows: its select box key and label, and where it picks from."""

    key: str
    title: str
    published: bool = False
    leading: Sequence[str] = ()  # options before the articles (e.g. "new article")
    leading_label: Callable[[str], str] = str
    include: Iterable[str] = field(default_factory=tuple)
    disabled: bool = False


def search(user: SignedIn, picker: Picker, container: Any = st) -> Choices:
    """The search field and the matches it finds (the current choice included)."""
    text = container.text_input(
        t("picker_search"),
        key=f"{picker.key}_q",
        placeholder=t("picker_placeholder"),
        disabled=picker.disabled,
    )
    current = st.session_state.get(picker.key)
    include = [*picker.include, *(current if isinstance(current, list) else [current])]
    found = run(
        lambda s: pick_articles(
            s, user.name, str(text or ""), published=picker.published, include=include
        )
    )
    found = found or Choices({}, 0)
    if found.total > PICKER_LIMIT:
        container.caption(t("picker_more", shown=PICKER_LIMIT, total=found.total))
    return found


def select(
    user: SignedIn, picker: Picker, container: Any = st, **widget: Any
) -> tuple[str | None, Choices]:
    """The search field and the select box; the chosen id (or leading option) and matches."""
    found = search(user, picker, container)
    options = [*picker.leading, *found.items]
    names = {o: picker.leading_label(o) for o in picker.leading} | labels(found, picker.published)

    chosen = container.selectbox(
        picker.title,
        options,
        key=picker.key,
        format_func=lambda o: names.get(o, o),
        disabled=picker.disabled,
        **widget,
    )
    return (str(chosen) if chosen is not None else None), found
